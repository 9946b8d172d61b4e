package timerbinding_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/timerbinding"
	"github.com/lapisdev/lapis/internal/functions/schedule/schedtest"
)

// End-to-end tests: real Functions hosts running the test worker as a custom handler, a real substrate, and a
// test clock. The clock only moves when a test moves it; before jumping it past an occurrence's lease a test
// waits until the occurrence has finished (waitFinished), as a real clock would give the hosts time to.

const zero = "0001-01-01T00:00:00+00:00"

func fmtT(t time.Time) string { return timerbinding.FormatTime(t, time.UTC) }

func wantStatus(t *testing.T, what string, ti timerbinding.TimerInfo, last, next, updated time.Time, lastZero bool) {
	t.Helper()
	if ti.ScheduleStatus == nil {
		t.Fatalf("%s: ScheduleStatus is null", what)
	}
	wantLast := fmtT(last)
	if lastZero {
		wantLast = zero
	}
	got := *ti.ScheduleStatus
	want := timerbinding.ScheduleStatus{Last: wantLast, Next: fmtT(next), LastUpdated: fmtT(updated)}
	if got != want {
		t.Fatalf("%s: ScheduleStatus = %+v, want %+v", what, got, want)
	}
}

// TestTimerFiresOnSchedule: "0 */5 * * * *" fires at 00:05 and 00:10, not between, with Azure's payload.
func TestTimerFiresOnSchedule(t *testing.T) {
	_, log := newLogs(t)
	a := &appRun{t: t, dir: writeApp(t, map[string]string{"tick": timerJSON("0 */5 * * * *", "", "")}), sub: openSubstrate(t),
		clk: schedtest.NewClock(t0), log: log}
	in := a.mustStart("a")

	a.clk.Set(at(0, 5, 0))
	rs := waitRecords(t, 1, in)
	r := rs[0]
	ti := r.timer(t)
	if r.Function != "tick" || r.Failed || ti.IsPastDue || !ti.Schedule.AdjustForDST {
		t.Fatalf("first firing: %+v %+v", r, ti)
	}
	wantStatus(t, "first firing", ti, time.Time{}, at(0, 5, 0), t0, true)
	if _, ok := r.Payload.Metadata["RetryContext"]; ok {
		t.Fatal("RetryContext without a retry policy")
	}
	if _, ok := r.Payload.Metadata["sys"]; !ok {
		t.Fatal("no sys metadata")
	}
	if raw := string(r.Payload.Data["myTimer"]); !strings.HasPrefix(raw, `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":`) {
		t.Fatalf("payload %s", raw)
	}

	waitFinished(t, a.sub, "tick", at(0, 5, 0))
	a.clk.Set(at(0, 7, 0))
	a.clk.Set(at(0, 10, 0))
	rs = waitRecords(t, 2, in)
	ti = rs[1].timer(t)
	wantStatus(t, "second firing", ti, at(0, 5, 0), at(0, 10, 0), at(0, 5, 0), false)

	in.h.Close()
	if rs := readRecords(t, in); len(rs) != 2 {
		t.Fatalf("%d firings, want 2", len(rs))
	}
}

// TestTimerPastDueAfterOutage: the host stops after 00:05; while it is down 00:10 and 00:15 pass; started at
// 00:17 it fires once, at once, with IsPastDue, then keeps to the schedule.
func TestTimerPastDueAfterOutage(t *testing.T) {
	_, log := newLogs(t)
	a := &appRun{t: t, dir: writeApp(t, map[string]string{"tick": timerJSON("0 */5 * * * *", "", "")}), sub: openSubstrate(t),
		clk: schedtest.NewClock(t0), log: log}
	first := a.mustStart("first")
	a.clk.Set(at(0, 5, 0))
	waitRecords(t, 1, first)
	waitFinished(t, a.sub, "tick", at(0, 5, 0))
	first.h.Close()

	a.clk.Set(at(0, 17, 0))
	second := a.mustStart("second")
	rs := waitRecords(t, 1, second)
	ti := rs[0].timer(t)
	if !ti.IsPastDue {
		t.Fatalf("after the outage: IsPastDue false: %+v", ti)
	}
	wantStatus(t, "past due", ti, at(0, 5, 0), at(0, 10, 0), at(0, 5, 0), false)

	waitFinished(t, a.sub, "tick", at(0, 10, 0))
	a.clk.Set(at(0, 20, 0))
	rs = waitRecords(t, 2, second)
	ti = rs[1].timer(t)
	if ti.IsPastDue {
		t.Fatalf("on schedule after the outage: IsPastDue true")
	}
	wantStatus(t, "on schedule", ti, at(0, 17, 0), at(0, 20, 0), at(0, 17, 0), false)

	second.h.Close()
	if n1, n2 := len(readRecords(t, first)), len(readRecords(t, second)); n1 != 1 || n2 != 2 {
		t.Fatalf("firings: %d before the outage, %d after; want 1 and 2", n1, n2)
	}
}

