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
//	import (
//		"encoding/json"
//
//		"github.com/lapisdev/lapis/sdk/fn"
//	)
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
//		// Queue trigger with an output binding
//		app.Function("process_order",
//			fn.Trigger{Type: "queueTrigger", Name: "msg", Props: map[string]any{
//				"queueName": "orders", "connection": "AzureWebJobsStorage"}},
//			func(ctx *fn.Context, inv *fn.Invocation) (any, error) {
//				var body string
//				if err := inv.Decode("msg", &body); err != nil {
//					return nil, err
//				}
//				var order map[string]any
//				if err := json.Unmarshal([]byte(body), &order); err != nil {
//					return nil, err
//				}
//				order["status"] = "processed"
//				ctx.SetOutput("outputDoc", order)
//				return nil, nil
//			},
//			fn.Output{Type: "cosmosDB", Name: "outputDoc", Props: map[string]any{
//				"databaseName": "myappdb", "containerName": "processed-orders",
//				"connection": "CosmosDBConnection"}})
//
//		app.Run()
//	}
//
// [App.HTTP] registers an HTTP function with a typed request and response;
// [App.HTTPHandler] registers a standard [net/http.Handler] instead. [App.Function]
// registers a function with any trigger ("timerTrigger", "blobTrigger",
// "queueTrigger", "eventGridTrigger", "serviceBusTrigger", "eventHubTrigger",
// "cosmosDBTrigger", ...) whose handler receives the raw [Invocation]. Typed
// helpers for those triggers are thin wrappers over the same machinery: each
// builds the trigger binding and converts the raw Data into its type.
//
// # Bindings
//
// Every function has one trigger and any number of [Input] and [Output]
// bindings, in function.json's shape (type, direction, name, properties).
// The function sets outputs with [Context.SetOutput]; the returned value of
// a generic [Handler] goes to the "$return" output. An HTTP function's
// response is its "http" output, named "res" (or "$return" with
// [ResponseName]).
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
// loopback TCP; the host uses whichever the worker listens on):
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
// "functions":[{"name":"hello","bindings":[...]}]}: each function's object
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
