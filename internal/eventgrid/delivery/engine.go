package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/eventgrid/schema"
	"github.com/lapisdev/lapis/internal/eventgrid/subscription"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/substrate"
)

// Source is where a subscription's events come from.
type Source struct {
	// Stream and Subject select the events: a JetStream stream and a filter
	// subject in it.
	Stream  string
	Subject string
	// Schema is the schema the events are stored in.
	Schema schema.Schema
	// Topic is the resource id of the topic (custom or system), for the
	// validation event's topic.
	Topic string
}

// Subscription is an active event subscription.
type Subscription struct {
	// ID is the subscription's resource id; Name its name.
	ID, Name string
	// Revision changes when the subscription does; Apply restarts the
	// subscription's worker only on a new revision.
	Revision uint64
	Source   Source
	Spec     *subscription.Spec
	// Since is when the subscription became active: its consumer, made on
	// first Apply, starts with the events stored from then on (zero: from
	// the Apply), so that an event published right after the subscription
	// is created is not missed while the engine catches up.
	Since time.Time
}

// deliverySchema is the schema events are delivered in.
func (s *Subscription) deliverySchema() schema.Schema {
	if s.Spec.DeliverySchemaSet {
		return s.Spec.DeliverySchema
	}
	return s.Source.Schema
}

// Options configure an Engine.
type Options struct {
	Substrate *substrate.Substrate
	// Service is the substrate namespace of the retry stream ("eventgrid").
	Service string
	// Clock is the time source (default time.Now); Alarm, when set, returns a
	// channel that receives once Clock reads t or later (a test clock's).
	Clock func() time.Time
	Alarm func(t time.Time) <-chan time.Time
	// Jitter returns the random extra added to a retry delay d (default up
	// to d/10).
	Jitter func(d time.Duration) time.Duration
	// Client sends webhook requests (default NewClient()).
	Client *http.Client
	// FunctionURL resolves an AzureFunction destination (a function's
	// resource id) to the URL of its Event Grid webhook, key included.
	FunctionURL func(ctx context.Context, functionID string) (string, error)
	// Storage opens a storage account by resource id, for StorageQueue
	// destinations and dead-letter containers.
	Storage func(ctx context.Context, accountID string) (storageclient.Account, error)
	// Workers is the number of deliveries a subscription has in flight at
	// most (default 32).
	Workers int
	// Node names this node in retry claims (default "node").
	Node    string
	Logger  *slog.Logger
	Metrics *Metrics
}

// Engine runs the deliveries of every active subscription of this node.
type Engine struct {
	o       Options
	retries jetstream.Stream
	claims  jetstream.KeyValue
	log     *slog.Logger

	mu      sync.Mutex
	workers map[string]*worker // by lower-case subscription id
	closed  bool
}

// RetryStreamName is the short name of the retry stream
// (LAPIS_EVENTGRID_RETRIES).
const RetryStreamName = "retries"

// retryRetention bounds how long a retry record is kept: the longest event
// time to live plus the 4 hours Azure keeps trying a dead-letter container.
const retryRetention = 28 * time.Hour

// New returns an engine; it creates the retry stream.
func New(ctx context.Context, o Options) (*Engine, error) {
	if o.Substrate == nil || o.Service == "" {
		return nil, errors.New("delivery: no substrate or service name")
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Jitter == nil {
		o.Jitter = func(d time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(d)/10 + 1)) }
	}
	if o.Client == nil {
		o.Client = NewClient()
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Node == "" {
		o.Node = "node"
	}
	st, err := o.Substrate.Stream(ctx, o.Service, substrate.StreamSpec{
		Name: RetryStreamName, Subjects: []string{"retry.>"}, MaxAge: retryRetention})
	if err != nil {
		return nil, fmt.Errorf("delivery: retry stream: %w", err)
	}
	claims, err := o.Substrate.KeyValue(ctx, o.Service, substrate.KVSpec{Name: "retry-claims", TTL: claimTTL})
	if err != nil {
		return nil, fmt.Errorf("delivery: retry claims: %w", err)
	}
	return &Engine{o: o, retries: st, claims: claims, log: o.Logger, workers: map[string]*worker{}}, nil
}

