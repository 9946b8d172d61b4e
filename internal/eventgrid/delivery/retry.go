package delivery

import (
	"container/heap"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// schedule is Azure's retry schedule: the wait after the n-th failed
// attempt is schedule[n-1], and an hour after the seventh and later.
var schedule = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute,
	10 * time.Minute, 30 * time.Minute, time.Hour}

// RetryDelay is the wait before the next attempt after the attempts-th
// failed one answered status (0: no answer), before jitter: Azure's
// schedule, or longer where the status asks for more (401, 403 and 404
// wait at least 5 minutes, 408 2 minutes, 503 30 seconds).
func RetryDelay(attempts, status int) time.Duration {
	d := schedule[min(max(attempts, 1), len(schedule))-1]
	var least time.Duration
	switch status {
	case 400, 401, 403, 404:
		least = 5 * time.Minute
	case 408:
		least = 2 * time.Minute
	case 503:
		least = 30 * time.Second
	default:
		least = 10 * time.Second
	}
	return max(d, least)
}

// Headers of a retry record; the body is the event in the delivery schema.
const (
	hID         = "Lapis-Eg-Event"
	hAttempts   = "Lapis-Eg-Attempts"
	hDue        = "Lapis-Eg-Due"
	hPublished  = "Lapis-Eg-Published"
	hOutcome    = "Lapis-Eg-Outcome"
	hStatus     = "Lapis-Eg-Status"
	hLastTry    = "Lapis-Eg-Last-Attempt"
	hDeadLetter = "Lapis-Eg-Deadletter"
	hSince      = "Lapis-Eg-Deadletter-Since"
)

type pending struct {
	due time.Time
	seq uint64
}

type retryHeap []pending

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(pending)) }
func (h *retryHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}

// track adds a timer for a retry record this worker has none for (its own,
// or one the follower saw another node store).
func (w *worker) track(p pending) {
	w.rmu.Lock()
	if w.known[p.seq] {
		w.rmu.Unlock()
		return
	}
	w.known[p.seq] = true
	heap.Push(&w.rq, p)
	w.rmu.Unlock()
	w.m.retryPending()
	w.wakeUp()
}

// requeue puts back the timer of a record this worker keeps, for a later
// look.
func (w *worker) requeue(p pending) {
	w.rmu.Lock()
	heap.Push(&w.rq, p)
	w.rmu.Unlock()
	w.wakeUp()
}

// untrack forgets a record that is gone.
func (w *worker) untrack(seq uint64) {
	w.rmu.Lock()
	had := w.known[seq]
	delete(w.known, seq)
	w.rmu.Unlock()
	if had {
		w.m.retryDone()
	}
}

func (w *worker) wakeUp() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// retry stores an event for another attempt at due, then settles its
// current source (message or older record). If the store fails, a fresh
// event goes back to the stream to be tried again shortly, and a retried
// one keeps its record.
func (w *worker) retry(it *item, due time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := time.RFC3339Nano
	msg := &nats.Msg{Subject: w.e.retrySubject(w.sub.ID), Data: it.raw, Header: nats.Header{}}
	msg.Header.Set(hID, it.id)
	msg.Header.Set(hAttempts, strconv.Itoa(it.attempts))
	msg.Header.Set(hDue, due.UTC().Format(f))
	msg.Header.Set(hPublished, it.published.UTC().Format(f))
	msg.Header.Set(hOutcome, it.outcome)
	msg.Header.Set(hStatus, strconv.Itoa(it.status))
	if !it.lastTry.IsZero() {
		msg.Header.Set(hLastTry, it.lastTry.UTC().Format(f))
	}
	if it.deadLetter != "" {
		msg.Header.Set(hDeadLetter, it.deadLetter)
		msg.Header.Set(hSince, it.since.UTC().Format(f))
	}
	ack, err := w.e.o.Substrate.JetStream().PublishMsg(ctx, msg)
	if err != nil {
		w.e.log.Error("eventgrid: retry not stored", "subscription", w.sub.ID, "event", it.id, "err", err)
		if it.msg != nil {
			_ = it.msg.NakWithDelay(schedule[0])
		} else {
			w.requeue(pending{due: w.e.o.Clock().Add(schedule[0]), seq: it.seq})
		}
		return
	}
	w.track(pending{due: due, seq: ack.Sequence})
	w.settle(it)
}

