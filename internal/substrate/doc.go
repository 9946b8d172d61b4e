// Package substrate owns Lapis's one storage and messaging layer: NATS JetStream.
//
// It embeds a NATS server (JetStream on, no network listener) in the Lapis
// process, or connects to an external NATS server or cluster when given a URL,
// and it is the only place that knows how streams, consumers, key-value buckets
// and object stores are named and configured. Services ask it for what they
// need by service and name; none of them builds a subject or bucket name by
// hand.
//
// # Naming
//
// Every subject starts with "lapis.<service>."; streams are "LAPIS_<SERVICE>_<NAME>";
// buckets and object stores are "lapis-<service>-<name>". Arbitrary strings such as
// resource names become safe subject tokens and KV keys through [Token], which is
// reversible ([ParseToken]).
//
// # Durability
//
// [SyncInterval] (the default) writes every acknowledged message to the
// operating system before the acknowledgement and fsyncs on an interval (one
// second by default), so a process crash loses nothing and a power cut loses
// at most that interval. [SyncAlways] fsyncs before every acknowledgement.
//
// # Events
//
// System events that other services route (resource changes, blob changes) go
// to one stream, [EventsStream], on subjects made by [EventSubject].
package substrate
