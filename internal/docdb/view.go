package docdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// viewIdle is how long a container's view lives without a query before
// the sweeper drops it. It must stay well below purgeEvery: a view catches
// up by reading the stream after its last applied sequence, so it must
// never miss a delete marker that PurgeDeletes has since cleared.
var viewIdle = 5 * time.Minute

// directGap is the largest number of stream messages a view reads one at a
// time (a direct get each); more are read through a watcher.
const directGap = 64

// views are the query views of the containers this node has queried, by
// bucket name.
type views struct {
	mu sync.Mutex
	m  map[string]*view
}

// view is a container's documents, decoded, in memory on this node: what
// queries read instead of the bucket. It is built on the first query and
// brought up to date before each query by applying the bucket stream's
// messages after the last one it applied, so that a query sees every write
// acknowledged before it began, whichever node made it.
//
// Readers never block on a catch-up in progress once the view holds what
// they need: the documents are kept in stream order in append-only slices
// (one of all, one per partition) whose entries are immutable but for gone,
// and a reader takes a point-in-time snapshot, at sequence applied, by
// skipping entries written after it or replaced before it.
type view struct {
	b *bucket
	// created is when the bucket's stream was made: a stream of the same
	// name made again starts its sequences over.
	created time.Time
	// lastUsed is when a query last used the view (unix nanoseconds).
	lastUsed atomic.Int64
	// applied is the last stream sequence applied to the slices, published
	// after its entries.
	applied atomic.Uint64

	// lock (a one-slot semaphore, so that a waiter can give up with its
	// context) serialises catch-ups and guards byKey and dead.
	lock  chan struct{}
	byKey map[string]*viewDoc
	dead  int // entries of all that are gone

	// mu guards the slices' headers: catch-ups append under it, readers
	// copy a header under it.
	mu    sync.RWMutex
	all   []*viewDoc
	parts map[string][]*viewDoc // by partition key token
}

// viewDoc is a document of a view: its stored bytes, which a query sends
// as they are, and their decoding, which the query engine reads (and never
// modifies).
type viewDoc struct {
	seq  uint64 // of the message that wrote it
	ptok string // its partition key's token
	key  string
	m    map[string]any
	raw  []byte
	// gone is the sequence of the message that replaced or deleted it, 0
	// while it is current.
	gone atomic.Uint64
}

// live reports whether the document was current at sequence at.
func (d *viewDoc) live(at uint64) bool {
	if d.seq > at {
		return false
	}
	g := d.gone.Load()
	return g == 0 || g > at
}

// view returns the container's view, caught up with every write made
// before the call.
func (s *Service) view(ctx context.Context, c *coll) (*view, uint64, error) {
	info, err := c.b.st.Info(ctx)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, 0, notFound()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("docdb: state of %s: %w", c.b.name, err)
	}
	target := info.State.LastSeq
	s.views.mu.Lock()
	if s.views.m == nil {
		s.views.m = map[string]*view{}
	}
	v := s.views.m[c.b.name]
	if v == nil || !v.created.Equal(info.Created) || v.applied.Load() > target {
		// New, or the bucket was made again since.
		v = &view{b: c.b, created: info.Created, lock: make(chan struct{}, 1), byKey: map[string]*viewDoc{}, parts: map[string][]*viewDoc{}}
		s.views.m[c.b.name] = v
	}
	s.views.mu.Unlock()
	v.lastUsed.Store(time.Now().UnixNano())
	if err := v.catchUp(ctx, target); err != nil {
		return nil, 0, err
	}
	return v, v.applied.Load(), nil
}

// catchUp applies the stream's messages up to sequence target at least.
func (v *view) catchUp(ctx context.Context, target uint64) error {
	if v.applied.Load() >= target {
		return nil
	}
	select {
	case v.lock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-v.lock }()
	from := v.applied.Load() + 1
	if from > target {
		return nil // another query caught up meanwhile
	}
	var err error
	if target-from < directGap {
		err = v.readDirect(ctx, from, target)
	} else {
		err = v.readWatch(ctx, from, target)
	}
	if err != nil {
		return fmt.Errorf("docdb: update the view of %s: %w", v.b.name, err)
	}
	v.compact()
	return nil
}

