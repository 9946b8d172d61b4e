package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
)

// Kind says how a schedule is written.
type Kind int

const (
	// Cron is an NCRONTAB expression.
	Cron Kind = iota
	// TimeSpan is a fixed interval written hh:mm:ss or d.hh:mm:ss.
	TimeSpan
)

func (k Kind) String() string {
	if k == TimeSpan {
		return "TimeSpan"
	}
	return "NCRONTAB"
}

// Schedule is a parsed timer schedule in a time zone. It is immutable and safe for concurrent use.
type Schedule struct {
	expr     string
	kind     Kind
	loc      *time.Location
	interval time.Duration // TimeSpan
	note     string

	// Cron: one bit per allowed value.
	second, minute uint64
	hour, day      uint32 // day: bits 1–31
	month          uint16 // bits 1–12
	dow            uint8  // bits 0–6, Sunday 0
	texts          []string
}

// Field names, as errors and documentation spell them.
var fieldNames = [6]string{"second", "minute", "hour", "day", "month", "day-of-week"}

type fieldSpec struct {
	lo, hi int
	names  []string // index = value - nameBase
	base   int
}

var specs = [6]fieldSpec{
	{lo: 0, hi: 59},
	{lo: 0, hi: 59},
	{lo: 0, hi: 23},
	{lo: 1, hi: 31},
	{lo: 1, hi: 12, names: []string{"january", "february", "march", "april", "may", "june", "july", "august",
		"september", "october", "november", "december"}, base: 1},
	{lo: 0, hi: 7, names: []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}},
}

func (f fieldSpec) allowed() string {
	s := fmt.Sprintf("%d-%d", f.lo, f.hi)
	switch {
	case len(f.names) == 12:
		s += " or Jan-Dec"
	case len(f.names) == 7:
		s = "0-6 or Sun-Sat (Sunday is 0; 7 is Sunday too)"
	}
	return s
}

// ParseError is a schedule that does not parse. Field is "second", "minute", "hour", "day", "month" or
// "day-of-week" when one field is at fault (Value is its text), and "" when the whole expression is.
type ParseError struct {
	Expr  string
	Field string
	Value string
	Msg   string
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("schedule %q: %s", e.Expr, e.Msg)
	}
	return fmt.Sprintf("schedule %q: %s field %q: %s", e.Expr, e.Field, e.Value, e.Msg)
}

// Parse parses a timer schedule: six-field NCRONTAB (seconds first), five-field NCRONTAB (the second is 0), or a
// TimeSpan (hh:mm:ss, d.hh:mm:ss). The schedule is in UTC; use In for another zone. Errors are *ParseError.
func Parse(expr string) (*Schedule, error) {
	s := strings.TrimSpace(expr)
	fields := strings.Fields(s)
	switch {
	case len(fields) == 1 && strings.Contains(s, ":"):
		return parseTimeSpan(expr, s)
	case len(fields) == 6 || len(fields) == 5:
		return parseCron(expr, fields)
	}
	what := fmt.Sprintf("got %d fields", len(fields))
	if len(fields) == 1 {
		what = "got 1 field"
	}
	return nil, &ParseError{Expr: expr, Msg: "not a valid NCRONTAB expression or TimeSpan: write six fields " +
		"{second} {minute} {hour} {day} {month} {day-of-week} (e.g. \"0 */5 * * * *\"), five fields without the " +
		"seconds, or an interval hh:mm:ss (e.g. \"00:05:00\"); " + what}
}

// MustParse is Parse for expressions known to be valid; it panics on an error.
func MustParse(expr string) *Schedule {
	s, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return s
}

func parseTimeSpan(expr, s string) (*Schedule, error) {
	d, err := appconfig.ParseTimeSpan(s)
	if err != nil {
		return nil, &ParseError{Expr: expr, Msg: "not a valid TimeSpan: " + strings.TrimPrefix(err.Error(), strconv.Quote(s)+" is not a valid TimeSpan: ")}
	}
	if d <= 0 {
		return nil, &ParseError{Expr: expr, Msg: "a TimeSpan schedule must be longer than zero; write e.g. \"00:05:00\""}
	}
	return &Schedule{expr: s, kind: TimeSpan, loc: time.UTC, interval: d}, nil
}

