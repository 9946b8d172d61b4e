package timerbinding_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/timerbinding"
	"github.com/lapisdev/lapis/internal/functions/schedule/schedtest"
)

func parseFunction(t *testing.T, name, fj string) *appconfig.Function {
	t.Helper()
	fn, err := appconfig.ParseFunction(name, []byte(fj), nil)
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

func TestParseConfig(t *testing.T) {
	cases := []struct {
		props, prop, msg string
	}{
		{`"schedule": "0 */5 * * * *"`, "", ""},
		{`"schedule": "*/5 * * * *", "runOnStartup": "true", "useMonitor": false`, "", ""},
		{`"schedule": "00:05:00"`, "", ""},
		{``, "schedule", "is missing"},
		{`"schedule": 5`, "schedule", "is not a string"},
		{`"schedule": "0 0 25 * * *"`, "schedule", `hour field "25": 25 is out of range; allowed: 0-23`},
		{`"schedule": "%TimerSchedule%"`, "schedule", "names an app setting that was not resolved"},
		{`"schedule": "every day"`, "schedule", "not a valid NCRONTAB expression or TimeSpan"},
		{`"schedule": "0 */5 * * * *", "runOnStartup": "yes"`, "runOnStartup", "is not a boolean"},
		{`"schedule": "0 */5 * * * *", "useMonitor": 1`, "useMonitor", "is not a boolean"},
	}
	for _, c := range cases {
		fj := `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "myTimer"` + map[bool]string{true: ", ", false: ""}[c.props != ""] + c.props + `}]}`
		fn := parseFunction(t, "tick", fj)
		err := binding.ValidateFunction(fn)
		if c.prop == "" {
			if err != nil {
				t.Errorf("%s: %v", c.props, err)
			}
			continue
		}
		var fe *appconfig.FieldError
		if !errors.As(err, &fe) || fe.Path != "bindings[0]."+c.prop || !strings.Contains(fe.Msg, c.msg) {
			t.Errorf("%s: %v; want bindings[0].%s: …%s…", c.props, err, c.prop, c.msg)
		}
	}
	cfg, err := timerbinding.ParseConfig(&parseFunction(t, "tick", timerJSON("*/10 * * * * *", `"useMonitor": true`, "")).Bindings[0])
	if err != nil || !cfg.UseMonitor || cfg.Monitor() {
		t.Fatalf("a schedule firing every ten seconds is monitored: %+v %v", cfg, err)
	}
	cfg, _ = timerbinding.ParseConfig(&parseFunction(t, "tick", timerJSON("0 */5 * * * *", "", "")).Bindings[0])
	if !cfg.Monitor() || cfg.RunOnStartup {
		t.Fatalf("defaults: %+v", cfg)
	}
}

// invocations records what a trigger fires, optionally holding each invocation until released.
type invocations struct {
	mu   sync.Mutex
	all  []*binding.Invocation
	ch   chan *binding.Invocation
	hold chan struct{} // when not nil, each invocation waits for a receive-able value
}

func newInvocations() *invocations { return &invocations{ch: make(chan *binding.Invocation, 100)} }

func (iv *invocations) Invoke(ctx context.Context, inv *binding.Invocation) (*binding.Result, error) {
	iv.mu.Lock()
	iv.all = append(iv.all, inv)
	hold := iv.hold
	iv.mu.Unlock()
	iv.ch <- inv
	if hold != nil {
		<-hold
	}
	return &binding.Result{}, nil
}

func (iv *invocations) next(t *testing.T) timerbinding.TimerInfo {
	t.Helper()
	select {
	case inv := <-iv.ch:
		var ti timerbinding.TimerInfo
		if err := json.Unmarshal(inv.Data["myTimer"], &ti); err != nil {
			t.Fatal(err)
		}
		return ti
	case <-time.After(waitFor):
		t.Fatal("no invocation")
		return timerbinding.TimerInfo{}
	}
}

func (iv *invocations) count() int {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	return len(iv.all)
}

var appSeq atomic.Int64

// uniqueApp returns an app name no other test (or run of a test, with -count) uses: without a substrate, timer
// state is kept per app for the whole process.
func uniqueApp(base string) string { return fmt.Sprintf("%s-%d", base, appSeq.Add(1)) }

// startTimer starts the trigger of a one-function app without the platform's substrate.
func startTimer(t *testing.T, app, fj string, settings map[string]string, env *binding.Env, inv binding.Invoker) (func(), error) {
	t.Helper()
	def := parseFunction(t, "tick", fj)
	if err := binding.ValidateFunction(def); err != nil {
		t.Fatal(err)
	}
	fn := &binding.Function{App: app, Host: appconfig.DefaultHostConfig(), Def: def, TriggerIx: 0, Env: env,
		Settings: func(name string) (string, bool) { v, ok := settings[name]; return v, ok }}
	return timerbinding.Trigger{}.Start(context.Background(), fn, inv)
}

// TestTimeZone: WEBSITE_TIME_ZONE with a Windows name puts the schedule and the payload in that zone.
func TestTimeZone(t *testing.T) {
	l, log := newLogs(t)
	clk := schedtest.NewClock(time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC))
	iv := newInvocations()
	stop, err := startTimer(t, uniqueApp("tz"), timerJSON("0 30 9 * * *", "", ""), map[string]string{"WEBSITE_TIME_ZONE": "Eastern Standard Time"},
		&binding.Env{Clock: clk.Now, Alarm: clk.Until, Logger: log}, iv)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	clk.Set(time.Date(2030, 1, 7, 14, 29, 59, 0, time.UTC))
	clk.Set(time.Date(2030, 1, 7, 14, 30, 0, 0, time.UTC)) // 09:30 EST
	ti := iv.next(t)
	want := timerbinding.ScheduleStatus{Last: zero, Next: "2030-01-07T09:30:00-05:00", LastUpdated: "2030-01-06T19:00:00-05:00"}
	if ti.ScheduleStatus == nil || *ti.ScheduleStatus != want {
		t.Fatalf("status %+v, want %+v", ti.ScheduleStatus, want)
	}
	if iv.count() != 1 {
		t.Fatalf("%d invocations", iv.count())
	}
	if !strings.Contains(l.String(), "need the platform") || !strings.Contains(l.String(), "2030-01-08T09:30:00-05:00") {
		t.Fatalf("logs lack the no-substrate warning or the next occurrences:\n%s", l)
	}
}