// loadRetries rebuilds the retry timers from the subscription's records,
// and returns the follower that goes on adding the records stored later,
// by this node or another: every node keeps a timer for every record, and
// a claim decides which one makes the attempt.
func (w *worker) loadRetries(ctx context.Context) (jetstream.MessagesContext, error) {
	cons, err := w.e.retries.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{w.e.retrySubject(w.sub.ID)}, HeadersOnly: true})
	if err != nil {
		return nil, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, err
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, err
	}
	for pending := info.NumPending; pending > 0; {
		msg, err := it.Next(jetstream.NextMaxWait(time.Second))
		if errors.Is(err, nats.ErrTimeout) {
			break // the rest were deleted meanwhile
		}
		if err != nil {
			it.Stop()
			return nil, err
		}
		if md := w.record(msg); md != nil {
			pending = md.NumPending
		}
	}
	return it, nil
}

// record tracks the retry record msg announces.
func (w *worker) record(msg jetstream.Msg) *jetstream.MsgMetadata {
	md, err := msg.Metadata()
	if err != nil {
		return nil
	}
	due, _ := time.Parse(time.RFC3339Nano, msg.Headers().Get(hDue))
	w.track(pending{due: due, seq: md.Sequence.Stream})
	return md
}

// follow tracks the retry records stored after the load.
func (w *worker) follow(it jetstream.MessagesContext) {
	defer w.wg.Done()
	stop := context.AfterFunc(w.ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if w.ctx.Err() == nil && !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				w.e.log.Error("eventgrid: following retry records ended", "subscription", w.sub.ID, "err", err)
			}
			return
		}
		w.record(msg)
	}
}

// retryLoop hands each retry record to the senders when it is due.
func (w *worker) retryLoop() {
	defer w.wg.Done()
	for {
		w.rmu.Lock()
		var next pending
		has := len(w.rq) > 0
		if has {
			next = w.rq[0]
		}
		now := w.e.o.Clock()
		if has && !next.due.After(now) {
			heap.Pop(&w.rq)
		}
		w.rmu.Unlock()
		if has && !next.due.After(now) {
			w.due(next)
			continue
		}
		var timer <-chan time.Time
		if has {
			timer = w.e.until(next.due)
		}
		select {
		case <-w.ctx.Done():
			return
		case <-w.wake:
		case <-timer:
		}
	}
}

// claimTTL is how long a node's claim on a retry record lasts: a record
// whose claimer died is attempted by another node after it.
const claimTTL = 5 * time.Minute

// claimRecheck is how soon a node looks again at a record another node
// claimed: by then it is usually done and gone.
const claimRecheck = time.Minute

// claim reports whether this node may attempt the record now: it holds
// the record's claim, or took it. Another node's claim puts the timer off
// until that claim expires.
func (w *worker) claim(ctx context.Context, p pending) bool {
	key := strconv.FormatUint(p.seq, 10)
	_, err := w.e.claims.Create(ctx, key, []byte(w.e.o.Node))
	if err == nil {
		return true
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		if v, gerr := w.e.claims.Get(ctx, key); gerr == nil && string(v.Value()) == w.e.o.Node {
			return true // this node's, from before a restart or an earlier try
		}
		p.due = w.e.o.Clock().Add(claimRecheck)
	} else {
		if w.ctx.Err() != nil {
			return false
		}
		w.e.log.Warn("eventgrid: retry claim failed; trying again", "subscription", w.sub.ID, "err", err)
		p.due = w.e.o.Clock().Add(schedule[0])
	}
	w.requeue(p)
	return false
}

// due claims a retry record, reads it and sends it on.
func (w *worker) due(p pending) {
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	defer cancel()
	rm, err := w.e.retries.GetMsg(ctx, p.seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		w.untrack(p.seq) // done meanwhile, here or on another node
		return
	}
	if err == nil && !w.claim(ctx, p) {
		return
	}
	if err != nil {
		if w.ctx.Err() == nil {
			w.e.log.Warn("eventgrid: retry record not read; trying again", "subscription", w.sub.ID, "err", err)
			p.due = w.e.o.Clock().Add(schedule[0])
			w.requeue(p)
		}
		return
	}
	h := rm.Header
	it := &item{raw: rm.Data, seq: p.seq, id: h.Get(hID), outcome: h.Get(hOutcome), deadLetter: h.Get(hDeadLetter)}
	it.attempts, _ = strconv.Atoi(h.Get(hAttempts))
	it.status, _ = strconv.Atoi(h.Get(hStatus))
	it.published, _ = time.Parse(time.RFC3339Nano, h.Get(hPublished))
	it.lastTry, _ = time.Parse(time.RFC3339Nano, h.Get(hLastTry))
	it.since, _ = time.Parse(time.RFC3339Nano, h.Get(hSince))
	if it.deadLetter != "" {
		w.deadLetter(it, it.deadLetter)
		return
	}
	w.dispatch([]*item{it})
}
