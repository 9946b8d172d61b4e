// Package schema turns a publish request to an Event Grid topic into
// validated events, as Azure Event Grid's publishing endpoint
// (POST {topic endpoint}/api/events) does, and converts events between the
// two delivery schemas.
//
// It owns:
//
//   - the input schemas of a topic ([Schema]: EventGridSchema,
//     CloudEventSchemaV1_0; CustomEventSchema is named but refused);
//   - parsing and validating a request body for a topic's schema ([Parse],
//     [ParseRequest], [Limits.Parse]): Event Grid schema arrays; CloudEvents
//     1.0 in structured (application/cloudevents+json), batched
//     (application/cloudevents-batch+json) and binary (ce-* headers) mode;
//   - stamping what Azure stamps before delivery (topic and metadataVersion of
//     Event Grid events) and producing each event as it will be delivered
//     ([Event.Raw]);
//   - validating one system event (blob and resource events, which the
//     platform produces in Event Grid schema) for system topics
//     ([ParseEventGridEvent]);
//   - Azure's error body for a rejected publish ([Error]) and the size limits
//     (1 MiB per request, 1 MiB per event, [DefaultLimits]);
//   - the conversions for subscriptions whose eventDeliverySchema differs from
//     the topic's input schema ([ToCloudEvent], [ToEventGrid]) and the delivery
//     body and content type ([Batch], [ContentType]).
//
// It does not authenticate (aeg-sas-key, SAS tokens), store, filter or
// deliver events; those belong to the Event Grid service that uses it.
//
// Protocol facts come from the shared reference notes
// (azure-wire-protocols.md §2). Error texts that the notes do not give are
// written in Azure's style and are marked in the code where they are not
// known to match Azure word for word.
package schema