// TestWithoutSubstrateOncePerProcess: two hosts of one app in one process, without a substrate, share the
// in-memory state and fire each occurrence once.
func TestWithoutSubstrateOncePerProcess(t *testing.T) {
	_, log := newLogs(t)
	clk := schedtest.NewClock(t0)
	iv := newInvocations()
	env := &binding.Env{Clock: clk.Now, Alarm: clk.Until, Logger: log}
	app := uniqueApp("mem")
	for range 2 {
		stop, err := startTimer(t, app, timerJSON("0 */5 * * * *", "", ""), nil, env, iv)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	for k := 1; k <= 3; k++ {
		clk.Set(at(0, 5*k, 0))
		ti := iv.next(t)
		if ti.ScheduleStatus.Next != fmtT(at(0, 5*k, 0)) {
			t.Fatalf("occurrence %d: %+v", k, ti.ScheduleStatus)
		}
		waitUntil(t, "the occurrence is finished", func() bool { return timerbinding.MemFinished(app, "tick", at(0, 5*k, 0)) })
	}
	if iv.count() != 3 {
		t.Fatalf("%d invocations for 3 occurrences", iv.count())
	}
}

// TestStopWaitsForInFlight: stop returns only after the invocation in flight has returned.
func TestStopWaitsForInFlight(t *testing.T) {
	_, log := newLogs(t)
	clk := schedtest.NewClock(t0)
	iv := newInvocations()
	hold := make(chan struct{})
	iv.hold = hold
	stop, err := startTimer(t, uniqueApp("stop"), timerJSON("0 */5 * * * *", "", ""), nil, &binding.Env{Clock: clk.Now, Alarm: clk.Until, Logger: log}, iv)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			close(hold)
			stop()
		}
	}()
	clk.Set(at(0, 5, 0))
	iv.next(t)
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned with an invocation in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(hold)
	released = true
	select {
	case <-stopped:
	case <-time.After(waitFor):
		t.Fatal("stop did not return")
	}
	clk.Set(at(0, 10, 0))
	time.Sleep(20 * time.Millisecond)
	if iv.count() != 1 {
		t.Fatalf("%d invocations after stop", iv.count())
	}
}

// TestDaylightSaving: a Berlin timer at 02:30 (WEBSITE_TIME_ZONE with a Windows name) fires at 03:30 CEST on the
// day the clocks spring forward, then at 02:30 CEST again, and the payload shows local times.
func TestDaylightSaving(t *testing.T) {
	_, log := newLogs(t)
	clk := schedtest.NewClock(time.Date(2030, 3, 30, 12, 0, 0, 0, time.UTC))
	iv := newInvocations()
	app := uniqueApp("dst")
	stop, err := startTimer(t, app, timerJSON("0 30 2 * * *", "", ""), map[string]string{"WEBSITE_TIME_ZONE": "W. Europe Standard Time"},
		&binding.Env{Clock: clk.Now, Alarm: clk.Until, Logger: log}, iv)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// 31 March 2030: 02:00 CET becomes 03:00 CEST at 01:00Z; 02:30 does not exist.
	clk.Set(time.Date(2030, 3, 31, 1, 29, 59, 0, time.UTC))
	clk.Set(time.Date(2030, 3, 31, 1, 30, 0, 0, time.UTC))
	if ti := iv.next(t); ti.ScheduleStatus.Next != "2030-03-31T03:30:00+02:00" {
		t.Fatalf("spring forward: %+v", ti.ScheduleStatus)
	}
	waitUntil(t, "the occurrence is finished", func() bool {
		return timerbinding.MemFinished(app, "tick", time.Date(2030, 3, 31, 1, 30, 0, 0, time.UTC))
	})
	clk.Set(time.Date(2030, 4, 1, 0, 30, 0, 0, time.UTC))
	if ti := iv.next(t); ti.ScheduleStatus.Next != "2030-04-01T02:30:00+02:00" || ti.ScheduleStatus.Last != "2030-03-31T03:30:00+02:00" {
		t.Fatalf("the day after: %+v", ti.ScheduleStatus)
	}
	if iv.count() != 2 {
		t.Fatalf("%d invocations", iv.count())
	}
}
