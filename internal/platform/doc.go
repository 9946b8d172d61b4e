// Package platform starts and stops a Lapis server: it takes the data
// directory's lock, opens the substrate, registers every service's resource
// types, serves the management port (the ARM-shaped API, /healthz, /readyz
// and /metrics) and every service endpoint, announces them, and on a signal
// drains in-flight requests before closing the substrate.
//
// The data directory holds everything a restart needs:
//
//	lapis.lock    held while a server runs; a second server on the same dir refuses
//	admin.key     the management API's bearer token, generated once (mode 0600)
//	subscription  the default subscription id, generated once
//	server.json   the running server's endpoints, for the CLI to find it
//	nats/         the embedded JetStream store
package platform
