// Package cosmosbinding registers the Cosmos DB binding types: the "cosmosDBTrigger" trigger, fired by a
// container's change feed, and the "cosmosDB" binding, an output (direction "out") that upserts documents and an
// input (direction "in") that reads one document or a query's results. They reach Lapis's document store (package
// docdb) through the Env's docclient.Provider: the platform serves its own accounts in process, and the bindings
// refuse any other endpoint (there is no REST client yet).
//
// # function.json
//
// Properties are named as in the Cosmos DB extension 4.x; the 3.x names (connectionStringSetting,
// collectionName, leaseConnectionStringSetting, leaseCollectionName, createLeaseCollectionIfNotExists,
// leaseCollectionPrefix, leasesCollectionThroughput, collectionThroughput) are read too, with a note in the log.
// connection names the app setting that holds the connection string (AccountEndpoint=...;AccountKey=...;); it
// defaults to "CosmosDB", as the extension's, and a name X also finds the setting AzureWebJobsX. Identity-based
// connections (X__accountEndpoint) are refused with a clear error. Numbers and booleans may be JSON strings (an
// %AppSetting% gives one). Problems are load errors naming the property (binding.PropertyError).
//
// # The trigger
//
// cosmosDBTrigger takes databaseName and containerName (literal names, required), leaseConnection (default
// connection), leaseDatabaseName (default databaseName), leaseContainerName (default "leases"),
// createLeaseContainerIfNotExists (default false), leaseContainerPrefix, startFromBeginning, startFromTime (ISO
// 8601; not with startFromBeginning), maxItemsPerInvocation (default 100), and in milliseconds feedPollDelay
// (5000), leaseAcquireInterval (13000), leaseExpirationInterval (60000) and leaseRenewInterval (17000, shorter than
// the expiration). leasesContainerThroughput, preferredLocations, checkpointInterval and checkpointDocumentCount are
// accepted and ignored.
//
// Start resolves the connections and opens the lease container: a missing one is an error unless
// createLeaseContainerIfNotExists is set (then it is created with its database, partition key /id and time to live
// on, as the extension makes it); one whose partition key is not /id is an error. A monitored container that does
// not exist yet is waited for (looked up every second; Azure's host retries starting the listener), and since its
// changes all come after the trigger started, its lease then starts at its beginning.
//
// # Leases
//
// Progress is kept as Azure's change feed processor keeps it: one lease document per monitored container (Lapis's
// containers have one partition key range, lease token "0") in the lease container, with the id
// {leaseContainerPrefix}{endpoint host}_{database _rid}_{container _rid}..0 and the members of the processor's
// DocumentServiceLeaseCore: LeaseToken, Owner (null when free), ContinuationToken (the change feed's etag, the
// quoted sequence of the last change processed: "\"42\"") and timestamp (when the owner last wrote it). Every
// write is a replace conditional on the lease's etag.
//
//   - Start creates the lease, free, unless it exists, with the continuation the trigger starts from: after the
//     changes made so far (the default), before the first change (startFromBeginning), or before the first change
//     whose _ts is at or after startFromTime. An existing lease keeps its continuation, as in Azure.
//   - The processor (one goroutine per function, owned by stop) acquires the lease when it is free, already its
//     own, or expired (timestamp older than leaseExpirationInterval), by writing itself as the owner
//     ({node}/{random}); a write that loses the race, or a lease another instance holds, is retried every
//     leaseAcquireInterval. While it holds the lease a second goroutine renews it every leaseRenewInterval; a
//     renewal or checkpoint that finds the lease changed means another instance took it over, and the processor
//     stops serving it.
//   - It reads the change feed from the continuation, up to maxItemsPerInvocation changes at a time, invokes the
//     function with each batch, and checkpoints the continuation after it (also renewing the lease). So a restart,
//     or another instance taking over, resumes exactly after the last batch processed: each change fires once in
//     the normal case, and at least once when an instance dies between an invocation and its checkpoint.
//   - When idle it waits for the store to push a change (docclient Watch: a write reaches the function within
//     milliseconds), with feedPollDelay as a safety net; when nothing can be pushed it polls every feedPollDelay.
//   - stop waits for the invocation in flight and its checkpoint, then releases the lease (Owner null), so another
//     instance takes it over at once instead of after the expiry.
//
// The change feed is in latest-version mode: each document's latest version once, in the order of the last
// writes; deletes and expiries are not in it, so they do not fire.
//
// # Invocations and failures
//
// Data[binding name] is the batch, a JSON array of the documents with their system properties (_rid, _self,
// _etag, _attachments, _ts) and _lsn; there is no trigger metadata (the extension's binding data is empty). As in
// Azure, a failed invocation is not retried without a retry policy: it is logged and the trigger moves past the
// batch. With a function's (or host.json's) retry policy, fixedDelay or exponentialBackoff, the batch is retried
// (package retry, the count kept in the substrate) with Metadata.RetryContext, and after the last retry the
// trigger moves on. A stop while a retry is pending (or an invocation the host cut short) leaves the lease
// unchanged, so that the next owner runs the batch again, continuing the retry count.
//
// # The output
//
// databaseName and containerName (binding expressions allowed), createIfNotExists and partitionKey (the partition
// key path of the container it creates; default /id). The value is one document, an array of them (null
// elements skipped), or either serialized in a JSON string; each must be a JSON object, and one without "id"
// gets a new GUID (as the extension's DocumentClient did). Each is upserted; when the database or container is
// missing and createIfNotExists is set, they are created and the write made again. The store's refusal fails the
// invocation with its message.
//
// # The input
//
// databaseName, containerName, and either id (with partitionKey; both binding expressions) or sqlQuery. With id
// the value is the document, or null when there is none: read by partitionKey when set (a JSON array such as
// ["a",1] for a hierarchical or non-string key, otherwise the string), otherwise found by a query on its id
// across partitions. With sqlQuery the value is the JSON array of the results: each {expression} of the query
// becomes a parameter @name holding its value (".", "-" and other characters that cannot be in a name made "_"),
// as the extension's CosmosDBSqlResolutionPolicy does, so values never become query text. With neither, the value
// is every document of the container (of the partition partitionKey when set).
package cosmosbinding