func parseCron(expr string, fields []string) (*Schedule, error) {
	sc := &Schedule{expr: strings.Join(fields, " "), kind: Cron, loc: time.UTC}
	if len(fields) == 5 {
		sc.note = fmt.Sprintf("%q has five fields, so it is read as {minute} {hour} {day} {month} {day-of-week} "+
			"firing at second 0, i.e. %q; Azure's NCRONTAB has six fields, seconds first", sc.expr, "0 "+sc.expr)
		fields = append([]string{"0"}, fields...)
	}
	sc.texts = fields
	var sets [6]uint64
	for i, f := range fields {
		set, msg := parseField(f, specs[i])
		if msg != "" {
			return nil, &ParseError{Expr: expr, Field: fieldNames[i], Value: f, Msg: msg}
		}
		sets[i] = set
	}
	if sets[5]&(1<<7) != 0 { // 7 is Sunday
		sets[5] = sets[5]&^(1<<7) | 1
	}
	sc.second, sc.minute = sets[0], sets[1]
	sc.hour, sc.day, sc.month, sc.dow = uint32(sets[2]), uint32(sets[3]), uint16(sets[4]), uint8(sets[5])
	// Every day the day field allows must exist in some month the month field allows.
	possible := false
	for m := 1; m <= 12 && !possible; m++ {
		if sc.month&(1<<m) != 0 && sc.day&(uint32(1)<<(maxDays(time.Month(m))+1)-1) != 0 {
			possible = true
		}
	}
	if !possible {
		return nil, &ParseError{Expr: expr, Field: "day", Value: fields[3],
			Msg: fmt.Sprintf("never occurs in the months the month field %q allows", fields[4])}
	}
	return sc, nil
}

