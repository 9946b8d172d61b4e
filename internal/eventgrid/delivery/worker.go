package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/eventgrid/filter"
	"github.com/lapisdev/lapis/internal/eventgrid/schema"
)

// Headers of a custom topic's stored event (system events have none):
// its publish time (RFC 3339; without it, the stream's timestamp is the
// publish time), type and subject. The message id (Nats-Msg-Id) is the
// topic's name and the event's id, "topic/id".
const (
	HeaderReceived = "Lapis-Eventgrid-Received"
	HeaderType     = "Lapis-Eventgrid-Type"
	HeaderSubject  = "Lapis-Eventgrid-Subject"
)

// consumerAckWait is how long a fetched event may stay unacknowledged
// before JetStream hands it out again: longer than a delivery's timeout and
// the wait for a free sender.
const consumerAckWait = 2 * time.Minute

// item is one event on its way to a subscription.
type item struct {
	raw       json.RawMessage // the event, in the delivery schema
	id        string          // its id
	published time.Time
	attempts  int       // delivery attempts made
	outcome   string    // the last attempt's outcome
	status    int       // the last attempt's HTTP status (0: none)
	lastTry   time.Time // the last attempt's time
	// msg is the source message of an event not yet attempted; seq the
	// retry record of one that was.
	msg jetstream.Msg
	seq uint64
	// deadLetter is set when the event is to be dead-lettered, not
	// delivered (the dead-letter container failed before); since is when
	// that was first tried.
	deadLetter string
	since      time.Time
}

// worker delivers to one subscription.
type worker struct {
	e      *Engine
	sub    *Subscription
	schema schema.Schema // delivery schema
	m      *subMetrics

	ctx    context.Context // ends at stop: no new work
	cancel context.CancelFunc
	wg     sync.WaitGroup
	jobs   chan []*item

	seen atomic.Int64 // stream time (UnixNano) of the last source event taken

	rmu   sync.Mutex
	rq    retryHeap
	known map[uint64]bool // retry records with a timer here (or in flight)
	wake  chan struct{}
}

func (e *Engine) startWorker(ctx context.Context, sub *Subscription) (*worker, error) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &worker{e: e, sub: sub, schema: sub.deliverySchema(), m: e.o.Metrics.sub(sub.ID),
		ctx: wctx, cancel: cancel, jobs: make(chan []*item), wake: make(chan struct{}, 1), known: map[uint64]bool{}}
	it, err := w.open(ctx, sub.Since)
	if err != nil {
		cancel()
		return nil, err
	}
	follower, err := w.loadRetries(ctx)
	if err != nil {
		it.Stop()
		cancel()
		w.forgetAll()
		return nil, fmt.Errorf("delivery: retries of %s: %w", sub.ID, err)
	}
	for range e.o.Workers {
		w.wg.Add(1)
		go w.send()
	}
	w.wg.Add(3)
	go w.consume(it)
	go w.follow(follower)
	go w.retryLoop()
	return w, nil
}

