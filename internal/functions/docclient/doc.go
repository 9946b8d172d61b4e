// Package docclient is how binding types reach the document store: a Provider resolves a Cosmos DB connection
// string (the value of the app setting a cosmosDB binding's "connection" names) to an Account with the few
// operations the Cosmos DB trigger and bindings need: databases and containers (created if missing), documents
// (create, upsert, read, replace conditional on the etag), queries, and the change feed with a push notification.
//
// # Connection strings
//
// ParseConnectionString reads AccountEndpoint=...;AccountKey=...; as Azure's extension does (keys in any case,
// values optionally quoted, other keys ignored). Identity-based connections (no key) are refused with a clear error.
//
// # The in-process provider
//
// NewInProcess (FromServiceEnv inside a platform service) serves the accounts of the platform's own document store
// (package docdb): a connection string whose AccountEndpoint is http(s)://{account}.localhost, localhost or a
// loopback address, on the port the store listens on, and whose AccountKey is one of that account's keys (checked
// when the account is opened, then cached for 30 s per connection string; a read-only key serves reads and queries
// only). With InProcessOptions.Emulator the Cosmos DB emulator's endpoint, localhost:8081, stands for the
// platform's emulator account whatever port the platform listens on (lapis func start, like
// UseDevelopmentStorage=true for storage). Any other endpoint (Azure, the real emulator elsewhere, another Lapis) is
// refused with a *ConnectionError that says so: there is no REST client yet.
//
// In process, every operation calls *docdb.Service's Go API: databases, containers, documents (ReplaceItem
// conditional on the etag), queries (all pages), the change feed (each document given _lsn, its change's sequence,
// as Cosmos DB's feed has it) and Watch, the store's push notification of writes, so that a trigger learns of a
// change within milliseconds instead of polling.
package docclient
