package queue

import (
	"container/heap"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/lapisdev/lapis/internal/substrate"
)

// queueRec is a queue's record in the queues bucket, key "{account}.{queue}".
type queueRec struct {
	Name    string            `json:"n"`
	Account string            `json:"a"`
	Meta    map[string]string `json:"m,omitempty"`
	// Gen names the queue's current set of messages. Clear and delete
	// start a new generation; the messages of an old one are swept.
	Gen     string             `json:"g"`
	Created int64              `json:"c"`
	ACL     []signedIdentifier `json:"acl,omitempty"`
}

// msgRec is a message's record in the messages bucket, key "{gen}.{id}".
// Times are Unix nanoseconds; Expires 0 means never.
type msgRec struct {
	Text        string `json:"t"`
	Inserted    int64  `json:"i"`
	Expires     int64  `json:"e,omitempty"`
	NextVisible int64  `json:"v"`
	Dequeues    int64  `json:"d,omitempty"`
	PopReceipt  string `json:"p,omitempty"`
	// Order sorts messages by insertion (FIFO).
	Order int64 `json:"o"`
}

func queueKey(account, name string) string {
	return substrate.Token(account) + "." + substrate.Token(name)
}

func msgKey(gen, id string) string { return gen + "." + id }

// queueState is the index's view of one queue.
type queueState struct {
	rec queueRec
	rev uint64
}

// message is the index's view of one message.
type message struct {
	id  string
	rec msgRec
	rev uint64
	// heap bookkeeping: which heap (0 none, heapVisible, heapInvisible)
	// and the position in it.
	where, pos int
}

const (
	heapVisible   = 1
	heapInvisible = 2
)

func (m *message) expired(now int64) bool { return m.rec.Expires != 0 && m.rec.Expires <= now }

// msgSet is one generation of a queue's messages. Its mutex serialises the
// operations on the set's messages, including their writes to JetStream.
type msgSet struct {
	gen string
	mu  sync.Mutex
	// msgs by id; vis are the visible messages in insertion order, invis
	// the invisible ones by the time they become visible.
	msgs  map[string]*message
	vis   msgHeap
	invis msgHeap
	// tombs holds the last revision of messages deleted here, so that a
	// late watch update does not bring them back.
	tombs map[string]uint64
	// changed is closed (and replaced) whenever a message may have become
	// available, waking Receive.
	changed chan struct{}
	// orphanSince is when the sweeper first saw no queue use this set.
	orphanSince time.Time
}

func newMsgSet(gen string) *msgSet {
	return &msgSet{gen: gen, msgs: map[string]*message{}, tombs: map[string]uint64{},
		vis: msgHeap{which: heapVisible}, invis: msgHeap{which: heapInvisible}, changed: make(chan struct{})}
}

// wake wakes the waiters. Call with mu held.
func (s *msgSet) wake() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// place puts m into the heap its state says, after taking it out of any.
// Call with mu held.
func (s *msgSet) place(m *message, now int64) {
	s.unplace(m)
	if m.rec.NextVisible <= now {
		heap.Push(&s.vis, m)
	} else {
		heap.Push(&s.invis, m)
	}
}

func (s *msgSet) unplace(m *message) {
	switch m.where {
	case heapVisible:
		heap.Remove(&s.vis, m.pos)
	case heapInvisible:
		heap.Remove(&s.invis, m.pos)
	}
	m.where = 0
}

// promote moves the messages whose invisibility has ended to vis.
func (s *msgSet) promote(now int64) {
	for len(s.invis.ms) > 0 && s.invis.ms[0].rec.NextVisible <= now {
		m := heap.Pop(&s.invis).(*message)
		heap.Push(&s.vis, m)
	}
}

// nextVisible is when the earliest invisible message becomes visible (0 if none).
func (s *msgSet) nextVisible() int64 {
	if len(s.invis.ms) == 0 {
		return 0
	}
	return s.invis.ms[0].rec.NextVisible
}

// remove forgets m, remembering its revision as a tombstone.
func (s *msgSet) remove(m *message) {
	s.unplace(m)
	delete(s.msgs, m.id)
	s.tombs[m.id] = m.rev
}

