package fn

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Retry strategies, the values of [RetryPolicy].Strategy.
const (
	// StrategyFixedDelay waits DelayInterval before every retry.
	StrategyFixedDelay = "fixedDelay"
	// StrategyExponentialBackoff waits MinimumInterval before the first
	// retry and twice as long before each next one, up to MaximumInterval.
	StrategyExponentialBackoff = "exponentialBackoff"
)

// RetryForever is the MaxRetryCount of a policy that retries until an
// attempt succeeds.
const RetryForever = -1

// RetryPolicy is a function-level retry policy, function.json's "retry"
// section: when a run fails, the host runs the function again, up to
// MaxRetryCount more times, waiting between attempts as the strategy says.
// Build one with [FixedDelay] or [ExponentialBackoff] and declare it with
// [Retry]. A handler learns which attempt it is in with
// [Context.RetryContext].
//
// As in Azure, the host applies retry policies to timerTrigger,
// eventHubTrigger, cosmosDBTrigger and kafkaTrigger functions; the other
// triggers retry in their own way (a queue message is delivered again up to
// host.json's queues.maxDequeueCount times, then goes to the poison queue).
// A function without a policy of its own gets the app's (host.json
// "retry"), if any.
//
// A policy encodes as function.json writes it, with intervals as .NET
// TimeSpans ("hh:mm:ss", "d.hh:mm:ss" beyond a day, with a seven-digit
// fraction for parts of a second):
//
//	{"strategy":"fixedDelay","maxRetryCount":5,"delayInterval":"00:00:10"}
//	{"strategy":"exponentialBackoff","maxRetryCount":5,"minimumInterval":"00:00:10","maximumInterval":"00:15:00"}
type RetryPolicy struct {
	// Strategy is [StrategyFixedDelay] or [StrategyExponentialBackoff].
	Strategy string
	// MaxRetryCount is how many times a failed run is retried (0 or
	// more), or [RetryForever].
	MaxRetryCount int
	// DelayInterval is the wait before each retry, for fixedDelay.
	DelayInterval time.Duration
	// MinimumInterval and MaximumInterval bound the wait of
	// exponentialBackoff.
	MinimumInterval time.Duration
	MaximumInterval time.Duration
}

// FixedDelay returns a policy that retries a failed run up to
// maxRetryCount times ([RetryForever] for no limit), waiting delay before
// each retry: function.json's {"strategy":"fixedDelay"}.
func FixedDelay(maxRetryCount int, delay time.Duration) RetryPolicy {
	return RetryPolicy{Strategy: StrategyFixedDelay, MaxRetryCount: maxRetryCount, DelayInterval: delay}
}

// ExponentialBackoff returns a policy that retries a failed run up to
// maxRetryCount times ([RetryForever] for no limit), waiting min before the
// first retry and doubling the wait before each next one, up to max:
// function.json's {"strategy":"exponentialBackoff"}. (Azure also randomises
// the wait a little; Lapis does not.)
func ExponentialBackoff(maxRetryCount int, min, max time.Duration) RetryPolicy {
	return RetryPolicy{Strategy: StrategyExponentialBackoff, MaxRetryCount: maxRetryCount,
		MinimumInterval: min, MaximumInterval: max}
}

// Retry declares the function's retry policy, its function.json "retry":
//
//	app.Timer("cleanup_job", "0 */5 * * * *", handler,
//		fn.Retry(fn.ExponentialBackoff(5, 10*time.Second, 15*time.Minute)))
//
// Registration panics if the policy is not valid (see [RetryPolicy.Validate]),
// if the function is given two policies, or if its trigger is one the host
// applies no retry policy to (httpTrigger, queueTrigger, blobTrigger, ...):
// only timerTrigger, eventHubTrigger, cosmosDBTrigger and kafkaTrigger
// functions take one.
func Retry(p RetryPolicy) Option {
	return optionFunc(func(f *function) error {
		if err := p.Validate(); err != nil {
			return err
		}
		if f.retry != nil {
			return errors.New("two retry policies given; a function has one")
		}
		if t := f.trigger().Type; !retryApplies(t) {
			return fmt.Errorf("a retry policy does not apply to a %s function: the host applies function-level retry "+
				"policies to timerTrigger, eventHubTrigger, cosmosDBTrigger and kafkaTrigger functions only "+
				"(queue and blob triggers retry through their poison queue, host.json queues.maxDequeueCount)", t)
		}
		f.retry = &p
		return nil
	})
}

