package queuebinding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
)

// Lease is how long a received message stays invisible while its function runs; the trigger renews it
// (UpdateVisibility) while the invocation lasts, as the Functions host does with its 10-minute lease. Start reads
// it (tests shorten it).
var Lease = 10 * time.Minute

// Trigger is the queueTrigger binding type.
type Trigger struct{}

// Name implements binding.Type.
func (Trigger) Name() string { return TriggerType }

// Directions implements binding.Type.
func (Trigger) Directions() []appconfig.Direction { return []appconfig.Direction{appconfig.In} }

// Validate implements binding.Type.
func (Trigger) Validate(b *appconfig.Binding) error { _, err := ParseConfig(b, true); return err }

// Start implements binding.Trigger: it resolves the queue and the connection, creates the queue if it does not
// exist, and starts the listener.
func (Trigger) Start(ctx context.Context, fn *binding.Function, inv binding.Invoker) (func(), error) {
	b := fn.Trigger()
	cfg, err := ParseConfig(b, true)
	if err != nil {
		return nil, err
	}
	qname, err := resolveName(cfg.QueueName, fn.Settings)
	if err != nil {
		return nil, err
	}
	conn, err := ConnectionString(fn.Settings, cfg.Connection)
	if err != nil {
		return nil, err
	}
	acct, err := provider(fn.Env).Account(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", cfg.Connection, err)
	}
	opts := queueOptions(fn)
	log := slog.New(slog.DiscardHandler)
	if fn.Env != nil && fn.Env.Logger != nil {
		log = fn.Env.Logger
	}
	l := &listener{
		fn: fn, inv: inv, acct: acct, binding: b.Name, queue: qname, poison: qname + PoisonSuffix,
		batch: opts.BatchSize, threshold: opts.NewBatchThresholdFor(runtime.NumCPU()),
		maxDequeue: int64(opts.MaxDequeueCount), retryAfter: opts.VisibilityTimeout,
		maxPoll: opts.MaxPollingInterval, encoding: opts.MessageEncoding, lease: max(Lease, time.Second),
		log: log.With("app", fn.App, "function", fn.Name(), "queue", qname),
	}
	if l.batch < 1 {
		l.batch = appconfig.DefaultQueueBatchSize
	}
	if l.maxDequeue < 1 {
		l.maxDequeue = appconfig.DefaultMaxDequeueCount
	}
	// Azure's listener waits for a missing queue; Lapis creates it, so that the first message is pushed at once.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = acct.CreateQueue(cctx, qname)
	cancel()
	if err != nil {
		l.log.Warn("queue trigger: cannot create the queue; waiting for it", "err", err)
	}
	l.start(ctx)
	return l.stop, nil
}

// listener runs one queue-triggered function. A receiver fetches batches of up to batchSize messages whenever
// no more than newBatchThreshold are in flight (so at most batchSize+newBatchThreshold run at once); a fixed
// pool of that many workers invokes the function, one message each, and then deletes the message (success),
// makes it visible again after visibilityTimeout (failure), or moves it to the poison queue (failure at
// maxDequeueCount).
type listener struct {
	fn                *binding.Function
	inv               binding.Invoker
	acct              storageclient.Account
	binding           string
	queue, poison     string
	batch, threshold  int
	maxDequeue        int64
	retryAfter        time.Duration
	maxPoll           time.Duration
	lease             time.Duration
	encoding          string
	log               *slog.Logger
	ctx               context.Context // receiving; cancelled by stop
	cancel            context.CancelFunc
	bg                context.Context // invocations and message completion: they outlive stop
	work              chan *flight
	completed         chan *flight // succeeded, to delete
	received, workers sync.WaitGroup
	stopOnce          sync.Once

	mu       sync.Mutex
	cond     *sync.Cond
	inflight int
	flights  map[*flight]struct{}
}

// flight is a message being processed. Its pop receipt changes when the lease is renewed.
type flight struct {
	mu    sync.Mutex
	m     storageclient.Message
	until time.Time // end of the lease
	done  bool
}

