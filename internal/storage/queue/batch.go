package queue

import (
	"container/heap"
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// kvSubject is the subject of a key of the messages bucket: what
// jetstream.KeyValue publishes to, for writes sent asynchronously.
func (s *Service) kvSubject(gen, id string) string {
	return "$KV." + s.msgs.Bucket() + "." + msgKey(gen, id)
}

// ReceiveMany is Receive (it waits until a message is visible, then
// dequeues up to n of them with the same rules), but it writes the
// dequeued messages' new state to JetStream together (pipelined, each
// still a compare-and-set on the message's revision) instead of one round
// trip after another, so a batch holds the queue for about one round trip.
// The Functions queue trigger receives this way.
func (s *Service) ReceiveMany(ctx context.Context, account, queue string, n int, visibility time.Duration) ([]Message, error) {
	return s.await(ctx, func() ([]Message, <-chan struct{}, int64, error) {
		return s.dequeueMany(ctx, account, queue, n, visibility)
	})
}

// dequeueMany is dequeue with the updates published asynchronously and
// their acknowledgements awaited together.
func (s *Service) dequeueMany(ctx context.Context, account, queue string, n int, visibility time.Duration) ([]Message, <-chan struct{}, int64, error) {
	if err := checkCount(n); err != nil {
		return nil, nil, 0, err
	}
	if visibility < time.Second || visibility > MaxVisibility {
		return nil, nil, 0, outOfRange("visibilitytimeout", secs(visibility), 1, int64(MaxVisibility/time.Second))
	}
	q, err := s.lookup(ctx, account, queue)
	if err != nil {
		return nil, nil, 0, err
	}
	set := s.idx.set(q.rec.Gen)
	set.mu.Lock()
	defer set.mu.Unlock()
	now := s.now().UnixNano()
	set.promote(now)
	type pending struct {
		m   *message
		rec msgRec
		ack jetstream.PubAckFuture
	}
	ps := make([]pending, 0, n)
	var stale []*message
	var failed error
	js := s.env.Substrate.JetStream()
	for len(ps) < n && set.vis.Len() > 0 {
		m := heap.Pop(&set.vis).(*message)
		if m.expired(now) {
			s.deleteMsg(ctx, set, m)
			if m.where == 0 && set.msgs[m.id] == m {
				stale = append(stale, m)
			}
			continue
		}
		rec := m.rec
		rec.Dequeues++
		rec.PopReceipt = newPopReceipt()
		rec.NextVisible = now + int64(visibility)
		b, _ := json.Marshal(rec)
		msg := nats.NewMsg(s.kvSubject(set.gen, m.id))
		msg.Data = b
		msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(m.rev, 10))
		ack, err := js.PublishMsgAsync(msg)
		if err != nil {
			stale = append(stale, m)
			failed = err
			break
		}
		ps = append(ps, pending{m: m, rec: rec, ack: ack})
	}
	var out []Message
	for _, p := range ps {
		select {
		case pa := <-p.ack.Ok():
			p.m.rec, p.m.rev = p.rec, pa.Sequence
			heap.Push(&set.invis, p.m)
			out = append(out, p.m.message())
		case err := <-p.ack.Err():
			stale = append(stale, p.m)
			if !conflict(err) && failed == nil {
				failed = err // another node took it otherwise; its state arrives by the watch
			}
		case <-ctx.Done():
			// The update may still land; then the watch brings its state.
			stale = append(stale, p.m)
			if failed == nil {
				failed = ctx.Err()
			}
		}
	}
	for _, m := range stale {
		if set.msgs[m.id] == m && m.where == 0 {
			set.place(m, now)
		}
	}
	if len(out) == 0 {
		if failed != nil {
			return nil, nil, 0, failed
		}
		if len(stale) > 0 {
			// Read what another node wrote, so that the caller does not spin.
			for _, m := range stale {
				s.refreshMsg(ctx, set, m.id)
			}
		}
	}
	return out, set.changed, set.nextVisible(), nil
}

// Receipt names a message for DeleteMany: its id and the pop receipt of
// its last Put, Get, Receive or Update.
type Receipt struct {
	ID, PopReceipt string
}

// DeleteMany deletes several messages of one queue with Delete's rules for
// each, but writes the deletes to JetStream together (pipelined, each still
// a compare-and-set on the message's revision) instead of one round trip
// after another. The Functions queue trigger deletes the messages it has
// processed this way. It returns one error per receipt (nil where the
// message was deleted), or an error for all of them when the queue does
// not exist.
func (s *Service) DeleteMany(ctx context.Context, account, queue string, rs []Receipt) ([]error, error) {
	q, err := s.lookup(ctx, account, queue)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(rs))
	set := s.idx.set(q.rec.Gen)
	set.mu.Lock()
	defer set.mu.Unlock()
	now := s.now().UnixNano()
	type pending struct {
		i   int
		m   *message
		ack jetstream.PubAckFuture
	}
	ps := make([]pending, 0, len(rs))
	js := s.env.Substrate.JetStream()
	for i, r := range rs {
		if !validID(r.ID) {
			errs[i] = ErrMessageNotFound
			continue
		}
		m, err := s.findForReceipt(ctx, set, r.ID, r.PopReceipt, now)
		if err != nil {
			errs[i] = err
			continue
		}
		// What jetstream.KeyValue.Delete publishes.
		msg := nats.NewMsg(s.kvSubject(set.gen, m.id))
		msg.Header.Set("KV-Operation", "DEL")
		msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(m.rev, 10))
		ack, err := js.PublishMsgAsync(msg)
		if err != nil {
			errs[i] = err
			continue
		}
		ps = append(ps, pending{i: i, m: m, ack: ack})
	}
	for _, p := range ps {
		select {
		case <-p.ack.Ok():
			if set.msgs[p.m.id] == p.m {
				set.remove(p.m)
			}
		case err := <-p.ack.Err():
			if conflict(err) {
				s.refreshMsg(ctx, set, p.m.id)
				errs[p.i] = ErrPopReceiptMismatch
			} else {
				errs[p.i] = err
			}
		case <-ctx.Done():
			// The delete may still happen; the watch then removes the message.
			errs[p.i] = ctx.Err()
		}
	}
	return errs, nil
}
