package timerbinding

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/retry"
	"github.com/lapisdev/lapis/internal/functions/schedule"
)

// LeaseTTL is how long a claimed occurrence stays its owner's without renewal; the owner renews it every third
// of that while the occurrence runs. An occurrence whose owner died is resumed once its lease has passed.
const LeaseTTL = time.Minute

// maxWait bounds one wait, after which the clock is read again: a real timer does not follow a wall clock that
// jumps (a suspended machine, a clock set by hand).
const maxWait = time.Minute

// stateTimeout bounds each state read or write.
const stateTimeout = 10 * time.Second

// TimerInfo is the timer trigger's value in the custom-handler payload (Azure's TimerInfo).
type TimerInfo struct {
	Schedule struct {
		AdjustForDST bool `json:"AdjustForDST"`
	} `json:"Schedule"`
	// ScheduleStatus is nil when the schedule status is not monitored.
	ScheduleStatus *ScheduleStatus `json:"ScheduleStatus"`
	IsPastDue      bool            `json:"IsPastDue"`
}

// ScheduleStatus is the schedule status a firing sees; times are formatted by FormatTime.
type ScheduleStatus struct {
	Last        string `json:"Last"`
	Next        string `json:"Next"`
	LastUpdated string `json:"LastUpdated"`
}

// FormatTime formats t in loc the way Newtonsoft writes a .NET local DateTime: up to seven fraction digits and a
// numeric offset ("2030-01-07T00:05:00+00:00", "2030-01-07T09:30:00.0096035-05:00"). The zero Time is .NET's
// default DateTime, "0001-01-01T00:00:00+00:00".
func FormatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00+00:00"
	}
	return t.In(loc).Format("2006-01-02T15:04:05.9999999-07:00")
}

// firing is one run of the function.
type firing struct {
	occ     time.Time // the occurrence; zero for runOnStartup
	pastDue bool      // a missed (or resumed) occurrence fired late
	startup bool      // runOnStartup
}

type timer struct {
	fn      *binding.Function
	inv     binding.Invoker
	env     *binding.Env
	log     *slog.Logger
	cfg     Config
	sched   *schedule.Schedule // in the app's zone
	monitor bool
	policy  *appconfig.RetryPolicy
	owner   string // this Start's name in claims
	name    string // app/function, for logs and retry keys

	st      store
	retries retry.Store

	ctx      context.Context // the loop's: ends at stop, or when Start's context ends
	cancel   context.CancelFunc
	invCtx   context.Context // invocations': ends only with Start's context
	done     chan struct{}
	stopOnce sync.Once

	watch time.Time // when to look again at an unfinished occurrence another host owns; zero: none
}

func newTimer(ctx context.Context, fn *binding.Function, inv binding.Invoker, cfg Config, sched *schedule.Schedule) *timer {
	env := fn.Env
	if env == nil {
		env = &binding.Env{}
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("app", fn.App, "function", fn.Name())
	node := env.Node
	if node == "" {
		node, _ = os.Hostname()
	}
	var b [6]byte
	rand.Read(b[:])
	t := &timer{fn: fn, inv: inv, env: env, log: log, cfg: cfg, sched: sched, monitor: cfg.Monitor(),
		policy: retry.PolicyFor(fn.Def, fn.Host), owner: node + "/" + hex.EncodeToString(b[:]), name: fn.App + "/" + fn.Name(),
		invCtx: ctx, done: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(ctx)
	return t
}

// stop ends the schedule and waits for the firing in flight.
func (t *timer) stop() {
	t.stopOnce.Do(t.cancel)
	<-t.done
}

// state runs f on the state with its own deadline, so that state written after stop (an attempt that finished,
// a lease released) is still written.
func (t *timer) state(f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), stateTimeout)
	defer cancel()
	return f(ctx)
}

