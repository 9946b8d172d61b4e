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
// UseDevelopmentStorage=true for storage). Any other endpoint (Azure, the real emulator elsewhere, another Lapis)
// goes to the REST client.
//
// In process, every operation calls *docdb.Service's Go API: databases, containers, documents (ReplaceItem
// conditional on the etag), queries (all pages), the change feed (each document given _lsn, its change's sequence,
// as Cosmos DB's feed has it) and Watch, the store's push notification of writes, so that a trigger learns of a
// change within milliseconds instead of polling.
//
// # The REST provider
//
// NewREST reaches any Cosmos DB endpoint over the Cosmos DB REST API (x-ms-version 2018-12-31), signing each
// request with the AccountKey (Authorization: type=master&ver=1.0&sig=..., docdb.AuthHeader); names under
// .localhost are dialed on the loopback interface (package loopback), so {account}.localhost reaches another
// Lapis's accounts. lapis func start uses it beside an already running Lapis. Account sends nothing; each
// operation is one or a few requests:
//
//   - CreateDatabaseIfNotExists and CreateContainerIfNotExists read first (a read-only key serves what exists),
//     then POST; 409 (created meanwhile) is success. A container's partition key defaults to Hash (MultiHash for
//     several paths), version 2.
//   - Container reads the database and the container, and caches the container's partition key paths, from which
//     CreateItem and UpsertItem extract the document's x-ms-documentdb-partitionkey (PartitionKeyOf). A 400 or
//     404 drops the cached description.
//   - ReplaceItem is a PUT with If-Match; Query a POST (application/query+json) across partitions when no
//     partition key is given, following x-ms-continuation to the last page. The gateway runs each query whole:
//     queries Azure cannot run that way across several physical partitions fail there.
//   - ChangeFeed reads partition key range "0" (A-IM: Incremental feed), which is the whole container on Lapis,
//     on the emulator and on Azure while the container has one physical partition. A position is the feed's etag
//     plus one: 1 asks without If-None-Match, docdb.FromNow asks once with If-None-Match: * for the end; 304 is
//     nothing new. Each document's _lsn is its ChangeFeedItem.Seq.
//   - Watch cannot be pushed: its channel ticks every RESTOptions.WatchInterval (1 s), so that a trigger reads
//     the feed that often; a negative interval makes it report ErrWatchUnsupported (the trigger then polls every
//     feedPollDelay).
//
// Errors are *docdb.Error (wrapped with the operation): the service's status, code, x-ms-substatus and message,
// so that errors.Is with docdb.ErrNotFound, ErrConflict, ErrPreconditionFailed and ErrBadRequest works; a 401
// says that the AccountKey is the likely cause. 429 and 449 are retried a few times after x-ms-retry-after-ms.
// Not supported: https endpoints with an untrusted certificate (the emulator's; give RESTOptions.HTTPClient a
// transport that trusts it), resource and Entra ID tokens, containers of several partition key ranges.
package docclient
