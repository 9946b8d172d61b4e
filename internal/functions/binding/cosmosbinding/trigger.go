package cosmosbinding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/docclient"
	"github.com/lapisdev/lapis/internal/functions/retry"
)

// Trigger is the cosmosDBTrigger binding type.
type Trigger struct{}

// Name implements binding.Type.
func (Trigger) Name() string { return TriggerType }

// Directions implements binding.Type.
func (Trigger) Directions() []appconfig.Direction { return []appconfig.Direction{appconfig.In} }

// Validate implements binding.Type.
func (Trigger) Validate(b *appconfig.Binding) error { _, err := ParseTriggerConfig(b); return err }

// stateTimeout bounds each read or write of a lease, so that a write after stop (a checkpoint, a release) is
// still made.
const stateTimeout = 10 * time.Second

// Start implements binding.Trigger: it opens the lease container (creating it when createLeaseContainerIfNotExists
// is set; a missing one is an error otherwise, as in Azure) and the monitored container, creates the lease unless
// it exists, and starts the change feed processor, which acquires the lease and fires the function for each batch
// of changes. A monitored container that does not exist yet is waited for (Azure's host retries starting the
// listener); since all its changes come after the trigger started, the processor then starts at its beginning.
func (Trigger) Start(ctx context.Context, fn *binding.Function, inv binding.Invoker) (func(), error) {
	cfg, err := ParseTriggerConfig(fn.Trigger())
	if err != nil {
		return nil, err
	}
	p := newProcessor(ctx, fn, inv, cfg)
	for _, n := range cfg.Notes {
		p.log.Info("cosmosDBTrigger: " + n)
	}
	sctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	mon, err := p.open(sctx)
	if err != nil {
		return nil, err
	}
	if mon != nil {
		// A new lease's start (now, by default) is the time the trigger started, not when the processor first
		// gets to the lease.
		if err := p.bind(mon); err != nil {
			return nil, err
		}
	} else {
		p.log.Warn("cosmosDBTrigger: the monitored container does not exist yet; waiting for it", "every", containerPoll)
	}
	if sub := p.env.Substrate; sub != nil {
		if p.retries, err = retry.OpenStore(sctx, sub); err != nil {
			return nil, fmt.Errorf("retry state: %w", err)
		}
	}
	go p.run()
	return p.stop, nil
}

// processor is one function's change feed processor: it owns the monitored container's lease while it can, reads
// the change feed from the lease's continuation, invokes the function with each batch and checkpoints after it.
type processor struct {
	fn      *binding.Function
	inv     binding.Invoker
	env     *binding.Env
	log     *slog.Logger
	cfg     *TriggerConfig
	policy  *appconfig.RetryPolicy
	owner   string // this processor's name in the lease
	retries retry.Store

	monitored docclient.Account
	leaseAcct docclient.Account
	leases    *leaseStore // set by bind
	// fromBeginning starts a new lease at the beginning of the feed: startFromBeginning, or a container created
	// after the trigger started.
	fromBeginning bool

	ctx      context.Context // the processor's: ends at stop, or when Start's context ends
	cancel   context.CancelFunc
	invCtx   context.Context // invocations': ends only with Start's context
	done     chan struct{}
	stopOnce sync.Once
}

func newProcessor(ctx context.Context, fn *binding.Function, inv binding.Invoker, cfg *TriggerConfig) *processor {
	env := fn.Env
	if env == nil {
		env = &binding.Env{}
	}
	p := &processor{fn: fn, inv: inv, env: env, cfg: cfg, policy: retry.PolicyFor(fn.Def, fn.Host),
		fromBeginning: cfg.StartFromBeginning, retries: retry.NewMemoryStore(), invCtx: ctx, done: make(chan struct{})}
	// The owner's name in the lease, as the change feed processor's instance name: unique to this start, with the
	// node's name to tell where it runs.
	p.owner = uuid.NewString()
	if p.env.Node != "" {
		p.owner = p.env.Node + "/" + p.owner
	}
	p.log = slog.New(slog.DiscardHandler)
	if p.env.Logger != nil {
		p.log = p.env.Logger
	}
	p.log = p.log.With("app", fn.App, "function", fn.Name(), "database", cfg.Database, "container", cfg.Container)
	p.ctx, p.cancel = context.WithCancel(ctx)
	return p
}