// TestTimerTwoInstances: two hosts of one app on one substrate fire each occurrence once in all.
func TestTimerTwoInstances(t *testing.T) {
	_, log := newLogs(t)
	a := &appRun{t: t, dir: writeApp(t, map[string]string{"tick": timerJSON("0 */5 * * * *", "", "")}), sub: openSubstrate(t),
		clk: schedtest.NewClock(t0), log: log}
	one, two := a.mustStart("one"), a.mustStart("two")
	const n = 4
	for k := 1; k <= n; k++ {
		occ := at(0, 5*k, 0)
		a.clk.Set(occ)
		waitRecords(t, k, one, two)
		waitFinished(t, a.sub, "tick", occ)
	}
	one.h.Close()
	two.h.Close()
	rs := readRecords(t, one, two)
	if len(rs) != n {
		t.Fatalf("%d firings for %d occurrences: %+v", len(rs), n, rs)
	}
	seen := map[string]string{}
	for _, r := range rs {
		next := r.timer(t).ScheduleStatus.Next
		if prev, dup := seen[next]; dup {
			t.Fatalf("occurrence %s fired on %s and on %s", next, prev, r.Host)
		}
		seen[next] = r.Host
	}
	for k := 1; k <= n; k++ {
		if _, ok := seen[fmtT(at(0, 5*k, 0))]; !ok {
			t.Fatalf("occurrence %d did not fire: %v", k, seen)
		}
	}
	t.Logf("firings by host: %v", seen)
}

// TestTimerRunOnStartup: runOnStartup fires at each host start, besides the schedule, and does not move it.
func TestTimerRunOnStartup(t *testing.T) {
	_, log := newLogs(t)
	a := &appRun{t: t, dir: writeApp(t, map[string]string{"tick": timerJSON("0 */5 * * * *", `"runOnStartup": true`, "")}),
		sub: openSubstrate(t), clk: schedtest.NewClock(t0), log: log}
	one := a.mustStart("one")
	rs := waitRecords(t, 1, one)
	ti := rs[0].timer(t)
	if ti.IsPastDue {
		t.Fatal("runOnStartup firing is past due")
	}
	wantStatus(t, "startup", ti, time.Time{}, at(0, 5, 0), t0, true)
	waitUntil(t, "the startup firing is recorded", func() bool {
		s := timerState(t, a.sub, "timerapp", "tick", "status")
		return s != nil && s["last"] == t0.Format(time.RFC3339Nano)
	})

	a.clk.Set(at(0, 5, 0))
	rs = waitRecords(t, 2, one)
	wantStatus(t, "scheduled", rs[1].timer(t), t0, at(0, 5, 0), t0, false)
	waitFinished(t, a.sub, "tick", at(0, 5, 0))

	two := a.mustStart("two") // a second instance starts: it runs on startup too
	rs = waitRecords(t, 1, two)
	wantStatus(t, "second instance's startup", rs[0].timer(t), at(0, 5, 0), at(0, 10, 0), at(0, 5, 0), false)

	one.h.Close()
	two.h.Close()
	if n1, n2 := len(readRecords(t, one)), len(readRecords(t, two)); n1 != 2 || n2 != 1 {
		t.Fatalf("firings: %d and %d, want 2 and 1", n1, n2)
	}
}

// TestTimerRetries: a fixedDelay policy retries a failing firing with Azure's RetryContext; the host restarts
// between the second and the third attempt, and the count continues (the resumed attempts are past due).
func TestTimerRetries(t *testing.T) {
	_, log := newLogs(t)
	fj := timerJSON("0 */5 * * * *", "", `"retry": {"strategy": "fixedDelay", "maxRetryCount": 4, "delayInterval": "00:00:10"}`)
	a := &appRun{t: t, dir: writeApp(t, map[string]string{"flaky": fj}), sub: openSubstrate(t), clk: schedtest.NewClock(t0), log: log,
		settings: map[string]string{"FAIL_UNTIL": "3"}}
	occ := at(0, 5, 0)

	first := a.mustStart("first")
	a.clk.Set(occ)
	waitRecords(t, 1, first)
	waitRetryState(t, a.sub, "flaky", occ, 1)
	a.clk.Set(occ.Add(10 * time.Second))
	waitRecords(t, 2, first)
	waitRetryState(t, a.sub, "flaky", occ, 2)
	first.h.Close() // stops while waiting for the third attempt

	second := a.mustStart("second")
	a.clk.Set(occ.Add(20 * time.Second))
	waitRecords(t, 1, second)
	waitRetryState(t, a.sub, "flaky", occ, 3)
	a.clk.Set(occ.Add(30 * time.Second))
	waitRecords(t, 2, second)
	waitFinished(t, a.sub, "flaky", occ)
	second.h.Close()

	rs := readRecords(t, first, second)
	if len(rs) != 4 {
		t.Fatalf("%d attempts, want 4", len(rs))
	}
	for i, r := range rs {
		rc := r.retryContext(t)
		ti := r.timer(t)
		if rc == nil || rc.RetryCount != i || rc.MaxRetryCount != 4 {
			t.Fatalf("attempt %d: RetryContext %+v", i, rc)
		}
		if (i == 0) != (rc.Exception == nil) || i > 0 && !strings.Contains(rc.Exception.Message, "500") {
			t.Fatalf("attempt %d: Exception %+v", i, rc.Exception)
		}
		if r.Failed != (i < 3) || ti.IsPastDue != (i >= 2) || ti.ScheduleStatus.Next != fmtT(occ) {
			t.Fatalf("attempt %d: failed %v, %+v", i, r.Failed, ti)
		}
		if wantHost := map[bool]string{true: "first", false: "second"}[i < 2]; r.Host != wantHost {
			t.Fatalf("attempt %d ran on %s, want %s", i, r.Host, wantHost)
		}
	}
	if s := timerState(t, a.sub, "timerapp", "flaky", "status"); s["next"] != at(0, 10, 0).Format(time.RFC3339Nano) {
		t.Fatalf("status after the retries: %v", s)
	}
}

