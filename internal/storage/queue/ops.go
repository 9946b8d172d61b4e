package queue

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/storage/wire"
)

// Limits, as Azure sets them.
const (
	// MaxMessageSize is the largest message text, in bytes.
	MaxMessageSize = 64 << 10
	// MaxMessages is the most messages one Get or Peek returns.
	MaxMessages = 32
	// MaxVisibility is the longest visibility timeout.
	MaxVisibility = 7 * 24 * time.Hour
	// DefaultVisibility is Get Messages' visibility timeout.
	DefaultVisibility = 30 * time.Second
	// DefaultTTL is a message's time to live unless the request says.
	DefaultTTL = 7 * 24 * time.Hour
	// NeverExpires as a TTL keeps a message until it is deleted.
	NeverExpires time.Duration = -1
)

// neverTime is the expiration time Azure shows for messages that never expire.
var neverTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// ErrStopped is returned by Receive when the service stops.
var ErrStopped = errors.New("queue: service stopped")

// Errors with Azure's codes.
var (
	ErrQueueNotFound      = wire.Errorf(http.StatusNotFound, "QueueNotFound", "The specified queue does not exist.")
	ErrQueueAlreadyExists = wire.Errorf(http.StatusConflict, "QueueAlreadyExists", "The specified queue already exists.")
	ErrMessageNotFound    = wire.Errorf(http.StatusNotFound, "MessageNotFound", "The specified message does not exist.")
	ErrPopReceiptMismatch = wire.Errorf(http.StatusBadRequest, "PopReceiptMismatch",
		"The specified pop receipt did not match the pop receipt for a dequeued message.")
	ErrMessageTooLarge = wire.Errorf(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
		"The request body is too large and exceeds the maximum permissible limit.").With("MaxLimit", fmt.Sprint(MaxMessageSize))
)

// Message is a queue message as the Go API returns it.
type Message struct {
	ID   string
	Text string
	// PopReceipt is set by Put, Get, Receive and Update: it is what Delete
	// and Update need.
	PopReceipt     string
	InsertionTime  time.Time
	ExpirationTime time.Time // 9999-12-31T23:59:59Z for messages that never expire
	NextVisible    time.Time
	DequeueCount   int64
}

func (m *message) message() Message {
	out := Message{ID: m.id, Text: m.rec.Text, PopReceipt: m.rec.PopReceipt, DequeueCount: m.rec.Dequeues,
		InsertionTime: time.Unix(0, m.rec.Inserted).UTC(), NextVisible: time.Unix(0, m.rec.NextVisible).UTC(),
		ExpirationTime: neverTime}
	if m.rec.Expires != 0 {
		out.ExpirationTime = time.Unix(0, m.rec.Expires).UTC()
	}
	return out
}

func outOfRange(param, value string, lo, hi int64) *wire.Error {
	return wire.Errorf(http.StatusBadRequest, "OutOfRangeQueryParameterValue",
		"One of the query parameters specified in the request URI is outside the permissible range.").
		With("QueryParameterName", param).With("QueryParameterValue", value).
		With("MinimumAllowed", fmt.Sprint(lo)).With("MaximumAllowed", fmt.Sprint(hi))
}

func secs(d time.Duration) string { return fmt.Sprint(int64(d / time.Second)) }

func newPopReceipt() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newGen() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateQueue creates a queue. It reports false when the queue already
// exists with the same metadata, and fails with ErrQueueAlreadyExists when
// it exists with other metadata.
func (s *Service) CreateQueue(ctx context.Context, account, name string, meta map[string]string) (bool, error) {
	if err := ValidateName(name); err != nil {
		return false, err
	}
	key := queueKey(account, name)
	rec := queueRec{Name: name, Account: account, Meta: meta, Gen: newGen(), Created: s.now().UnixNano()}
	b, _ := json.Marshal(rec)
	for range 3 {
		rev, err := s.queues.Create(ctx, key, b)
		if err == nil {
			s.idx.applyQueue(key, &rec, rev)
			return true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return false, err
		}
		old, err := s.queues.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile: try again
		}
		if err != nil {
			return false, err
		}
		orec, err := decodeQueue(old.Value())
		if err != nil {
			return false, err
		}
		s.idx.applyQueue(key, orec, old.Revision())
		if !maps.Equal(orec.Meta, meta) {
			return false, ErrQueueAlreadyExists
		}
		return false, nil
	}
	return false, ErrQueueAlreadyExists
}

// DeleteQueue deletes a queue and its messages.
func (s *Service) DeleteQueue(ctx context.Context, account, name string) error {
	q, err := s.lookup(ctx, account, name)
	if err != nil {
		return err
	}
	key := queueKey(account, name)
	if err := s.queues.Delete(ctx, key, jetstream.LastRevision(q.rev)); err != nil {
		if conflict(err) {
			// Changed meanwhile (metadata, clear): delete whatever it is now.
			if err = s.queues.Delete(ctx, key); err == nil {
				s.refreshQueue(ctx, account, name)
				return nil
			}
		}
		return err
	}
	if old := s.idx.forgetQueue(key, q.rev); old != "" {
		s.wakeGen(old)
	}
	return nil
}

