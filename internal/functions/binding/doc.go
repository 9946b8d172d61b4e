// Package binding is the registry of binding types: every trigger, input and output binding a function.json may
// name ("httpTrigger", "http", and later "timerTrigger", "queueTrigger", "blob", ...). The Functions host knows no
// binding type by name; it asks this registry.
//
// # Adding a trigger without touching the host
//
// A binding type lives in its own package (httpbinding is the model) and registers itself in init, the way Caddy
// modules do:
//
//	func init() { binding.Register(timerTrigger{}) }
//
// Register panics on a duplicate name (names compare case-insensitively, as Azure matches "type"). The type
// implements [Type]: its name, the directions it allows, and Validate, which checks its own function.json
// properties and returns a [*PropertyError] naming the property and what is allowed (the registry turns it into an
// appconfig.FieldError naming the file and the JSON path, bindings[i].property).
//
// A trigger also implements [Trigger]. When the host starts an app it calls Start once per enabled function whose
// trigger is that type, giving it the [Function] (the app's name, directory, host.json and the function's
// bindings) and an [Invoker]. The trigger listens for its events however it likes (a timer, a queue poll, a
// subscription on the substrate) and fires each one with Invoker.Invoke, passing the trigger value and any trigger
// metadata as raw JSON in an [Invocation]; the host runs the worker and hands back the [Result] (outputs already
// written), so the trigger can complete, retry or dead-letter its message. Start returns a stop function the host
// calls when the app stops or is redeployed. The HTTP trigger's Start does nothing: its events arrive through the
// host's HTTP front door.
//
// A trigger whose events arrive as HTTP requests to an extension webhook (Azure's /runtime/webhooks/{extension},
// such as the Event Grid trigger's) also implements [Webhook]: the host checks the extension's system key
// ([SystemKeyName]) or the master key and hands the request to ServeWebhook, which finds the function the request
// names and invokes it. Such a type usually implements [Addressable] too, so that the function's invoke URL shows
// the webhook; the management API adds the system key to it.
//
// An input binding implements [Input]: before each invocation the host calls Read for each of the function's in
// bindings (other than the trigger) whose type implements it, and puts the value in Data under the binding's name.
// An output binding implements [Output]: after a successful invocation the host calls Write for each out binding
// the worker set (the binding named "$return" receives ReturnValue). Both get the [Invocation], whose trigger
// metadata binding expressions ("{name}", "{queueTrigger}", "{orderId}") refer to. An error fails the invocation.
//
// What a binding type needs from the platform arrives in [Function].Env ([Env]): the substrate, for state that
// must outlive a restart and be shared by instances and nodes (timer schedule status, blob receipts); a
// storageclient.Provider, to reach Blob and Queue storage for a connection; the clock; the node's name. An app run
// without the platform gets an Env with nil fields, and a type that needs one says so from Start.
//
// The package that defines a binding type is linked into the binary by an import (usually a blank import next to
// the service that owns the resource, e.g. the queue service imports its queuebinding package).
package binding