// readDirect applies the messages from..target one direct get at a time.
func (v *view) readDirect(ctx context.Context, from, target uint64) error {
	next := from
	for next <= target {
		m, err := v.b.st.GetMsg(ctx, next, jetstream.WithGetMsgSubject(v.b.subject+">"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return err
		}
		if m.Sequence < next {
			break
		}
		op := jetstream.KeyValuePut
		switch m.Header.Get("KV-Operation") {
		case "DEL":
			op = jetstream.KeyValueDelete
		case "PURGE":
			op = jetstream.KeyValuePurge
		}
		v.apply(m.Sequence, strings.TrimPrefix(m.Subject, v.b.subject), op, m.Data)
		next = m.Sequence + 1
	}
	v.publish(max(next-1, target))
	return nil
}

// readWatch applies the messages from target on through a watcher of
// the bucket's keys, for a long gap (the first query's build).
func (v *view) readWatch(ctx context.Context, from, target uint64) error {
	w, err := v.b.kv.WatchAll(ctx, jetstream.ResumeFromRevision(from))
	if err != nil {
		return err
	}
	defer func() {
		_ = w.Stop()
		for range w.Updates() { // let the watcher's delivery finish and close
		}
	}()
	last := from - 1
	for last < target {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watcher closed")
			}
			if e == nil {
				// Everything stored when the watcher began, so past
				// target: the rest of the stream was deleted.
				last = max(last, target)
				continue
			}
			v.apply(e.Revision(), e.Key(), e.Operation(), e.Value())
			last = e.Revision()
			if last%4096 == 0 {
				v.publish(last)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	v.publish(last)
	return nil
}

// apply applies one message of the stream: a document written, deleted
// or purged. Only catch-up calls it, holding lock.
func (v *view) apply(seq uint64, key string, op jetstream.KeyValueOp, data []byte) {
	if old := v.byKey[key]; old != nil {
		old.gone.Store(seq)
		delete(v.byKey, key)
		v.dead++
	}
	if op != jetstream.KeyValuePut || len(data) == 0 {
		return
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return // not a document: queries never saw it either
	}
	ptok, _, _ := strings.Cut(key, ".")
	d := &viewDoc{seq: seq, ptok: ptok, key: key, m: m, raw: data}
	v.byKey[key] = d
	v.mu.Lock()
	v.all = append(v.all, d)
	v.parts[ptok] = append(v.parts[ptok], d)
	v.mu.Unlock()
}

// publish makes what was applied up to seq visible to readers.
func (v *view) publish(seq uint64) {
	if seq > v.applied.Load() {
		v.applied.Store(seq)
	}
}

// compact drops the entries of replaced and deleted documents once they
// are half of all, into new slices: readers keep the old ones they hold.
// Only catch-up calls it, holding lock.
func (v *view) compact() {
	if v.dead < 1024 || v.dead < len(v.byKey) {
		return
	}
	all := make([]*viewDoc, 0, len(v.byKey))
	parts := map[string][]*viewDoc{}
	v.mu.RLock()
	for _, d := range v.all {
		if d.gone.Load() == 0 {
			all = append(all, d)
			parts[d.ptok] = append(parts[d.ptok], d)
		}
	}
	v.mu.RUnlock()
	v.mu.Lock()
	v.all, v.parts = all, parts
	v.mu.Unlock()
	v.dead = 0
}

// docs yields the documents current at sequence at, in stream order: of
// the partition whose key token is ptok, or all of them when ptok is "".
func (v *view) docs(at uint64, ptok string) iter.Seq[*viewDoc] {
	v.mu.RLock()
	list := v.all
	if ptok != "" {
		list = v.parts[ptok]
	}
	v.mu.RUnlock()
	return func(yield func(*viewDoc) bool) {
		for _, d := range list {
			if d.live(at) && !yield(d) {
				return
			}
		}
	}
}

// dropView forgets a bucket's view (the container was deleted).
func (s *Service) dropView(name string) {
	s.views.mu.Lock()
	delete(s.views.m, name)
	s.views.mu.Unlock()
}

// evictViews drops the views no query used for viewIdle; it returns how
// many it dropped.
func (s *Service) evictViews(now time.Time) int {
	s.views.mu.Lock()
	defer s.views.mu.Unlock()
	n := 0
	for name, v := range s.views.m {
		if now.Sub(time.Unix(0, v.lastUsed.Load())) >= viewIdle {
			delete(s.views.m, name)
			n++
		}
	}
	return n
}

// releaseViews drops every view (Stop).
func (s *Service) releaseViews() {
	s.views.mu.Lock()
	s.views.m = nil
	s.views.mu.Unlock()
}