// open gets the subscription's durable consumer, creating it (with events
// from since on, or from now if since is zero) when there is none, and
// starts pulling from it.
func (w *worker) open(ctx context.Context, since time.Time) (jetstream.MessagesContext, error) {
	sub, js := w.sub, w.e.o.Substrate.JetStream()
	var cons jetstream.Consumer
	err := w.e.o.Substrate.Retry(ctx, func(ctx context.Context) error {
		var err error
		cons, err = js.Consumer(ctx, sub.Source.Stream, ConsumerName(sub.ID))
		if !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return err
		}
		cfg := jetstream.ConsumerConfig{
			Durable:       ConsumerName(sub.ID),
			Description:   ConsumerDescription + sub.ID,
			FilterSubject: sub.Source.Subject,
			DeliverPolicy: jetstream.DeliverNewPolicy,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       consumerAckWait,
			MaxDeliver:    -1,
			// Few enough that an event waiting for a sender is not handed
			// out again (consumerAckWait) behind an endpoint that times out.
			MaxAckPending: 2 * w.e.o.Workers * max(sub.Spec.Destination.MaxEventsPerBatch, 1),
		}
		if !since.IsZero() {
			cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
		}
		cons, err = js.CreateOrUpdateConsumer(ctx, sub.Source.Stream, cfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: consumer for %s: %w", sub.ID, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return nil, fmt.Errorf("delivery: consume %s: %w", sub.ID, err)
	}
	return it, nil
}

// ConsumerDescription starts the description of a subscription's consumer;
// the subscription's resource id follows.
const ConsumerDescription = "Event Grid subscription "

// forgetAll drops the worker's retry timers from the metrics (the records
// stay; the next worker for the subscription tracks them again).
func (w *worker) forgetAll() {
	w.rmu.Lock()
	n := len(w.known)
	clear(w.known)
	w.rq = w.rq[:0]
	w.rmu.Unlock()
	for range n {
		w.m.retryDone()
	}
}

// stop ends the worker: no new events are taken, deliveries in flight
// finish and are settled.
func (w *worker) stop() {
	w.cancel()
	w.wg.Wait()
	w.forgetAll()
}

// consume reads the source's events, filters them and hands them to the
// senders, in batches when the subscription batches.
func (w *worker) consume(it jetstream.MessagesContext) {
	defer w.wg.Done()
	for {
		w.pump(it)
		if w.ctx.Err() != nil {
			return
		}
		// The consumer went away (deleted by hand, or the stream's leader
		// was lost): make it again from the last event seen, so that
		// nothing published meanwhile is missed, and go on.
		for {
			select {
			case <-w.ctx.Done():
				return
			case <-time.After(time.Second):
			}
			next, err := w.open(w.ctx, w.lastSeen())
			if err == nil {
				it = next
				break
			}
			w.e.log.Warn("eventgrid: subscription's consumer not reopened; trying again", "subscription", w.sub.ID, "err", err)
		}
	}
}

// pump hands the events of one consumer iterator to the senders until the
// worker stops or the iterator fails.
func (w *worker) pump(it jetstream.MessagesContext) {
	// On stop, Drain rather than Stop: the messages already pulled come out
	// and are given back (Nak) for the next worker, where Stop would leave
	// them unacknowledged until consumerAckWait.
	drain := context.AfterFunc(w.ctx, it.Drain)
	defer drain()
	msgs := make(chan jetstream.Msg, 64)
	done := make(chan struct{})
	go func() { // it.Next blocks; a channel lets batches take what is ready
		defer close(done)
		defer close(msgs)
		for {
			msg, err := it.Next()
			if err != nil {
				if w.ctx.Err() == nil && !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					w.e.log.Error("eventgrid: subscription's events stopped", "subscription", w.sub.ID, "err", err)
				}
				it.Stop()
				return
			}
			if w.ctx.Err() != nil {
				_ = msg.Nak()
				continue
			}
			select {
			case msgs <- msg:
			case <-w.ctx.Done():
				_ = msg.Nak()
			}
		}
	}()
	defer func() { <-done }()
	dest := w.sub.Spec.Destination
	maxN, maxBytes := max(dest.MaxEventsPerBatch, 1), max(dest.PreferredBatchBytes, 1)
	for msg := range msgs {
		first := w.prepare(msg)
		if first == nil {
			continue
		}
		group, size := []*item{first}, len(first.raw)
	fill:
		for len(group) < maxN && size < maxBytes {
			select {
			case m, ok := <-msgs:
				if !ok {
					break fill
				}
				if it := w.prepare(m); it != nil {
					group = append(group, it)
					size += len(it.raw)
				}
			default:
				break fill
			}
		}
		w.dispatch(group)
	}
}

// lastSeen is the stream time of the last event taken from the source.
func (w *worker) lastSeen() time.Time {
	if t := w.seen.Load(); t != 0 {
		return time.Unix(0, t)
	}
	return w.sub.Since
}