// QueueInfo is a queue's name, metadata and approximate message count.
type QueueInfo struct {
	Name     string
	Metadata map[string]string
	// ApproximateMessages counts the messages, visible or not.
	ApproximateMessages int
}

// GetQueue returns a queue's metadata and its approximate message count.
func (s *Service) GetQueue(ctx context.Context, account, name string) (QueueInfo, error) {
	q, err := s.lookup(ctx, account, name)
	if err != nil {
		return QueueInfo{}, err
	}
	set := s.idx.set(q.rec.Gen)
	set.mu.Lock()
	n := len(set.msgs)
	set.mu.Unlock()
	return QueueInfo{Name: name, Metadata: q.rec.Meta, ApproximateMessages: n}, nil
}

// SetMetadata replaces a queue's metadata.
func (s *Service) SetMetadata(ctx context.Context, account, name string, meta map[string]string) error {
	return s.updateQueue(ctx, account, name, func(r *queueRec) { r.Meta = meta })
}

// Clear deletes every message of a queue. The queue moves to a new
// generation at once; the old messages are removed in the background.
func (s *Service) Clear(ctx context.Context, account, name string) error {
	return s.updateQueue(ctx, account, name, func(r *queueRec) { r.Gen = newGen() })
}

func (s *Service) updateQueue(ctx context.Context, account, name string, f func(*queueRec)) error {
	key := queueKey(account, name)
	for range 5 {
		q, err := s.lookup(ctx, account, name)
		if err != nil {
			return err
		}
		rec := q.rec
		rec.Meta = maps.Clone(rec.Meta)
		f(&rec)
		b, _ := json.Marshal(rec)
		rev, err := s.queues.Update(ctx, key, b, q.rev)
		if err == nil {
			if old := s.idx.applyQueue(key, &rec, rev); old != "" {
				s.wakeGen(old)
			}
			return nil
		}
		if !conflict(err) {
			return err
		}
		s.refreshQueue(ctx, account, name)
	}
	return wire.ErrInternal
}

// lookup finds a queue in the index, or else in JetStream (another node
// may have created it a moment ago).
func (s *Service) lookup(ctx context.Context, account, name string) (queueState, error) {
	if q, ok := s.idx.queue(account, name); ok {
		return q, nil
	}
	if ValidateName(name) != nil {
		return queueState{}, ErrQueueNotFound
	}
	s.refreshQueue(ctx, account, name)
	if q, ok := s.idx.queue(account, name); ok {
		return q, nil
	}
	return queueState{}, ErrQueueNotFound
}

// refreshQueue reads a queue's record from JetStream into the index.
func (s *Service) refreshQueue(ctx context.Context, account, name string) {
	key := queueKey(account, name)
	e, err := s.queues.Get(ctx, key)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if q, ok := s.idx.queue(account, name); ok {
				if old := s.idx.forgetQueue(key, q.rev); old != "" {
					s.wakeGen(old)
				}
			}
		}
		return
	}
	if rec, err := decodeQueue(e.Value()); err == nil {
		if old := s.idx.applyQueue(key, rec, e.Revision()); old != "" {
			s.wakeGen(old)
		}
	}
}

// ListQueues returns an account's queues whose names start with prefix,
// from marker (inclusive) on, at most max of them, sorted by name, and the
// marker of the next page ("" at the end).
func (s *Service) ListQueues(account, prefix, marker string, max int) ([]QueueInfo, string) {
	qs := s.idx.list(account, prefix)
	sortQueues(qs)
	var out []QueueInfo
	for _, q := range qs {
		if q.rec.Name < marker {
			continue
		}
		if len(out) == max {
			return out, q.rec.Name
		}
		out = append(out, QueueInfo{Name: q.rec.Name, Metadata: q.rec.Meta})
	}
	return out, ""
}