// setUp opens the state, logs the schedule, checks for a past-due or abandoned occurrence, and returns the firing
// to make at once (nil if none) and the first occurrence to wait for.
func (t *timer) setUp() (*firing, time.Time, error) {
	if sub := t.env.Substrate; sub != nil {
		var err error
		if err = t.state(func(ctx context.Context) (err error) { t.st, err = openKV(ctx, sub, t.fn.App, t.fn.Name()); return err }); err != nil {
			return nil, time.Time{}, fmt.Errorf("timer state: %w", err)
		}
		if err = t.state(func(ctx context.Context) (err error) { t.retries, err = retry.OpenStore(ctx, sub); return err }); err != nil {
			return nil, time.Time{}, fmt.Errorf("retry state: %w", err)
		}
	} else {
		t.st, t.retries = openMem(t.fn.App, t.fn.Name()), memRetries
		t.log.Warn("timer trigger without the Lapis platform (no substrate): the schedule runs in this process only; " +
			"firing once per occurrence across processes and nodes, and past-due runs after a restart, need the platform")
	}
	if n := t.sched.Note(); n != "" {
		t.log.Info("timer schedule: " + n)
	}
	now := t.env.Now()
	var upcoming []string
	for at, i := now, 0; i < 5; i++ {
		at = t.sched.Next(at)
		upcoming = append(upcoming, FormatTime(at, t.sched.Location()))
	}
	t.log.Info(fmt.Sprintf("The next 5 occurrences of the '%s' schedule (%s: '%s') will be: %s", t.fn.Name(), t.sched.Kind(),
		t.sched, strings.Join(upcoming, ", ")), "timeZone", t.sched.Location().String(), "useMonitor", t.monitor)

	var first *firing
	// An occurrence whose owner stopped or died before finishing it (mid-retry) is resumed.
	var c claim
	var haveClaim bool
	if err := t.state(func(ctx context.Context) (err error) { c, _, haveClaim, err = t.st.getClaim(ctx); return err }); err != nil {
		return nil, time.Time{}, fmt.Errorf("timer state: %w", err)
	}
	if haveClaim && !c.Done {
		if c.Lease.After(now) {
			t.watch = c.Lease
		} else {
			first = &firing{occ: c.Occurrence, pastDue: true}
		}
	}
	var next time.Time
	if t.monitor {
		s, err := t.checkPastDue(now)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("timer schedule status: %w", err)
		}
		if now.After(s.Next) && first == nil {
			t.log.Info(fmt.Sprintf("Function '%s' is past due on startup. Executing now.", t.fn.Name()), "missed", FormatTime(s.Next, t.sched.Location()))
			first = &firing{occ: s.Next, pastDue: true}
		}
		next = s.Next
	}
	if next.IsZero() || !next.After(now) {
		anchor := now
		if t.sched.Kind() == schedule.TimeSpan {
			// A TimeSpan's occurrences are anchor + k×interval for an anchor every host shares: the latest claimed
			// occurrence, or the first host's start, recorded as a finished claim.
			if !haveClaim {
				c = claim{Occurrence: now, Owner: t.owner, Done: true}
				err := t.state(func(ctx context.Context) error { return t.st.putClaim(ctx, c, 0) })
				if errors.Is(err, errConflict) {
					err = t.state(func(ctx context.Context) (err error) { c, _, haveClaim, err = t.st.getClaim(ctx); return err })
				}
				if err != nil {
					return nil, time.Time{}, fmt.Errorf("timer state: %w", err)
				}
			}
			anchor = c.Occurrence
		}
		next = t.nextAfter(anchor, now)
	}
	if first == nil && t.cfg.RunOnStartup {
		first = &firing{startup: true}
	}
	return first, next, nil
}

