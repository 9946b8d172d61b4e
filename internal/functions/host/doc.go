// Package host is the core of the Functions host for one function app: it loads the app (Azure's custom-handler
// layout, or a Lapis Go SDK app that describes its functions when run with LAPIS_DESCRIBE=1), validates every
// binding through the binding registry, runs the worker process, invokes functions over the custom-handler
// protocol, starts the app's triggers, and serves the HTTP trigger front door.
//
// # Lifecycle
//
//	h, err := host.New(host.Options{Dir: "path/to/app", Keys: keys, Logger: log})
//	// err may be non-nil with h non-nil: some functions are broken, the rest can run (as in Azure).
//	err = h.Start(ctx) // starts the worker and waits for readiness, then every trigger
//	http.Handle("/", h) // the HTTP trigger front door for this app
//	defer h.Close()
//
// # Workers
//
// The worker is started as customHandler.description says (defaultExecutablePath, relative to the app root or on
// PATH; then arguments, defaultWorkerPath, workerArguments), in the app root (or workingDirectory), with the
// process environment, the app settings, FUNCTIONS_CUSTOMHANDLER_PORT (a free loopback port),
// FUNCTIONS_CUSTOMHANDLER_WORKER_ID, FUNCTIONS_APP_ROOT_PATH, AzureWebJobsScriptRoot and
// FUNCTIONS_WORKER_RUNTIME=custom. It is ready when GET / gets any HTTP answer; a worker that exits first, or
// does not answer within Options.StartTimeout (default 60 s, Azure's limit), is an error quoting the tail of its
// standard error. Its output is logged.
//
// One instance runs per app (scaling is for the caller to add). A worker that exits is restarted on the next
// invocation; the invocations that were in flight on it fail at once with an *InvocationError of kind Crashed.
// An invocation that runs past the function timeout (host.json functionTimeout, else
// Options.DefaultFunctionTimeout, default 5 minutes; time spent starting the worker does not count) fails with
// kind TimedOut, and its instance is killed and replaced (recycled).
//
// # HTTP front door
//
// ServeHTTP serves the app's HTTP triggers under host.json's routePrefix (default "api"), with each function's
// route template (default its name), methods (404 and 405 otherwise) and authLevel: anonymous; function (a
// function key of that function, a host key or the master key); admin (the master key). The key is read from
// ?code= or the x-functions-key header. POST /admin/functions/{name} with {"input": ...} runs any function by hand
// with the master key, and answers 202.
//
// A request becomes a payload invocation: Data[trigger name] is Azure's HTTP request shape (Url, Method, Query,
// Headers, Params, Identities, Body) and Metadata has the route values, Query, Headers and sys; the function's
// http output (e.g. "res", or "$return") becomes the response. When host.json enables forwarding
// (enableForwardingHttpRequest or enableProxyingHttpRequest), or the app is a Go SDK app whose description says it
// accepts forwarded requests, a function that is exactly an HTTP trigger plus an http output gets the original
// request as is (same path, method, query, headers and body) with the header X-Lapis-Function naming the
// function, and its answer is returned as is. A failed invocation answers 500 with a plain-text body saying why.
package host