// stop ends the processor: it waits for the invocation in flight (and its checkpoint), then releases the lease so
// that another instance takes it over at once.
func (p *processor) stop() {
	p.stopOnce.Do(p.cancel)
	<-p.done
}

// open resolves the connections and checks the lease container, creating it if allowed, and returns the
// monitored container (nil when it does not exist yet).
func (p *processor) open(ctx context.Context) (*docclient.ContainerInfo, error) {
	var err error
	if p.monitored, err = openAccount(ctx, p.fn, p.cfg.Connection); err != nil {
		return nil, err
	}
	p.leaseAcct = p.monitored
	if p.cfg.LeaseConnection != p.cfg.Connection {
		if p.leaseAcct, err = openAccount(ctx, p.fn, p.cfg.LeaseConnection); err != nil {
			return nil, fmt.Errorf("leaseConnection: %w", err)
		}
	}
	lease, err := p.leaseAcct.Container(ctx, p.cfg.LeaseDatabase, p.cfg.LeaseContainer)
	if errors.Is(err, docdb.ErrNotFound) && p.cfg.CreateLeaseContainer {
		lease, err = createLeaseContainer(ctx, p.leaseAcct, p.cfg.LeaseDatabase, p.cfg.LeaseContainer)
	}
	if errors.Is(err, docdb.ErrNotFound) {
		return nil, fmt.Errorf("the lease container '%s' (in database '%s') does not exist. It must exist before the trigger starts; to create it automatically, set createLeaseContainerIfNotExists to true",
			p.cfg.LeaseContainer, p.cfg.LeaseDatabase)
	}
	if err != nil {
		return nil, fmt.Errorf("lease container: %w", err)
	}
	if !slices.Equal(lease.PartitionKeyPaths, []string{"/id"}) {
		return nil, fmt.Errorf("the lease container '%s' has the partition key %v: a lease container, if partitioned, must have partition key equal to id (/id)",
			p.cfg.LeaseContainer, lease.PartitionKeyPaths)
	}
	mon, err := p.monitored.Container(ctx, p.cfg.Database, p.cfg.Container)
	if errors.Is(err, docdb.ErrNotFound) {
		return nil, nil
	}
	return mon, err
}

// bind names the lease of the monitored container mon, and creates it (free) unless it exists.
func (p *processor) bind(mon *docclient.ContainerInfo) error {
	p.leases = &leaseStore{acct: p.leaseAcct, db: p.cfg.LeaseDatabase, container: p.cfg.LeaseContainer,
		id: LeaseID(p.cfg.LeasePrefix, p.monitored.Host(), mon)}
	p.log = p.log.With("lease", p.leases.id)
	if err := p.ensureLease(); err != nil {
		return fmt.Errorf("lease: %w", err)
	}
	return nil
}

// containerPoll is how often a trigger whose monitored container does not exist yet looks for it.
const containerPoll = time.Second

// awaitContainer waits until the monitored container exists and binds its lease; false when the processor stops
// first.
func (p *processor) awaitContainer() bool {
	var lastErr string
	for p.sleep(p.ctx, containerPoll) {
		var mon *docclient.ContainerInfo
		err := p.state(func(ctx context.Context) (err error) {
			mon, err = p.monitored.Container(ctx, p.cfg.Database, p.cfg.Container)
			return err
		})
		if err == nil {
			p.fromBeginning = true
			if err = p.bind(mon); err == nil {
				p.log.Info("cosmosDBTrigger: the monitored container exists now; starting at its beginning")
				return true
			}
		}
		if msg := err.Error(); !errors.Is(err, docdb.ErrNotFound) && msg != lastErr {
			lastErr = msg
			p.log.Warn("cosmosDBTrigger: waiting for the monitored container", "error", err)
		}
	}
	return false
}

// createLeaseContainer creates a lease container as the extension does: partition key /id, time to live on (-1).
func createLeaseContainer(ctx context.Context, a docclient.Account, db, container string) (*docclient.ContainerInfo, error) {
	if err := a.CreateDatabaseIfNotExists(ctx, db); err != nil {
		return nil, err
	}
	ttl := int64(-1)
	spec := docdb.ContainerSpec{ID: container, PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{"/id"}}, DefaultTTL: &ttl}
	if err := a.CreateContainerIfNotExists(ctx, db, spec); err != nil {
		return nil, err
	}
	return a.Container(ctx, db, container)
}