// checkPastDue reads (or creates) the schedule status as Azure's ScheduleMonitor.CheckPastDueAsync does: a
// status written for another schedule is reset, with Next the next occurrence from its Last (or, when that has
// passed, from now). The caller compares now with the status's Next.
func (t *timer) checkPastDue(now time.Time) (status, error) {
	for range 20 {
		var s status
		var rev uint64
		var ok bool
		if err := t.state(func(ctx context.Context) (err error) { s, rev, ok, err = t.st.getStatus(ctx); return err }); err != nil {
			return status{}, err
		}
		if !ok {
			s = status{Schedule: t.sched.String(), Zone: t.sched.Location().String(), Next: t.sched.Next(now), LastUpdated: now}
		} else {
			base := s.Last
			if base.IsZero() {
				base = s.LastUpdated
			}
			if base.IsZero() {
				base = now
			}
			changed := s.Schedule != t.sched.String() || s.Zone != t.sched.Location().String()
			if t.sched.Kind() == schedule.Cron && !s.Next.Equal(t.sched.Next(base)) {
				changed = true
			}
			if !changed {
				return s, nil
			}
			t.log.Info("timer schedule changed since the status was recorded; starting it afresh", "recorded", s.Schedule, "recordedZone", s.Zone)
			exp := t.sched.Next(base)
			if now.After(exp) {
				exp, base = t.sched.Next(now), now
			}
			s = status{Schedule: t.sched.String(), Zone: t.sched.Location().String(), Next: exp, LastUpdated: base}
		}
		err := t.state(func(ctx context.Context) error { return t.st.putStatus(ctx, s, rev) })
		if errors.Is(err, errConflict) {
			continue // another host wrote it meanwhile
		}
		return s, err
	}
	return status{}, errors.New("the schedule status keeps changing")
}

// nextAfter returns the occurrence to wait for after occurrence base when the clock reads now. A cron schedule's
// next occurrence after both; a TimeSpan's first instant base + k×interval after now, so that every host keeps
// to the same instants.
func (t *timer) nextAfter(base, now time.Time) time.Time {
	if t.sched.Kind() == schedule.TimeSpan {
		p := t.sched.Period()
		n := base.Add(p)
		if !n.After(now) {
			n = base.Add((now.Sub(base)/p + 1) * p)
		}
		return n.In(t.sched.Location())
	}
	if now.After(base) {
		base = now
	}
	return t.sched.Next(base)
}

// run fires first, then each occurrence from next on, until stop.
func (t *timer) run(first *firing, next time.Time) {
	defer close(t.done)
	if first != nil && t.ctx.Err() == nil {
		if n := t.fire(*first); !n.IsZero() {
			next = n
		}
	}
	for t.ctx.Err() == nil {
		now := t.env.Now()
		wake := next
		if !t.watch.IsZero() && t.watch.Before(wake) {
			wake = t.watch
		}
		if now.Before(wake) {
			at := wake
			if wake.Sub(now) > maxWait {
				at = now.Add(maxWait)
			}
			select {
			case <-t.ctx.Done():
				return
			case <-t.env.Until(at):
			}
			continue
		}
		if !t.watch.IsZero() && !now.Before(t.watch) {
			t.watch = time.Time{}
			if f, ok := t.abandoned(now); ok {
				if n := t.fire(f); !n.IsZero() {
					next = n
				}
				continue
			}
		}
		if !now.Before(next) {
			next = t.fire(firing{occ: next})
		}
	}
}

// abandoned looks at the claimed occurrence: if it is unfinished and its lease has passed, it returns it as a
// firing to resume; if it is unfinished and its owner still holds it, it watches it again at the lease's end.
func (t *timer) abandoned(now time.Time) (firing, bool) {
	var c claim
	var ok bool
	if err := t.state(func(ctx context.Context) (err error) { c, _, ok, err = t.st.getClaim(ctx); return err }); err != nil {
		t.log.Error("timer: reading the claimed occurrence failed", "error", err)
		t.watch = now.Add(LeaseTTL)
		return firing{}, false
	}
	if !ok || c.Done || c.Owner == t.owner {
		return firing{}, false
	}
	if c.Lease.After(now) {
		t.watch = c.Lease
		return firing{}, false
	}
	t.log.Warn("timer: resuming an occurrence whose host stopped before it finished", "occurrence",
		FormatTime(c.Occurrence, t.sched.Location()), "previousOwner", c.Owner)
	return firing{occ: c.Occurrence, pastDue: true}, true
}

