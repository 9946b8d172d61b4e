// Package blob is Lapis's Blob service: Azure Blob Storage's REST protocol,
// path-style and Azurite-compatible (http://127.0.0.1:10000/{account}/{container}/{blob}),
// so that the Azure SDKs work against it unchanged.
//
// # What it serves
//
// Containers: create, delete, list (prefix, marker, maxresults,
// include=metadata), properties, metadata, ACL with the public access level
// and stored access policies. Block blobs: Put Blob, Put Block, Put Block
// List (Latest, Committed, Uncommitted), Get Block List, Get Blob with a
// range (206 and Content-Range; 416 InvalidRange past the end, and for any
// range of an empty blob), HEAD, Set Blob Properties (the HTTP headers,
// which it replaces as Azure does), Set Blob Metadata, Delete, List Blobs
// with prefix and delimiter (BlobPrefix), marker paging and
// include=metadata, and Copy Blob from a blob of this Lapis (synchronous:
// x-ms-copy-status is success in the answer). Append blobs: Put Blob with
// x-ms-blob-type AppendBlob and Append Block with the append-position and
// max-size conditions. Conditional headers (If-Match, If-None-Match with *,
// If-Modified-Since, If-Unmodified-Since) behave as in Azure: 412
// ConditionNotMet for writes, 304 for GET and HEAD, 409 BlobAlreadyExists for
// If-None-Match: * on an existing blob. Put Blob, Put Block and Append Block
// compute the content's MD5, check Content-MD5 when sent (400 Md5Mismatch)
// and return it; a Put Blob keeps it as the blob's Content-MD5. Page blobs,
// snapshots, versions, leases, tags and soft delete are not served.
//
// Requests are authenticated by the auth package (SharedKey, SharedKeyLite,
// account and service SAS). An anonymous request may read blobs of a
// container whose public access level is blob or container, and list a
// container whose level is container; created accounts allow public
// access only when their allowBlobPublicAccess property is true.
//
// # Storage model
//
// All state lives in JetStream: a key-value bucket "meta" holds records and
// an object store "data" holds content.
//
//	c.{account}.{container}                   container record (JSON)
//	b.{account}.{container}.{blob}            blob record: properties, metadata, manifest
//	u.{account}.{container}.{blob}.{blockid}  uncommitted block: its size and objects
//	p.{account}                               blob service properties (XML)
//
// Names become key tokens with substrate.Token; a token too long for a
// subject is replaced by a hash ("=H" and hex), and then the record, which
// always holds the name, gives it back.
//
// A blob's content is a manifest: a list of blocks, each a list of
// segments. A segment is either an object-store object of at most 4 MiB
// or, for a Put Blob of at most 64 KiB, bytes kept inline in the record
// (one KV write per small upload, which is what makes small PUTs fast).
// Put Block stores the block's body as objects and records the block under
// its u. key; Put Block List only writes the new manifest, which names the
// blocks' objects: nothing is copied. A ranged read walks the manifest and
// reads only the segments it needs, discarding less than one segment at the
// start. Uploads and downloads stream through; a blob is never whole in
// memory.
//
// Every change to a record is a compare-and-set on its KV revision, retried
// on conflict, with the request's conditions evaluated against the record
// actually replaced. Objects that no record refers to any more (the old
// content of an overwritten or deleted blob, blocks left out of a Put Block
// List) are deleted after the record changes; a crash in between leaves
// an orphan object that takes space but is never read.
//
// # Events
//
// Every successful Put Blob, Put Block List, Copy Blob and Delete Blob
// publishes exactly one Microsoft.Storage.BlobCreated or BlobDeleted event in
// the Event Grid schema, with substrate.PublishEvent(ctx, EventKind,
// accountID, event, eventID), after the record is stored; the publish
// outlives a client that hangs up and is retried under the same message id
// (deduplicated by JetStream). A failed write publishes nothing; Append
// Block, Set Blob Properties and Set Blob Metadata raise no event, as in
// Azure. The topic is the account's ARM id (see [AccountID]); data.sequencer
// is 32 hex digits, the record's KV revision then 0 for a write or 1 for a
// delete, so it grows for every change of one blob, across restarts too.
//
// # Known limits
//
// Listing reads the container's keys and sorts them for every page, which
// is fine up to a few hundred thousand blobs per container. Deleting a
// container deletes its blobs before it answers. A blob written while its
// container is being deleted may survive into a container of the same name
// created later.
package blob