// maxDays is the longest a month can be (February: 29).
func maxDays(m time.Month) int {
	switch m {
	case time.February:
		return 29
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

const syntaxHelp = "use *, a value, a range (1-5), a step (*/5, 1-10/2) or a comma-separated list of those"

// parseField returns the set of values a field allows, or a message saying what is wrong.
func parseField(f string, spec fieldSpec) (uint64, string) {
	var set uint64
	for _, item := range strings.Split(f, ",") {
		if item == "" {
			return 0, "empty list item; " + syntaxHelp
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		lo, hi := spec.lo, spec.hi
		if spec.hi == 7 {
			hi = 6 // "*" in day-of-week is 0-6
		}
		switch {
		case rng == "*":
		case rng == "":
			return 0, fmt.Sprintf("%q has no range before '/'; %s", item, syntaxHelp)
		default:
			a, b, isRange := strings.Cut(rng, "-")
			var msg string
			if lo, msg = value(a, spec); msg != "" {
				return 0, msg
			}
			hi = lo
			if isRange {
				if hi, msg = value(b, spec); msg != "" {
					return 0, msg
				}
				if hi < lo {
					return 0, fmt.Sprintf("the range %s runs backwards; ranges must run from low to high (write %s-%d,%d-%s instead)", rng, a, spec.hi, spec.lo, b)
				}
			} else if hasStep {
				hi = spec.hi // "5/15": from 5 to the maximum
				if spec.hi == 7 {
					hi = 6
				}
			}
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || stepText == "" || stepText[0] == '+' || stepText[0] == '-' {
				return 0, fmt.Sprintf("step %q is not a number; %s", stepText, syntaxHelp)
			}
			if n < 1 || n > spec.hi {
				return 0, fmt.Sprintf("step %d is out of range; allowed: 1-%d", n, spec.hi)
			}
			step = n
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, ""
}

// value parses one value of a field: a number or, for months and days of the week, a name.
func value(s string, spec fieldSpec) (int, string) {
	if s == "" {
		return 0, "a range needs a value on each side of '-'; " + syntaxHelp
	}
	if s[0] >= '0' && s[0] <= '9' {
		if len(s) > 4 {
			return 0, fmt.Sprintf("%s is out of range; allowed: %s", s, spec.allowed())
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Sprintf("%q is not a number; %s", s, syntaxHelp)
		}
		if n < spec.lo || n > spec.hi {
			return 0, fmt.Sprintf("%d is out of range; allowed: %s", n, spec.allowed())
		}
		return n, ""
	}
	if spec.names != nil {
		l := strings.ToLower(s)
		for i, name := range spec.names {
			if l == name || len(l) == 3 && l == name[:3] {
				return i + spec.base, ""
			}
		}
	}
	if s == "?" || strings.Contains(s, "#") || len(s) <= 3 && (strings.HasSuffix(s, "L") || strings.HasSuffix(s, "W")) {
		return 0, fmt.Sprintf("%q uses a Quartz extension (?, L, W, #) that NCRONTAB does not have; %s", s, syntaxHelp)
	}
	if spec.names != nil {
		return 0, fmt.Sprintf("%q is not a number or a name; allowed: %s", s, spec.allowed())
	}
	return 0, fmt.Sprintf("%q is not a number; allowed: %s; %s", s, spec.allowed(), syntaxHelp)
}

// In returns the schedule in loc (nil means UTC).
func (s *Schedule) In(loc *time.Location) *Schedule {
	if loc == nil {
		loc = time.UTC
	}
	c := *s
	c.loc = loc
	return &c
}

// Location returns the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Kind says whether the schedule is an NCRONTAB expression or a TimeSpan.
func (s *Schedule) Kind() Kind { return s.kind }

// Period returns a TimeSpan schedule's interval, and 0 for a cron expression.
func (s *Schedule) Period() time.Duration { return s.interval }

// String returns the expression, with its fields separated by single spaces.
func (s *Schedule) String() string { return s.expr }

// Note returns a remark worth logging about how the expression was read (a five-field expression gets one), or "".
func (s *Schedule) Note() string { return s.note }

// AdjustForDST is the value of Schedule.AdjustForDST in Azure's timer payload: true for cron expressions, which
// follow the wall clock, false for TimeSpan intervals.
func (s *Schedule) AdjustForDST() bool { return s.kind == Cron }

// Interval reports whether a cron expression is an "interval" in the sense of Azure's CronSchedule: its second,
// minute or hour field holds '*', '-' or '/'. Interval expressions fire in both copies of an hour repeated when
// daylight saving time ends; the others fire once (see the package documentation). A TimeSpan is an interval.
func (s *Schedule) Interval() bool {
	if s.kind == TimeSpan {
		return true
	}
	first := 0
	if s.note != "" { // five fields: the second field was not written
		first = 1
	}
	for _, f := range s.texts[first:3] {
		if strings.ContainsAny(f, "*-/") {
			return true
		}
	}
	return false
}

// MonitorByDefault reports whether Azure keeps the schedule status of this schedule (useMonitor): not for
// schedules that fire more than once a minute, that is a TimeSpan under one minute, or a six-field expression
// whose other fields are all "*" and whose second field allows more than one value. Azure turns useMonitor off
// for these even when function.json sets it.
func (s *Schedule) MonitorByDefault() bool {
	if s.kind == TimeSpan {
		return s.interval >= time.Minute
	}
	if s.note != "" {
		return true
	}
	for _, f := range s.texts[1:] {
		if f != "*" {
			return true
		}
	}
	return bits.OnesCount64(s.second) <= 1
}

// matches reports whether the wall-clock time w (a time in UTC standing for a local reading) is in the schedule.
func (s *Schedule) matches(w time.Time) bool {
	return s.month&(1<<int(w.Month())) != 0 && s.day&(1<<w.Day()) != 0 && s.dow&(1<<int(w.Weekday())) != 0 &&
		s.hour&(1<<w.Hour()) != 0 && s.minute&(1<<w.Minute()) != 0 && s.second&(1<<w.Second()) != 0
}

// Matches reports whether t, read on the wall clock of the schedule's zone, is a time the cron expression names
// (to the second; fractions of a second are ignored). It is false for a TimeSpan schedule.
func (s *Schedule) Matches(t time.Time) bool {
	if s.kind != Cron {
		return false
	}
	return s.matches(wall(t.In(s.loc)))
}

// wall returns the wall-clock reading of t as the same numbers in UTC.
func wall(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y, mo, d, h, mi, sec, t.Nanosecond(), time.UTC)
}

// searchYears bounds the search for a next wall time. Every expression that parses matches within it: a day that
// some allowed month has occurs on every day of the week within the 400-year Gregorian cycle.
const searchYears = 400

// nextWall returns the first wall-clock time strictly after w (both as UTC readings, whole seconds) that the
// expression matches, and false if there is none within searchYears.
func (s *Schedule) nextWall(w time.Time) (time.Time, bool) {
	t := w.Truncate(time.Second).Add(time.Second)
	limit := t.Year() + searchYears
	for t.Year() <= limit {
		y, mo, d := t.Date()
		if s.month&(1<<int(mo)) == 0 {
			t = time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if s.day&(1<<d) == 0 || s.dow&(1<<int(t.Weekday())) == 0 {
			t = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		h, mi, sec := t.Clock()
		if s.hour&(1<<h) == 0 {
			if nh, ok := nextBit(uint64(s.hour), h, 23); ok {
				t = time.Date(y, mo, d, nh, 0, 0, 0, time.UTC)
			} else {
				t = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			}
			continue
		}
		if s.minute&(1<<mi) == 0 {
			if nm, ok := nextBit(s.minute, mi, 59); ok {
				t = time.Date(y, mo, d, h, nm, 0, 0, time.UTC)
			} else {
				t = time.Date(y, mo, d, h+1, 0, 0, 0, time.UTC)
			}
			continue
		}
		if s.second&(1<<sec) == 0 {
			if ns, ok := nextBit(s.second, sec, 59); ok {
				t = time.Date(y, mo, d, h, mi, ns, 0, time.UTC)
			} else {
				t = time.Date(y, mo, d, h, mi+1, 0, 0, time.UTC)
			}
			continue
		}
		return t, true
	}
	return time.Time{}, false
}

// nextBit returns the lowest set bit of set above from, up to max.
func nextBit(set uint64, from, max int) (int, bool) {
	rest := set >> (from + 1) << (from + 1)
	if rest == 0 {
		return 0, false
	}
	b := bits.TrailingZeros64(rest)
	return b, b <= max
}