// claim takes occurrence occ for this timer. It wins when no host has taken occ or a later occurrence, or when
// the host that took occ stopped or died before finishing it. It loses to a host still running an earlier
// occurrence, and then watches that one. On losing it returns the claim that won.
func (t *timer) claim(occ, now time.Time) (bool, claim) {
	mine := claim{Occurrence: occ, Owner: t.owner, Lease: now.Add(LeaseTTL)}
	for range 20 {
		var c claim
		var rev uint64
		var ok bool
		if err := t.state(func(ctx context.Context) (err error) { c, rev, ok, err = t.st.getClaim(ctx); return err }); err != nil {
			t.log.Error("timer: claiming the occurrence failed; it is skipped", "occurrence", FormatTime(occ, t.sched.Location()), "error", err)
			return false, claim{}
		}
		switch {
		case !ok:
		case c.Occurrence.Before(occ) && (c.Done || !c.Lease.After(now)):
			if !c.Done {
				t.log.Warn("timer: an occurrence was left unfinished by a host that stopped; moving on to the next one",
					"abandoned", FormatTime(c.Occurrence, t.sched.Location()), "previousOwner", c.Owner)
				t.dropRetries(c.Occurrence)
			}
		case c.Occurrence.Equal(occ) && !c.Done && (c.Owner == t.owner || !c.Lease.After(now)):
			// Resuming: ours, or its owner stopped or died.
		default:
			if !c.Done && c.Owner != t.owner {
				t.watch = c.Lease
			}
			return false, c
		}
		err := t.state(func(ctx context.Context) error { return t.st.putClaim(ctx, mine, rev) })
		if errors.Is(err, errConflict) {
			continue
		}
		if err != nil {
			t.log.Error("timer: claiming the occurrence failed; it is skipped", "occurrence", FormatTime(occ, t.sched.Location()), "error", err)
			return false, claim{}
		}
		return true, mine
	}
	t.log.Error("timer: the claim keeps changing; the occurrence is skipped", "occurrence", FormatTime(occ, t.sched.Location()))
	return false, claim{}
}

// updateClaim changes the claim on occ if this timer still owns it and it is unfinished; it reports whether it
// did.
func (t *timer) updateClaim(occ time.Time, change func(*claim)) bool {
	for range 20 {
		var c claim
		var rev uint64
		var ok bool
		if err := t.state(func(ctx context.Context) (err error) { c, rev, ok, err = t.st.getClaim(ctx); return err }); err != nil {
			t.log.Warn("timer: reading the claim failed", "error", err)
			return true // unknown: keep going as the owner
		}
		if !ok || !c.Occurrence.Equal(occ) || c.Owner != t.owner || c.Done {
			return false
		}
		change(&c)
		err := t.state(func(ctx context.Context) error { return t.st.putClaim(ctx, c, rev) })
		if errors.Is(err, errConflict) {
			continue
		}
		if err != nil {
			t.log.Warn("timer: updating the claim failed", "error", err)
		}
		return true
	}
	return false
}

func (t *timer) retryKey(f firing) string {
	if f.startup {
		return t.name + "/startup/" + t.owner
	}
	return fmt.Sprintf("%s/%d", t.name, f.occ.UnixNano())
}

func (t *timer) dropRetries(occ time.Time) {
	key := t.retryKey(firing{occ: occ})
	if err := t.state(func(ctx context.Context) error { return t.retries.Delete(ctx, key) }); err != nil {
		t.log.Warn("timer: dropping the retry state of an abandoned occurrence failed", "error", err)
	}
}