// TestTimerValidation: schedule errors name the field; TimeSpan schedules are refused on the Consumption plans
// and run elsewhere, without a monitor when under a minute.
func TestTimerValidation(t *testing.T) {
	_, log := newLogs(t)
	sub := openSubstrate(t)

	t.Run("bad schedule", func(t *testing.T) {
		a := &appRun{t: t, dir: writeApp(t, map[string]string{"bad": timerJSON("0 61 * * * *", "", ""),
			"good": timerJSON("0 */5 * * * *", "", "")}), sub: sub, clk: schedtest.NewClock(t0), log: log}
		_, err := a.start("a")
		if err == nil || !strings.Contains(err.Error(), `bad/function.json: bindings[0].schedule: schedule "0 61 * * * *": minute field "61": 61 is out of range; allowed: 0-59`) {
			t.Fatalf("err = %v", err)
		}
	})
	for _, sku := range []string{"Consumption", "FlexConsumption"} {
		t.Run("TimeSpan on "+sku, func(t *testing.T) {
			a := &appRun{t: t, dir: writeApp(t, map[string]string{"span": timerJSON("00:00:10", "", "")}), sub: sub,
				clk: schedtest.NewClock(t0), log: log, settings: map[string]string{"WEBSITE_SKU": sku}}
			_, err := a.start("a")
			var pe *binding.PropertyError
			if !errors.As(err, &pe) || pe.Property != "schedule" || !strings.Contains(err.Error(), "TimeSpan schedules are not allowed on the "+sku+" plan") {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("bad time zone", func(t *testing.T) {
		a := &appRun{t: t, dir: writeApp(t, map[string]string{"tick": timerJSON("0 */5 * * * *", "", "")}), sub: sub,
			clk: schedtest.NewClock(t0), log: log, settings: map[string]string{"WEBSITE_TIME_ZONE": "Mars Standard Time"}}
		if _, err := a.start("a"); err == nil || !strings.Contains(err.Error(), "WEBSITE_TIME_ZONE") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("schedule from an app setting", func(t *testing.T) {
		a := &appRun{t: t, dir: writeApp(t, map[string]string{"fromsetting": timerJSON("%TickSchedule%", "", "")}), sub: sub,
			clk: schedtest.NewClock(t0), log: log, settings: map[string]string{"TickSchedule": "0 */5 * * * *"}}
		in := a.mustStart("a")
		a.clk.Set(at(0, 5, 0))
		rs := waitRecords(t, 1, in)
		if rs[0].Function != "fromsetting" || rs[0].timer(t).ScheduleStatus.Next != fmtT(at(0, 5, 0)) {
			t.Fatalf("%+v", rs[0])
		}
	})
	t.Run("TimeSpan on Dedicated", func(t *testing.T) {
		a := &appRun{t: t, dir: writeApp(t, map[string]string{"span": timerJSON("00:00:10", "", "")}), sub: sub,
			clk: schedtest.NewClock(t0), log: log, settings: map[string]string{"WEBSITE_SKU": "Dedicated"}}
		in := a.mustStart("a")
		a.clk.Set(t0.Add(10 * time.Second))
		rs := waitRecords(t, 1, in)
		ti := rs[0].timer(t)
		if ti.Schedule.AdjustForDST || ti.ScheduleStatus != nil || ti.IsPastDue {
			t.Fatalf("TimeSpan payload %s", rs[0].Payload.Data["myTimer"])
		}
		waitFinished(t, a.sub, "span", t0.Add(10*time.Second))
		a.clk.Set(t0.Add(20 * time.Second))
		waitRecords(t, 2, in)
	})
}
