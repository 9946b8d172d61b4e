package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lapisdev/lapis/internal/functions/binding"
)

var errClosed = errors.New("functions host: the host is closed")

// stopGrace is how long a worker asked to stop (SIGTERM) has before it is killed, when no deadline is given.
const stopGrace = 5 * time.Second

// crashLoopWindow: an instance that exits on its own this soon after it started counts as a failed start for the
// restart back-off.
const crashLoopWindow = 10 * time.Second

// startOp is one instance start in progress.
type startOp struct {
	reason string
	done   chan struct{}
	err    error // set before done is closed
}

// Start starts the app's initial instances (Scale.Min, the pre-warmed buffer, at least one) and waits until they
// are ready, then starts the scale controller and the trigger of every enabled function. With Scale.Min 0 and an
// IdleTimeout, the instance it started is stopped once idle like any other.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.closed || h.draining {
		h.mu.Unlock()
		return errClosed
	}
	n := min(max(h.scale.Min, h.scale.PreWarmed, 1), h.scale.Max)
	var ops []*startOp
	for i := len(h.pool) + h.starting; i < n; i++ {
		ops = append(ops, h.launchLocked("start"))
	}
	h.mu.Unlock()
	for _, op := range ops {
		select {
		case <-op.done:
			if op.err != nil {
				return op.err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return errClosed
	}
	if !h.ctlOn {
		h.ctlOn = true
		h.wg.Add(1)
		go h.control()
	}
	h.mu.Unlock()

	var stops []func()
	for _, fn := range h.fns {
		if fn.Def.Disabled {
			continue
		}
		t, _ := binding.Lookup(fn.Trigger().Type)
		tr := t.(binding.Trigger) // checked by ValidateFunction
		stop, err := tr.Start(ctx, fn, h)
		if err != nil {
			// As in Azure, a function whose trigger cannot start (a bad connection, a schedule its plan refuses)
			// is in error and does not run; the app's other functions do.
			err = fmt.Errorf("starting the %s trigger: %w", t.Name(), err)
			h.log.Error("function is in an error state and will not run", "app", h.opts.Name, "function", fn.Name(), "error", err)
			h.mu.Lock()
			if h.broken == nil {
				h.broken = map[string]error{}
			}
			h.broken[fn.Name()] = err
			h.mu.Unlock()
			continue
		}
		stops = append(stops, stop)
	}
	h.mu.Lock()
	h.stops = append(h.stops, stops...)
	h.mu.Unlock()
	return nil
}

// Broken returns the functions whose trigger failed to start, with why; they do not run.
func (h *Host) Broken() map[string]error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.broken)
}

// Close stops the triggers and every worker instance now; invocations in flight fail. It waits for the host's
// background work (starts, the scale controller) to end. Shutdown is the graceful form.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	stops := h.stops
	h.stops = nil
	pool := h.pool
	h.pool = nil
	h.broadcastLocked()
	h.mu.Unlock()
	h.cancel()
	for _, s := range stops {
		s()
	}
	stopAll(pool, stopGrace)
	h.wg.Wait()
	return nil
}

// Shutdown stops the host gracefully: it stops the triggers, waits until every invocation in flight has finished
// (invocations arriving meanwhile still run, starting an instance if need be), then stops the workers. If ctx ends
// first, it kills the workers, failing what is still running, and returns ctx's error. A caller that redeploys an
// app routes new requests to the new Host, then calls Shutdown on the old one.
func (h *Host) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.draining = true
	stops := h.stops
	h.stops = nil
	h.mu.Unlock()
	for _, s := range stops {
		s()
	}
	for {
		h.mu.Lock()
		if h.closed { // Close was called meanwhile
			h.mu.Unlock()
			return nil
		}
		if h.active == 0 {
			break // with h.mu held: nothing can be admitted before the host is closed
		}
		if h.drained == nil {
			h.drained = make(chan struct{})
		}
		drained := h.drained
		h.mu.Unlock()
		select {
		case <-drained:
		case <-ctx.Done():
			h.log.Warn("shutdown deadline passed; stopping the workers with invocations in flight", "app", h.opts.Name)
			h.Close()
			return ctx.Err()
		}
	}
	h.closed = true
	pool := h.pool
	h.pool = nil
	h.broadcastLocked()
	h.mu.Unlock()
	h.cancel()
	grace := stopGrace
	if d, ok := ctx.Deadline(); ok {
		grace = max(min(time.Until(d), grace), 0)
	}
	stopAll(pool, grace)
	h.wg.Wait()
	if n := len(pool); n > 0 {
		h.log.Info("scaled to zero", "app", h.opts.Name, "instances", 0, "reason", "shutdown")
	}
	return nil
}

func stopAll(pool []*worker, grace time.Duration) {
	done := make(chan struct{}, len(pool))
	for _, w := range pool {
		go func() {
			w.stop(grace)
			done <- struct{}{}
		}()
	}
	for range pool {
		<-done
	}
}

