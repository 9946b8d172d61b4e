// Package subscription reads and checks an Event Grid event subscription: the
// properties of a Microsoft.EventGrid/eventSubscriptions resource as ARM
// takes them (destination, filter, retryPolicy, deadLetterDestination,
// eventDeliverySchema, labels, expirationTimeUtc), with Azure's defaults and
// limits, into a [Spec] that the delivery engine acts on.
//
// It does no I/O: whether a destination answers, or a dead-letter container
// exists, is the delivery engine's business.
package subscription
