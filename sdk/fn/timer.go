package fn

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TimerInfo is what a timer-triggered function receives: Azure's TimerInfo,
// decoded from the trigger value {"Schedule":{"AdjustForDST":true},
// "ScheduleStatus":{"Last":...,"Next":...,"LastUpdated":...},"IsPastDue":false}
// (field names match in any case, so the camelCase form works too).
type TimerInfo struct {
	// Schedule describes the function's schedule.
	Schedule TimerSchedule
	// ScheduleStatus is the schedule's recorded state, or nil when the host
	// keeps none (useMonitor false, or the first run).
	ScheduleStatus *ScheduleStatus
	// IsPastDue reports that this run is later than its scheduled time,
	// for example the one catch-up run after the app was down when an
	// occurrence was due.
	IsPastDue bool
}

// TimerSchedule is the schedule part of a [TimerInfo].
type TimerSchedule struct {
	// AdjustForDST reports whether the schedule follows daylight saving
	// time changes in the app's time zone (WEBSITE_TIME_ZONE).
	AdjustForDST bool
}

// ScheduleStatus is a timer's recorded state, which the host keeps when
// useMonitor is on so that occurrences missed while the app was down are
// noticed. Times are in UTC; a time the host did not send is zero.
type ScheduleStatus struct {
	// Last is the occurrence the previous run served.
	Last time.Time
	// Next is the occurrence after this one.
	Next time.Time
	// LastUpdated is when the host last wrote the status.
	LastUpdated time.Time
}

// TimerFunc is the signature of a timer-triggered function. A non-nil error
// fails the run; the host logs it and fires again at the next occurrence.
type TimerFunc func(ctx *Context, t TimerInfo) error

// Timer registers a function that runs on a schedule (function.json type
// "timerTrigger", binding name "timer"): a six-field NCRONTAB expression
// ({second} {minute} {hour} {day} {month} {day-of-week}, such as
// "0 */5 * * * *" for every five minutes), a TimeSpan such as "00:05:00" on
// plans that allow it, or "%Setting%" to read it from an app setting. The
// host parses and runs the schedule; the time zone is UTC unless the app
// sets WEBSITE_TIME_ZONE.
//
//	app.Timer("cleanup_job", "0 */5 * * * *", func(ctx *fn.Context, t fn.TimerInfo) error {
//		ctx.Logf("Running cleanup job (past due: %v)", t.IsPastDue)
//		return nil
//	}, fn.UseMonitor(true))
//
// Options are [RunOnStartup], [UseMonitor], [TriggerName], and bindings
// such as [QueueOutput] or [BlobOutput]. It panics on an empty schedule, a
// nil handler or an invalid option.
func (a *App) Timer(name, schedule string, h TimerFunc, opts ...Option) {
	if h == nil {
		panic(fmt.Sprintf("fn: Timer(%q): nil handler", name))
	}
	if strings.TrimSpace(schedule) == "" {
		panic(fmt.Sprintf("fn: Timer(%q): empty schedule", name))
	}
	f := &function{name: name}
	f.handler = func(ctx *Context, inv *Invocation) (any, error) {
		raw, _ := lookupFold(inv.Data, f.trigger().Name)
		t, err := decodeTimer(raw)
		if err != nil {
			return nil, &payloadError{fmt.Errorf("timer %q: %w", f.trigger().Name, err)}
		}
		return nil, h(ctx, t)
	}
	a.mustRegister("Timer", f, Binding{Type: "timerTrigger", Name: "timer",
		Props: map[string]any{"schedule": schedule}}, opts)
}

// RunOnStartup makes a timer function also run when the app starts (and
// whenever the host starts it again), its function.json "runOnStartup".
// Azure advises against it in production, since every scale-out or restart
// runs the function.
func RunOnStartup() Option {
	return timerOption("RunOnStartup", "runOnStartup", true)
}

// UseMonitor sets a timer function's function.json "useMonitor": whether
// the host records the schedule status, so that an occurrence missed while
// the app was down runs once, late, with [TimerInfo].IsPastDue set. Azure's
// default is on for schedules of a minute or more.
func UseMonitor(on bool) Option {
	return timerOption("UseMonitor", "useMonitor", on)
}

func timerOption(opt, key string, v bool) Option {
	return optionFunc(func(f *function) error {
		if !strings.EqualFold(f.trigger().Type, "timerTrigger") {
			return fmt.Errorf("%s applies to timer functions only", opt)
		}
		return TriggerProp(key, v).apply(f)
	})
}

// decodeTimer reads a timer trigger value. A missing or null value, or a
// string that holds no JSON object (what a manual run may pass), is a
// zero TimerInfo.
func decodeTimer(raw json.RawMessage) (TimerInfo, error) {
	var t TimerInfo
	r := unwrapString(raw)
	switch {
	case len(r) == 0 || r[0] == '"' || string(r) == "null":
		return t, nil
	case r[0] != '{':
		return t, errors.New("the value is not a JSON object")
	}
	var w struct {
		Schedule *struct {
			AdjustForDST bool
		}
		ScheduleStatus *struct {
			Last, Next, LastUpdated flexTime
		}
		IsPastDue bool
	}
	if err := json.Unmarshal(r, &w); err != nil {
		return t, err
	}
	if w.Schedule != nil {
		t.Schedule.AdjustForDST = w.Schedule.AdjustForDST
	}
	if s := w.ScheduleStatus; s != nil {
		t.ScheduleStatus = &ScheduleStatus{Last: time.Time(s.Last), Next: time.Time(s.Next), LastUpdated: time.Time(s.LastUpdated)}
	}
	t.IsPastDue = w.IsPastDue
	return t, nil
}
