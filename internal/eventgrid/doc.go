// Package eventgrid is Lapis's Event Grid service: custom topics and their
// publish endpoints.
//
// It owns:
//
//   - the ARM resource type Microsoft.EventGrid/topics ([TopicType]): name
//     rules, inputSchema (EventGridSchema or CloudEventSchemaV1_0;
//     CustomEventSchema is refused), the read-only endpoint and
//     provisioningState, and the two access keys (key1, key2) with the
//     listKeys and regenerateKey actions;
//   - the platform service "eventgrid" ([Service]) on its own port (default
//     7072), which serves every topic's publish endpoint:
//     POST http://{topic}.localhost:7072/api/events (the topic is the first
//     label of the Host header) or, path-style, POST
//     http://localhost:7072/{topic}/api/events;
//   - publishing clients' authentication: the aeg-sas-key header or query
//     parameter, and SAS tokens in aeg-sas-token or
//     "Authorization: SharedAccessSignature ..." ([GenerateSAS], [VerifySAS]);
//   - storing accepted events durably: each event is published to the
//     JetStream stream LAPIS_EVENTGRID_EVENTS on the subject
//     lapis.eventgrid.topic.<topic> (see [TopicSubject]) with a de-duplication
//     id made of the topic and the event id, and the publish answers 200 only
//     once every event is acknowledged.
//
// Parsing and validating the request body is package schema's; filters are
// package filter's. Delivery to event subscriptions, system topics and the
// eventGridTrigger binding come later.
package eventgrid