// state runs f with a deadline of its own that stop does not cut short.
func (p *processor) state(f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), stateTimeout)
	defer cancel()
	return f(ctx)
}

// sleep waits d on the Env's clock; false when the processor stops first.
func (p *processor) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-p.env.Until(p.env.Now().Add(d)):
		return true
	}
}

// run acquires the lease, serves it while it is ours, and starts over, until stop.
func (p *processor) run() {
	defer close(p.done)
	if p.leases == nil && !p.awaitContainer() {
		return
	}
	var lastErr string
	for p.ctx.Err() == nil {
		h, again, err := p.acquire()
		switch {
		case err != nil:
			if msg := err.Error(); msg != lastErr {
				lastErr = msg
				p.log.Warn("cosmosDBTrigger: cannot acquire the lease; retrying", "error", err, "retryIn", p.cfg.LeaseAcquire)
			}
		case h != nil:
			lastErr = ""
			p.serve(h)
			continue
		case again:
			continue
		}
		p.sleep(p.ctx, p.cfg.LeaseAcquire)
	}
}

// acquire takes the lease when it is free, ours or expired: it creates it (with the continuation the trigger
// starts from) when there is none, and otherwise writes this processor as its owner, conditional on its etag. It
// returns nil and again when another instance wrote the lease meanwhile (try at once), and nil alone when
// another instance holds it.
func (p *processor) acquire() (h *heldLease, again bool, err error) {
	var cur *leaseDoc
	var etag string
	if err := p.state(func(ctx context.Context) (err error) { cur, etag, err = p.leases.read(ctx); return err }); err != nil {
		return nil, false, err
	}
	owner := p.owner
	if cur == nil {
		// Deleted since the trigger started: made again.
		d, etag, err := p.createLease(&owner)
		if d == nil || err != nil {
			return nil, err == nil, err
		}
		p.log.Info("cosmosDBTrigger: lease created and acquired", "owner", owner, "continuation", *d.ContinuationToken)
		return &heldLease{st: p.leases, doc: *d, etag: etag}, false, nil
	}
	now := p.env.Now().UTC()
	prev := cur.owner()
	expired := now.Sub(cur.Timestamp) > p.cfg.LeaseExpiration
	if prev != "" && prev != owner && !expired {
		return nil, false, nil
	}
	d := *cur
	d.Owner, d.Timestamp = &owner, now
	if d.Properties == nil {
		d.Properties = map[string]string{}
	}
	if _, ok, err := d.continuation(); err != nil || !ok {
		if err != nil {
			p.log.Warn("cosmosDBTrigger: "+err.Error()+"; starting over as a new lease", "continuation", *d.ContinuationToken)
		}
		if err := p.startAt(&d); err != nil {
			return nil, false, err
		}
	}
	err = p.state(func(ctx context.Context) (err error) { etag, err = p.leases.replace(ctx, &d, etag); return err })
	if errors.Is(err, docdb.ErrPreconditionFailed) || errors.Is(err, docdb.ErrNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	if prev != "" && prev != owner {
		p.log.Info("cosmosDBTrigger: took over an expired lease", "previousOwner", prev, "owner", owner)
	} else {
		p.log.Info("cosmosDBTrigger: lease acquired", "owner", owner, "continuation", *d.ContinuationToken)
	}
	return &heldLease{st: p.leases, doc: d, etag: etag}, false, nil
}

// ensureLease creates the trigger's lease, free, unless it exists.
func (p *processor) ensureLease() error {
	var cur *leaseDoc
	if err := p.state(func(ctx context.Context) (err error) { cur, _, err = p.leases.read(ctx); return err }); err != nil || cur != nil {
		return err
	}
	d, _, err := p.createLease(nil)
	if d != nil {
		p.log.Info("cosmosDBTrigger: lease created", "continuation", *d.ContinuationToken)
	}
	return err
}

// createLease creates a lease owned by owner (free when nil) with the continuation the trigger starts from. It
// returns nil without an error when another instance created it first.
func (p *processor) createLease(owner *string) (*leaseDoc, string, error) {
	d := &leaseDoc{ID: p.leases.id, LeaseToken: LeaseToken, Owner: owner, Timestamp: p.env.Now().UTC(), Properties: map[string]string{}}
	if err := p.startAt(d); err != nil {
		return nil, "", err
	}
	var etag string
	err := p.state(func(ctx context.Context) (err error) { etag, err = p.leases.create(ctx, d); return err })
	if errors.Is(err, docdb.ErrConflict) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return d, etag, nil
}

// startAt gives a new lease its continuation: before the first change (startFromBeginning), before the first
// change made at or after startFromTime, or after the changes made so far (the default).
func (p *processor) startAt(d *leaseDoc) error {
	return p.state(func(ctx context.Context) error {
		from := docdb.FromNow
		if p.fromBeginning || !p.cfg.StartFromTime.IsZero() {
			from = 1
		}
		f, err := p.monitored.ChangeFeed(ctx, p.cfg.Database, p.cfg.Container, from)
		if err != nil {
			return err
		}
		if !p.cfg.StartFromTime.IsZero() {
			return p.seekTime(ctx, f, d)
		}
		d.setContinuation(f.Position() - 1)
		return nil
	})
}

// seekTime sets d's continuation before the first change whose _ts is at or after startFromTime: in write order,
// the changes after it are the ones made since. Without any, it is after the last change.
func (p *processor) seekTime(ctx context.Context, f docclient.ChangeFeed, d *leaseDoc) error {
	since := p.cfg.StartFromTime.Unix()
	for {
		items, err := f.Next(ctx, 1000)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			d.setContinuation(f.Position() - 1)
			return nil
		}
		for _, it := range items {
			var ts struct {
				TS int64 `json:"_ts"`
			}
			if json.Unmarshal(it.Document, &ts) == nil && ts.TS >= since {
				d.setContinuation(it.Seq - 1)
				return nil
			}
		}
	}
}

