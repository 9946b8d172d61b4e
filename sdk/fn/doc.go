// Package fn writes function app workers for Lapis (and Azure Functions
// custom handlers) in Go, in the style of Azure's Python v2 programming
// model: functions are declared in code with their trigger and bindings, and
// the program serves them.
//
// # An app
//
// The seed's function_app.py translates line for line:
//
//	package main
//
//	import "github.com/lapisdev/lapis/sdk/fn"
//
//	func main() {
//		app := fn.NewApp()
//
//		// HTTP trigger: REST endpoint
//		app.HTTP("hello", fn.Route("hello"), fn.AuthLevel(fn.Anonymous),
//			func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
//				name := req.Query.Get("name")
//				if name == "" {
//					name = "World"
//				}
//				return fn.JSON(200, map[string]string{"message": "Hello, " + name + "!"}), nil
//			})
//
//		// Timer trigger: run every 5 minutes
//		app.Timer("cleanup_job", "0 */5 * * * *", func(ctx *fn.Context, t fn.TimerInfo) error {
//			ctx.Logf("Running cleanup job")
//			return nil
//		})
//
//		// Blob trigger: process uploaded images
//		app.Blob("process_image", "images/{name}", func(ctx *fn.Context, blob fn.BlobInfo) error {
//			ctx.Logf("Processing blob: %s, size: %d bytes", blob.Name, blob.Properties.Length)
//			return nil
//		}, fn.Connection("AzureWebJobsStorage"))
//
//		// Queue trigger with an output binding
//		app.Queue("process_order", "orders", func(ctx *fn.Context, msg fn.QueueMessage) error {
//			var order map[string]any
//			if err := msg.JSON(&order); err != nil {
//				return err
//			}
//			order["status"] = "processed"
//			ctx.PutDocument("outputDoc", order)
//			return nil
//		}, fn.Connection("AzureWebJobsStorage"),
//			fn.CosmosDBOutput("outputDoc", "myappdb", "processed-orders", fn.Connection("CosmosDBConnection")))
//
//		app.Run()
//	}
//
// [App.HTTP] registers an HTTP function with a typed request and response;
// [App.HTTPHandler] registers a standard [net/http.Handler] instead.
// [App.Timer], [App.Queue], [App.Blob], [App.EventGrid] and [App.CosmosDB]
// register timer, Storage Queue, blob, Event Grid and Cosmos DB (change
// feed) functions whose handlers receive a [TimerInfo], [QueueMessage],
// [BlobInfo], [EventGridEvent] or [Documents].
// [App.Function] registers a function with any trigger
// ("serviceBusTrigger", "eventHubTrigger", ...) whose handler receives the
// raw [Invocation]. The
// typed methods are thin wrappers over the same machinery: each builds the
// trigger binding and converts the raw Data and Metadata into its type.
//
// # Bindings
//
// Every function has one trigger and any number of input and output
// bindings, in function.json's shape (type, direction, name, properties).
// Options declare them: [QueueOutput], [BlobOutput] and [BlobInput] for
// Storage, [EventGridOutput] for an Event Grid topic, [CosmosDBOutput] and
// [CosmosDBInput] for Cosmos DB documents, and [Input] and [Output] for any
// type. [Prop] values set properties, on the trigger when passed to a
// registration method ([Connection], [DataType]) or on a binding when passed
// to its constructor:
//
//	app.Blob("process_image", "images/{name}", handler,
//		fn.Connection("AzureWebJobsStorage"),
//		fn.BlobInput("original", "images/{name}"),
//		fn.BlobOutput("thumb", "thumbnails/{name}", fn.Connection("ThumbStorage")),
//		fn.QueueOutput("done", "images-done"))
//
// Paths and queue names may hold binding expressions, which the host
// resolves for each invocation: trigger metadata and path parameters
// ("{name}"), properties of a JSON queue message ("{orderId}"),
// "{rand-guid}", "{DateTime}", "{sys.UtcNow}" and "%AppSetting%".
//
// A function reads inputs with [Context.BlobInput] (blob content) or
// [Context.Input] (any value, decoded as JSON: a Cosmos DB document, null
// when there is none, or a query's results), and sets outputs with
// [Context.SetBlob], [Context.PutQueueMessage] (once per message; several
// messages go out as a JSON array), [Context.PublishEvent] (once per event,
// likewise), [Context.PutDocument] (once per document, likewise) or
// [Context.SetOutput] (any value, encoded as JSON). The returned value of a generic [Handler] goes to the
// "$return" output; typed handlers set "$return" with SetOutput if they
// declare one. An HTTP function's response is its "http" output, named
// "res" (or "$return" with [ResponseName]).
//
// # Payloads
//
// The typed triggers read the payload the host sends (Azure's
// custom-handler protocol; see below): the trigger value in
// Data[trigger name] and the trigger metadata in Metadata, whose keys match
// in any case. Where Azure's documentation is silent the SDK assumes what
// Azure's host does, and reads tolerantly:
//
//   - Timer: Data["timer"] is {"Schedule":{"AdjustForDST":bool},
//     "ScheduleStatus":{"Last","Next","LastUpdated"} or null,"IsPastDue":bool}.
//     A missing or null value, or a string that is not a JSON object (a
//     manual run), is a zero [TimerInfo].
//   - Queue: Data["msg"] is the message text as a JSON string, already
//     decoded from the queue's base64 message encoding; a JSON object or
//     array (a host that parsed a JSON message) is taken as the message's
//     JSON text. With [DataType]("binary") the string is base64 and is
//     decoded (a string that is not valid base64 is kept as is). Metadata
//     holds "Id", "DequeueCount" (a number, or a string holding one),
//     "InsertionTime", "ExpirationTime", "NextVisibleTime" and "PopReceipt";
//     "QueueTrigger" is left out, as Azure leaves out every key ending in
//     "Trigger".
//   - Blob: Data["blob"] is the content. Blob triggers and blob bindings
//     this package declares have dataType "binary", for which the content
//     is a JSON string in standard base64 (how Azure's host serializes
//     bytes); a string that is not valid base64 is taken as the content
//     itself. With dataType "string", or none, the string is the content as
//     text. A JSON object or array is the content's JSON text, and null is
//     a blob that does not exist. Metadata holds "Uri", "Properties" (Azure's
//     BlobProperties: "ContentLength" or "Length", "ContentType",
//     "ContentEncoding", "ETag", "LastModified"), "Metadata" (the blob's
//     metadata) and one key per path parameter ("name"). [BlobInfo].Name
//     is "BlobTrigger" when the host sends it, else the path pattern with
//     the parameters filled in, else read from "Uri"; parameters the host
//     did not send are matched from the name.
//   - Event Grid: Data["event"] is the event object as delivered, in the
//     Event Grid schema or the CloudEvents schema (a JSON string holding it
//     is read too); Metadata holds "data", the event's data. The host calls
//     the function once per event of a delivery.
//   - Cosmos DB: Data["documents"] is the batch of changed documents, a
//     JSON array (a JSON string holding one is read too), each document
//     with its system properties (_rid, _self, _etag, _ts) and _lsn, the
//     change's position in the feed; there is no trigger metadata.
//   - Times may be ISO 8601 with an offset, ISO 8601 without one (read as
//     UTC, as a .NET DateTime of unspecified kind), or RFC 1123; they are
//     returned in UTC. A value serialized twice (an object inside a JSON
//     string) is read as the object.
//   - Outputs: [Context.SetBlob] sends a "binary" blob's content in
//     standard base64 (for the host to decode, as Azure's host does with
//     string outputs) and a "string" blob's content as text.
//     [Context.PutQueueMessage] sends one message as the output's value and
//     several as a JSON array, one queue message per element; a string
//     message is its text, a struct its JSON. [Context.PublishEvent] sends
//     events the same way; an [EventGridEvent] is written in its schema,
//     without the id and time it leaves empty, which the host fills in.
//     [Context.PutDocument] sends one document as the output's value and
//     several as a JSON array; the host upserts each, giving one without
//     an "id" a new one.
//
// A payload the trigger cannot read fails the invocation with status 400
// and code "BadPayload"; the function is not called.
//
// # Retries
//
// [Retry] declares a function's retry policy, function.json's "retry":
// [FixedDelay] or [ExponentialBackoff], which the host applies, as Azure's
// does, to timer, Event Hubs, Cosmos DB and Kafka triggers. A run under a
// policy finds which attempt it is, and why the previous one failed, with
// [Context.RetryContext]:
//
//	app.Timer("sync_prices", "0 0 * * * *", func(ctx *fn.Context, t fn.TimerInfo) error {
//		if rc, ok := ctx.RetryContext(); ok && rc.RetryCount > 0 {
//			ctx.Logf("retry %d of %d", rc.RetryCount, rc.MaxRetryCount)
//		}
//		return syncPrices(ctx)
//	}, fn.Retry(fn.ExponentialBackoff(5, 10*time.Second, 15*time.Minute)))
//
// # Logging
//
// [Context.Log] (a [log/slog.Logger]) and [Context.Logf] write the
// invocation's log. Its lines travel back to the host in the response's
// "Logs" array, and the host writes them to the invocation log; by default
// they are not also written to standard error, so that they are not recorded
// twice ([LogToStderr] changes that). Lines logged where no response can
// carry them (after the function returned, or while serving an HTTP request
// the host forwarded as is) go to standard error, prefixed with
// "[function invocationId]". The worker's own messages (start, stop, failed
// invocations with their panic stacks) go to standard error too.
//
// # The worker protocol
//
// The worker speaks Azure's custom-handler protocol over HTTP on
// 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT, or on the Unix-domain socket
// $LAPIS_WORKER_SOCKET when the Lapis host sets it (it is cheaper than
// loopback TCP; the host uses whichever the worker listens on).
//
// On the socket, a connection that starts with the preamble
// "LAPIS-FRAMES/1\r\n" speaks frames instead of HTTP/1.1 text: the same
// requests and answers in a compact binary form that the Lapis host uses so
// that neither side parses HTTP (see the host package for the format). The
// worker builds each *http.Request directly and buffers the handler's answer
// (Flush commits the status and headers but sends nothing early; the answer
// goes when the handler returns). Connections without the preamble are
// served as HTTP/1.1, and LAPIS_WORKER_PROTOCOL=http turns frames off. The
// host closing a connection cancels the context of the request in flight
// on it (within a few milliseconds). The messages are:
//
//   - GET / answers 200 {"status":"ready",...}; the host polls it for readiness.
//   - POST /{function} with {"Data":{...},"Metadata":{...}} invokes the
//     function. A success answers 200
//     {"Outputs":{...},"Logs":[...],"ReturnValue":...}. For an HTTP
//     function, Data["req"] is Azure's HTTP request shape ({"Url","Method",
//     "Query","Headers","Params","Identities","Body"}) and the "http" output
//     is {"statusCode":200,"headers":{...},"body":"..."}; a body that is not
//     UTF-8 is sent in base64 with "bodyEncoding":"base64".
//   - A failure answers 500 (400 if the payload cannot be read) with the
//     same fields plus "error":{"code","message","function","invocationId"}:
//     code "FunctionFailed" for a returned error, "FunctionPanicked" for a
//     panic (with "stack"), "BadPayload", or "FunctionFailed" for an output
//     that could not be encoded. A panic never stops the worker.
//   - An unknown function answers 404 {"error":{"code":"FunctionNotFound",...}}.
//   - HTTP forwarding: when the host sends an HTTP function's request as is,
//     it names the function in the X-Lapis-Function header; the worker
//     serves the request with that function and answers its raw HTTP
//     response. A request without the header whose path matches an HTTP
//     function's route under the route prefix (Azure's
//     enableForwardingHttpRequest) is served the same way.
//
// # Function discovery
//
// A host learns a Go SDK app's functions without function.json files, in
// either of two ways that give the same JSON document ([App.FunctionJSON]):
//
//   - Run the worker executable with LAPIS_DESCRIBE=1 in its environment: it
//     prints the document to standard output and exits with status 0
//     without listening.
//   - GET /.lapis/functions on a running worker.
//
// The document is {"version":1,"sdk":"lapis-go","httpForwarding":true,
// "functions":[{"name":"hello","bindings":[...]}]}, with "retry" next to
// "bindings" for a function with a retry policy: each function's object
// without "name" is its function.json. [App.WriteFunctionJSON] writes those
// files, for deploying the app in the plain custom-handler layout.
//
// # Lifecycle
//
// [App.Run] listens (or fails with a message saying what to set if
// FUNCTIONS_CUSTOMHANDLER_PORT is missing; LAPIS_LISTEN=addr runs a worker
// without a host), serves, and on SIGTERM or SIGINT stops accepting
// requests and finishes the invocations in flight before returning.
// [App.Serve] does the same on a given listener until a context is done, and
// an App is a [net/http.Handler], for tests or for mounting in a server of your own.
package fn
