package filter

import (
	"strings"
	"unicode/utf8"
)

// Match reports whether ev passes the filter: its event type is included, its
// subject begins and ends as required, and every advanced filter holds. A nil
// Filter matches every event; a nil Event matches nothing. A filter entry
// that fails validation never matches. Match does not allocate when the
// Filter was prepared (Parse, json.Unmarshal or Prepare).
func (f *Filter) Match(ev *Event) bool {
	if ev == nil {
		return false
	}
	if f == nil {
		return true
	}
	c := f.prepared
	if c == nil {
		c = compile(f)
	}
	return c.match(ev)
}

// Simple reports whether the filter has no advanced filters, so that
// whether an event passes depends only on its type and subject, and
// MatchEnvelope can decide without decoding the event.
func (f *Filter) Simple() bool { return f == nil || len(f.AdvancedFilters) == 0 }

// MatchEnvelope is Match for an event known only by its type and subject;
// it is right for Simple filters only (advanced filters never hold here).
func (f *Filter) MatchEnvelope(eventType, subject string) bool {
	if f == nil {
		return true
	}
	c := f.prepared
	if c == nil {
		c = compile(f)
	}
	return c.match(&Event{hasType: true, eventType: eventType, subject: subject})
}

func (c *compiled) match(ev *Event) bool {
	if len(c.types) > 0 {
		if !ev.hasType {
			return false
		}
		ok := false
		for _, t := range c.types {
			if strings.EqualFold(t, ev.eventType) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if c.begins != "" {
		if c.caseSensitive {
			if !strings.HasPrefix(ev.subject, c.begins) {
				return false
			}
		} else if !hasPrefixFold(ev.subject, c.begins) {
			return false
		}
	}
	if c.ends != "" {
		if c.caseSensitive {
			if !strings.HasSuffix(ev.subject, c.ends) {
				return false
			}
		} else if !hasSuffixFold(ev.subject, c.ends) {
			return false
		}
	}
	for i := range c.conds {
		if !c.conds[i].eval(ev, c.arrays) {
			return false
		}
	}
	return true
}

func (cd *cond) eval(ev *Event, arrays bool) bool {
	if cd.op == opInvalid {
		return false
	}
	v := ev.lookup(cd.path)
	if v == nil || v.kind == kNull {
		// Azure: a missing key matches only NumberNotIn and StringNotIn (and
		// IsNullOrUndefined). JSON null is treated as missing.
		switch cd.op {
		case opIsNullOrUndefined, opNumberNotIn, opStringNotIn:
			return true
		}
		return false
	}
	switch cd.op {
	case opIsNullOrUndefined:
		return false
	case opIsNotNull:
		return true
	}
	if v.kind == kArray {
		if !arrays {
			return false
		}
		neg := cd.op.negative()
		seen := false
		for i := range v.kids {
			r, ok := cd.test(&v.kids[i].val)
			if !ok {
				continue // elements of another type are ignored
			}
			seen = true
			if neg && !r {
				return false
			}
			if !neg && r {
				return true
			}
		}
		return neg && seen
	}
	r, ok := cd.test(v)
	return ok && r
}

// test applies the operator to one scalar. ok is false when the value's type
// does not fit the operator. For negative operators r is the negated result
// (true: this value does not violate the filter).
func (cd *cond) test(v *value) (r, ok bool) {
	switch {
	case cd.op.isNumber():
		if v.kind != kNumber {
			return false, false
		}
		n := v.num
		switch cd.op {
		case opNumberIn, opNumberNotIn:
			in := false
			for _, x := range cd.nums {
				if n == x {
					in = true
					break
				}
			}
			return in == (cd.op == opNumberIn), true
		case opNumberInRange, opNumberNotInRange:
			in := false
			for _, rg := range cd.ranges {
				if n >= rg[0] && n <= rg[1] {
					in = true
					break
				}
			}
			return in == (cd.op == opNumberInRange), true
		case opNumberLessThan:
			return n < cd.num, true
		case opNumberGreaterThan:
			return n > cd.num, true
		case opNumberLessThanOrEquals:
			return n <= cd.num, true
		case opNumberGreaterThanOrEquals:
			return n >= cd.num, true
		}
	case cd.op == opBoolEquals:
		if v.kind != kBool {
			return false, false
		}
		return v.b == cd.b, true
	case cd.op.isString():
		if v.kind != kString && !v.attr {
			return false, false
		}
		s := v.str
		hit := false
		for _, x := range cd.strs {
			switch cd.op {
			case opStringContains, opStringNotContains:
				hit = containsFold(s, x)
			case opStringBeginsWith, opStringNotBeginsWith:
				hit = hasPrefixFold(s, x)
			case opStringEndsWith, opStringNotEndsWith:
				hit = hasSuffixFold(s, x)
			case opStringIn, opStringNotIn:
				hit = strings.EqualFold(s, x)
			}
			if hit {
				break
			}
		}
		return hit != cd.op.negative(), true
	}
	return false, false
}

// Case-insensitive (Unicode simple folding) prefix, suffix and substring
// tests that do not allocate. They compare byte windows of the same length,
// which is exact for ASCII and for letters whose cases have equal UTF-8
// lengths (nearly all of them).
func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

func hasSuffixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[len(s)-len(p):], p)
}

func containsFold(s, p string) bool {
	if p == "" {
		return true
	}
	for i := 0; i+len(p) <= len(s); i++ {
		if !utf8.RuneStart(s[i]) {
			continue
		}
		if strings.EqualFold(s[i:i+len(p)], p) {
			return true
		}
	}
	return false
}
