package blobbinding

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
)

// Timings; variables so that tests can shorten them.
var (
	// leaseDuration is how long a claimed blob version stays with the instance that claimed it without a renewal;
	// the instance renews it every third of that while the invocation runs. A version whose lease ran out (its
	// instance died) is retried by another instance, and the lost attempt counts as a failure.
	leaseDuration = 30 * time.Second
	// sweepInterval is how often a trigger looks for receipts whose retry is due or whose lease ran out.
	sweepInterval = time.Second
	// retryBackoff bounds the wait before a storage or substrate error is tried again.
	retryBackoff = 10 * time.Second
)

// Trigger is the blobTrigger binding type. It serves the blob extension's webhook, through which Event Grid
// fires the functions whose source is EventGrid (see webhook.go).
type Trigger struct{}

var (
	_ binding.Webhook     = Trigger{}
	_ binding.Addressable = Trigger{}
)

// Name implements binding.Type.
func (Trigger) Name() string { return TriggerType }

// Directions implements binding.Type.
func (Trigger) Directions() []appconfig.Direction { return []appconfig.Direction{appconfig.In} }

// Validate implements binding.Type.
func (Trigger) Validate(b *appconfig.Binding) error { _, err := ParseTriggerConfig(b); return err }

// Start implements binding.Trigger: it follows the container's blob events, scans the blobs already there, and
// fires each new version of a matching blob once across instances and restarts (see the package documentation).
// A function whose source is EventGrid neither follows nor scans: its blobs come from the webhook.
func (Trigger) Start(ctx context.Context, fn *binding.Function, inv binding.Invoker) (func(), error) {
	cfg, err := ParseTriggerConfig(fn.Trigger())
	if err != nil {
		return nil, err
	}
	if fn.Env == nil || fn.Env.Substrate == nil {
		return nil, errors.New("the blob trigger keeps its receipts in the platform's substrate, which this app was not given (run it on the Lapis platform or with `lapis func start`)")
	}
	opts, err := blobOptions(fn)
	if err != nil {
		return nil, err
	}
	acct, err := account(ctx, fn, cfg.Connection, "the blob trigger")
	if err != nil {
		return nil, err
	}
	rc, err := openReceipts(ctx, fn.Env.Substrate, fn.App, fn.Name())
	if err != nil {
		return nil, err
	}
	log := fn.Env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	encoding := "base64"
	if fn.Host != nil && fn.Host.Queues.MessageEncoding != "" {
		encoding = fn.Host.Queues.MessageEncoding
	}
	l := &listener{
		fn: fn, cfg: cfg, inv: inv, acct: acct, rc: rc,
		log:         log.With("app", fn.App, "function", fn.Name(), "trigger", TriggerType, "container", cfg.Container),
		owner:       fn.Env.Node + "/" + uuid.NewString(),
		maxAttempts: opts.PoisonBlobThreshold,
		encoding:    encoding,
		state:       map[string]int{},
		hint:        map[string]string{},
		wake:        make(chan struct{}, 1),
		slots:       make(chan struct{}, opts.MaxDegreeOfParallelism),
		pending:     map[string]*Receipt{},
	}
	l.ctx, l.cancel = context.WithCancel(ctx)
	l.bg = context.WithoutCancel(l.ctx)
	l.wg.Add(1 + opts.MaxDegreeOfParallelism)
	go l.watch()
	for range opts.MaxDegreeOfParallelism {
		go l.work()
	}
	if cfg.Source == SourceEventGrid {
		webhooks.Store(fn, l)
		return func() {
			webhooks.CompareAndDelete(fn, l)
			l.stop()
		}, nil
	}
	l.wg.Add(1)
	go l.follow()
	return l.stop, nil
}

// listener is one function's running blob trigger.
type listener struct {
	fn          *binding.Function
	cfg         *TriggerConfig
	inv         binding.Invoker
	acct        storageclient.Account
	rc          *receipts
	log         *slog.Logger
	owner       string // this instance, in receipts
	maxAttempts int
	encoding    string // of the poison message: "base64" or "none"

	ctx    context.Context // listening; cancelled by stop
	cancel context.CancelFunc
	bg     context.Context // invocations and what they record: not cancelled by stop
	wg     sync.WaitGroup  // follow, watch, the workers and the webhook's deliveries in progress
	slots  chan struct{}   // one per invocation under way: maxDegreeOfParallelism bounds workers and webhook together

	mu      sync.Mutex
	stopped bool
	queue   []string          // blob names to look at, in order
	state   map[string]int    // queued, running, rerun
	hint    map[string]string // the ETag an event or listing gave for a queued name
	wake    chan struct{}

	pmu     sync.Mutex
	pending map[string]*Receipt // receipts not yet done or poisoned, by key (from the watch)
}