// serve processes the change feed while the lease is ours: it renews the lease in the background, reads batches
// of up to maxItemsPerInvocation changes, invokes the function with each and checkpoints after it. When idle it
// waits for the store to push a change (or, when it cannot, polls every feedPollDelay). It returns at stop (having
// released the lease) or when the lease is lost.
func (p *processor) serve(h *heldLease) {
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		p.renew(ctx, cancel, h)
	}()
	defer func() {
		cancel()
		<-renewed
		p.release(h)
	}()

	var changed <-chan struct{}
	if ch, err := p.monitored.Watch(ctx, p.cfg.Database, p.cfg.Container); err == nil {
		changed = ch
	} else if !errors.Is(err, docclient.ErrWatchUnsupported) {
		p.log.Warn("cosmosDBTrigger: cannot follow the container's changes; polling every feedPollDelay", "error", err, "feedPollDelay", p.cfg.FeedPollDelay)
	}
	from, err := h.position()
	if err != nil {
		p.log.Error("cosmosDBTrigger: "+err.Error(), "error", err)
		return
	}
	var feed docclient.ChangeFeed
	var lastErr string
	for ctx.Err() == nil {
		if feed == nil {
			feed, err = p.monitored.ChangeFeed(ctx, p.cfg.Database, p.cfg.Container, from)
		}
		var items []docdb.ChangeFeedItem
		if err == nil {
			items, err = feed.Next(ctx, p.cfg.MaxItems)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if msg := err.Error(); msg != lastErr {
				lastErr = msg
				p.log.Warn("cosmosDBTrigger: reading the change feed failed; retrying", "error", err, "retryIn", p.cfg.FeedPollDelay)
			}
			feed, err = nil, nil
			p.sleep(ctx, p.cfg.FeedPollDelay)
			continue
		}
		lastErr = ""
		if len(items) == 0 {
			// Idle: a pushed change wakes the processor at once; feedPollDelay is a safety net (and the poll
			// interval when nothing is pushed).
			select {
			case <-ctx.Done():
			case _, ok := <-changed:
				if !ok {
					changed = nil // the store stopped pushing: poll
				}
			case <-p.env.Until(p.env.Now().Add(p.cfg.FeedPollDelay)):
			}
			continue
		}
		if !p.process(ctx, from, items) {
			return
		}
		from = feed.Position()
		err := p.state(func(sctx context.Context) error {
			return h.update(sctx, func(d *leaseDoc) { d.setContinuation(from - 1); d.Timestamp = p.env.Now().UTC() })
		})
		if errors.Is(err, errLeaseLost) {
			p.log.Warn("cosmosDBTrigger: the lease was taken over by another instance; its changes since the last checkpoint may run again there")
			return
		}
		if err != nil {
			p.log.Warn("cosmosDBTrigger: cannot checkpoint the lease; if this instance stops before the next checkpoint, these changes run again", "error", err)
		}
	}
}

