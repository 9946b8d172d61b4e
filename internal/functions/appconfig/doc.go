// Package appconfig loads and validates a function app in Azure Functions' custom-handler layout:
//
//	host.json                   version "2.0", customHandler, extensions, functionTimeout, logging, retry, ...
//	local.settings.json         local development settings (Values, Host, ConnectionStrings)
//	<FunctionName>/function.json one folder per function; the folder name is the function name
//
// Load reads an app from an fs.FS and returns an App: the HostConfig with Azure's defaults filled in, and the
// Functions sorted by name. A function's bindings keep their type-specific properties as raw JSON (Binding.Raw,
// Binding.Properties) for the binding registry, which validates them; this package checks only what every binding
// shares.
//
// # Validation and errors
//
// Every problem is reported, not just the first, joined with errors.Join. Each is a *FieldError whose message
// names the file, the JSON path of the field, and what is allowed:
//
//	myfunc/function.json: bindings[0].direction: "sideways" is not one of in, out, inout
//	host.json: extensions.queues.batchSize: 40 is out of range; allowed: 1 to 32
//
// Checked for function.json, following the Functions host: the folder name (a letter, then letters, digits, '_'
// or '-', at most 128 characters); a bindings array; for each binding a type, a direction (in, out, inout; any
// case) and a name (a letter then letters and digits, at most 128, or $return), an optional dataType (string,
// binary, stream); binding names unique ignoring case; exactly one trigger (a type ending in "Trigger", any case)
// whose direction is in; $return only as an out binding; "disabled" (a boolean, "true"/"false", or a %NAME%
// reference to one); "retry". "scriptFile" is recorded and ignored. Function names must be unique ignoring case.
//
// Checked for host.json: version "2.0" (required, as in runtime 2.x+); customHandler.description with a
// non-empty defaultExecutablePath, defaultWorkerPath, workingDirectory, arguments and workerArguments;
// customHandler.enableForwardingHttpRequest and enableProxyingHttpRequest (both accepted; either means raw HTTP
// forwarding); extensionBundle; extensions.http (routePrefix, default "api", "" for none; maxConcurrentRequests,
// maxOutstandingRequests, dynamicThrottlesEnabled, customHeaders); extensions.queues (batchSize 1–32 default 16,
// newBatchThreshold, maxPollingInterval ≥ 100 ms default 1 min, visibilityTimeout ≤ 7 days, maxDequeueCount ≥ 1
// default 5, messageEncoding base64|none); functionTimeout (a TimeSpan ≥ 1 s or "-1"; per-plan limits belong to
// the host); logging (logLevel values Trace…None, fileLoggingMode); concurrency; retry; functions (the only
// functions to load); watchDirectories, watchFiles. The 1.x top-level "http" and "queues" sections are rejected
// with a pointer to their 2.0 place. Every "extensions" section is kept raw in HostConfig.Extensions for binding
// types to read. Unknown properties are ignored, as Azure ignores them.
//
// When only some functions are broken, Load returns both the error and an App holding host.json and the healthy
// functions, so a host can run those and report the rest, as Azure does. A broken host.json gives no App. A
// missing host.json means Azure's defaults (DefaultHostConfig).
//
// # Azure's JSON dialect
//
// Keys are matched case-insensitively, as .NET configuration binding and Newtonsoft do. Booleans and integers may
// also be written as strings ("true", "5"). Comments (// and /* */), trailing commas and a UTF-8 byte order mark
// are accepted. JSON syntax errors give a line and column.
//
// # App settings
//
// With Options.Lookup set, Load resolves %NAME% references (ResolveSettings) in customHandler.description and in
// every string value of every binding's type-specific properties (not in type, direction and name); a reference to
// a setting that is not set is an error naming the setting. This is a superset of Azure, which resolves them only
// in the properties each binding marks as resolvable. The setting AzureWebJobs.<function>.Disabled = true
// disables a function, as in Azure. Binding expressions in braces ({name}, {rand-guid}) are left for the binding
// types.
//
// # TimeSpans
//
// ParseTimeSpan reads "hh:mm:ss", "d.hh:mm:ss" (with an optional seven-digit fraction), "hh:mm", and "-1"
// (Infinite). See its documentation for the deliberate differences from .NET.
package appconfig