// prepare turns a source message into an item, or acknowledges it and
// returns nil when the subscription's filter does not take it.
func (w *worker) prepare(msg jetstream.Msg) *item {
	if md, err := msg.Metadata(); err == nil {
		w.seen.Store(md.Timestamp.UnixNano())
	}
	data, h := msg.Data(), msg.Headers()
	it := &item{raw: data, msg: msg}
	if typ := h.Get(HeaderType); typ != "" && w.sub.Spec.Filter.Simple() {
		// A custom topic's event, and a filter on type and subject only: the
		// headers decide, without decoding the event.
		if !w.sub.Spec.Filter.MatchEnvelope(typ, h.Get(HeaderSubject)) {
			_ = msg.Ack()
			return nil
		}
		if _, id, ok := strings.Cut(h.Get(jetstream.MsgIDHeader), "/"); ok {
			it.id = id
		}
	} else {
		var ev *filter.Event
		var err error
		if w.sub.Source.Schema == schema.CloudEventSchemaV1_0 {
			ev, err = filter.FromCloudEvent(data)
		} else {
			ev, err = filter.FromEventGrid(data)
		}
		if err != nil {
			w.e.log.Error("eventgrid: a stored event does not decode; dropped", "subscription", w.sub.ID, "err", err)
			w.m.dropped()
			_ = msg.Ack()
			return nil
		}
		if !w.sub.Spec.Filter.Match(ev) {
			_ = msg.Ack()
			return nil
		}
		if id, ok := ev.Field("id"); ok {
			it.id, _ = id.(string)
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderReceived)); err == nil {
		it.published = t
	} else if md, err := msg.Metadata(); err == nil {
		it.published = md.Timestamp
	} else {
		it.published = w.e.o.Clock()
	}
	if w.schema != w.sub.Source.Schema {
		in := schema.Event{Schema: w.sub.Source.Schema, Raw: data, Topic: w.sub.Source.Topic, Received: it.published}
		var out schema.Event
		var err error
		if w.schema == schema.CloudEventSchemaV1_0 {
			out, err = schema.ToCloudEvent(in)
		} else {
			out, err = schema.ToEventGrid(in)
		}
		if err != nil {
			w.e.log.Error("eventgrid: event not converted to the delivery schema; dropped", "subscription", w.sub.ID, "err", err)
			w.m.dropped()
			_ = msg.Ack()
			return nil
		}
		it.raw = out.Raw
	}
	return it
}

// dispatch hands a group to a sender, dead-lettering expired events first.
// When the worker stops first, fresh events go back to the stream and
// retried ones stay in the retry stream.
func (w *worker) dispatch(group []*item) {
	now := w.e.o.Clock()
	live := group[:0]
	for _, it := range group {
		if now.Sub(it.published) >= w.sub.Spec.EventTTL {
			w.deadLetter(it, ReasonTTL)
			continue
		}
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	// While every sender is busy, tell JetStream the events are being
	// worked on, so that it does not hand them out again.
	progress := time.NewTicker(consumerAckWait / 4)
	defer progress.Stop()
	for {
		select {
		case w.jobs <- live:
			return
		case <-progress.C:
			for _, it := range live {
				if it.msg != nil {
					_ = it.msg.InProgress()
				}
			}
		case <-w.ctx.Done():
			for _, it := range live {
				if it.msg != nil {
					_ = it.msg.Nak()
				}
			}
			return
		}
	}
}

// send is a sender: it delivers groups until the worker stops.
func (w *worker) send() {
	defer w.wg.Done()
	for {
		select {
		case group := <-w.jobs:
			w.deliver(group)
		case <-w.ctx.Done():
			return
		}
	}
}

// deliver makes one attempt for a group and settles each event.
func (w *worker) deliver(group []*item) {
	ctx, cancel := context.WithTimeout(context.Background(), RequestTimeout)
	defer cancel()
	start := w.e.o.Clock()
	res := w.attempt(ctx, group)
	now := w.e.o.Clock()
	for _, it := range group {
		it.attempts++
		it.outcome, it.status, it.lastTry = res.outcome, res.status, start
		if res.ok() {
			w.m.delivered(now.Sub(it.published))
			w.settle(it)
			continue
		}
		w.m.failed()
		w.failed(it, now)
	}
	if !res.ok() {
		w.e.log.Debug("eventgrid: delivery failed", "subscription", w.sub.ID, "events", len(group),
			"outcome", res.outcome, "status", res.status, "err", res.err)
	}
}

// failed decides what follows a failed attempt: a retry, or the dead-letter
// container.
func (w *worker) failed(it *item, now time.Time) {
	spec := w.sub.Spec
	switch {
	case it.status == 400:
		w.deadLetter(it, ReasonBadRequest)
	case it.status == 413:
		w.deadLetter(it, ReasonTooLarge)
	case it.attempts >= spec.MaxDeliveryAttempts:
		w.deadLetter(it, ReasonMaxAttempts)
	default:
		expiry := it.published.Add(spec.EventTTL)
		if !now.Before(expiry) {
			w.deadLetter(it, ReasonTTL)
			return
		}
		d := RetryDelay(it.attempts, it.status)
		due := now.Add(d + w.e.o.Jitter(d))
		if due.After(expiry) {
			due = expiry // the time-to-live check then dead-letters it
		}
		w.retry(it, due)
	}
}

// settle is the end of an event's attempt: its source message is
// acknowledged, or its retry record deleted.
func (w *worker) settle(it *item) {
	if it.msg != nil {
		if err := it.msg.Ack(); err != nil {
			w.e.log.Warn("eventgrid: ack lost; the event may be delivered again", "subscription", w.sub.ID, "err", err)
		}
		return
	}
	if it.seq != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.e.retries.DeleteMsg(ctx, it.seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			w.e.log.Warn("eventgrid: retry record not deleted; the event may be delivered again", "subscription", w.sub.ID, "err", err)
		}
		// The claim stays until it expires, so that a node whose timer fires
		// late cannot take it again for a record already done.
		w.untrack(it.seq)
	}
}

