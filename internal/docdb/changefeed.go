package docdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// FromNow, as the from of ChangeFeed, starts the feed after the changes
// made so far.
const FromNow uint64 = math.MaxUint64

// feedItem is one document of a feed and the stream sequence of its
// latest version.
type feedItem struct {
	Seq uint64
	Raw []byte
}

// readFeed reads a container's bucket stream from sequence from (1 is the
// beginning): each document's latest version once, in write order, skipping
// deleted and expired documents and, when since > 0, those last written
// before since (unix seconds). It reads at most max documents, only those
// of the partition pk when set, and returns the sequence to read from next.
func (s *Service) readFeed(ctx context.Context, c *coll, from uint64, pk PartitionKey, max int, since int64) ([]feedItem, uint64, error) {
	if from == 0 {
		from = 1
	}
	subject := c.b.subject + ">"
	if pk != nil && len(pk) == len(c.c.PartitionKey.Paths) {
		subject = c.b.subject + partitionFilter(pkForKey(c, pk))
	}
	now := s.now()
	// A prefix of a hierarchical key is checked on each document.
	prefix := pk != nil && len(pk) < len(c.c.PartitionKey.Paths)
	var out []feedItem
	next := from
	for len(out) < max {
		m, err := c.b.st.GetMsg(ctx, next, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, 0, notFound()
		}
		if err != nil {
			return nil, 0, fmt.Errorf("docdb: read the feed of %s: %w", c.c.ID, err)
		}
		if m.Sequence < next {
			break // not the next one: nothing newer
		}
		next = m.Sequence + 1
		if op := m.Header.Get("KV-Operation"); op != "" || len(m.Data) == 0 {
			continue // a delete or purge marker
		}
		if prefix || since > 0 || c.c.DefaultTTL != nil {
			o, err := parseObject(m.Data)
			if err != nil || c.c.expired(o, now) {
				continue
			}
			if prefix {
				if k, perr := pkOf(&c.c.PartitionKey, o.vals); perr != nil || !k.hasPrefix(pk) {
					continue
				}
			}
			if since > 0 {
				if ts, _ := o.int64Prop("_ts"); ts < since {
					continue
				}
			}
		}
		out = append(out, feedItem{Seq: m.Sequence, Raw: m.Data})
	}
	return out, next, nil
}

// lastSeq is the last sequence of a container's bucket stream.
func (s *Service) lastSeq(ctx context.Context, c *coll) (uint64, error) {
	info, err := c.b.st.Info(ctx)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, notFound()
	}
	if err != nil {
		return 0, fmt.Errorf("docdb: read the feed of %s: %w", c.c.ID, err)
	}
	return info.State.LastSeq, nil
}

// withLSN adds _lsn, the change's sequence, to a document of the change
// feed, as Cosmos DB does.
func withLSN(raw []byte, seq uint64) json.RawMessage {
	if len(raw) < 2 || raw[len(raw)-1] != '}' {
		return raw
	}
	sep := ","
	if len(raw) == 2 {
		sep = ""
	}
	out := make([]byte, 0, len(raw)+24)
	out = append(out, raw[:len(raw)-1]...)
	out = append(out, sep+`"_lsn":`+strconv.FormatUint(seq, 10)+"}"...)
	return out
}

// ChangeFeed reads a container's change feed in latest-version mode: each
// item's latest version once, in the order of their last writes; deletes
// and expiries are not in it. It is not safe for concurrent use.
type ChangeFeed struct {
	s              *Service
	acct, db, coll string
	next           uint64
}

// ChangeFeed opens a container's change feed at sequence from: 1 (or 0) is
// the beginning, FromNow the end, and a ChangeFeed's Position resumes
// where it was.
func (s *Service) ChangeFeed(ctx context.Context, acct, db, container string, from uint64) (*ChangeFeed, error) {
	c, err := s.openColl(ctx, acct, db, container)
	if err != nil {
		return nil, err
	}
	if from == FromNow {
		last, err := s.lastSeq(ctx, c)
		if err != nil {
			return nil, err
		}
		from = last + 1
	}
	return &ChangeFeed{s: s, acct: acct, db: db, coll: container, next: max(from, 1)}, nil
}

// ChangeFeedItem is one change: the item as it is now, and the sequence
// of the change.
type ChangeFeedItem struct {
	Seq      uint64
	Document json.RawMessage
}

// Next returns up to max changes after the last ones returned (none when
// there are no new changes) and moves past them.
func (f *ChangeFeed) Next(ctx context.Context, max int) ([]ChangeFeedItem, error) {
	c, err := f.s.openColl(ctx, f.acct, f.db, f.coll)
	if err != nil {
		return nil, err
	}
	items, next, err := f.s.readFeed(ctx, c, f.next, nil, pageSize(max), 0)
	if err != nil {
		return nil, err
	}
	f.next = next
	out := make([]ChangeFeedItem, len(items))
	for i, it := range items {
		out[i] = ChangeFeedItem{Seq: it.Seq, Document: it.Raw}
	}
	return out, nil
}

// Position is the sequence the next read starts at; keep it (a lease's
// checkpoint) to resume the feed with ChangeFeed.
func (f *ChangeFeed) Position() uint64 { return f.next }