func (l *listener) start(ctx context.Context) {
	l.cond = sync.NewCond(&l.mu)
	l.flights = map[*flight]struct{}{}
	l.bg = context.WithoutCancel(ctx)
	l.ctx, l.cancel = context.WithCancel(ctx)
	n := l.batch + l.threshold
	l.work = make(chan *flight, n)
	l.completed = make(chan *flight, n)
	l.received.Add(1)
	go l.receive()
	l.workers.Add(n)
	for range n {
		go l.worker()
	}
	deleted := make(chan struct{})
	go func() { l.workers.Wait(); close(l.completed) }()
	go func() { l.deleter(); close(deleted) }()
	go l.renew(deleted)
	// A cancelled Start context stops the listener too.
	context.AfterFunc(l.ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
}

// stop ends receiving and gives back the messages not yet started (visible again at once). Invocations in
// flight finish and complete their messages in the background.
func (l *listener) stop() {
	l.stopOnce.Do(func() {
		l.cancel()
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
		l.received.Wait()
		for f := range l.work {
			l.release(f)
			l.finish(f)
		}
	})
}

func (l *listener) receive() {
	defer l.received.Done()
	defer close(l.work)
	var backoff time.Duration
	var lastErr string
	for {
		l.mu.Lock()
		for l.inflight > l.threshold && l.ctx.Err() == nil {
			l.cond.Wait()
		}
		l.mu.Unlock()
		if l.ctx.Err() != nil {
			return
		}
		ms, err := l.acct.ReceiveMessages(l.ctx, l.queue, l.batch, l.lease, l.maxPoll)
		if err != nil {
			if l.ctx.Err() != nil {
				return
			}
			// The queue is missing, the service unreachable: back off as the host's listener does.
			backoff = min(max(2*backoff, 100*time.Millisecond), max(l.maxPoll, 100*time.Millisecond))
			if msg := err.Error(); msg != lastErr {
				lastErr = msg
				l.log.Warn("queue trigger: receiving failed; retrying", "err", err, "retryIn", backoff)
			}
			t := time.NewTimer(backoff)
			select {
			case <-l.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		if lastErr != "" {
			l.log.Info("queue trigger: receiving again")
		}
		backoff, lastErr = 0, ""
		until := time.Now().Add(l.lease)
		l.mu.Lock()
		l.inflight += len(ms)
		fs := make([]flight, len(ms))
		for i := range ms {
			fs[i] = flight{m: ms[i], until: until}
			l.flights[&fs[i]] = struct{}{}
		}
		l.mu.Unlock()
		for i := range fs {
			l.work <- &fs[i] // never blocks: the channel holds batchSize+newBatchThreshold
		}
	}
}

// finish ends a flight and lets the receiver fetch more when few are left.
func (l *listener) finish(f *flight) {
	f.mu.Lock()
	f.done = true
	f.mu.Unlock()
	l.mu.Lock()
	delete(l.flights, f)
	l.inflight--
	if l.inflight <= l.threshold {
		l.cond.Signal()
	}
	l.mu.Unlock()
}

func (l *listener) worker() {
	defer l.workers.Done()
	for f := range l.work {
		switch {
		case l.ctx.Err() != nil:
			l.release(f)
		case l.process(f):
			l.completed <- f // never blocks: it holds batchSize+newBatchThreshold
			continue
		}
		l.finish(f)
	}
}

// maxDeleteBatch bounds the deletes written together.
const maxDeleteBatch = 64

// deleter deletes the messages whose invocation succeeded: the ones that are waiting are deleted together,
// which the in-process account writes in one round.
func (l *listener) deleter() {
	batch := make([]*flight, 0, maxDeleteBatch)
	rs := make([]storageclient.Receipt, 0, maxDeleteBatch)
	for f := range l.completed {
		batch = append(batch[:0], f)
	more:
		for len(batch) < maxDeleteBatch {
			select {
			case f, ok := <-l.completed:
				if !ok {
					break more
				}
				batch = append(batch, f)
			default:
				break more
			}
		}
		rs = rs[:0]
		for _, f := range batch {
			f.mu.Lock() // held while deleting: the renewer may be changing the pop receipt
			rs = append(rs, storageclient.Receipt{ID: f.m.ID, PopReceipt: f.m.PopReceipt})
		}
		errs := storageclient.DeleteMessages(l.bg, l.acct, l.queue, rs)
		for i, f := range batch {
			f.mu.Unlock()
			if err := errs[i]; err != nil && !errors.Is(err, storageclient.ErrNotFound) {
				l.log.Warn("queue trigger: cannot delete a processed message; it will run again", "id", f.m.ID, "err", err)
			}
			l.finish(f)
		}
	}
}

// process invokes the function for a message and reports whether it succeeded (the caller deletes the message);
// a failed message is released for a retry or poisoned here.
func (l *listener) process(f *flight) bool {
	f.mu.Lock() // the renewer may change the pop receipt
	msg := f.m
	f.mu.Unlock()
	m := &msg
	if m.DequeueCount > l.maxDequeue {
		// Dequeued more often than allowed without a verdict (a crash, a lost lease): poison it unseen.
		l.toPoison(f)
		return false
	}
	text := DecodeMessage(m.Text, l.encoding)
	inv := &binding.Invocation{
		Function: l.fn.Name(),
		Data:     map[string]json.RawMessage{l.binding: Value(text)},
		Metadata: Metadata(m, text),
	}
	if _, err := l.inv.Invoke(l.bg, inv); err != nil {
		if m.DequeueCount >= l.maxDequeue {
			l.log.Warn("queue trigger: message failed its last attempt; moving it to the poison queue",
				"id", m.ID, "dequeueCount", m.DequeueCount, "poisonQueue", l.poison, "err", err)
			l.toPoison(f)
			return false
		}
		l.retry(f, l.retryAfter)
		return false
	}
	return true
}

// retry makes the message visible again after d.
func (l *listener) retry(f *flight, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := l.acct.UpdateVisibility(l.bg, l.queue, f.m.ID, f.m.PopReceipt, d); err != nil && !errors.Is(err, storageclient.ErrNotFound) {
		l.log.Warn("queue trigger: cannot release a failed message; it will be retried when its lease ends", "id", f.m.ID, "err", err)
	}
}

// release gives a message that was not processed back to the queue at once.
func (l *listener) release(f *flight) {
	ctx, cancel := context.WithTimeout(l.bg, 10*time.Second)
	defer cancel()
	f.mu.Lock()
	defer f.mu.Unlock()
	_, _ = l.acct.UpdateVisibility(ctx, l.queue, f.m.ID, f.m.PopReceipt, 0)
}

// toPoison copies the message's original text to the poison queue (creating it when needed) and deletes it.
func (l *listener) toPoison(f *flight) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := l.acct.PutMessage(l.bg, l.poison, f.m.Text, 0, 0)
	if errors.Is(err, storageclient.ErrNotFound) {
		if err = l.acct.CreateQueue(l.bg, l.poison); err == nil {
			_, err = l.acct.PutMessage(l.bg, l.poison, f.m.Text, 0, 0)
		}
	}
	if err != nil {
		l.log.Error("queue trigger: cannot move a message to the poison queue; it stays in the queue", "id", f.m.ID, "poisonQueue", l.poison, "err", err)
		return
	}
	if err := l.acct.DeleteMessage(l.bg, l.queue, f.m.ID, f.m.PopReceipt); err != nil && !errors.Is(err, storageclient.ErrNotFound) {
		l.log.Warn("queue trigger: poisoned message not deleted from the queue", "id", f.m.ID, "err", err)
	}
}

// renew extends the lease of messages whose invocation runs past half of it, until every message is done.
func (l *listener) renew(done <-chan struct{}) {
	t := time.NewTicker(l.lease / 4)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		l.mu.Lock()
		all := make([]*flight, 0, len(l.flights))
		for f := range l.flights {
			all = append(all, f)
		}
		l.mu.Unlock()
		for _, f := range all {
			f.mu.Lock()
			if now := time.Now(); !f.done && f.until.Sub(now) < l.lease/2 {
				pop, err := l.acct.UpdateVisibility(l.bg, l.queue, f.m.ID, f.m.PopReceipt, l.lease)
				if err == nil {
					f.m.PopReceipt, f.until = pop, now.Add(l.lease)
				} else {
					l.log.Warn("queue trigger: cannot extend a message's lease; it may run twice", "id", f.m.ID, "err", err)
				}
			}
			f.mu.Unlock()
		}
	}
}