const (
	queued = iota + 1
	running
	rerun // running, and changed again meanwhile
)

// stop implements the stop function of Start: no invocation starts after it returns. Invocations already
// running finish (and record their receipts) on their own.
func (l *listener) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
}

// enqueue asks for the blob name to be looked at. Names the trigger does not match are ignored.
func (l *listener) enqueue(name, etag string) {
	if _, ok := l.cfg.Match(l.cfg.Container, name); !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	switch l.state[name] {
	case 0:
		l.state[name] = queued
		l.queue = append(l.queue, name)
		l.signal()
	case running:
		l.state[name] = rerun
	}
	l.hint[name] = etag
}

func (l *listener) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// next waits for a name to look at.
func (l *listener) next() (name, hint string, ok bool) {
	for {
		l.mu.Lock()
		if len(l.queue) > 0 && !l.stopped {
			name = l.queue[0]
			l.queue[0] = ""
			l.queue = l.queue[1:]
			if len(l.queue) == 0 {
				l.queue = nil
			} else {
				l.signal() // more for the other workers
			}
			l.state[name] = running
			hint = l.hint[name]
			delete(l.hint, name)
			l.mu.Unlock()
			return name, hint, true
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-l.ctx.Done():
			return "", "", false
		}
	}
}

// finished ends the work on name; a name that changed meanwhile is queued again.
func (l *listener) finished(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state[name] == rerun && !l.stopped {
		l.state[name] = queued
		l.queue = append(l.queue, name)
		l.signal()
		return
	}
	delete(l.state, name)
	delete(l.hint, name)
}

func (l *listener) isStopped() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopped
}

// enter counts a webhook delivery that stop must wait for, and reports false instead once stop was called. The
// caller ends the delivery with l.wg.Done.
func (l *listener) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	l.wg.Add(1)
	return true
}

