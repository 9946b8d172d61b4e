// Package host is the core of the Functions host for one function app: it loads the app (Azure's custom-handler
// layout, or a Lapis Go SDK app that describes its functions when run with LAPIS_DESCRIBE=1), validates every
// binding through the binding registry, runs and scales its worker processes, invokes functions over the
// custom-handler protocol, meters the invocations, starts the app's triggers, and serves the HTTP trigger front
// door.
//
// # Lifecycle
//
//	h, err := host.New(host.Options{Dir: "path/to/app", Keys: keys, Logger: log})
//	// err may be non-nil with h non-nil: some functions are broken, the rest can run (as in Azure).
//	err = h.Start(ctx) // starts the initial instances and waits for readiness, then every trigger
//	http.Handle("/", h) // the HTTP trigger front door for this app
//	defer h.Close()     // or h.Shutdown(ctx) to let invocations in flight finish
//
// # Workers
//
// Each worker instance is started as customHandler.description says (defaultExecutablePath, relative to the app
// root or on PATH; then arguments, defaultWorkerPath, workerArguments), in the app root (or workingDirectory), with
// the process environment, the app settings, FUNCTIONS_CUSTOMHANDLER_PORT (a free loopback port),
// FUNCTIONS_CUSTOMHANDLER_WORKER_ID, FUNCTIONS_APP_ROOT_PATH, AzureWebJobsScriptRoot,
// FUNCTIONS_WORKER_RUNTIME=custom, and LAPIS_WORKER_SOCKET, the path of a Unix-domain socket in a private
// temporary directory. It is ready when GET / gets any answer, on the socket or on the port; a worker that
// exits first, or does not answer within Options.StartTimeout (default 60 s, Azure's limit), is an error quoting
// the tail of its standard error. Its output is logged.
//
// The Go SDK listens on the socket when LAPIS_WORKER_SOCKET is set; other custom handlers ignore it and listen on
// the port. Over the socket the host writes each request and reads its answer on the invoking goroutine over
// kept-alive connections, one request at a time per connection, which makes the hop to the worker much cheaper
// than loopback TCP through net/http's Transport; custom handlers are reached over TCP with net/http.
//
// On the socket the host speaks frames, a compact binary form of the same HTTP messages (method, request URI,
// Host, headers and body; status, headers and body), so that neither side formats or parses HTTP text. Each
// connection starts with the preamble "LAPIS-FRAMES/1\r\n"; the worker answers it with the same preamble before
// its first answer. The readiness probe learns what the worker speaks: a worker that answers the preamble with
// anything else (an SDK that predates frames answers 400 Bad Request, as does one run with
// LAPIS_WORKER_PROTOCOL=http) is probed again, and then talked to, over HTTP/1.1. The "worker started" log says
// which ("protocol"). Either way the connection's deadline enforces the function timeout, the host closes the
// connection to abandon an invocation (the worker cancels its context), and the connection ending means the
// worker is gone. A frame is a 4-byte head length and an 8-byte body length (big-endian), the head (uvarint-length
// strings: method, URI, Host, then header name and value pairs, one pair per value; or the status as a uvarint,
// then the pairs) and the body.
//
// # Instances and scale
//
// An app runs a pool of 0 to Scale.Max worker instances (Options.Scale; Max defaults to 1). Start starts
// max(Scale.Min, Scale.PreWarmed, 1) instances and waits until they are ready, so that a broken app fails there.
// An invocation goes to the live instance with the fewest invocations in flight. When the invocations in flight
// exceed Target per instance (host.json extensions.http.maxConcurrentRequests when set, else Scale.Target, else
// DefaultTarget, 100), more instances start in the background, up to Max; the invocation does not wait for them.
// When no instance is live, the invocation waits for one to start: a cold start, whose wait the metering record
// reports (Execution.ColdStart). Invocations that arrive during a cold start share it.
//
// A scale controller, run from Start until Close or Shutdown, stops instances that have been idle for
// Scale.IdleTimeout (0, the default: never) while more run than the load calls for: Scale.Min, the busy
// instances plus Scale.PreWarmed (Premium's pre-warmed buffer), and Target invocations per instance. With Min 0
// that is scale to zero. It also starts instances that Min and the pre-warmed buffer call for, including after a
// crash. Failed starts, and instances that exit within 10 seconds of starting, delay further starts for
// scale-out and the minimum (250 ms, doubling to 30 s); a cold start is always attempted. Scale decisions are
// logged ("scaled out", "scaled in", "scaled to zero", "cold start", with the instance count and the reason).
//
// A worker that exits is replaced when the load or Min calls for it (else by the next invocation's cold start);
// the invocations that were in flight on it fail at once with an *InvocationError of kind Crashed.
// An invocation that runs past the function timeout (host.json functionTimeout, else
// Options.DefaultFunctionTimeout, default 5 minutes; time spent starting the worker does not count) fails with
// kind TimedOut, and its instance is killed and replaced (recycled). With Options.MaxFunctionTimeout (the plan's
// maximum, 10 minutes on Consumption), a host.json functionTimeout above it or -1 is a load error of host.json,
// and a default above it is lowered to it.
//
// Close stops the triggers and kills the workers at once. Shutdown is graceful, for redeploys: it stops the
// triggers, lets every invocation in flight finish (invocations that arrive meanwhile still run), and then stops
// the workers; if its context ends first, it kills them.
//
// # Metering
//
// With Options.Meter, every invocation that reached an instance is reported when it finishes, as a
// metering.Execution: its function, trigger type, arrival time, execution time (excluding a cold start's wait),
// cold-start wait, success, and the instance's resident memory (Linux: /proc/<pid>/statm, read at most once a
// second per instance; elsewhere 0). A payload invocation succeeds when the worker answers 2xx and its outputs are
// written; a forwarded HTTP request succeeds when the worker answers below 500.
//
// # HTTP front door
//
// ServeHTTP serves the app's HTTP triggers under host.json's routePrefix (default "api"), with each function's
// route template (default its name), methods (404 and 405 otherwise) and authLevel: anonymous; function (a
// function key of that function, a host key or the master key); admin (the master key). The key is read from
// ?code= or the x-functions-key header. POST /admin/functions/{name} with {"input": ...} runs any function by hand
// with the master key, and answers 202.
//
// /runtime/webhooks/{extension} (any method, any path below it) goes to the binding type registered as that
// extension's binding.Webhook (the Event Grid trigger's "eventgrid"), once the request carries the extension's
// system key (Keys.System["{extension}_extension"]) or the master key; 401 otherwise, and 404 for an extension no
// type serves. The host knows no extension by name: the type finds the function the request names among the
// app's enabled functions with its trigger, and invokes it through the host. Request bodies are limited to
// Options.MaxRequestBodySize there too.
//
// A request becomes a payload invocation: Data[trigger name] is Azure's HTTP request shape (Url, Method, Query,
// Headers, Params, Identities, Body) and Metadata has the route values, Query, Headers and sys; the function's
// http output (e.g. "res", or "$return") becomes the response. When host.json enables forwarding
// (enableForwardingHttpRequest or enableProxyingHttpRequest), or the app is a Go SDK app whose description says it
// accepts forwarded requests, a function that is exactly an HTTP trigger plus an http output gets the original
// request as is (same path, method, query, headers and body) with the header X-Lapis-Function naming the
// function, and its answer is returned as is. A failed invocation answers 500 with a plain-text body saying why.
package host
