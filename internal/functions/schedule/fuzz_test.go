package schedule

import (
	"errors"
	"testing"
	"time"
)

var fuzzZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Sao_Paulo"}

// FuzzParse: Parse never panics and fails only with a *ParseError; a schedule that parses has a next occurrence
// strictly after any input, and for a cron expression that occurrence matches the fields on the zone's wall
// clock, or is a wall time skipped by a spring-forward gap, shifted by the gap (the package's DST rule).
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 */5 * * * *", "0 30 9 * * 1-5", "0 30 9 * Jan Mon", "*/15 * * * *", "0 0 0 29 2 *",
		"0 30 2 * * *", "0 30 1 * * *", "1-10/2 5/7 */3 1,15 */2 0-7", "00:05:00", "1.02:03:04", "0 0 0 31 2 *", "* * * * * ?",
		"0 15,45 8-10/2 * * sun-SAT", "5 4 3 2 1 0", "JAN", "0 0 0 1 jul-dec/2 *"} {
		f.Add(s, int64(1710050400), uint8(1))
	}
	loaded := make([]*time.Location, len(fuzzZones))
	for i, z := range fuzzZones {
		loaded[i] = mustZone(f, z)
	}
	f.Fuzz(func(t *testing.T, expr string, unix int64, zone uint8) {
		s, err := Parse(expr)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T %v is not a *ParseError", expr, err, err)
			}
			return
		}
		loc := loaded[int(zone)%len(loaded)]
		s = s.In(loc)
		// Inputs between 1900 and 2300.
		const lo, span = -2208988800, 400 * 365 * 86400
		unix = lo + (unix%span+span)%span
		at := time.Unix(unix, int64(uint64(unix)%1e9))
		for range 3 {
			next := s.Next(at)
			if next.IsZero() || !next.After(at) {
				t.Fatalf("%q in %s: Next(%s) = %s, not after it", expr, loc, at, next)
			}
			if s.Kind() == Cron && !s.Matches(next) && !gapShifted(s, next) {
				t.Fatalf("%q in %s: Next(%s) = %s does not match the fields", expr, loc, at, next)
			}
			at = next
		}
	})
}

// gapShifted reports whether t is a wall time that a spring-forward gap skipped, fired just after the gap: t lies
// within the gap's length after the transition and its wall time less the gap matches.
func gapShifted(s *Schedule, t time.Time) bool {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return false
	}
	_, off := t.Zone()
	_, prev := start.Add(-time.Nanosecond).Zone()
	gap := time.Duration(off-prev) * time.Second
	return gap > 0 && t.Sub(start) < gap && s.matches(wall(t).Add(-gap))
}