// Put adds a message. visibility (0 to 7 days) delays it; ttl is its time
// to live (0 for DefaultTTL, NeverExpires to keep it) and must be longer
// than visibility.
func (s *Service) Put(ctx context.Context, account, queue, text string, visibility, ttl time.Duration) (Message, error) {
	if len(text) > MaxMessageSize {
		return Message{}, ErrMessageTooLarge
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 && ttl != NeverExpires {
		return Message{}, outOfRange("messagettl", secs(ttl), -1, 1<<31-1)
	}
	hi := MaxVisibility
	if ttl > 0 && ttl-time.Second < hi {
		hi = ttl - time.Second
	}
	if visibility < 0 || visibility > hi {
		return Message{}, outOfRange("visibilitytimeout", secs(visibility), 0, int64(hi/time.Second))
	}
	q, err := s.lookup(ctx, account, queue)
	if err != nil {
		return Message{}, err
	}
	now := s.now()
	rec := msgRec{Text: text, Inserted: now.UnixNano(), NextVisible: now.Add(visibility).UnixNano(),
		PopReceipt: newPopReceipt(), Order: s.nextOrder()}
	if ttl > 0 {
		rec.Expires = now.Add(ttl).UnixNano()
	}
	id := uuid.NewString()
	b, _ := json.Marshal(rec)
	rev, err := s.msgs.Create(ctx, msgKey(q.rec.Gen, id), b)
	if err != nil {
		return Message{}, err
	}
	set := s.idx.set(q.rec.Gen)
	set.mu.Lock()
	set.apply(id, &rec, rev, now.UnixNano())
	set.wake()
	set.mu.Unlock()
	m := message{id: id, rec: rec}
	return m.message(), nil
}

func checkCount(n int) error {
	if n < 1 || n > MaxMessages {
		return outOfRange("numofmessages", fmt.Sprint(n), 1, MaxMessages)
	}
	return nil
}

// Get dequeues up to n (1 to 32) visible messages, oldest first, making
// them invisible for visibility (1 s to 7 days). It does not wait: with no
// visible message it returns none.
func (s *Service) Get(ctx context.Context, account, queue string, n int, visibility time.Duration) ([]Message, error) {
	msgs, _, _, err := s.dequeue(ctx, account, queue, n, visibility)
	return msgs, err
}

// Receive is Get that waits: it blocks until at least one message is
// visible (a new one, or one whose invisibility ends), then dequeues up to
// n of them. It returns ctx's error when ctx ends, ErrStopped when the
// service stops, and ErrQueueNotFound when the queue does not exist or is
// deleted while waiting.
func (s *Service) Receive(ctx context.Context, account, queue string, n int, visibility time.Duration) ([]Message, error) {
	return s.await(ctx, func() ([]Message, <-chan struct{}, int64, error) {
		return s.dequeue(ctx, account, queue, n, visibility)
	})
}

// await calls dq until it dequeues something or fails, waiting between calls for the queue to change or its
// next invisible message to become visible (dq returns both when it finds nothing).
func (s *Service) await(ctx context.Context, dq func() ([]Message, <-chan struct{}, int64, error)) ([]Message, error) {
	for {
		msgs, changed, next, err := dq()
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
		wait := maxWait
		if next != 0 {
			wait = min(wait, max(time.Duration(next-s.now().UnixNano()), time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-s.done:
			t.Stop()
			return nil, ErrStopped
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// dequeue is Get; with no message it also returns the channel that is
// closed when the queue changes and when the next invisible message
// becomes visible (0 if none).
func (s *Service) dequeue(ctx context.Context, account, queue string, n int, visibility time.Duration) ([]Message, <-chan struct{}, int64, error) {
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
	var out []Message
	var stale []*message
	for len(out) < n && set.vis.Len() > 0 {
		m := heap.Pop(&set.vis).(*message)
		if m.expired(now) {
			s.deleteMsg(ctx, set, m)
			if m.where == 0 && set.msgs[m.id] == m {
				stale = append(stale, m) // could not delete now: keep it for the sweeper
			}
			continue
		}
		rec := m.rec
		rec.Dequeues++
		rec.PopReceipt = newPopReceipt()
		rec.NextVisible = now + int64(visibility)
		b, _ := json.Marshal(rec)
		rev, err := s.msgs.Update(ctx, msgKey(set.gen, m.id), b, m.rev)
		if err != nil {
			stale = append(stale, m)
			if conflict(err) {
				continue // another node took it; its state arrives by the watch
			}
			if len(out) == 0 {
				for _, m := range stale {
					set.place(m, now)
				}
				return nil, nil, 0, err
			}
			break
		}
		m.rec, m.rev = rec, rev
		heap.Push(&set.invis, m)
		out = append(out, m.message())
	}
	for _, m := range stale {
		if set.msgs[m.id] == m && m.where == 0 {
			set.place(m, now)
		}
	}
	if len(stale) > 0 && len(out) == 0 {
		// Read what another node wrote, so that the caller does not spin.
		for _, m := range stale {
			s.refreshMsg(ctx, set, m.id)
		}
	}
	return out, set.changed, set.nextVisible(), nil
}

// Peek returns up to n (1 to 32) visible messages, oldest first, without
// changing them. The messages have no pop receipt.
func (s *Service) Peek(ctx context.Context, account, queue string, n int) ([]Message, error) {
	if err := checkCount(n); err != nil {
		return nil, err
	}
	q, err := s.lookup(ctx, account, queue)
	if err != nil {
		return nil, err
	}
	set := s.idx.set(q.rec.Gen)
	set.mu.Lock()
	defer set.mu.Unlock()
	now := s.now().UnixNano()
	set.promote(now)
	var out []Message
	var popped []*message
	for len(out) < n && set.vis.Len() > 0 {
		m := heap.Pop(&set.vis).(*message)
		popped = append(popped, m)
		if m.expired(now) {
			continue
		}
		msg := m.message()
		msg.PopReceipt, msg.NextVisible = "", time.Time{}
		out = append(out, msg)
	}
	for _, m := range popped {
		heap.Push(&set.vis, m)
	}
	return out, nil
}

// refreshMsg reads a message from JetStream into the index. Call with
// set.mu held.
func (s *Service) refreshMsg(ctx context.Context, set *msgSet, id string) {
	e, err := s.msgs.Get(ctx, msgKey(set.gen, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		if m := set.msgs[id]; m != nil {
			set.remove(m)
		}
		return
	}
	if err != nil {
		return
	}
	if rec, err := decodeMsg(e.Value()); err == nil {
		set.apply(id, rec, e.Revision(), s.now().UnixNano())
	}
}

// findForReceipt finds a message and checks its pop receipt, reading
// JetStream when the index disagrees (another node may have changed the
// message). Call with set.mu held.
func (s *Service) findForReceipt(ctx context.Context, set *msgSet, id, popReceipt string, now int64) (*message, error) {
	m := set.msgs[id]
	if m == nil || m.rec.PopReceipt != popReceipt {
		s.refreshMsg(ctx, set, id)
		m = set.msgs[id]
	}
	if m == nil {
		return nil, ErrMessageNotFound
	}
	if m.expired(now) {
		s.deleteMsg(ctx, set, m)
		return nil, ErrMessageNotFound
	}
	if m.rec.PopReceipt != popReceipt {
		return nil, ErrPopReceiptMismatch
	}
	return m, nil
}

// Delete deletes a message, given the pop receipt of its last Get, Put or
// Update.
func (s *Service) Delete(ctx context.Context, account, queue, id, popReceipt string) error {
	q, err := s.lookup(ctx, account, queue)
	if err != nil {
		return err
	}
	if !validID(id) {
		return ErrMessageNotFound
	}
	set := s.idx.set(q.rec.Gen)
	set.mu.Lock()
	defer set.mu.Unlock()
	m, err := s.findForReceipt(ctx, set, id, popReceipt, s.now().UnixNano())
	if err != nil {
		return err
	}
	if err := s.msgs.Delete(ctx, msgKey(set.gen, id), jetstream.LastRevision(m.rev)); err != nil {
		if conflict(err) {
			s.refreshMsg(ctx, set, id)
			return ErrPopReceiptMismatch
		}
		return err
	}
	set.remove(m)
	return nil
}

// Update makes a message invisible for visibility (0 to 7 days) from now
// and, when text is not nil, replaces its text. It returns the message with
// its new pop receipt and next-visible time.
func (s *Service) Update(ctx context.Context, account, queue, id, popReceipt string, visibility time.Duration, text *string) (Message, error) {
	if visibility < 0 || visibility > MaxVisibility {
		return Message{}, outOfRange("visibilitytimeout", secs(visibility), 0, int64(MaxVisibility/time.Second))
	}
	if text != nil && len(*text) > MaxMessageSize {
		return Message{}, ErrMessageTooLarge
	}
	q, err := s.lookup(ctx, account, queue)
	if err != nil {
		return Message{}, err
	}
	if !validID(id) {
		return Message{}, ErrMessageNotFound
	}
	set := s.idx.set(q.rec.Gen)
	set.mu.Lock()
	defer set.mu.Unlock()
	now := s.now().UnixNano()
	m, err := s.findForReceipt(ctx, set, id, popReceipt, now)
	if err != nil {
		return Message{}, err
	}
	rec := m.rec
	rec.NextVisible = now + int64(visibility)
	if rec.Expires != 0 && rec.NextVisible > rec.Expires {
		return Message{}, outOfRange("visibilitytimeout", secs(visibility), 0, max(0, (rec.Expires-now)/int64(time.Second)))
	}
	rec.PopReceipt = newPopReceipt()
	if text != nil {
		rec.Text = *text
	}
	b, _ := json.Marshal(rec)
	rev, err := s.msgs.Update(ctx, msgKey(set.gen, id), b, m.rev)
	if err != nil {
		if conflict(err) {
			s.refreshMsg(ctx, set, id)
			return Message{}, ErrPopReceiptMismatch
		}
		return Message{}, err
	}
	m.rec, m.rev = rec, rev
	set.place(m, now)
	set.wake()
	return m.message(), nil
}

// validID tells message ids this service could have made (and that are
// safe as a key token).
func validID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}
