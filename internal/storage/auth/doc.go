// Package auth verifies Azure Storage credentials for the Blob and Queue
// services: SharedKey and SharedKeyLite signatures (the exact
// string-to-sign of the Azure SDKs, accepting either ordering of x-ms-*
// headers that clients produce), account SAS and service SAS (signature,
// start and expiry with Azure's clock skew, IP range, permissions, services,
// resource types and scope), and anonymous requests, which the services
// allow only for public containers.
//
// Not supported, with a clear 403: stored access policies (si) and user
// delegation SAS. The spr (protocol) field is signed but not enforced,
// since Lapis serves plain HTTP on loopback.
package auth