// fire runs one firing: it claims the occurrence (runOnStartup needs no claim), invokes the function under the
// retry policy while renewing its lease, records the outcome, and returns the occurrence to wait for next (zero
// for runOnStartup, which does not move the schedule).
func (t *timer) fire(f firing) time.Time {
	now := t.env.Now()
	if !f.startup {
		won, c := t.claim(f.occ, now)
		if !won {
			base := f.occ
			if c.Occurrence.After(base) {
				base = c.Occurrence
			}
			return t.nextAfter(base, now)
		}
	}
	firedAt := now

	var seen *status
	if t.monitor {
		var s status
		var ok bool
		if err := t.state(func(ctx context.Context) (err error) { s, _, ok, err = t.st.getStatus(ctx); return err }); err != nil {
			t.log.Warn("timer: reading the schedule status failed", "error", err)
		} else if ok {
			seen = &s
		}
		if seen == nil {
			seen = &status{Next: f.occ, LastUpdated: now}
		}
	}

	// While the occurrence runs, renew its lease; if another host took it over, stop retrying.
	rctx, rcancel := context.WithCancel(t.ctx)
	defer rcancel()
	renewing := make(chan struct{})
	if !f.startup {
		go func() {
			defer close(renewing)
			for {
				select {
				case <-rctx.Done():
					return
				case <-t.env.Until(t.env.Now().Add(LeaseTTL / 3)):
				}
				if rctx.Err() != nil {
					return
				}
				if !t.updateClaim(f.occ, func(c *claim) { c.Lease = t.env.Now().Add(LeaseTTL) }) {
					t.log.Warn("timer: another host took over the occurrence; not retrying here", "occurrence", FormatTime(f.occ, t.sched.Location()))
					rcancel()
					return
				}
			}
		}()
	} else {
		close(renewing)
	}

	runner := &retry.Runner{Store: t.retries, Clock: t.env, Logger: t.log}
	err := runner.Run(rctx, t.policy, t.retryKey(f), func(_ context.Context, rc *retry.Context) error {
		_, err := t.inv.Invoke(t.invCtx, t.invocation(f, seen, rc))
		return err
	})
	interrupted := rctx.Err() != nil && err != nil && errors.Is(err, rctx.Err()) // stopped, or taken over, while waiting to retry
	rcancel()
	<-renewing

	if interrupted {
		if t.ctx.Err() != nil && !f.startup {
			// Stopped while waiting to retry: release the occurrence so that the next host to start resumes it.
			t.updateClaim(f.occ, func(c *claim) { c.Lease = time.Time{} })
			t.log.Info("timer stopped with a retry pending; the next start resumes it", "occurrence", FormatTime(f.occ, t.sched.Location()))
		}
		return t.nextAfter(f.occ, t.env.Now())
	}
	if err != nil {
		t.log.Error("timer: the function failed", "occurrence", FormatTime(f.occ, t.sched.Location()), "pastDue", f.pastDue, "startup", f.startup, "error", err)
	}
	if !f.startup {
		t.updateClaim(f.occ, func(c *claim) { c.Done = true })
	}

	var next time.Time // runOnStartup does not move the schedule
	if !f.startup {
		next = t.nextAfter(f.occ, firedAt)
	}
	if t.monitor {
		t.record(firedAt, next)
	}
	return next
}

// record writes the schedule status after a firing that started at firedAt: Last and LastUpdated are firedAt,
// Next is next (unchanged when next is zero). A status that already records a later firing is left alone.
func (t *timer) record(firedAt, next time.Time) {
	for range 20 {
		var s status
		var rev uint64
		var ok bool
		if err := t.state(func(ctx context.Context) (err error) { s, rev, ok, err = t.st.getStatus(ctx); return err }); err != nil {
			t.log.Warn("timer: reading the schedule status failed", "error", err)
			return
		}
		if ok && s.Last.After(firedAt) {
			return
		}
		s.Schedule, s.Zone = t.sched.String(), t.sched.Location().String()
		s.Last, s.LastUpdated = firedAt, firedAt
		if !next.IsZero() {
			s.Next = next
		}
		err := t.state(func(ctx context.Context) error { return t.st.putStatus(ctx, s, rev) })
		if errors.Is(err, errConflict) {
			continue
		}
		if err != nil {
			t.log.Warn("timer: writing the schedule status failed", "error", err)
		}
		return
	}
}

// invocation builds the payload of one attempt.
func (t *timer) invocation(f firing, seen *status, rc *retry.Context) *binding.Invocation {
	var info TimerInfo
	info.Schedule.AdjustForDST = t.sched.AdjustForDST()
	info.IsPastDue = f.pastDue
	if seen != nil {
		loc := t.sched.Location()
		info.ScheduleStatus = &ScheduleStatus{Last: FormatTime(seen.Last, loc), Next: FormatTime(seen.Next, loc), LastUpdated: FormatTime(seen.LastUpdated, loc)}
	}
	data, _ := json.Marshal(info)
	inv := &binding.Invocation{Function: t.fn.Name(), Data: map[string]json.RawMessage{t.fn.Trigger().Name: data}, Metadata: map[string]json.RawMessage{}}
	if rc != nil {
		inv.Metadata["RetryContext"] = rc.JSON()
	}
	return inv
}

// memRetries keeps retry state for timers run without a substrate.
var memRetries = retry.NewMemoryStore()