// Instances returns the number of worker instances running now (started and not exited; starts in progress do
// not count).
func (h *Host) Instances() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, w := range h.pool {
		if !w.exited() {
			n++
		}
	}
	return n
}

// Scale returns the effective scale policy: Options.Scale with defaults applied and Target resolved.
func (h *Host) Scale() Scale { return h.scale }

// broadcastLocked wakes the invocations waiting for an instance.
func (h *Host) broadcastLocked() {
	close(h.wake)
	h.wake = make(chan struct{})
}

// acquire picks the live instance with the fewest invocations in flight and counts the invocation on it, adding
// instances in the background when the load calls for it. With no live instance it waits for one to start (a
// cold start, shared by every invocation that arrives meanwhile) and returns how long it waited. On success the
// invocation counts as active, and holds its slot on the instance, until leave.
func (h *Host) acquire(ctx context.Context) (*worker, time.Duration, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, 0, errClosed
	}
	if w := h.pickLocked(); w != nil {
		h.active++
		h.ensureLocked()
		h.mu.Unlock()
		return w, 0, nil
	}
	t0 := time.Now()
	gen := h.failGen
	h.waiting++
	h.active++
	for {
		if h.closed {
			h.waiting--
			h.finishLocked()
			h.mu.Unlock()
			return nil, 0, errClosed
		}
		if w := h.pickLocked(); w != nil {
			h.waiting--
			h.ensureLocked()
			h.mu.Unlock()
			return w, max(time.Since(t0), time.Nanosecond), nil
		}
		if h.failGen != gen && h.starting == 0 {
			err := h.startErr
			h.waiting--
			h.finishLocked()
			h.mu.Unlock()
			return nil, 0, err
		}
		h.ensureLocked()
		wake := h.wake
		h.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			h.mu.Lock()
			h.waiting--
			h.finishLocked()
			h.mu.Unlock()
			return nil, 0, ctx.Err()
		}
		h.mu.Lock()
	}
}

// pickLocked returns the live instance with the fewest invocations in flight, counting one more on it, or nil.
func (h *Host) pickLocked() *worker {
	var best *worker
	for _, w := range h.pool {
		if (best == nil || w.inflight < best.inflight) && !w.exited() {
			best = w
			if w.inflight == 0 {
				break
			}
		}
	}
	if best != nil {
		if best.inflight == 0 {
			h.busy++
		}
		best.inflight++
		h.inflight++
	}
	return best
}

// leave ends an invocation that acquire admitted: it frees its slot on w and lets Shutdown go on when it was the
// last one.
func (h *Host) leave(w *worker) {
	h.mu.Lock()
	w.inflight--
	h.inflight--
	if w.inflight == 0 {
		h.busy--
		w.idleSince = h.now()
	}
	h.finishLocked()
	h.mu.Unlock()
}

func (h *Host) finishLocked() {
	h.active--
	if h.active == 0 && h.drained != nil {
		close(h.drained)
		h.drained = nil
	}
}

// desiredLocked is the number of instances the load calls for: Min; the busy instances plus the pre-warmed
// buffer; enough for Target invocations in flight per instance; one if an invocation is waiting; at most Max.
func (h *Host) desiredLocked() int {
	s := &h.scale
	d := max(s.Min, h.busy+s.PreWarmed, (h.inflight+s.Target-1)/s.Target)
	if h.waiting > 0 {
		d = max(d, 1)
	}
	return min(d, s.Max)
}

// ensureLocked starts the instances the load calls for beyond those running or starting. After failures it backs
// off, except for a cold start (an invocation waiting with no instance).
func (h *Host) ensureLocked() {
	if h.closed {
		return
	}
	want, have := h.desiredLocked(), len(h.pool)+h.starting
	if want <= have {
		return
	}
	cold := len(h.pool) == 0 && h.waiting > 0
	if h.failures > 0 && !cold {
		now := h.now()
		if now.Before(h.retryAt) {
			return
		}
		if now.Sub(h.lastFail) > time.Minute {
			h.failures = 0
		}
	}
	var reason string
	switch {
	case cold:
		reason = "an invocation arrived with no instance running"
		h.log.Info("cold start", "app", h.opts.Name, "instances", len(h.pool), "reason", reason)
	case h.inflight > have*h.scale.Target:
		reason = fmt.Sprintf("%d invocations in flight, target %d per instance", h.inflight, h.scale.Target)
	case have < h.scale.Min:
		reason = fmt.Sprintf("minimum %d instances", h.scale.Min)
	default:
		reason = fmt.Sprintf("%d busy instances plus %d pre-warmed", h.busy, h.scale.PreWarmed)
	}
	if !cold {
		h.log.Info("scaled out", "app", h.opts.Name, "instances", want, "reason", reason)
	}
	for range want - have {
		h.launchLocked(reason)
	}
}

