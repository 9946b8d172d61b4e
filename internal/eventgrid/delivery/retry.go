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

func (w *worker) push(p pending) {
	w.rmu.Lock()
	heap.Push(&w.rq, p)
	w.rmu.Unlock()
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
			w.push(pending{due: due, seq: it.seq})
		}
		return
	}
	w.settle(it)
	w.m.retryPending()
	w.push(pending{due: due, seq: ack.Sequence})
}

// loadRetries rebuilds the retry timers from the subscription's records.
func (w *worker) loadRetries(ctx context.Context) error {
	subj := w.e.retrySubject(w.sub.ID)
	info, err := w.e.retries.Info(ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		return err
	}
	if info.State.Subjects[subj] == 0 {
		return nil
	}
	cons, err := w.e.retries.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subj}, HeadersOnly: true})
	if err != nil {
		return err
	}
	seen := map[uint64]bool{}
	for done := false; !done; {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			md, err := msg.Metadata()
			if err != nil {
				continue
			}
			if md.NumPending == 0 {
				done = true
			}
			if seen[md.Sequence.Stream] {
				continue
			}
			seen[md.Sequence.Stream] = true
			due, _ := time.Parse(time.RFC3339Nano, msg.Headers().Get(hDue))
			w.rq = append(w.rq, pending{due: due, seq: md.Sequence.Stream})
			w.m.retryPending()
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if got == 0 {
			break // the rest were deleted meanwhile
		}
	}
	heap.Init(&w.rq)
	return nil
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

// due reads a retry record and sends it on.
func (w *worker) due(p pending) {
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	defer cancel()
	rm, err := w.e.retries.GetMsg(ctx, p.seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		w.m.retryDone()
		return
	}
	if err != nil {
		if w.ctx.Err() == nil {
			w.e.log.Warn("eventgrid: retry record not read; trying again", "subscription", w.sub.ID, "err", err)
			p.due = w.e.o.Clock().Add(schedule[0])
			w.push(p)
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
