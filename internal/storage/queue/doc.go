// Package queue is the Storage Queue service: Azure's Queue REST API,
// path-style as Azurite serves it (http://127.0.0.1:10001/{account}/{queue}/messages),
// so that the azqueue SDK and Azurite users' connection strings work unchanged.
//
// # Operations
//
// Queues: create (201; 204 when it exists with the same metadata; 409
// QueueAlreadyExists otherwise), delete, list (prefix, marker, maxresults,
// include=metadata), get and set metadata (GET ?comp=metadata also answers
// x-ms-approximate-messages-count) and stored access policies (?comp=acl;
// kept, but SAS with si= is refused by the auth package). Messages: Put
// (visibilitytimeout, messagettl including -1, 64 KiB of text), Get (1 to 32,
// visibility 1 s to 7 days, default 30 s; each Get adds one to DequeueCount
// and issues a new pop receipt), Peek, Delete and Update (by pop receipt),
// Clear. Errors carry Azure's codes. Service properties and statistics are
// not served. Requests are authenticated by internal/storage/auth:
// SharedKey, account SAS and service SAS; queues have no anonymous access.
//
// # State
//
// Everything lives in two JetStream key-value buckets (history 1):
//
//   - queues: key "{account}.{queue}", the name, metadata, access policies
//     and the queue's current generation;
//   - messages: key "{generation}.{message id}", the text, insertion,
//     expiration and next-visible times, dequeue count, pop receipt and an
//     insertion order.
//
// Every change is a compare-and-set on the key's revision, so two callers
// (or two Lapis nodes) never both dequeue, delete or update the same
// message: the loser sees the conflict and skips the message (Get) or gets
// PopReceiptMismatch (Delete, Update). Clear and Delete Queue move the queue
// to a new generation, which is atomic and O(1); the sweeper deletes the
// messages of generations no queue uses after a minute's grace, and
// expired messages, every 30 s. Expired messages are never returned, even
// before the sweeper deletes them.
//
// Visibility needs no timer that a restart could forget: a message's
// next-visible time is in its record, and a message is visible when that
// time has passed on the service's clock (service.Env.Clock, injectable).
// After a restart, invisible messages stay invisible until their time and
// then come back.
//
// # The index
//
// An in-memory index (queues by name; per generation, the messages in two
// heaps, visible ones by insertion order and invisible ones by next-visible
// time) answers reads. Start builds it from the buckets before serving
// (the watchers' initial values), and watchers on both buckets keep it
// current afterwards, so writes by other Lapis nodes sharing the same NATS
// arrive within milliseconds. Local writes are applied at once with their
// revision, so a client reads its own writes; an update older than what
// the index holds is ignored. When the index disagrees with a caller (an
// unknown queue, a pop receipt that does not match), the service reads the
// key from JetStream before answering, so a pop receipt issued by another
// node a moment ago is honoured. Limits of sharing: every node holds every
// message (text included) in memory, so the total queued data must fit in
// each node's memory; the insertion order comes from each node's clock, so
// FIFO across nodes is as good as their clocks agree; and the sweepers of
// all nodes run (their deletes are compare-and-set, so this is only
// duplicate work).
//
// # Receiving in Go (for the queue trigger)
//
// Besides HTTP, the service has a Go API with the same rules: CreateQueue,
// DeleteQueue, GetQueue, ListQueues, SetMetadata, Put, Get, Peek, Delete,
// Update and Clear. [Service.Receive] is the push-driven Get that the
// Functions queue trigger uses:
//
//	msgs, err := svc.Receive(ctx, account, queue, 16, 30*time.Second)
//
// It blocks until at least one message is visible and dequeues up to n of
// them (each with a new pop receipt and DequeueCount incremented), then the
// caller runs the function and calls Delete on success, or Update (a new
// visibility as back-off) or Put into a poison queue on failure. It wakes
// on every put or change of the queue, on this node or another (through
// the watch), and when the earliest invisible message's time comes; it
// never polls JetStream. It returns ctx.Err() when ctx ends, ErrStopped
// when the service stops and ErrQueueNotFound when the queue does not
// exist.
//
// [Service.ReceiveMany] and [Service.DeleteMany] are Receive and Delete for
// batches, with the same rules: the batch's writes go to JetStream
// pipelined (published asynchronously, each still a compare-and-set on the
// message's revision, acknowledgements awaited together), so a batch holds
// the queue for about one round trip instead of one per message. The queue
// trigger uses them.
package queue
