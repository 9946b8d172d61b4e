package appconfig

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Infinite is what ParseTimeSpan returns for "-1", which host.json's functionTimeout uses for "no limit".
const Infinite time.Duration = -1

// tick is the resolution of a .NET TimeSpan.
const tick = 100 * time.Nanosecond

// maxDays keeps a TimeSpan inside time.Duration's range (about 292 years).
const maxDays = 106751

// ParseTimeSpan parses a .NET TimeSpan as Azure Functions configuration writes it: "hh:mm:ss", "d.hh:mm:ss", either
// with an optional fraction of up to seven digits ("00:00:00.5"), the short form "hh:mm", or "-1" for Infinite.
// Hours run 0–23, minutes and seconds 0–59, as in .NET ("24:00:00" is an error; write "1.00:00:00").
//
// Deliberate differences from .NET's TimeSpan.Parse: a bare integer such as "300" (which .NET reads as 300 days)
// is rejected, because it is almost always a mistake for seconds or milliseconds; negative values other than "-1"
// are rejected, because no Functions setting accepts them; and the culture is always invariant.
func ParseTimeSpan(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "-1" {
		return Infinite, nil
	}
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("%q is not a valid TimeSpan: %s; write hh:mm:ss (e.g. \"00:05:00\"), d.hh:mm:ss or -1", s, why)
	}
	if t == "" {
		return bad("it is empty")
	}
	if t[0] == '-' {
		return bad("negative durations are not allowed")
	}
	colon := strings.IndexByte(t, ':')
	if colon < 0 {
		return bad("it has no ':'")
	}
	var days int64
	head := t[:colon] // "[d.]hh"
	if dot := strings.IndexByte(head, '.'); dot >= 0 {
		d, ok := digits(head[:dot], 1, 8)
		if !ok {
			return bad("the days part must be a number")
		}
		if d > maxDays {
			return bad(fmt.Sprintf("more than %d days", maxDays))
		}
		days, head = d, head[dot+1:]
	}
	rest := strings.Split(t[colon+1:], ":")
	if len(rest) > 2 {
		return bad("too many ':'")
	}
	h, ok := digits(head, 1, 2)
	if !ok || h > 23 {
		return bad("hours must be 0 to 23")
	}
	frac, hasFrac := "", false
	last := rest[len(rest)-1]
	if dot := strings.IndexByte(last, '.'); dot >= 0 {
		hasFrac = true
		if len(rest) == 1 {
			return bad("a fraction needs seconds (hh:mm:ss.fffffff)")
		}
		frac, rest[len(rest)-1] = last[dot+1:], last[:dot]
	}
	m, ok := digits(rest[0], 1, 2)
	if !ok || m > 59 {
		return bad("minutes must be 0 to 59")
	}
	var sec int64
	if len(rest) == 2 {
		sec, ok = digits(rest[1], 1, 2)
		if !ok || sec > 59 {
			return bad("seconds must be 0 to 59")
		}
	}
	var ticks int64
	if hasFrac {
		f, ok := digits(frac, 1, 7)
		if !ok {
			return bad("the fraction must be 1 to 7 digits")
		}
		for range 7 - len(frac) {
			f *= 10
		}
		ticks = f
	}
	total := days*86400 + h*3600 + m*60 + sec
	if total > math.MaxInt64/int64(time.Second) {
		return bad("too long (the maximum is about 292 years)")
	}
	d := time.Duration(total)*time.Second + time.Duration(ticks)*tick
	if d < 0 {
		return bad("too long (the maximum is about 292 years)")
	}
	return d, nil
}

// digits parses s as between lo and hi ASCII digits.
func digits(s string, lo, hi int) (int64, bool) {
	if len(s) < lo || len(s) > hi {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// FormatTimeSpan formats d the way .NET's invariant "c" format does ("[d.]hh:mm:ss[.fffffff]"), and Infinite as
// "-1". Durations are truncated to 100 ns ticks; negative durations other than Infinite are formatted with a sign.
func FormatTimeSpan(d time.Duration) string {
	if d == Infinite {
		return "-1"
	}
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	ticks := int64(d / tick)
	days := ticks / int64(24*time.Hour/tick)
	ticks -= days * int64(24*time.Hour/tick)
	h := ticks / int64(time.Hour/tick)
	ticks -= h * int64(time.Hour/tick)
	m := ticks / int64(time.Minute/tick)
	ticks -= m * int64(time.Minute/tick)
	s := ticks / int64(time.Second/tick)
	ticks -= s * int64(time.Second/tick)
	out := sign
	if days > 0 {
		out += strconv.FormatInt(days, 10) + "."
	}
	out += fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	if ticks > 0 {
		out += fmt.Sprintf(".%07d", ticks)
	}
	return out
}

// timeSpan reads a TimeSpan field. When allowInfinite is false, "-1" is rejected.
func (c *collector) timeSpan(path string, raw []byte, allowInfinite bool) (time.Duration, bool) {
	s, ok := c.str(path, raw)
	if !ok {
		return 0, false
	}
	d, err := ParseTimeSpan(s)
	if err != nil {
		c.add(path, "%s", err)
		return 0, false
	}
	if d == Infinite && !allowInfinite {
		c.add(path, "-1 (infinite) is not allowed here; write hh:mm:ss")
		return 0, false
	}
	return d, true
}
