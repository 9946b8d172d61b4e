// Package eventgridbinding registers the Event Grid trigger ("eventGridTrigger") and output binding
// ("eventGrid").
//
// It owns:
//
//   - the trigger's webhook, which the host serves at /runtime/webhooks/eventgrid?functionName={name} on the
//     app's front door ([Trigger] implements binding.Webhook and binding.Addressable); the host checks the
//     system key "eventgrid_extension" or the master key before the request gets here;
//   - the handshakes Azure's Functions host answers for the trigger: the Event Grid schema's
//     SubscriptionValidation POST (answered 200 {"validationResponse": code} without invoking the function;
//     also a POST without aeg-event-type whose single event is a Microsoft.EventGrid.SubscriptionValidationEvent)
//     and the CloudEvents abuse-protection OPTIONS (answered 200 with WebHook-Allowed-Origin and Allow: POST);
//   - deliveries (aeg-event-type: Notification): a JSON array of events (Event Grid schema, or a CloudEvents
//     batch) or one CloudEvent object; the function runs once per event, several at a time, with the event object
//     as the trigger value and its "data" as the trigger metadata "data", as Azure's host passes them. All
//     succeeded: 202 Accepted (Azure's answer; Event Grid takes any 2xx). One failed: 500 with its message, so
//     that Event Grid retries the whole delivery, as Azure does. A body that is not JSON, or whose events are not
//     objects, is 400; "Unsubscribe" and "SubscriptionDeletion" are 202 without an invocation. [ServeDelivery]
//     does all this but the invocations, for the blob trigger's webhook too (its source EventGrid);
//   - the eventGrid output ([Output]): topicEndpointUri and topicKeySetting name the app settings that hold the
//     topic's endpoint URL and access key. The value the worker sets (one event object, an array of them, or a
//     JSON string holding either) is published in one POST with the aeg-sas-key header: as a JSON array for
//     events in the Event Grid schema, or as application/cloudevents-batch+json for CloudEvents (objects with
//     specversion). A missing id is filled with a new UUID and a missing eventTime (CloudEvents: time) with the
//     current time; dataVersion is left to the topic, which stamps an empty one (Azure's binding has no
//     default). A topic answer other than 2xx fails the invocation with a *PublishError naming the status and
//     the topic's message.
//
// Validating and storing published events, and delivering them to subscriptions, are the Event Grid service's.
// Protocol facts come from the shared reference notes (azure-wire-protocols.md §1.5, §2.5) and the WebJobs
// Event Grid extension (HttpRequestProcessor, EventGridExtensionConfigProvider, EventGridAsyncCollector).
package eventgridbinding
