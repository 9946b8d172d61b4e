package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestNextHandComputed checks next occurrences worked out by hand, in UTC and across the daylight-saving changes
// of 2024 in America/New_York (10 March 02:00 EST → 03:00 EDT, at 07:00Z; 3 November 02:00 EDT → 01:00 EST, at
// 06:00Z) and Europe/Berlin (31 March 02:00 CET → 03:00 CEST, at 01:00Z; 27 October 03:00 CEST → 02:00 CET, at
// 01:00Z). Each case lists the input and the following occurrences, in UTC.
func TestNextHandComputed(t *testing.T) {
	cases := []struct {
		name, expr, zone, after string
		want                    []string
	}{
		{"every five minutes", "0 */5 * * * *", "UTC", "2024-01-01T00:00:30Z",
			[]string{"2024-01-01T00:05:00Z", "2024-01-01T00:10:00Z"}},
		{"strictly after", "0 */5 * * * *", "UTC", "2024-01-01T00:05:00Z", []string{"2024-01-01T00:10:00Z"}},
		{"fraction of a second", "*/15 * * * * *", "UTC", "2024-01-01T00:00:14.5Z", []string{"2024-01-01T00:00:15Z", "2024-01-01T00:00:30Z"}},
		{"weekdays at 09:30 from a Friday", "0 30 9 * * 1-5", "UTC", "2024-01-05T10:00:00Z",
			[]string{"2024-01-08T09:30:00Z", "2024-01-09T09:30:00Z"}},
		{"names: Mondays of January", "0 30 9 * Jan Mon", "UTC", "2024-01-29T10:00:00Z",
			[]string{"2025-01-06T09:30:00Z", "2025-01-13T09:30:00Z"}},
		{"names in any case and in full", "0 30 9 * JANUARY monday", "UTC", "2024-01-29T10:00:00Z", []string{"2025-01-06T09:30:00Z"}},
		{"names in ranges", "0 0 8 1 JUN-JUL SUN-SAT", "UTC", "2024-06-02T00:00:00Z", []string{"2024-07-01T08:00:00Z", "2025-06-01T08:00:00Z"}},
		{"29 February", "0 0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z", []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"day and day-of-week both hold (Friday the 13th)", "0 0 12 13 * 5", "UTC", "2024-01-01T00:00:00Z",
			[]string{"2024-09-13T12:00:00Z", "2024-12-13T12:00:00Z"}},
		{"7 is Sunday", "0 0 0 * * 7", "UTC", "2024-01-01T00:00:00Z", []string{"2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z"}},
		{"day-of-week range ending in 7", "0 0 0 * * 6-7", "UTC", "2024-01-01T00:00:00Z",
			[]string{"2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z", "2024-01-13T00:00:00Z"}},
		{"lists and stepped ranges", "0 15,45 8-10/2 * * *", "UTC", "2024-01-01T08:50:00Z",
			[]string{"2024-01-01T10:15:00Z", "2024-01-01T10:45:00Z", "2024-01-02T08:15:00Z"}},
		{"start/step", "0 5/20 * * * *", "UTC", "2024-01-01T00:30:00Z", []string{"2024-01-01T00:45:00Z", "2024-01-01T01:05:00Z"}},
		{"five fields: second 0", "*/10 * * * *", "UTC", "2024-01-01T00:03:00Z", []string{"2024-01-01T00:10:00Z", "2024-01-01T00:20:00Z"}},
		{"yearly", "0 0 0 1 1 *", "UTC", "2024-06-01T00:00:00Z", []string{"2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
		{"end of month", "0 0 0 31 * *", "UTC", "2024-04-01T00:00:00Z", []string{"2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z"}},
		{"time zone offset", "0 30 9 * * *", "America/New_York", "2024-01-01T00:00:00Z", []string{"2024-01-01T14:30:00Z"}},

		// New York, spring forward.
		{"NY gap: a daily 02:30 fires at 03:30 EDT", "0 30 2 * * *", "America/New_York", "2024-03-10T05:00:00Z",
			[]string{"2024-03-10T07:30:00Z", "2024-03-11T06:30:00Z"}},
		{"NY gap: hourly fires at 03:00 EDT once", "0 0 * * * *", "America/New_York", "2024-03-10T06:00:00Z",
			[]string{"2024-03-10T07:00:00Z", "2024-03-10T08:00:00Z"}},
		{"NY gap: quarter-hours skip the gap", "0 */15 * * * *", "America/New_York", "2024-03-10T06:45:00Z",
			[]string{"2024-03-10T07:00:00Z", "2024-03-10T07:15:00Z"}},
		{"NY gap: 01:59 to 03:59 is an hour (Azure's test)", "0 59 * * * *", "America/New_York", "2024-03-10T06:59:00Z",
			[]string{"2024-03-10T07:59:00Z"}},
		{"NY daily 09:00 across spring forward is 23 hours", "0 0 9 * * *", "America/New_York", "2024-03-09T14:00:00Z",
			[]string{"2024-03-10T13:00:00Z", "2024-03-11T13:00:00Z"}},

		// New York, fall back.
		{"NY overlap: point in time fires once, in EDT", "0 30 1 * * *", "America/New_York", "2024-11-03T04:00:00Z",
			[]string{"2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"}},
		{"NY overlap: starting in the second copy skips it", "0 30 1 * * *", "America/New_York", "2024-11-03T06:10:00Z",
			[]string{"2024-11-04T06:30:00Z"}},
		{"NY overlap: point in time with two times in the hour", "0 0,30 1 * * *", "America/New_York", "2024-11-03T04:00:00Z",
			[]string{"2024-11-03T05:00:00Z", "2024-11-03T05:30:00Z", "2024-11-04T06:00:00Z"}},
		{"NY overlap: interval fires in both copies", "0 30 * * * *", "America/New_York", "2024-11-03T05:00:00Z",
			[]string{"2024-11-03T05:30:00Z", "2024-11-03T06:30:00Z", "2024-11-03T07:30:00Z"}},
		{"NY overlap: hourly", "0 0 * * * *", "America/New_York", "2024-11-03T04:00:00Z",
			[]string{"2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z", "2024-11-03T07:00:00Z"}},
		{"NY overlap: interval started late in the first copy (Azure's test)", "0 0,30 1-2 * * *", "America/New_York", "2024-11-03T05:45:00Z",
			[]string{"2024-11-03T06:00:00Z", "2024-11-03T06:30:00Z", "2024-11-03T07:00:00Z"}},
		{"NY overlap: interval started in the second copy", "0 0,30 1-3 * * *", "America/New_York", "2024-11-03T06:45:00Z",
			[]string{"2024-11-03T07:00:00Z"}},
		{"NY overlap: every two hours does not match 01:00", "0 0 */2 * * *", "America/New_York", "2024-11-03T04:00:00Z",
			[]string{"2024-11-03T07:00:00Z"}},

		// Berlin.
		{"Berlin gap: 02:30 fires at 03:30 CEST", "0 30 2 * * *", "Europe/Berlin", "2024-03-30T23:00:00Z",
			[]string{"2024-03-31T01:30:00Z", "2024-04-01T00:30:00Z"}},
		{"Berlin gap: 02:00 fires at 03:00 CEST", "0 0 2 * * *", "Europe/Berlin", "2024-03-30T02:00:00Z",
			[]string{"2024-03-31T01:00:00Z"}},
		{"Berlin weekly across spring forward is 167 hours", "0 0 18 * * Fri", "Europe/Berlin", "2024-03-29T17:00:00Z",
			[]string{"2024-04-05T16:00:00Z"}},
		{"Berlin overlap: point in time fires once, in CEST", "0 30 2 * * *", "Europe/Berlin", "2024-10-26T22:00:00Z",
			[]string{"2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"}},
		{"Berlin overlap: interval fires in both copies", "0 */30 2 * * *", "Europe/Berlin", "2024-10-27T00:00:00Z",
			[]string{"2024-10-27T00:30:00Z", "2024-10-27T01:00:00Z", "2024-10-27T01:30:00Z", "2024-10-28T01:00:00Z"}},

		// TimeSpan: elapsed time, whatever the zone.
		{"TimeSpan", "00:05:00", "UTC", "2024-01-01T00:00:30Z", []string{"2024-01-01T00:05:30Z", "2024-01-01T00:10:30Z"}},
		{"TimeSpan with days", "1.02:00:00", "UTC", "2024-01-01T00:00:00Z", []string{"2024-01-02T02:00:00Z"}},
		{"TimeSpan ignores DST", "01:00:00", "America/New_York", "2024-03-10T06:30:00Z", []string{"2024-03-10T07:30:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			s = s.In(mustZone(t, c.zone))
			at := utc(c.after)
			for i, w := range c.want {
				next := s.Next(at)
				if !next.Equal(utc(w)) {
					t.Fatalf("%q in %s: occurrence %d after %s = %s (%s), want %s", c.expr, c.zone, i+1, at.UTC().Format(time.RFC3339),
						next.UTC().Format(time.RFC3339), next.Format(time.RFC3339), w)
				}
				if next.Location() != s.Location() {
					t.Fatalf("Next is in %s, want %s", next.Location(), s.Location())
				}
				at = next
			}
		})
	}
}

// TestNextBruteForce compares Next with a second-by-second scan: in UTC every matching second is an occurrence;
// around New York's fall back an interval expression fires at every matching instant and a point-in-time one
// skips the second copy of the repeated hour.
func TestNextBruteForce(t *testing.T) {
	exprs := []string{"0 */5 * * * *", "*/7 * * * * *", "30 15,45 */3 * * *", "0 0 * * * 1-5", "0 0 12 * * Sun",
		"0 0 0 1,15 * *", "10-20/5 59 23 * * *", "0 0 1-2 * * *", "0 30 1 * * *", "0 0,30 1 * * *", "5 */20 0-3 * * *"}
	ny := mustZone(t, "America/New_York")
	for _, tc := range []struct {
		loc   *time.Location
		start time.Time
		span  time.Duration
	}{
		{time.UTC, utc("2024-02-28T22:00:00Z"), 50 * time.Hour},
		{ny, utc("2024-11-02T20:00:00Z"), 16 * time.Hour},
	} {
		transition := utc("2024-11-03T06:00:00Z")
		for _, e := range exprs {
			s := MustParse(e).In(tc.loc)
			var want []time.Time
			for at := tc.start.Add(time.Second); at.Before(tc.start.Add(tc.span)); at = at.Add(time.Second) {
				if !s.Matches(at) {
					continue
				}
				if !s.Interval() && tc.loc == ny && !at.Before(transition) && at.Before(transition.Add(time.Hour)) {
					continue // second copy of the repeated hour
				}
				want = append(want, at)
			}
			at := tc.start
			for i, w := range want {
				got := s.Next(at)
				if !got.Equal(w) {
					t.Fatalf("%q in %s: occurrence %d after %s = %s, want %s", e, tc.loc, i+1, at.UTC(), got.UTC(), w.UTC())
				}
				at = got
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ expr, field, msg string }{
		{"0 61 * * * *", "minute", "61 is out of range; allowed: 0-59"},
		{"60 * * * * *", "second", "60 is out of range; allowed: 0-59"},
		{"0 0 25 * * *", "hour", "25 is out of range; allowed: 0-23"},
		{"0 0 0 0 * *", "day", "0 is out of range; allowed: 1-31"},
		{"0 0 0 31 Feb *", "day", "never occurs in the months"},
		{"0 0 0 30 2 *", "day", "never occurs in the months"},
		{"0 0 0 * Foo *", "month", `"Foo" is not a number or a name; allowed: 1-12 or Jan-Dec`},
		{"0 0 0 * 13 *", "month", "13 is out of range"},
		{"0 0 0 * * 8", "day-of-week", "8 is out of range; allowed: 0-6 or Sun-Sat"},
		{"0 0 0 * * Mon-Fry", "day-of-week", `"Fry" is not a number or a name`},
		{"* * * * * ?", "day-of-week", "Quartz extension"},
		{"0 0 0 L * *", "day", "Quartz extension"},
		{"0 */0 * * * *", "minute", "step 0 is out of range; allowed: 1-59"},
		{"0 */x * * * *", "minute", `step "x" is not a number`},
		{"0 10-5 * * * *", "minute", "the range 10-5 runs backwards"},
		{"0 1,,2 * * * *", "minute", "empty list item"},
		{"0 -5 * * * *", "minute", "a range needs a value on each side"},
		{"0 /5 * * * *", "minute", "no range before '/'"},
		{"0 * * * *  * *", "", "got 7 fields"},
		{"1 2 3", "", "got 3 fields"},
		{"", "", "got 0 fields"},
		{"every night", "", "got 2 fields"},
		{"25:00:00", "", "not a valid TimeSpan: hours must be 0 to 23"},
		{"00:00:00", "", "must be longer than zero"},
		{"-1", "", "got 1 field"},
	}
	for _, c := range cases {
		_, err := Parse(c.expr)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a *ParseError", c.expr, err)
			continue
		}
		if pe.Field != c.field || !strings.Contains(pe.Error(), c.msg) {
			t.Errorf("Parse(%q): field %q, %q; want field %q and %q", c.expr, pe.Field, pe.Error(), c.field, c.msg)
		}
		if c.field != "" && !strings.Contains(pe.Error(), c.field+" field") {
			t.Errorf("Parse(%q): %q does not name the field", c.expr, pe.Error())
		}
	}
}

func TestProperties(t *testing.T) {
	cases := []struct {
		expr                   string
		kind                   Kind
		interval, monitor, dst bool
		note                   bool
	}{
		{"0 */5 * * * *", Cron, true, true, true, false},
		{"0 30 1 * * *", Cron, false, true, true, false},
		{"0 0 1-2 * * *", Cron, true, true, true, false},
		{"30 1 * * *", Cron, false, true, true, true},
		{"* 1 * * *", Cron, true, true, true, true},
		{"* * * * *", Cron, true, true, true, true},
		{"*/10 * * * * *", Cron, true, false, true, false},
		{"5,10 * * * * *", Cron, true, false, true, false},
		{"5,10 7 8 * * *", Cron, false, true, true, false},
		{"0 * * * * *", Cron, true, true, true, false},
		{"*/10 5 * * * *", Cron, true, true, true, false},
		{"00:00:30", TimeSpan, true, false, false, false},
		{"00:01:00", TimeSpan, true, true, false, false},
	}
	for _, c := range cases {
		s := MustParse(c.expr)
		if s.Kind() != c.kind || s.Interval() != c.interval || s.MonitorByDefault() != c.monitor || s.AdjustForDST() != c.dst || (s.Note() != "") != c.note {
			t.Errorf("%q: kind %v interval %v monitor %v dst %v note %q; want %v %v %v %v %v", c.expr, s.Kind(), s.Interval(),
				s.MonitorByDefault(), s.AdjustForDST(), s.Note(), c.kind, c.interval, c.monitor, c.dst, c.note)
		}
	}
	if n := MustParse("*/5 * * * *").Note(); !strings.Contains(n, `"0 */5 * * * *"`) {
		t.Errorf("note %q does not show the six-field form", n)
	}
	if s := MustParse("  0  */5 * * * *  "); s.String() != "0 */5 * * * *" {
		t.Errorf("String = %q", s.String())
	}
}

func TestLoadZone(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "UTC",
		"UTC":                            "UTC",
		"Eastern Standard Time":          "America/New_York",
		"pacific standard time":          "America/Los_Angeles",
		"GMT Standard Time":              "Europe/London",
		"W. Europe Standard Time":        "Europe/Berlin",
		"Tokyo Standard Time":            "Asia/Tokyo",
		"India Standard Time":            "Asia/Kolkata",
		"AUS Eastern Standard Time":      "Australia/Sydney",
		"Romance Standard Time":          "Europe/Paris",
		"China Standard Time":            "Asia/Shanghai",
		"Europe/Berlin":                  "Europe/Berlin",
		"America/Argentina/Buenos_Aires": "America/Argentina/Buenos_Aires",
	} {
		loc, err := LoadZone(in)
		if err != nil || loc.String() != want {
			t.Errorf("LoadZone(%q) = %v, %v; want %s", in, loc, err, want)
		}
	}
	for _, bad := range []string{"Mars/Olympus", "Local", "Eastern Time", "../etc/passwd"} {
		if _, err := LoadZone(bad); err == nil || !strings.Contains(err.Error(), "IANA") {
			t.Errorf("LoadZone(%q) = %v, want an error", bad, err)
		}
	}
	// Every name in the table resolves.
	for win, iana := range windowsZones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%s → %s: %v", win, iana, err)
		}
	}
	if len(windowsZones) < 30 {
		t.Errorf("only %d Windows zones", len(windowsZones))
	}
}