// acquire takes an invocation slot, or reports false once ctx is done; release gives it back.
func (l *listener) acquire(ctx context.Context) bool {
	select {
	case l.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (l *listener) release() { <-l.slots }

// later enqueues name again after d (unless stopped meanwhile).
func (l *listener) later(name, etag string, d time.Duration) {
	time.AfterFunc(d, func() { l.enqueue(name, etag) })
}

func (l *listener) work() {
	defer l.wg.Done()
	for {
		name, hint, ok := l.next()
		if !ok {
			return
		}
		if l.acquire(l.ctx) {
			_ = l.process(l.ctx, name, hint) // failures are logged and retried
			l.release()
		}
		l.finished(name)
	}
}

// follow subscribes to the container's blob events, scans the blobs already there, and enqueues both. A
// subscription that ends before stop is made again.
func (l *listener) follow() {
	defer l.wg.Done()
	for wait := time.Duration(0); l.ctx.Err() == nil; wait = min(max(2*wait, time.Second), retryBackoff) {
		if wait > 0 {
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		events, err := l.acct.BlobEvents(l.ctx, l.cfg.Container)
		if err != nil {
			l.log.Warn("blob trigger: cannot follow the container's blob events; retrying", "err", err)
			continue
		}
		// Scan only once subscribed, so that no blob written in between is missed.
		l.wg.Add(1)
		go l.scan()
		for it := range events {
			l.enqueue(it.Name, it.Properties.ETag)
		}
		if l.ctx.Err() == nil {
			l.log.Warn("blob trigger: the blob event subscription ended; subscribing again")
		}
	}
}

// scan enqueues every matching blob of the container (retrying until it can list it).
func (l *listener) scan() {
	defer l.wg.Done()
	for wait := time.Second; l.ctx.Err() == nil; wait = min(2*wait, retryBackoff) {
		items, err := l.acct.ListBlobs(l.ctx, l.cfg.Container, l.cfg.Prefix())
		if err == nil || errors.Is(err, storageclient.ErrNotFound) { // a missing container has no blobs yet
			for _, it := range items {
				l.enqueue(it.Name, it.Properties.ETag)
			}
			return
		}
		if l.ctx.Err() != nil {
			return
		}
		l.log.Warn("blob trigger: cannot list the container; retrying", "err", err, "in", wait)
		select {
		case <-l.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// watch follows the function's receipts and, every sweepInterval, enqueues the blobs whose retry is due or whose
// lease ran out (their instance died), whichever instance recorded them.
func (l *listener) watch() {
	defer l.wg.Done()
	tick := time.NewTicker(sweepInterval)
	defer tick.Stop()
	for wait := time.Duration(0); l.ctx.Err() == nil; wait = min(max(2*wait, time.Second), retryBackoff) {
		if wait > 0 {
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		w, err := l.rc.kv.Watch(l.ctx, l.rc.prefix+".*")
		if err != nil {
			if l.ctx.Err() == nil {
				l.log.Warn("blob trigger: cannot watch the blob receipts; retrying", "err", err)
			}
			continue
		}
		l.follows(w, tick.C)
		_ = w.Stop()
	}
}

func (l *listener) follows(w jetstream.KeyWatcher, tick <-chan time.Time) {
	for {
		select {
		case <-l.ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				continue // the current values have all been delivered
			}
			l.pmu.Lock()
			var rec Receipt
			if e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &rec) != nil || rec.final() ||
				rec.Container != l.cfg.Container || rec.Account != l.acct.Name() {
				delete(l.pending, e.Key())
			} else {
				l.pending[e.Key()] = &rec
			}
			l.pmu.Unlock()
		case <-tick:
			now := time.Now()
			var due []*Receipt
			l.pmu.Lock()
			for _, r := range l.pending {
				if (r.State == StateRunning && now.After(r.Lease)) || (r.State == StateFailed && !now.Before(r.RetryAt)) {
					due = append(due, r)
				}
			}
			l.pmu.Unlock()
			for _, r := range due {
				l.enqueue(r.Blob, r.ETag)
			}
		}
	}
}

type action int

const (
	skip action = iota
	invoke
	poison
)

// errStopped is what process returns for a blob it left alone because the trigger is stopping.
var errStopped = errors.New("the blob trigger is stopping")

// process looks at one blob: unless its current version has a receipt that is done (or held by a live instance,
// or waiting for its retry), it claims the version and invokes the function. It returns the function's error,
// or why the blob could not be read or claimed (that is logged and the blob looked at again later); nil when
// there was nothing to do.
func (l *listener) process(ctx context.Context, name, hint string) error {
	params, ok := l.cfg.Match(l.cfg.Container, name)
	if !ok {
		return nil
	}
	key := ReceiptKey(l.fn.App, l.fn.Name(), l.acct.Name(), l.cfg.Container, name)
	if hint != "" {
		// Most events and listings name a version already processed: skip those without reading the blob.
		if rec, _, err := l.rc.get(ctx, key); err == nil && rec != nil && rec.final() && sameETag(rec.ETag, hint) {
			return nil
		}
	}
	data, props, err := l.acct.ReadBlob(ctx, l.cfg.Container, name)
	if errors.Is(err, storageclient.ErrNotFound) {
		l.forget(ctx, key, name)
		return nil
	}
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("blob trigger: cannot read the blob; retrying", "blob", name, "err", err)
			l.later(name, hint, retryBackoff)
		}
		return fmt.Errorf("reading blob %s/%s: %w", l.cfg.Container, name, err)
	}
	if l.isStopped() {
		return errStopped
	}
	rec, rev, act, err := l.claim(ctx, key, name, props.ETag)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("blob trigger: cannot claim the blob; retrying", "blob", name, "err", err)
			l.later(name, props.ETag, retryBackoff)
		}
		return fmt.Errorf("claiming blob %s/%s: %w", l.cfg.Container, name, err)
	}
	switch act {
	case invoke:
		return l.run(key, name, data, props, params, rec, rev)
	case poison:
		l.poison(key, rec, rev)
	}
	return nil
}

// forget drops the receipt of a deleted blob unless it is final, so that the sweep stops bringing it back.
func (l *listener) forget(ctx context.Context, key, name string) {
	rec, rev, err := l.rc.get(ctx, key)
	if err != nil || rec == nil || rec.final() {
		return
	}
	if rec.State == StateRunning && time.Now().Before(rec.Lease) {
		return
	}
	if err := l.rc.kv.Delete(ctx, key, jetstream.LastRevision(rev)); err == nil {
		l.log.Info("blob trigger: the blob was deleted before it could be processed", "blob", name, "etag", rec.ETag)
	}
}

// claim takes the version etag of blob name for this instance, compare-and-set on its receipt. It says what to
// do: skip (done, poisoned, or another instance's), invoke, or poison (its attempts are used up).
func (l *listener) claim(ctx context.Context, key, name, etag string) (*Receipt, uint64, action, error) {
	for range 50 {
		rec, rev, err := l.rc.get(ctx, key)
		if err != nil {
			return nil, 0, skip, err
		}
		now := time.Now()
		next := Receipt{App: l.fn.App, Function: l.fn.Name(), Account: l.acct.Name(), Container: l.cfg.Container, Blob: name, ETag: etag}
		act := invoke
		switch {
		case rec == nil || !sameETag(rec.ETag, etag):
			next.Attempts = 1 // a version never seen (a newer one replaces the receipt of the older)
		case rec.final():
			return nil, 0, skip, nil
		case rec.State == StateRunning && now.Before(rec.Lease):
			return nil, 0, skip, nil // another instance has it
		case rec.State == StateFailed && now.Before(rec.RetryAt):
			return nil, 0, skip, nil // the sweep brings it back when due
		default:
			// Failed and due, or running with an expired lease (its instance died: that attempt failed too).
			next.Attempts, next.Error = rec.Attempts, rec.Error
			if rec.State == StateRunning {
				next.Error = "the instance running the function stopped before it finished (" + rec.Owner + ")"
			}
			if next.Attempts >= l.maxAttempts {
				act = poison
			} else {
				next.Attempts++
			}
		}
		next.State, next.Owner, next.Lease, next.Updated = StateRunning, l.owner, now.Add(leaseDuration), now
		newRev, ok, err := l.rc.put(ctx, key, &next, rev)
		if err != nil {
			return nil, 0, skip, err
		}
		if ok {
			return &next, newRev, act, nil
		}
		// Another instance changed the receipt meanwhile: look again.
	}
	return nil, 0, skip, fmt.Errorf("the receipt %s keeps changing", key)
}

// run invokes the function for a claimed version, renewing the lease meanwhile, and records the outcome. It
// returns the function's error (nil too when another instance took the version over meanwhile).
func (l *listener) run(key, name string, data []byte, props storageclient.BlobProperties, params map[string]string, rec *Receipt, rev uint64) error {
	cur, lost := rev, false // the heartbeat's, until hbDone
	stopHB, hbDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(leaseDuration / 3)
		defer t.Stop()
		for {
			select {
			case <-stopHB:
				return
			case <-t.C:
			}
			r := *rec
			r.Lease, r.Updated = time.Now().Add(leaseDuration), time.Now()
			ctx, cancel := context.WithTimeout(l.bg, leaseDuration/3)
			n, ok, err := l.rc.put(ctx, key, &r, cur)
			cancel()
			switch {
			case ok:
				cur = n
			case err == nil:
				lost = true // another instance took it over
				return
			}
		}
	}()
	_, err := l.inv.Invoke(l.bg, l.invocation(name, data, props, params))
	close(stopHB)
	<-hbDone
	if lost {
		l.log.Warn("blob trigger: another instance took the blob over while the function ran (the lease was not renewed in time)", "blob", name)
		return nil
	}
	now := time.Now()
	done := *rec
	done.Owner, done.Lease, done.Updated = "", time.Time{}, now
	if err == nil {
		done.State, done.Error = StateDone, ""
		if _, perr := l.record(key, &done, cur); perr != nil {
			l.log.Error("blob trigger: the function succeeded but its receipt could not be recorded; the blob may be processed again", "blob", name, "err", perr)
		}
		return nil
	}
	done.Error = truncate(err.Error(), 2048)
	if done.Attempts >= l.maxAttempts {
		l.poison(key, &done, cur)
		return err
	}
	done.State, done.RetryAt = StateFailed, now
	l.log.Warn("blob trigger: the function failed; retrying", "blob", name, "attempt", done.Attempts, "of", l.maxAttempts, "err", err)
	if _, perr := l.record(key, &done, cur); perr != nil {
		l.log.Error("blob trigger: cannot record the failure", "blob", name, "err", perr)
	}
	l.enqueue(name, done.ETag)
	return err
}

