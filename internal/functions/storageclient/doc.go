// Package storageclient is how binding types reach Blob and Queue storage: a Provider resolves a binding's
// connection (the value of the app setting its "connection" names, AzureWebJobsStorage by default) to an Account
// with the few operations triggers and bindings need.
//
// There are two implementations. In the platform (`lapis start`, and `lapis func start` with the platform
// embedded) an account on this platform's own Blob and Queue endpoints is served in process: queue receives are
// pushed by the queue service as messages arrive (no polling), and blob changes come from the blob service's
// events on the substrate. Any other endpoint (another Lapis, Azurite, Azure) is reached over the REST API with
// SharedKey, polling as the Azure Functions host does.
//
// # Providers
//
// [NewREST] makes the REST provider: a small hand-written client (net/http, SharedKey signing with the auth
// package's string-to-sign, or the connection string's SAS appended) for any Azure-compatible endpoint. Account
// only parses the connection string; nothing is sent until an operation. ReceiveMessages polls Get Messages: after
// an empty answer it waits RESTOptions.MinPollInterval (100 ms), doubling with ±20 % jitter up to the call's
// maxWait (the queue trigger passes host.json maxPollingInterval), and starts again from the minimum after the next
// call. BlobEvents lists the container every RESTOptions.BlobPollInterval (2 s) and delivers each blob whose ETag
// is new since the previous listing.
//
// [NewInProcess] (or [FromServiceEnv] inside a platform service) makes the platform's provider. A connection string
// whose QueueEndpoint or BlobEndpoint is path-style on a host:port this platform listens on (loopback names are
// one host; with port 0 in tests, compare with the port actually got) and that carries an AccountKey is served
// in process, after checking the account exists and the key is one of its keys (a ConnectionError otherwise; the
// check is cached for 30 s per connection string). UseDevelopmentStorage=true stands for RESTOptions.Development
// (Azurite's 127.0.0.1:10000 and :10001 unless set), so it is in process only when that is this platform.
//
// In process:
//   - queue operations call the queue service directly; ReceiveMessages is queue.Service.ReceiveMany, which waits
//     on the queue's change signal (push: a message is received within a millisecond of its Put) and writes the
//     batch's dequeue updates to JetStream pipelined; DeleteMessages ([BatchDeleter]) deletes a batch in one round
//     with queue.Service.DeleteMany;
//   - BlobEvents follows the Microsoft.Storage.BlobCreated events the blob service publishes for the account
//     (substrate.PublishEvent, kind "storage", topic the account's ARM id) with an ephemeral ordered consumer on
//     the events stream that starts at the time of the call, and keeps those of the container ([BlobCreated]);
//   - blob reads, writes, listings and container creation go over HTTP to this platform's Blob endpoint with
//     SharedKey, like the REST client (simple and always right).
//
// Everything else (other hosts or ports, https, a SAS instead of a key) goes to the REST client.
//
// # Errors
//
// A connection string that cannot be used is a *[ConnectionError] naming the problem (unparsable, no AccountKey or
// SAS, a key that is not base64 or not the account's, an account this Lapis does not have, key access disabled);
// it never quotes the key. An operation the service refuses is an *[Error] with the HTTP status and Azure's error
// code (QueueNotFound, PopReceiptMismatch, AuthenticationFailed, ...); every 404 (blob, container, queue, message)
// matches [ErrNotFound] with errors.Is. A connection string without the endpoint an operation needs says so.
package storageclient
