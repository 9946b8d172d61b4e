package docdb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/substrate"
)

// coll is an open container: its definition and its bucket of documents.
type coll struct {
	c      *Container
	b      *bucket
	unique [][]string // the unique keys' paths
}

// openColl opens a container for item operations.
func (s *Service) openColl(ctx context.Context, acct, db, id string) (*coll, error) {
	sc, _, err := s.getContainer(ctx, acct, db, id)
	if err != nil {
		return nil, err
	}
	b, err := s.st.bucket(ctx, sc.Bucket)
	if errors.Is(err, errNoBucket) {
		return nil, notFound()
	}
	if err != nil {
		return nil, err
	}
	uk, uerr := uniqueKeys(sc.Container.UniqueKeyPolicy)
	if uerr != nil {
		return nil, uerr
	}
	return &coll{c: sc.Container, b: b, unique: uk}, nil
}

// docKey is a document's key in its container's bucket.
func docKey(pk PartitionKey, id string) string { return pk.token() + "." + substrate.Token(id) }

// partitionFilter is the key filter of one partition's documents.
func partitionFilter(pk PartitionKey) string { return pk.token() + ".*" }

// docEntry is a stored document.
type docEntry struct {
	obj *object
	raw []byte
	rev uint64
}

// etag is the document's _etag.
func (e *docEntry) etag() string {
	s, _ := e.obj.str("_etag")
	return s
}

// readDoc reads the document under key. It returns nil when there is none;
// live is false for a document that has expired but is still stored.
func (s *Service) readDoc(ctx context.Context, c *coll, key string) (e *docEntry, live bool, err error) {
	kve, err := c.b.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, false, notFound()
	}
	if err != nil {
		return nil, false, fmt.Errorf("docdb: read %s: %w", key, err)
	}
	o, err := parseObject(kve.Value())
	if err != nil {
		return nil, false, fmt.Errorf("docdb: stored document %s: %w", key, err)
	}
	e = &docEntry{obj: o, raw: kve.Value(), rev: kve.Revision()}
	return e, !c.c.expired(o, s.now()), nil
}

// expiresAt is when a document expires (unix seconds), and false if it
// never does: the item's ttl, else the container's defaultTtl, counted
// from its last write; -1 is never. Time to live is off (nothing expires)
// when the container has no defaultTtl.
func (c *Container) expiresAt(o *object) (int64, bool) {
	if c.DefaultTTL == nil {
		return 0, false
	}
	ts, _ := o.int64Prop("_ts")
	ttl := *c.DefaultTTL
	if v, ok := o.int64Prop("ttl"); ok {
		ttl = v
	}
	if ttl <= 0 {
		return 0, false
	}
	return ts + ttl, true
}

// expiredDoc is expired for a decoded document.
func (c *Container) expiredDoc(m map[string]any, now time.Time) bool {
	if c.DefaultTTL == nil {
		return false
	}
	ts, _ := m["_ts"].(float64)
	ttl := *c.DefaultTTL
	if v, ok := m["ttl"].(float64); ok && v == float64(int64(v)) {
		ttl = int64(v)
	}
	return ttl > 0 && now.Unix() >= int64(ts)+ttl
}

func (c *Container) expired(o *object, now time.Time) bool {
	at, ok := c.expiresAt(o)
	return ok && now.Unix() >= at
}

// checkTTL validates an item's own ttl, when the container has time to
// live on: a whole number of seconds, or -1.
func (c *Container) checkTTL(o *object) *Error {
	if c.DefaultTTL == nil {
		return nil
	}
	raw, ok := o.get("ttl")
	if !ok || string(raw) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != float64(int64(f)) || f == 0 || f < -1 || f > 2147483647 {
		return badRequest("The value of ttl '%s' is not valid: an item's ttl is -1 (never expires) or a number of seconds from 1 to 2147483647.", truncate(string(raw), 40))
	}
	return nil
}

// mutation decides, from the current document, what to store: a document,
// or nil to delete the current one.
type mutation func(cur *docEntry) (next *object, err error)

// maxWriteAttempts bounds the retries of a write that loses a race.
const maxWriteAttempts = 32

