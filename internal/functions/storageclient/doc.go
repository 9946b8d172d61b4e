// Package storageclient is how binding types reach Blob and Queue storage: a Provider resolves a binding's
// connection (the value of the app setting its "connection" names, AzureWebJobsStorage by default) to an Account
// with the few operations triggers and bindings need.
//
// There are two implementations. In the platform (`lapis start`, and `lapis func start` with the platform
// embedded) an account on this platform's own Blob and Queue endpoints is served in process: queue receives are
// pushed by the queue service as messages arrive (no polling), and blob changes come from the blob service's
// events on the substrate. Any other endpoint (another Lapis, Azurite, Azure) is reached over the REST API with
// SharedKey, polling as the Azure Functions host does.
package storageclient