// record stores the outcome of this instance's claim at revision rev. Should the revision have moved on without
// the claim changing hands (a renewal whose answer was lost), it records at the new one.
func (l *listener) record(key string, next *Receipt, rev uint64) (uint64, error) {
	for range 10 {
		n, ok, err := l.rc.put(l.bg, key, next, rev)
		if err != nil || ok {
			return n, err
		}
		cur, curRev, err := l.rc.get(l.bg, key)
		if err != nil {
			return 0, err
		}
		if cur == nil || !sameETag(cur.ETag, next.ETag) || cur.State != StateRunning || cur.Owner != l.owner {
			return 0, fmt.Errorf("another instance took the blob over (its receipt is %s)", describe(cur))
		}
		rev = curRev
	}
	return 0, fmt.Errorf("the receipt %s keeps changing", key)
}

func describe(r *Receipt) string {
	if r == nil {
		return "gone"
	}
	return fmt.Sprintf("%s for ETag %s, owner %q", r.State, r.ETag, r.Owner)
}

// PoisonMessage is the message a blob that failed every attempt leaves in PoisonQueue, in the shape of the
// Functions host's BlobTriggerMessage.
type PoisonMessage struct {
	Type          string `json:"Type"`       // "BlobTrigger"
	FunctionID    string `json:"FunctionId"` // "<app>.Functions.<function>"
	BlobType      string `json:"BlobType"`   // "BlockBlob"
	ContainerName string `json:"ContainerName"`
	BlobName      string `json:"BlobName"`
	ETag          string `json:"ETag"`
}

