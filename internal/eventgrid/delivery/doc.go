// Package delivery pushes the events of Event Grid topics to event
// subscriptions, at least once, as Azure Event Grid does.
//
// It owns, per subscription ([Subscription]):
//
//   - a durable JetStream consumer on the source's subject (a custom topic's
//     events in LAPIS_EVENTGRID_EVENTS, or a storage account's or resource
//     group's system events in LAPIS_EVENTS), created when the subscription
//     becomes active, so events published from then on are delivered;
//   - filtering ([subscription.Spec.Filter]), conversion to the delivery
//     schema, and batching (maxEventsPerBatch, preferredBatchSizeInKilobytes);
//   - a pool of senders of its own, so a slow or dead endpoint holds up only
//     its own subscription: webhooks and Azure Functions by HTTP POST (30 s
//     timeout; only 200-204 are success), storage queues by Put Message;
//   - retries on Azure's schedule (10 s, 30 s, 1 min, 5 min, 10 min, 30 min,
//     1 h, then hourly; a status may ask for more, and up to 10% jitter is
//     added) until retryPolicy.maxDeliveryAttempts or the event's time to
//     live runs out. A failed event is written to the retry stream
//     LAPIS_EVENTGRID_RETRIES before its source message is acknowledged, and
//     the retry timers are rebuilt from that stream at start, so pending
//     retries survive a restart. In a cluster every node follows the retry
//     stream and keeps a timer for every record; when one is due, a claim
//     in the key-value bucket lapis-eventgrid-retry-claims (created
//     atomically, expiring after 5 minutes) picks the node that attempts
//     it, so each retry is attempted once and a dead node's records are
//     taken over;
//   - dead-lettering: 400 and 413 answers, exhausted attempts and expired
//     events go to the subscription's dead-letter container as a blob
//     {container}/{SUBSCRIPTION}/{yyyy}/{M}/{d}/{H}/{uuid}.json holding a JSON
//     array with the event and deadLetterReason, deliveryAttempts,
//     lastDeliveryOutcome, lastHttpStatusCode, publishTime and
//     lastDeliveryAttemptTime (lower-case in the CloudEvents schema); without
//     one they are dropped and counted;
//   - the webhook validation handshakes ([Handshake]): the Event Grid schema's
//     SubscriptionValidationEvent (synchronous validationResponse, or an
//     asynchronous GET of validationUrl) and the CloudEvents OPTIONS
//     abuse-protection request;
//   - per-subscription metrics: delivered, failed attempts, dead-lettered,
//     dropped, pending retries, and publish-to-delivery latency.
//
// The clock and alarms are injectable, so that the retry schedule and time
// to live can be tested without waiting.
package delivery
