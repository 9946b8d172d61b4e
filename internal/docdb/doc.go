// Package docdb is Lapis's document store: the Cosmos DB for NoSQL data
// plane, served as the platform service "cosmos" on its own port (default
// 8081, the Cosmos DB emulator's), so that the Azure SDKs (azcosmos, ...)
// and emulator connection strings work against it.
//
// # Accounts and routing
//
// Each database account is served on its own host name,
// {account}.localhost:8081 (the Host header names it); plain localhost and
// the loopback addresses are the built-in emulator account "localhost",
// whose key is the emulator's well-known key (package account). Requests
// are signed with a master key as Cosmos DB's are ([Signature]): the
// account's read-write keys for everything, its read-only keys for reads
// and queries; x-ms-date must be within 15 minutes of the server's clock.
// Resource tokens and Entra ID tokens are refused.
//
// # Storage
//
// Everything lives in JetStream (see store.go): one key-value bucket
// (lapis-cosmos-meta) holds the databases and containers of every account;
// each container's documents are in a bucket of their own
// (lapis-cosmos-docs-{container rid}), keyed by partition key and id, with
// history 1. That bucket's stream, read in order, is the container's
// change feed in latest-version mode: each document's latest version once,
// in the order of the last writes; deletes leave markers the feed skips.
// Transactional batches are written with JetStream's atomic batch publish,
// each write conditional on the document being as the batch read it.
//
// # Queries and views
//
// Queries do not read the bucket: each node keeps, per container it has
// queried, a view (view.go) of the container's documents in memory, each
// with its stored bytes (sent back as they are) and their decoding (what
// the query engine reads), in stream order, with an index by partition
// key so that a single-partition query reads only its partition. The
// first query of a container builds the view by reading its bucket
// stream; every query first asks the stream for its last sequence and
// applies the messages after the view's last applied one (writes,
// deletes, purges), so that a query sees every write acknowledged before
// it began, whichever node made it. Expired documents are skipped at
// read time, as by reads. Readers take a point-in-time snapshot without
// waiting for a catch-up in progress. The sweeper drops the views no
// query used for five minutes, and Stop drops them all. A view costs
// about 1.7 KB of heap per document for a 110-byte order with ten
// properties (BenchmarkViewMemory): mostly the decoded map, then the
// stored bytes and the indexes.
//
// # What is served
//
// Databases, containers (partition keys with one path or hierarchical,
// defaultTtl, unique keys, policies echoed), items (create, read with
// If-None-Match, replace, upsert, delete, patch with conditions, If-Match
// on every write), the read feed, queries (package query) with paging by
// opaque continuation tokens, the partition key ranges (one range, "0"),
// transactional batches, the change feed (A-IM: Incremental feed) and time
// to live (reads never return an expired item; a sweeper deletes them).
// The Service also has a Go API for the rest of Lapis (CreateDatabase,
// CreateContainer, UpsertItem, ReadItem, ReplaceItem, PatchItem, Query,
// ChangeFeed, Watch, ...), and registers the ARM types
// Microsoft.DocumentDB/databaseAccounts (package account),
// databaseAccounts/sqlDatabases and databaseAccounts/sqlDatabases/containers,
// whose resources follow what the data plane creates and deletes.
package docdb