// retryApplies reports whether the host applies retry policies to a
// trigger type, as Azure does.
func retryApplies(triggerType string) bool {
	switch strings.ToLower(triggerType) {
	case "timertrigger", "eventhubtrigger", "cosmosdbtrigger", "kafkatrigger":
		return true
	}
	return false
}

// Validate reports what is wrong with the policy, or nil: the strategy must
// be fixedDelay or exponentialBackoff, MaxRetryCount 0 or more or
// [RetryForever], the strategy's intervals zero or more and whole multiples
// of 100ns (a TimeSpan's resolution), the intervals of the other strategy
// zero, and for exponentialBackoff MinimumInterval more than zero and no
// more than MaximumInterval.
func (p RetryPolicy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.MaxRetryCount < RetryForever {
		bad("maxRetryCount %d is out of range; want 0 or more, or fn.RetryForever (-1)", p.MaxRetryCount)
	}
	interval := func(name string, d time.Duration) {
		switch {
		case d < 0:
			bad("%s %v is negative", name, d)
		case d%timeSpanTick != 0:
			bad("%s %v is not a whole number of 100ns ticks, the resolution of a TimeSpan", name, d)
		}
	}
	unused := func(name string, d time.Duration) {
		if d != 0 {
			bad("%s %v is set, but the %s strategy has none", name, d, p.Strategy)
		}
	}
	switch p.Strategy {
	case StrategyFixedDelay:
		interval("delayInterval", p.DelayInterval)
		unused("minimumInterval", p.MinimumInterval)
		unused("maximumInterval", p.MaximumInterval)
	case StrategyExponentialBackoff:
		interval("minimumInterval", p.MinimumInterval)
		interval("maximumInterval", p.MaximumInterval)
		unused("delayInterval", p.DelayInterval)
		if p.MinimumInterval == 0 {
			bad("minimumInterval is zero, so the wait would never grow; use fn.FixedDelay for retries without a wait")
		}
		if p.MinimumInterval > p.MaximumInterval {
			bad("maximumInterval %v is shorter than minimumInterval %v", p.MaximumInterval, p.MinimumInterval)
		}
	case "":
		bad("no strategy; build the policy with fn.FixedDelay or fn.ExponentialBackoff")
	default:
		bad("strategy %q is not %q or %q", p.Strategy, StrategyFixedDelay, StrategyExponentialBackoff)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("retry policy: %w", errors.Join(errs...))
}

// MarshalJSON writes the policy as function.json's "retry" section.
func (p RetryPolicy) MarshalJSON() ([]byte, error) {
	if p.Strategy == StrategyExponentialBackoff {
		return json.Marshal(struct {
			Strategy        string `json:"strategy"`
			MaxRetryCount   int    `json:"maxRetryCount"`
			MinimumInterval string `json:"minimumInterval"`
			MaximumInterval string `json:"maximumInterval"`
		}{p.Strategy, p.MaxRetryCount, formatTimeSpan(p.MinimumInterval), formatTimeSpan(p.MaximumInterval)})
	}
	return json.Marshal(struct {
		Strategy      string `json:"strategy"`
		MaxRetryCount int    `json:"maxRetryCount"`
		DelayInterval string `json:"delayInterval"`
	}{p.Strategy, p.MaxRetryCount, formatTimeSpan(p.DelayInterval)})
}

// UnmarshalJSON reads a function.json "retry" section. Intervals are
// TimeSpans: "hh:mm:ss", "d.hh:mm:ss" or "hh:mm", with an optional fraction
// of a second.
func (p *RetryPolicy) UnmarshalJSON(data []byte) error {
	var w struct {
		Strategy                                        string
		MaxRetryCount                                   int
		DelayInterval, MinimumInterval, MaximumInterval *string
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	q := RetryPolicy{Strategy: w.Strategy, MaxRetryCount: w.MaxRetryCount}
	for _, iv := range []struct {
		name string
		s    *string
		d    *time.Duration
	}{{"delayInterval", w.DelayInterval, &q.DelayInterval}, {"minimumInterval", w.MinimumInterval, &q.MinimumInterval},
		{"maximumInterval", w.MaximumInterval, &q.MaximumInterval}} {
		if iv.s == nil {
			continue
		}
		d, err := parseTimeSpan(*iv.s)
		if err != nil {
			return fmt.Errorf("retry %s: %w", iv.name, err)
		}
		*iv.d = d
	}
	*p = q
	return nil
}

// timeSpanTick is the resolution of a .NET TimeSpan.
const timeSpanTick = 100 * time.Nanosecond

// formatTimeSpan writes a non-negative duration as a .NET TimeSpan:
// "hh:mm:ss", preceded by "d." beyond a day and followed by a seven-digit
// fraction for parts of a second.
func formatTimeSpan(d time.Duration) string {
	const day = 24 * time.Hour
	var b strings.Builder
	if d >= day {
		b.WriteString(strconv.FormatInt(int64(d/day), 10) + ".")
		d %= day
	}
	fmt.Fprintf(&b, "%02d:%02d:%02d", d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second)
	if frac := d % time.Second / timeSpanTick; frac != 0 {
		fmt.Fprintf(&b, ".%07d", frac)
	}
	return b.String()
}

// parseTimeSpan reads what formatTimeSpan writes, and "hh:mm".
func parseTimeSpan(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a TimeSpan; want hh:mm:ss or d.hh:mm:ss", s)
	t := strings.TrimSpace(s)
	var d time.Duration
	head, rest, ok := strings.Cut(t, ":")
	if !ok {
		return 0, bad
	}
	if days, hours, ok := strings.Cut(head, "."); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil || n > uint64(maxDuration/(24*time.Hour)) {
			return 0, bad
		}
		d, head = time.Duration(n)*24*time.Hour, hours
	}
	parts := append([]string{head}, strings.Split(rest, ":")...)
	if len(parts) > 3 {
		return 0, bad
	}
	var frac time.Duration
	if last, f, ok := strings.Cut(parts[len(parts)-1], "."); ok {
		if len(parts) != 3 || f == "" || len(f) > 7 {
			return 0, bad
		}
		n, err := strconv.ParseUint((f + "000000")[:7], 10, 32)
		if err != nil {
			return 0, bad
		}
		frac, parts[len(parts)-1] = time.Duration(n)*timeSpanTick, last
	}
	units := []time.Duration{time.Hour, time.Minute, time.Second}
	limits := []uint64{23, 59, 59}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil || len(p) > 2 || n > limits[i] {
			return 0, bad
		}
		d += time.Duration(n) * units[i]
	}
	if d+frac < d {
		return 0, bad
	}
	return d + frac, nil
}