// mutate reads the document under key, lets f decide what to store and
// stores it, retrying when another write got in between. cur is nil when
// there is no document (or it has expired). It returns the stored
// document (nil after a delete) and whether it was created.
func (s *Service) mutate(ctx context.Context, c *coll, key string, f mutation) (*docEntry, bool, error) {
	if len(c.unique) > 0 {
		// Unique keys are checked against the partition's other documents;
		// the check and the write must not interleave with another's.
		unlock := s.lockPartition(c.b.name, key)
		defer unlock()
	}
	for attempt := 0; ; attempt++ {
		e, live, err := s.readDoc(ctx, c, key)
		if err != nil {
			return nil, false, err
		}
		cur := e
		if !live {
			cur = nil
		}
		next, err := f(cur)
		if err != nil {
			return nil, false, err
		}
		var rev uint64
		var stored *docEntry
		switch {
		case next == nil && e == nil:
			return nil, false, nil
		case next == nil:
			err = c.b.kv.Delete(ctx, key, jetstream.LastRevision(e.rev))
		default:
			rid := childRID(c.c.RID, 8)
			if cur != nil {
				if r, ok := cur.obj.str("_rid"); ok {
					rid = r
				}
			}
			stamp(next, rid, c.c.Self+"docs/"+rid+"/", newETag(), s.now().Unix())
			raw := next.marshal()
			if len(c.unique) > 0 {
				if err := s.checkUnique(ctx, c, key, next); err != nil {
					return nil, false, err
				}
			}
			if e == nil {
				rev, err = c.b.kv.Create(ctx, key, raw)
			} else {
				rev, err = c.b.kv.Update(ctx, key, raw, e.rev)
			}
			stored = &docEntry{obj: next, raw: raw, rev: rev}
		}
		if isWrongSequence(err) {
			if attempt < maxWriteAttempts {
				continue
			}
			return nil, false, retryWith()
		}
		if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrNoStreamResponse) {
			return nil, false, notFound()
		}
		if err != nil {
			return nil, false, fmt.Errorf("docdb: write %s: %w", key, err)
		}
		return stored, cur == nil && stored != nil, nil
	}
}

// partitionLock is a lock on one partition of one container.
type partitionLock struct {
	mu   sync.Mutex
	refs int // holders and waiters; the lock is forgotten at 0
}

// lockPartition locks the partition of the document key in bucket and
// returns the unlock.
func (s *Service) lockPartition(bucket, key string) func() {
	pk, _, _ := strings.Cut(key, ".")
	name := bucket + "/" + pk
	s.locksMu.Lock()
	if s.locks == nil {
		s.locks = map[string]*partitionLock{}
	}
	l := s.locks[name]
	if l == nil {
		l = &partitionLock{}
		s.locks[name] = l
	}
	l.refs++
	s.locksMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.locksMu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.locks, name)
		}
		s.locksMu.Unlock()
	}
}

// checkUnique enforces the container's unique keys within the document's
// partition: no other live document may have the same values at every
// path of a unique key.
func (s *Service) checkUnique(ctx context.Context, c *coll, key string, next *object) error {
	mine := uniqueValues(c, next)
	pk, _, _ := strings.Cut(key, ".")
	var clash bool
	err := s.scan(ctx, c, pk+".*", func(k string, _ uint64, raw []byte) bool {
		if k == key {
			return true
		}
		o, err := parseObject(raw)
		if err != nil || c.c.expired(o, s.now()) {
			return true
		}
		for i, v := range uniqueValues(c, o) {
			if v == mine[i] {
				clash = true
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	if clash {
		return newError(409, codeConflict, "Unique index constraint violation.")
	}
	return nil
}

// scan calls fn with every stored document whose key matches filter (all
// when empty), in write order, until fn returns false. Expired documents
// are included: callers filter them.
func (s *Service) scan(ctx context.Context, c *coll, filter string, fn func(key string, rev uint64, raw []byte) bool) error {
	var keys []string
	if filter != "" {
		keys = []string{filter}
	}
	w, err := c.b.kv.WatchFiltered(ctx, keys, jetstream.IgnoreDeletes())
	if err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			return notFound()
		}
		return fmt.Errorf("docdb: scan %s: %w", c.b.name, err)
	}
	stop := func() {
		_ = w.Stop()
		for range w.Updates() { // let the watcher's delivery finish and close
		}
	}
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("docdb: scan %s: watcher closed", c.b.name)
			}
			if e == nil {
				stop()
				return nil
			}
			if !fn(e.Key(), e.Revision(), e.Value()) {
				stop()
				return nil
			}
		case <-ctx.Done():
			stop()
			return ctx.Err()
		}
	}
}

// Item operations. pk is the request's partition key; nil (for the Go
// API) takes the document's own.

// createItem creates (or, with upsert, creates or replaces) a document.
func (s *Service) createItem(ctx context.Context, c *coll, pk PartitionKey, body []byte, upsert bool, ifMatch string) (*docEntry, bool, error) {
	o, _, key, err := s.prepareDoc(c, pk, body)
	if err != nil {
		return nil, false, err
	}
	return s.mutate(ctx, c, key, func(cur *docEntry) (*object, error) {
		if cur != nil {
			if !upsert {
				return nil, conflict()
			}
			if ifMatch != "" && ifMatch != "*" && ifMatch != cur.etag() {
				return nil, preconditionFailed()
			}
		} else if upsert && ifMatch != "" && ifMatch != "*" {
			return nil, preconditionFailed()
		}
		return o.clone(), nil
	})
}