// until is the Alarm, or a real timer capped at a minute (a caller that
// waits longer looks at the clock again).
func (e *Engine) until(t time.Time) <-chan time.Time {
	if e.o.Alarm != nil {
		return e.o.Alarm(t)
	}
	return time.After(min(t.Sub(e.o.Clock()), time.Minute))
}

// ConsumerName is the durable consumer of a subscription: "egsub-" and a
// hash of its lower-case resource id (consumer names are limited in length
// and characters; ids are not).
func ConsumerName(id string) string {
	return "egsub-" + idHash(id)
}

func idHash(id string) string {
	h := sha256.Sum256([]byte(strings.ToLower(id)))
	return hex.EncodeToString(h[:12])
}

// retrySubject is the subject of a subscription's retry records.
func (e *Engine) retrySubject(id string) string {
	return substrate.Subject(e.o.Service, "retry", idHash(id))
}

// Apply starts delivering to sub, or restarts its worker if the
// subscription changed. Its consumer keeps its position across restarts.
func (e *Engine) Apply(ctx context.Context, sub *Subscription) error {
	key := strings.ToLower(sub.ID)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return errors.New("delivery: engine closed")
	}
	old := e.workers[key]
	if old != nil && old.sub.Revision == sub.Revision {
		e.mu.Unlock()
		return nil
	}
	delete(e.workers, key)
	e.mu.Unlock()
	if old != nil {
		old.stop()
	}
	w, err := e.startWorker(ctx, sub)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		go w.stop()
		return errors.New("delivery: engine closed")
	}
	if other := e.workers[key]; other != nil {
		go other.stop()
	}
	e.workers[key] = w
	return nil
}

// Stop stops delivering to the subscription with this id, keeping its
// consumer and pending retries (a subscription that is not active now).
func (e *Engine) Stop(id string) {
	e.mu.Lock()
	w := e.workers[strings.ToLower(id)]
	delete(e.workers, strings.ToLower(id))
	e.mu.Unlock()
	if w != nil {
		w.stop()
	}
}

// Delete stops delivering to a deleted subscription and removes its
// consumer and pending retries. stream is the source stream its consumer
// is on ("" tries both of Lapis's event streams).
func (e *Engine) Delete(ctx context.Context, id string, streams ...string) error {
	e.Stop(id)
	var errs []error
	for _, st := range streams {
		if err := e.o.Substrate.JetStream().DeleteConsumer(ctx, st, ConsumerName(id)); err != nil &&
			!errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, err)
		}
	}
	if err := e.retries.Purge(ctx, jetstream.WithPurgeSubject(e.retrySubject(id))); err != nil {
		errs = append(errs, err)
	}
	e.o.Metrics.forget(id)
	return errors.Join(errs...)
}

// PurgeRetries removes the retry records of every subscription but the
// live ones (by resource id): those left by subscriptions deleted while no
// engine ran.
func (e *Engine) PurgeRetries(ctx context.Context, live []string) error {
	keep := map[string]bool{}
	for _, id := range live {
		keep[e.retrySubject(id)] = true
	}
	info, err := e.retries.Info(ctx, jetstream.WithSubjectFilter(substrate.Subject(e.o.Service, "retry", ">")))
	if err != nil {
		return err
	}
	var errs []error
	for subj := range info.State.Subjects {
		if !keep[subj] {
			if err := e.retries.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Active lists the ids of the subscriptions being delivered to.
func (e *Engine) Active() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.workers))
	for _, w := range e.workers {
		out = append(out, w.sub.ID)
	}
	return out
}

// Close stops every worker. In-flight deliveries finish first (each has its
// own timeout), so that their outcome is recorded.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	ws := make([]*worker, 0, len(e.workers))
	for _, w := range e.workers {
		ws = append(ws, w)
	}
	clear(e.workers)
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() { defer wg.Done(); w.stop() }()
	}
	wg.Wait()
}

// Stats returns the delivery counts of the subscription with this id.
func (e *Engine) Stats(id string) Stats { return e.o.Metrics.Stats(id) }