// launchLocked starts an instance in the background.
func (h *Host) launchLocked(reason string) *startOp {
	op := &startOp{reason: reason, done: make(chan struct{})}
	h.starting++
	h.wg.Add(1)
	go h.runStart(op)
	return op
}

func (h *Host) runStart(op *startOp) {
	defer h.wg.Done()
	t0 := time.Now()
	w, err := h.startWorker(h.ctx)
	if err == nil {
		h.mu.Lock()
		n := len(h.pool) + 1
		h.mu.Unlock()
		// Logged before the instance takes invocations, so that the log reads in order.
		h.log.Info("worker started", "app", h.opts.Name, "workerId", w.id, "pid", w.cmd.Process.Pid, "instances", n,
			"reason", op.reason, "startup", time.Since(t0), "via", w.network, "protocol", w.protocol())
	}
	h.mu.Lock()
	h.starting--
	if err == nil && h.closed {
		h.mu.Unlock()
		w.kill()
		h.mu.Lock()
		err = errClosed
	}
	if err != nil {
		if !h.closed {
			h.failedLocked()
		}
		h.startErr = err
		h.failGen++
	} else {
		w.started = h.now()
		w.idleSince = w.started
		h.pool = append(h.pool, w)
		h.wg.Add(1)
		go h.watch(w)
	}
	h.broadcastLocked()
	h.mu.Unlock()
	op.err = err
	close(op.done)
	if err != nil && !errors.Is(err, errClosed) && !errors.Is(err, context.Canceled) {
		h.log.Error("worker failed to start", "app", h.opts.Name, "reason", op.reason, "error", err)
	}
}

// failedLocked records a failed start (or an early exit) for the back-off: 250 ms, doubling to at most 30 s.
func (h *Host) failedLocked() {
	h.failures++
	h.lastFail = h.now()
	h.retryAt = h.lastFail.Add(min(250*time.Millisecond<<min(h.failures-1, 10), 30*time.Second))
}

// watch waits for w to exit. An instance that exits while in the pool crashed: it is removed, and the minimum is
// restored.
func (h *Host) watch(w *worker) {
	defer h.wg.Done()
	<-w.done
	h.mu.Lock()
	crashed := h.removeLocked(w)
	if crashed {
		if h.now().Sub(w.started) < crashLoopWindow {
			h.failedLocked()
		}
		h.ensureLocked()
		h.broadcastLocked()
	}
	n := len(h.pool)
	h.mu.Unlock()
	if crashed {
		h.log.Warn("worker exited", "app", h.opts.Name, "workerId", w.id, "reason", w.exitReason(), "instances", n)
	}
}

// removeLocked takes w out of the pool, reporting whether it was there.
func (h *Host) removeLocked(w *worker) bool {
	i := slices.Index(h.pool, w)
	if i < 0 {
		return false
	}
	h.pool = slices.Delete(h.pool, i, i+1)
	return true
}

// recycle kills w and forgets it, so that a new instance takes its place.
func (h *Host) recycle(w *worker) {
	h.mu.Lock()
	h.removeLocked(w)
	h.mu.Unlock()
	w.kill()
}

// control is the scale controller: every tick it stops instances idle for IdleTimeout beyond what the load calls
// for, and starts the instances Min and the pre-warmed buffer call for.
func (h *Host) control() {
	defer h.wg.Done()
	period := time.Second
	if it := h.scale.IdleTimeout; it > 0 {
		period = min(max(it/4, 10*time.Millisecond), time.Second)
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
			h.tick()
		}
	}
}

func (h *Host) tick() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	var stop []*worker
	if it := h.scale.IdleTimeout; it > 0 {
		now := h.now()
		keep := h.desiredLocked()
		var idle []*worker
		for _, w := range h.pool {
			if w.inflight == 0 && now.Sub(w.idleSince) >= it {
				idle = append(idle, w)
			}
		}
		slices.SortFunc(idle, func(a, b *worker) int { return a.idleSince.Compare(b.idleSince) })
		for _, w := range idle {
			if len(h.pool) <= keep {
				break
			}
			h.removeLocked(w)
			stop = append(stop, w)
		}
	}
	h.ensureLocked()
	n := len(h.pool)
	if len(stop) > 0 {
		h.wg.Add(1) // the controller holds one, so this cannot race with Close's Wait
	}
	h.mu.Unlock()
	if len(stop) == 0 {
		return
	}
	msg := "scaled in"
	if n == 0 {
		msg = "scaled to zero"
	}
	h.log.Info(msg, "app", h.opts.Name, "instances", n, "reason", fmt.Sprintf("%d idle for %s", len(stop), h.scale.IdleTimeout))
	go func() {
		defer h.wg.Done()
		stopAll(stop, stopGrace)
	}()
}