// apply applies a record read from JetStream (put, or rec == nil for a
// delete) at revision rev, unless the index already knows a newer state.
// It reports whether anything changed.
func (s *msgSet) apply(id string, rec *msgRec, rev uint64, now int64) bool {
	if m, ok := s.msgs[id]; ok {
		if rev <= m.rev {
			return false
		}
		if rec == nil {
			s.unplace(m)
			delete(s.msgs, id)
			delete(s.tombs, id)
			return true
		}
		m.rec, m.rev = *rec, rev
		s.place(m, now)
		return true
	}
	if t, ok := s.tombs[id]; ok && rev <= t {
		return false
	}
	delete(s.tombs, id)
	if rec == nil {
		return false
	}
	m := &message{id: id, rec: *rec, rev: rev}
	s.msgs[id] = m
	s.place(m, now)
	return true
}

// msgHeap is a heap of messages: by insertion order for the visible heap,
// by next-visible time for the invisible one.
type msgHeap struct {
	which int
	ms    []*message
}

func (h *msgHeap) Len() int { return len(h.ms) }
func (h *msgHeap) Less(i, j int) bool {
	a, b := h.ms[i], h.ms[j]
	if h.which == heapInvisible && a.rec.NextVisible != b.rec.NextVisible {
		return a.rec.NextVisible < b.rec.NextVisible
	}
	if a.rec.Order != b.rec.Order {
		return a.rec.Order < b.rec.Order
	}
	return a.id < b.id
}
func (h *msgHeap) Swap(i, j int) {
	h.ms[i], h.ms[j] = h.ms[j], h.ms[i]
	h.ms[i].pos, h.ms[j].pos = i, j
}
func (h *msgHeap) Push(x any) {
	m := x.(*message)
	m.pos, m.where = len(h.ms), h.which
	h.ms = append(h.ms, m)
}
func (h *msgHeap) Pop() any {
	n := len(h.ms) - 1
	m := h.ms[n]
	h.ms[n] = nil
	h.ms = h.ms[:n]
	m.where, m.pos = 0, -1
	return m
}

// index is the in-memory view of the queues and messages buckets, built
// from them at start and kept current by watching them.
type index struct {
	mu     sync.RWMutex
	queues map[string]*queueState // by queueKey
	qtombs map[string]uint64
	sets   map[string]*msgSet // by generation
}

func newIndex() *index {
	return &index{queues: map[string]*queueState{}, qtombs: map[string]uint64{}, sets: map[string]*msgSet{}}
}

// queue returns a copy of a queue's state.
func (x *index) queue(account, name string) (queueState, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	q, ok := x.queues[queueKey(account, name)]
	if !ok {
		return queueState{}, false
	}
	return *q, true
}

// set returns the message set of a generation, creating it.
func (x *index) set(gen string) *msgSet {
	x.mu.RLock()
	s := x.sets[gen]
	x.mu.RUnlock()
	if s != nil {
		return s
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if s = x.sets[gen]; s == nil {
		s = newMsgSet(gen)
		x.sets[gen] = s
	}
	return s
}

// applyQueue applies a queue record (nil for a delete) at revision rev.
// It returns the generation that stopped being current, if any, so its
// waiters can be woken.
func (x *index) applyQueue(key string, rec *queueRec, rev uint64) (oldGen string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if q, ok := x.queues[key]; ok {
		if rev <= q.rev {
			return ""
		}
		if rec == nil {
			delete(x.queues, key)
			x.qtombs[key] = rev
			return q.rec.Gen
		}
		if q.rec.Gen != rec.Gen {
			oldGen = q.rec.Gen
		}
		q.rec, q.rev = *rec, rev
		return oldGen
	}
	if t, ok := x.qtombs[key]; ok && rev <= t {
		return ""
	}
	delete(x.qtombs, key)
	if rec != nil {
		x.queues[key] = &queueState{rec: *rec, rev: rev}
	}
	return ""
}

// forgetQueue records a local delete of a queue known at revision rev.
func (x *index) forgetQueue(key string, rev uint64) (oldGen string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if q, ok := x.queues[key]; ok && q.rev <= rev {
		delete(x.queues, key)
		x.qtombs[key] = rev
		return q.rec.Gen
	}
	return ""
}

// list returns the states of an account's queues whose names start with
// prefix, sorted by name.
func (x *index) list(account, prefix string) []queueState {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []queueState
	for _, q := range x.queues {
		if q.rec.Account == account && strings.HasPrefix(q.rec.Name, prefix) {
			out = append(out, *q)
		}
	}
	return out
}

func decodeQueue(b []byte) (*queueRec, error) {
	var r queueRec
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func decodeMsg(b []byte) (*msgRec, error) {
	var r msgRec
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
