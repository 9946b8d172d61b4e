// Package retry owns function-level retry policies: the "retry" section of function.json (or host.json, for every
// function) with strategy fixedDelay (maxRetryCount, delayInterval) or exponentialBackoff (maxRetryCount,
// minimumInterval, maximumInterval), maxRetryCount -1 meaning forever. appconfig parses and validates the
// section; this package runs it.
//
// Azure applies these policies only to the Timer, Event Hubs, Cosmos DB and Kafka triggers (Applies says which);
// the other triggers have their own mechanism (poison queues, poison blobs, dead-letter queues). A trigger that
// uses a policy wraps each firing in Runner.Run:
//
//	err := (&retry.Runner{Store: store, Clock: fn.Env}).Run(ctx, retry.PolicyFor(fn.Def, fn.Host), key,
//		func(ctx context.Context, rc *retry.Context) error {
//			// put rc in the invocation's Metadata as "RetryContext" (when rc is not nil) and invoke
//		})
//
// Run makes the first attempt and, while it fails, retries after the policy's delay (appconfig.RetryPolicy.Delay:
// fixed, or minimumInterval doubling per retry up to maximumInterval; Azure randomises the exponential delay,
// Lapis does not) until maxRetryCount retries have failed. Each attempt gets Azure's RetryContext:
//
//	{"RetryCount":0,"MaxRetryCount":3,"Exception":null}        the first attempt
//	{"RetryCount":2,"MaxRetryCount":3,"Exception":{...}}       the second retry, after the previous failure
//
// which the custom-handler payload carries as Metadata.RetryContext (the Functions host's SetRetryContext copies
// the WebJobs SDK's RetryContext there: RetryCount, MaxRetryCount, Exception; the SDK counts RetryCount from 0 on
// the first attempt and increments it before each retry). Exception is the previous failure in the shape
// Newtonsoft gives a .NET exception (ClassName, Message, Data, InnerException, HelpURL, StackTraceString,
// RemoteStackTraceString, RemoteStackIndex, ExceptionMethod, HResult, Source, WatsonBuckets), with ClassName
// "System.Exception", Source "Lapis" and the failure's text as Message. Without a policy there is no
// RetryContext (the callback gets nil).
//
// # State across restarts
//
// Azure keeps retry counts in memory, best effort. Run keeps them in a Store under the caller's key (the unit of
// work, e.g. app/function/occurrence): the number of failed attempts, the last error and when the next attempt
// is due. A Run that is stopped (its context ends while it waits) leaves the state behind, and the next Run with
// the same key continues the count and honours the due time instead of starting over. OpenStore keeps the state
// in the substrate bucket lapis-functions-retries, shared by every node; state untouched for RetentionPeriod
// expires. Success, or running out of retries, deletes it.
package retry