// prepareDoc reads a document body: its id, its partition key (which must
// be pk's when pk is given) and its key.
func (s *Service) prepareDoc(c *coll, pk PartitionKey, body []byte) (*object, string, string, error) {
	if len(body) > MaxDocumentSize {
		return nil, "", "", tooLarge()
	}
	o, err := parseObject(body)
	if err != nil {
		return nil, "", "", badRequest("The document is not valid: %v.", err)
	}
	id, perr := docID(o)
	if perr != nil {
		return nil, "", "", perr
	}
	if perr := c.c.checkTTL(o); perr != nil {
		return nil, "", "", perr
	}
	own, perr := pkOf(&c.c.PartitionKey, o.vals)
	if perr != nil {
		return nil, "", "", perr
	}
	if pk != nil && !own.equal(pkForKey(c, pk)) {
		return nil, "", "", badRequest("%s", msgPKMismatch)
	}
	for _, k := range systemProps {
		o.del(k)
	}
	return o, id, docKey(own, id), nil
}

// clone copies an object, so that a mutation retried gets a fresh one.
func (o *object) clone() *object {
	c := &object{keys: append([]string(nil), o.keys...), vals: make(map[string]json.RawMessage, len(o.vals))}
	for k, v := range o.vals {
		c.vals[k] = v
	}
	return c
}

// readItem reads a live document.
func (s *Service) readItem(ctx context.Context, c *coll, pk PartitionKey, id string) (*docEntry, error) {
	if err := checkPointPK(c, pk); err != nil {
		return nil, err
	}
	e, live, err := s.readDoc(ctx, c, docKey(pk, id))
	if err != nil {
		return nil, err
	}
	if e == nil || !live {
		return nil, notFound()
	}
	return e, nil
}

// checkPointPK checks that a point operation's partition key names one
// partition: as many components as the container's paths.
func checkPointPK(c *coll, pk PartitionKey) *Error {
	if pk == nil {
		return badRequest("%s", msgPKMissing)
	}
	if len(pk) != len(c.c.PartitionKey.Paths) && !(len(pk) == 1 && pk[0] == Undefined{}) {
		return badRequest("Partition key provided either doesn't correspond to definition in the collection or doesn't match partition key field values specified in the document: the container's partition key has %d paths, the request's %d values.",
			len(c.c.PartitionKey.Paths), len(pk))
	}
	return nil
}

// pkForKey normalises an undefined key of a hierarchical container: [{}]
// stands for every component undefined.
func pkForKey(c *coll, pk PartitionKey) PartitionKey {
	if len(pk) == 1 && pk[0] == (Undefined{}) && len(c.c.PartitionKey.Paths) > 1 {
		out := make(PartitionKey, len(c.c.PartitionKey.Paths))
		for i := range out {
			out[i] = Undefined{}
		}
		return out
	}
	return pk
}

// replaceItem replaces a live document.
func (s *Service) replaceItem(ctx context.Context, c *coll, pk PartitionKey, id string, body []byte, ifMatch string) (*docEntry, error) {
	if err := checkPointPK(c, pk); err != nil {
		return nil, err
	}
	pk = pkForKey(c, pk)
	o, bodyID, key, err := s.prepareDoc(c, pk, body)
	if err != nil {
		return nil, err
	}
	if bodyID != id {
		return nil, badRequest("The id '%s' in the document does not match the id '%s' of the item being replaced.", bodyID, id)
	}
	e, _, err := s.mutate(ctx, c, key, func(cur *docEntry) (*object, error) {
		if cur == nil {
			return nil, notFound()
		}
		if ifMatch != "" && ifMatch != "*" && ifMatch != cur.etag() {
			return nil, preconditionFailed()
		}
		return o.clone(), nil
	})
	return e, err
}

// deleteItem deletes a live document.
func (s *Service) deleteItem(ctx context.Context, c *coll, pk PartitionKey, id, ifMatch string) error {
	if err := checkPointPK(c, pk); err != nil {
		return err
	}
	pk = pkForKey(c, pk)
	_, _, err := s.mutate(ctx, c, docKey(pk, id), func(cur *docEntry) (*object, error) {
		if cur == nil {
			return nil, notFound()
		}
		if ifMatch != "" && ifMatch != "*" && ifMatch != cur.etag() {
			return nil, preconditionFailed()
		}
		return nil, nil
	})
	return err
}

// patchItem applies a patch request to a live document.
func (s *Service) patchItem(ctx context.Context, c *coll, pk PartitionKey, id string, body []byte, ifMatch string) (*docEntry, error) {
	if err := checkPointPK(c, pk); err != nil {
		return nil, err
	}
	pk = pkForKey(c, pk)
	p, perr := parsePatch(body)
	if perr != nil {
		return nil, perr
	}
	e, _, err := s.mutate(ctx, c, docKey(pk, id), func(cur *docEntry) (*object, error) {
		if cur == nil {
			return nil, notFound()
		}
		if ifMatch != "" && ifMatch != "*" && ifMatch != cur.etag() {
			return nil, preconditionFailed()
		}
		return s.applyPatch(c, cur.obj, p)
	})
	return e, err
}

// jsonEqual compares two JSON values; an empty one stands for def.
func jsonEqual(a, b, def json.RawMessage) bool {
	if len(a) == 0 {
		a = def
	}
	if len(b) == 0 {
		b = def
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