const maxDuration = time.Duration(1<<63 - 1)

// RetryContext tells a function run under a retry policy which attempt it
// is: Azure's RetryContext, which the host sends in the invocation's
// Metadata["RetryContext"] as
//
//	{"RetryCount":0,"MaxRetryCount":5,"Exception":null}           the first attempt
//	{"RetryCount":2,"MaxRetryCount":5,"Exception":{"Message":...}} the second retry
//
// Read it with [Context.RetryContext].
type RetryContext struct {
	// RetryCount is 0 on the first attempt and n on the n-th retry.
	RetryCount int
	// MaxRetryCount is the policy's maxRetryCount ([RetryForever]: no
	// limit). The last attempt is the one whose RetryCount equals it.
	MaxRetryCount int
	// Exception is the previous attempt's failure, nil on the first
	// attempt.
	Exception *RetryException
}

// RetryException is a failed attempt as the host reports it: a .NET
// exception serialised by Newtonsoft.Json. Lapis sends ClassName
// "System.Exception", the failure's text as Message, Source "Lapis" and
// HResult -2146233088; Azure's host sends the exception that failed the
// run.
type RetryException struct {
	ClassName string
	Message   string
	Source    string
	HResult   int
	// StackTraceString is the .NET stack trace, or "".
	StackTraceString string
	// InnerException is the exception's cause, or nil.
	InnerException *RetryException
}

// Last reports whether this is the last attempt the policy allows, after
// which the host gives up on the run.
func (rc RetryContext) Last() bool {
	return rc.MaxRetryCount != RetryForever && rc.RetryCount >= rc.MaxRetryCount
}

// RetryContext returns the invocation's retry context, and true, when the
// function runs under a retry policy; without one the host sends none, and
// RetryContext returns false. Field names match in any case, and a context
// the host serialised twice (an object inside a JSON string) is read too; a
// value that is not a retry context also gives false.
func (c *Context) RetryContext() (RetryContext, bool) {
	if c.Invocation == nil {
		return RetryContext{}, false
	}
	raw, ok := lookupFold(c.Invocation.Metadata, "RetryContext")
	if !ok {
		return RetryContext{}, false
	}
	raw = unwrapString(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return RetryContext{}, false
	}
	var rc RetryContext
	if err := json.Unmarshal(raw, &rc); err != nil {
		return RetryContext{}, false
	}
	return rc, true
}
