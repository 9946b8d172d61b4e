package docdb

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// sweepEvery is how often the sweeper deletes expired documents. Reads
// never return an expired document, so it only bounds how long one takes
// space.
const sweepEvery = 10 * time.Second

// purgeEvery is how often the sweeper clears the delete markers deleted
// documents leave in their buckets.
const purgeEvery = time.Hour

// sweeper deletes expired documents, and drops the query views no query
// used for a while, until Stop.
func (s *Service) sweeper() {
	defer close(s.done)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	var lastPurge time.Time
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if n := s.evictViews(time.Now()); n > 0 {
			s.log.Debug("docdb: dropped idle query views", "count", n)
		}
		purge := time.Since(lastPurge) >= purgeEvery
		if purge {
			lastPurge = time.Now()
		}
		ctx, cancel := context.WithTimeout(s.bg, 10*time.Minute)
		if n, err := s.sweep(ctx, purge); err != nil {
			s.log.Warn("docdb: deleting expired documents", "err", err)
		} else if n > 0 {
			s.log.Debug("docdb: deleted expired documents", "count", n)
		}
		cancel()
	}
}

// stopping reports whether Stop was called.
func (s *Service) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// sweep deletes the expired documents of every container with time to
// live on, and with purge clears old delete markers. It returns how many
// documents it deleted. A document written again since it was read is
// left alone.
func (s *Service) sweep(ctx context.Context, purge bool) (int, error) {
	colls, err := s.st.listContainers(ctx, "*", "*")
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, sc := range colls {
		if s.stopping() {
			break
		}
		b, err := s.st.bucket(ctx, sc.Bucket)
		if err != nil {
			continue // deleted meanwhile
		}
		if purge {
			if err := b.kv.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(purgeEvery)); err != nil {
				s.log.Warn("docdb: clearing delete markers", "bucket", b.name, "err", err)
			}
		}
		if sc.Container.DefaultTTL == nil {
			continue
		}
		c := &coll{c: sc.Container, b: b}
		now := s.now()
		type victim struct {
			key string
			rev uint64
		}
		var victims []victim
		err = s.scan(ctx, c, "", func(key string, rev uint64, raw []byte) bool {
			if o, err := parseObject(raw); err == nil && c.c.expired(o, now) {
				victims = append(victims, victim{key, rev})
			}
			return !s.stopping()
		})
		if err != nil {
			continue
		}
		for _, v := range victims {
			if err := b.kv.Delete(ctx, v.key, jetstream.LastRevision(v.rev)); err == nil {
				deleted++
			}
		}
	}
	return deleted, nil
}