// process invokes the function with a batch under the retry policy, and reports whether to checkpoint past it: a
// success, or a failure the policy gave up on (as Azure, the trigger then moves on). It reports false when the
// processor stopped (or lost the lease) before the batch was done, so that its next owner runs it again.
func (p *processor) process(ctx context.Context, from uint64, items []docdb.ChangeFeedItem) bool {
	docs := make([]json.RawMessage, len(items))
	for i, it := range items {
		docs[i] = it.Document
	}
	value, err := json.Marshal(docs)
	if err != nil {
		p.log.Error("cosmosDBTrigger: cannot encode the batch; skipping it", "error", err)
		return true
	}
	runner := &retry.Runner{Store: p.retries, Clock: p.env, Logger: p.log}
	key := fmt.Sprintf("cosmosdb/%s/%s/%s/%d", p.fn.App, p.fn.Name(), p.leases.id, from)
	err = runner.Run(ctx, p.policy, key, func(_ context.Context, rc *retry.Context) error {
		inv := &binding.Invocation{Function: p.fn.Name(), Data: map[string]json.RawMessage{p.fn.Trigger().Name: value},
			Metadata: map[string]json.RawMessage{}}
		if rc != nil {
			inv.Metadata["RetryContext"] = rc.JSON()
		}
		_, err := p.inv.Invoke(p.invCtx, inv)
		return err
	})
	switch {
	case err == nil:
		return true
	case ctx.Err() != nil || p.invCtx.Err() != nil:
		// Stopped (or the lease lost) while waiting to retry, or the invocation cut short by the host stopping:
		// no checkpoint, so that the batch runs again (the retry count is kept for the next owner).
		return false
	}
	ids := make([]string, 0, min(len(items), 10))
	for _, d := range docs[:min(len(docs), 10)] {
		var v struct{ ID string }
		_ = json.Unmarshal(d, &v)
		ids = append(ids, v.ID)
	}
	p.log.Error("cosmosDBTrigger: the function failed; moving on past the batch", "documents", len(items), "ids", strings.Join(ids, ","), "error", err)
	return true
}

// renew writes the lease's timestamp every leaseRenewInterval while it is served, and cancels the serving when
// the lease is lost.
func (p *processor) renew(ctx context.Context, lost context.CancelFunc, h *heldLease) {
	for p.sleep(ctx, p.cfg.LeaseRenew) {
		err := p.state(func(sctx context.Context) error {
			return h.update(sctx, func(d *leaseDoc) { d.Timestamp = p.env.Now().UTC() })
		})
		if errors.Is(err, errLeaseLost) {
			p.log.Warn("cosmosDBTrigger: the lease was taken over by another instance")
			lost()
			return
		}
		if err != nil {
			p.log.Warn("cosmosDBTrigger: cannot renew the lease; it expires if this goes on", "error", err, "leaseExpirationInterval", p.cfg.LeaseExpiration)
		}
	}
}

// release gives the lease up (no owner), so that another instance takes it at once; a lease already taken is left
// alone.
func (p *processor) release(h *heldLease) {
	err := p.state(func(ctx context.Context) error {
		return h.update(ctx, func(d *leaseDoc) { d.Owner = nil })
	})
	if err != nil && !errors.Is(err, errLeaseLost) {
		p.log.Warn("cosmosDBTrigger: cannot release the lease; another instance takes it when it expires", "error", err, "leaseExpirationInterval", p.cfg.LeaseExpiration)
	}
}