// poison writes the poison message for a claimed version and marks its receipt poisoned. If the message cannot
// be written the receipt stays failed, so that the sweep tries again.
func (l *listener) poison(key string, rec *Receipt, rev uint64) {
	msg, _ := json.Marshal(PoisonMessage{Type: "BlobTrigger", FunctionID: l.fn.App + ".Functions." + l.fn.Name(), BlobType: "BlockBlob",
		ContainerName: rec.Container, BlobName: rec.Blob, ETag: rec.ETag})
	text := string(msg)
	if !strings.EqualFold(l.encoding, "none") {
		text = base64.StdEncoding.EncodeToString(msg)
	}
	next := *rec
	next.Owner, next.Lease, next.Updated = "", time.Time{}, time.Now()
	err := l.acct.CreateQueue(l.bg, PoisonQueue)
	if err == nil {
		_, err = l.acct.PutMessage(l.bg, PoisonQueue, text, 0, 0)
	}
	if err != nil {
		l.log.Error("blob trigger: cannot write the poison message; trying again later", "blob", rec.Blob, "queue", PoisonQueue, "err", err)
		next.State, next.RetryAt = StateFailed, time.Now().Add(retryBackoff)
		_, _ = l.record(key, &next, rev)
		return
	}
	l.log.Error(fmt.Sprintf("blob trigger: the function failed %d times for this blob version; moved it to queue '%s'", rec.Attempts, PoisonQueue),
		"blob", rec.Blob, "etag", rec.ETag, "err", rec.Error)
	next.State = StatePoisoned
	if _, err := l.record(key, &next, rev); err != nil {
		l.log.Error("blob trigger: cannot record the poisoned blob", "blob", rec.Blob, "err", err)
	}
}

// invocation is the invocation for a blob: its content under the trigger's name, and its metadata.
func (l *listener) invocation(name string, data []byte, props storageclient.BlobProperties, params map[string]string) *binding.Invocation {
	meta := make(map[string]json.RawMessage, len(params)+4)
	for k, v := range params {
		meta[k] = jsonString(v)
	}
	meta["BlobTrigger"] = jsonString(l.cfg.Container + "/" + name)
	meta["Uri"] = jsonString(l.acct.BlobURL(l.cfg.Container, name))
	meta["Properties"], _ = json.Marshal(Properties(props))
	md := props.Metadata
	if md == nil {
		md = map[string]string{}
	}
	meta["Metadata"], _ = json.Marshal(md)
	return &binding.Invocation{
		Function: l.fn.Name(),
		Data:     map[string]json.RawMessage{l.fn.Trigger().Name: content(data, l.cfg.DataType)},
		Metadata: meta,
	}
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// BlobProperties is the trigger metadata "Properties": the names of Azure.Storage.Blobs' BlobProperties
// (ContentLength, CreatedOn) and of the older CloudBlob's (Length, Created), which handlers written for either
// read.
type BlobProperties struct {
	BlobType      string    `json:"BlobType"`
	ContentLength int64     `json:"ContentLength"`
	Length        int64     `json:"Length"`
	ContentType   string    `json:"ContentType"`
	ETag          string    `json:"ETag"`
	LastModified  time.Time `json:"LastModified,omitzero"`
	CreatedOn     time.Time `json:"CreatedOn,omitzero"`
	Created       time.Time `json:"Created,omitzero"`
}

// Properties returns the metadata "Properties" of a blob.
func Properties(p storageclient.BlobProperties) BlobProperties {
	return BlobProperties{BlobType: "BlockBlob", ContentLength: p.Length, Length: p.Length, ContentType: p.ContentType, ETag: p.ETag,
		LastModified: p.LastModified.UTC(), CreatedOn: p.Created.UTC(), Created: p.Created.UTC()}
}