// Dead-letter reasons, as Azure writes them in deadLetterReason.
const (
	ReasonMaxAttempts = "MaxDeliveryAttemptsExceeded"
	ReasonTTL         = "TimeToLiveExceeded"
	ReasonBadRequest  = "UndeliverableDueToHttpBadRequest"
	ReasonTooLarge    = "UndeliverableDueToHttpRequestEntityTooLarge"
)

// deadLetterGiveUp is how long Lapis keeps trying to write to a
// dead-letter container that fails: Azure's 4 hours.
const deadLetterGiveUp = 4 * time.Hour

// deadLetterRetry is the wait between attempts at a failing dead-letter
// container.
const deadLetterRetry = time.Minute

// deadLetter writes an event to the dead-letter container, or drops it
// when the subscription has none. A container that fails is tried again
// each minute for 4 hours.
func (w *worker) deadLetter(it *item, reason string) {
	dl := w.sub.Spec.DeadLetter
	if dl == nil {
		w.m.dropped()
		w.e.log.Warn("eventgrid: event dropped: no dead-letter destination", "subscription", w.sub.ID,
			"event", it.id, "reason", reason, "attempts", it.attempts, "outcome", it.outcome)
		w.settle(it)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), RequestTimeout)
	defer cancel()
	now := w.e.o.Clock()
	err := w.writeDeadLetter(ctx, it, reason, now)
	if err == nil {
		w.m.deadLettered()
		w.settle(it)
		return
	}
	if it.since.IsZero() {
		it.since = now
	}
	if now.Sub(it.since) >= deadLetterGiveUp {
		w.m.dropped()
		w.e.log.Error("eventgrid: event dropped: the dead-letter container failed for 4 hours", "subscription", w.sub.ID,
			"event", it.id, "reason", reason, "err", err)
		w.settle(it)
		return
	}
	w.e.log.Warn("eventgrid: dead-letter write failed; trying again", "subscription", w.sub.ID, "event", it.id, "err", err)
	it.deadLetter = reason
	w.retry(it, now.Add(deadLetterRetry))
}

// strings.ToUpper of the subscription's name, as blob paths and the
// aeg-subscription-name header carry it.
func (w *worker) upperName() string { return strings.ToUpper(w.sub.Name) }
