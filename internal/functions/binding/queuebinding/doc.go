// Package queuebinding registers the Storage Queue binding types: the "queueTrigger" trigger and the "queue"
// output binding.
//
// # function.json
//
// Both take queueName (required) and connection (the app setting that holds the storage connection string;
// default AzureWebJobsStorage; as in Azure, a name X also finds the setting AzureWebJobsX; identity-based
// connections, X__queueServiceUri, are refused with a clear error). The setting's value is resolved to an account
// by the Env's storageclient.Provider (the REST client when the app runs without the platform). Queue names are
// lowercased and then checked against Azure's rules (3 to 63 letters, digits and single hyphens, starting and
// ending with a letter or digit), as the WebJobs SDK's NormalizeAndValidate does: a literal name when the function
// is loaded, one with %AppSetting% references when it starts. An output's queueName may hold binding expressions
// (internal/functions/binding/expr: {queueTrigger}, {Id}, {DequeueCount}, {rand-guid}, {DateTime}, the message's
// JSON properties such as {orderId}), evaluated for every write; a trigger's may not.
//
// # The trigger
//
// host.json extensions.queues applies (appconfig.QueueOptions): batchSize (default 16), newBatchThreshold (default
// NumCPU × batchSize / 2, Azure's N × batchSize / 2), maxPollingInterval (default 1 min), visibilityTimeout
// (default 0), maxDequeueCount (default 5), messageEncoding (base64, the default, or none).
//
// Start creates the queue if it is missing (Azure's listener waits for it instead; creating it lets the first
// message be pushed at once) and starts a listener: one receiver goroutine fetches up to batchSize messages
// whenever no more than newBatchThreshold are in flight, so at most batchSize + newBatchThreshold run at once, on a
// fixed pool of that many worker goroutines (no goroutine per message). In process the receive is pushed by the
// queue service; over REST it polls, backing off up to maxPollingInterval. Receive errors (a deleted queue, an
// unreachable service) back off the same way. Messages are received with a 10-minute lease ([Lease]) that is
// renewed while the invocation runs, as the Functions host does.
//
// Each message is one invocation (binding.Invoker.Invoke). Then:
//   - success: the message is deleted; the deletes waiting are written together (storageclient.DeleteMessages);
//   - failure: the message becomes visible again after visibilityTimeout; when its DequeueCount has reached
//     maxDequeueCount it is copied to "{queueName}-poison" (created if needed) with its original stored text, and
//     deleted;
//   - a message received with a DequeueCount above maxDequeueCount (its earlier receivers died) is moved to the
//     poison queue without an invocation.
//
// stop ends receiving, gives back at once the messages not yet started, and returns without waiting for the
// invocations in flight, which finish and complete their messages in the background.
//
// # Message encoding
//
// With messageEncoding base64, a message whose stored text is valid base64 of UTF-8 text is decoded; any other
// text is taken as is, so base64 and raw messages are both accepted (the Go azqueue client and Event Grid do not
// encode). Azure's host does not fall back: a message that is not valid base64 fails to bind ("The input is not a
// valid Base-64 string", azure-webjobs-sdk#2667) and ends in the poison queue. The fallback means a raw text that
// happens to be valid base64 of UTF-8 (e.g. "abcd") is decoded. With none, nothing is decoded.
//
// # Payload
//
// Data[binding name] is the decoded message: its JSON when it is a JSON object or array, otherwise a JSON string.
// (Azure's custom-handler host passes strings through JsonConvert.SerializeObject, so a handler written for Azure
// may receive a JSON-encoded string; Lapis sends the object.) The trigger metadata, in the shape of the
// custom-handler payload of the Azure docs ("Request payload" in functions-custom-handlers.md):
//
//	"DequeueCount": 1,
//	"ExpirationTime": "2019-10-16T17:58:31+00:00",
//	"Id": "800ae4b3-bdd2-4c08-badd-f08e5a34b865",
//	"InsertionTime": "2019-10-09T17:58:31+00:00",
//	"NextVisibleTime": "2019-10-09T18:08:32+00:00",
//	"PopReceipt": "AgAAAAMAAAAAAAAAAgtnj8x+1QE=",
//	"QueueTrigger": "<the decoded message text>"
//
// DequeueCount is a number; times are ISO 8601 in UTC with an offset and whole seconds. QueueTrigger is there for
// binding expressions ({queueTrigger}); Azure's host leaves keys ending in "Trigger" out of the payload it sends
// (ScriptInvocationContextExtensions), which is the host's business.
//
// # The output
//
// The value the worker returns for a "queue" binding is one message or, as a JSON array, one message per element
// (null elements skipped). A JSON string is the message text; any other JSON value is sent as compact JSON. Texts
// are base64-encoded unless messageEncoding is none (the queue output of Azure's extension 5.x encodes the same
// way). The queue is created when a put finds it missing. Unlike Azure's custom-handler host, a string that
// happens to be valid base64 is not decoded first.
package queuebinding
