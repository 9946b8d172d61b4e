// Package blobbinding provides the Blob storage binding types: "blobTrigger", and "blob" as an input and an
// output. They register themselves in init; binding/all links the package in.
//
// # function.json
//
//	{"type": "blobTrigger", "direction": "in", "name": "blob", "path": "images/{name}",
//	 "connection": "AzureWebJobsStorage", "source": "LogsAndContainerScan", "dataType": "binary"}
//	{"type": "blob", "direction": "in",  "name": "index", "path": "files/{name}.json", "dataType": "string"}
//	{"type": "blob", "direction": "out", "name": "thumb", "path": "thumbs/{name}"}
//
// connection names an app setting (default AzureWebJobsStorage; "AzureWebJobs"+name is tried too, as Azure
// does) holding a storage connection string; the account comes from binding.Env.Storage. dataType is "string"
// (the default: the content as UTF-8 text, other bytes become U+FFFD) or "binary" (the content as a base64
// string); "stream" means binary, since a custom handler gets the content inside the JSON payload either way
// (the Go SDK reads it so). Problems are *binding.PropertyError naming the property: a missing path, a malformed
// one, an invalid container name, a dataType or source not allowed.
//
// # Trigger paths
//
// A trigger's path is "container" (every blob of the container) or "container/pattern", where pattern is an
// [expr.Pattern]: "images/{name}", "input/{name}.{ext}", "logs/{year}/{month}/{file}". As in Azure the container
// part is literal: "{container}/{name}" is refused ("Container paths cannot contain {resolve} tokens"). A blob
// whose name the pattern does not match never fires; the captured values are trigger metadata and binding data
// for the function's other bindings.
//
// # What the function gets
//
// Data[<trigger name>] is the blob's content (a JSON string: text, or base64 with dataType binary). Metadata:
//
//	BlobTrigger  "images/cat.png" (container/name)
//	Uri          the blob's URL on its account's endpoint
//	Properties   {"BlobType":"BlockBlob","ContentLength":n,"Length":n,"ContentType":..,"ETag":..,
//	              "LastModified":..,"CreatedOn":..,"Created":..} (Azure.Storage.Blobs' names, and CloudBlob's)
//	Metadata     the blob's user metadata, {"key":"value"}
//	name, ext..  the pattern's values
//
// Azure's host leaves keys ending in "Trigger" out of a custom handler's Metadata; Lapis keeps BlobTrigger, which
// handlers often want.
//
// # Firing once per version
//
// With the default source, Start subscribes to the container's blob events (storageclient.Account.BlobEvents:
// pushed from the blob service on this platform, polled elsewhere), then lists the container (so that blobs
// written while the app was down, and before the subscription, fire), and looks at every matching blob it hears
// of; with source EventGrid the blobs come from Event Grid instead (see Source below). Each version of a blob (its
// name and ETag) fires once, across restarts, instances and nodes, through receipts in the substrate's KV bucket
// "lapis-functions-blobreceipts":
//
//   - the key is <app>.<function>.<hash of account, container and blob name> ([ReceiptKey]); the value is a
//     [Receipt]: the ETag it is about, a state (running, failed, done, poisoned), the attempts, the owning
//     instance and its lease, the retry time and the last error;
//   - an instance reads the blob, then claims its version with a compare-and-set on the receipt (create, or
//     update at the revision it read): the version is new (or newer than the receipt's), or failed and due for a
//     retry, or running under a lease that expired (its instance died; that attempt counts as failed). A done or
//     poisoned receipt of the same ETag, or a running one under a live lease, means there is nothing to do;
//   - while the function runs the owner renews its lease (30 s) every 10 s; the outcome is recorded with a
//     compare-and-set at the revision it holds;
//   - every instance watches the function's receipts and retries those whose retry is due or whose lease ran out.
//
// A newer version of a blob replaces the receipt of the older one, so the bucket holds one key per blob (a blob
// deleted before it could be processed has its receipt removed). Several instances, and several nodes sharing
// the substrate, therefore never run one version twice, except when an invocation outlives a lease it could not
// renew (the substrate unreachable for 30 s); a restart does not run completed versions again. What Azure keeps
// in the azure-webjobs-hosts container as blob receipts is here in the substrate, so deleting a receipt there does
// not force a reprocess; deleting the key from the bucket does.
//
// # Retries and poison blobs
//
// A failed invocation is retried at once (Azure's blob trigger queue has no visibility delay), up to
// host.json extensions.blobs.poisonBlobThreshold attempts per version (default 5). After the last failure the
// trigger puts Azure's message on the queue "webjobs-blobtrigger-poison" of the same account and stops retrying
// that version ([PoisonMessage]):
//
//	{"Type":"BlobTrigger","FunctionId":"<app>.Functions.<function>","BlobType":"BlockBlob",
//	 "ContainerName":"images","BlobName":"cat.png","ETag":"\"0x8D...\""}
//
// The message text is base64-encoded as the Functions host writes it, unless host.json
// extensions.queues.messageEncoding is "none". extensions.blobs.maxDegreeOfParallelism (default 8 × CPUs) bounds
// the concurrent invocations of each blob-triggered function, whatever fired them (Azure bounds all of an app's
// together).
//
// # Source
//
// "source" is "LogsAndContainerScan" (the default) or "EventGrid", in any case. With EventGrid the trigger neither
// follows nor scans the container: a blob fires only when Event Grid delivers its Microsoft.Storage.BlobCreated
// event to the blob extension's webhook, which the host serves at
//
//	/runtime/webhooks/blobs?functionName=Host.Functions.{function}
//
// once the request carries the system key "blobs_extension" or the master key ([Trigger] implements
// binding.Webhook and binding.Addressable: the function's invoke_url_template is that URL with &code=, the
// endpoint to give an Event Grid subscription on the account's system topic; functionName may also be the bare
// function name). The handshakes are the Event Grid trigger's (eventgridbinding.ServeDelivery): the
// SubscriptionValidation POST and the CloudEvents OPTIONS. A notification fires the function for each
// BlobCreated event, in the Event Grid schema or as a CloudEvent, whose subject
// ("/blobServices/default/containers/{container}/blobs/{name}", else data.url, which Azure reads) names a blob of
// the trigger's container that the path matches. It goes through the receipts like any other blob, so an event
// delivered twice fires a version once, and the value and metadata are the default source's. Other events
// (BlobDeleted, other containers, other names) are acknowledged and ignored, and the blob is read from the
// function's own connection whatever account the event names, as in Azure.
//
// The answer is 202 once every such blob has been processed, or needs nothing from this delivery (its version
// is done or poisoned, or under way on another instance, whose failure the trigger retries), and 500 with the
// error when an invocation failed: Event Grid retries the delivery, while the trigger retries the version at once
// as above and poisons it after the last attempt (a later delivery then finds it poisoned and gets 202). Azure's webhook answers 202
// as soon as it has queued the blobs; Lapis answers once the function ran, so that Event Grid's retries also
// cover an instance that stops meanwhile. An unknown function, or one whose source is not EventGrid, is 404; a
// function whose trigger is not running (it could not start, or is stopping) is 503.
//
// # Inputs and outputs
//
// A blob input or output path is a template ([expr.Template]) evaluated per invocation against the trigger's
// metadata and value ("output/{name}", "archive/{orderId}/{rand-guid}.json", "{DateTime}"). An input whose blob
// does not exist is null, as in Azure. An output writes a JSON string as its text (with dataType binary,
// base64-decoded when it is base64; Lapis does not copy Azure's quirk of decoding any string that happens to be
// valid base64 for a string binding) and any other JSON value as written; null writes nothing; the container is
// created when missing.
//
// An output that writes to a path the function's own trigger matches fires the trigger again, as in Azure (and
// can loop): a function triggered on "images/{name}" that writes "images/{name}.small" runs again for the small
// one. Writing where the pattern does not match ("thumbs/{name}") never fires it.
package blobbinding
