package route

import (
	"strings"
	"unicode/utf8"
)

// Match matches path against the template and returns the route values. path is the request path as it travels
// on the wire, percent-encoded (in Go, r.URL.EscapedPath()), without the query string, relative to where the
// template applies (for Azure Functions: after the route prefix); a leading '/' is ignored, and so is a trailing
// '/' unless a catch-all takes it.
//
// Values are percent-decoded as ASP.NET Core sees them: Kestrel decodes the path before routing except "%2F",
// which stays encoded so it cannot split a segment; invalid escapes and escapes that do not form UTF-8 are kept as
// written. Literal segments match case-insensitively. The map holds every parameter that has a value (matched, or
// its default); an optional parameter with no value is absent. ok is false when the path does not match.
func (t *Template) Match(path string) (params map[string]string, ok bool) {
	values := map[string]string{}
	if !t.match(path, values) {
		return nil, false
	}
	return values, true
}

func (t *Template) match(path string, values map[string]string) bool {
	path = strings.TrimPrefix(path, "/")
	rest := path // the undecoded remainder, for a catch-all
	trimmed := strings.TrimSuffix(path, "/")
	var segs []string
	if trimmed != "" {
		segs = strings.Split(trimmed, "/")
	}
	offset := 0
	for i, ts := range t.segments {
		if ts.simple() && ts.parts[0].param != nil && ts.parts[0].param.CatchAll {
			prm := ts.parts[0].param
			captured := ""
			if offset < len(rest) {
				captured = rest[offset:]
			}
			if captured != "" {
				values[prm.Name] = decodePath(captured)
			} else if prm.HasDefault {
				values[prm.Name] = prm.Default
			}
			return t.checkConstraints(values)
		}
		if i >= len(segs) || segs[i] == "" {
			// No value for this segment: only a parameter that is optional or has a default can go without.
			if !ts.simple() || ts.parts[0].param == nil {
				return false
			}
			prm := ts.parts[0].param
			switch {
			case prm.HasDefault:
				values[prm.Name] = prm.Default
			case prm.Optional:
			default:
				return false
			}
		} else {
			seg := decodePath(segs[i])
			if ts.simple() {
				pt := ts.parts[0]
				if pt.param == nil {
					if !strings.EqualFold(seg, pt.literal) {
						return false
					}
				} else {
					values[pt.param.Name] = seg
				}
			} else if !matchComplex(ts.parts, seg, values) {
				return false
			}
		}
		if i < len(segs) {
			offset += len(segs[i]) + 1
		}
	}
	if len(segs) > len(t.segments) {
		return false
	}
	return t.checkConstraints(values)
}

// checkConstraints applies every parameter's constraints to its value, as ASP.NET's RouteConstraintMatcher does
// after defaults are filled in. An optional parameter with no value passes; any other parameter with constraints
// and no value fails.
func (t *Template) checkConstraints(values map[string]string) bool {
	for _, prm := range t.params {
		if len(prm.constraints) == 0 {
			continue
		}
		v, ok := values[prm.Name]
		if !ok {
			if prm.Optional {
				continue
			}
			return false
		}
		for _, c := range prm.constraints {
			if !c.match(v) {
				return false
			}
		}
	}
	return true
}

// matchComplex matches a segment made of several parts, as ASP.NET's MatchComplexSegment: when the last part is
// an optional parameter after a '.', it first tries with it and then without it (unless the segment ends in '.').
func matchComplex(parts []part, seg string, values map[string]string) bool {
	last := len(parts) - 1
	if parts[last].param != nil && parts[last].param.Optional && parts[last-1].param == nil && parts[last-1].literal == "." {
		if matchComplexCore(parts, seg, values) {
			return true
		}
		if strings.HasSuffix(seg, ".") {
			return false
		}
		return matchComplexCore(parts[:last-1], seg, values)
	}
	return matchComplexCore(parts, seg, values)
}

// matchComplexCore matches right to left: each literal is found at its last occurrence left of what is already
// matched, and a parameter takes the text between two literals, which must not be empty. A literal that is the
// last part must end the segment.
func matchComplexCore(parts []part, seg string, values map[string]string) bool {
	got := map[string]string{}
	end := len(seg)
	var pending *Parameter
	for i := len(parts) - 1; i >= 0; i-- {
		pt := parts[i]
		if pt.param != nil {
			pending = pt.param
			continue
		}
		idx := lastIndexFold(seg[:end], pt.literal)
		if idx < 0 {
			return false
		}
		if i == len(parts)-1 && idx+len(pt.literal) != len(seg) {
			return false
		}
		if pending != nil {
			v := seg[idx+len(pt.literal) : end]
			if v == "" {
				return false
			}
			got[pending.Name] = v
			pending = nil
		}
		end = idx
	}
	if pending != nil {
		if end == 0 {
			return false
		}
		got[pending.Name] = seg[:end]
	} else if end != 0 {
		return false
	}
	for k, v := range got {
		values[k] = v
	}
	return true
}

// lastIndexFold is strings.LastIndex with ASCII/Unicode simple case folding over equal byte lengths.
func lastIndexFold(s, sub string) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// decodePath percent-decodes s as Kestrel decodes a request path: every %XX except %2F (and %2f), keeping a run
// of escapes as written when its bytes are not valid UTF-8, and keeping malformed escapes.
func decodePath(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] != '%' {
			b.WriteByte(s[i])
			i++
			continue
		}
		// Collect a run of decodable escapes.
		j := i
		var run []byte
		for j+2 < len(s) && s[j] == '%' && isHex(s[j+1]) && isHex(s[j+2]) {
			v := unhex(s[j+1])<<4 | unhex(s[j+2])
			if v == '/' {
				break
			}
			run = append(run, v)
			j += 3
		}
		switch {
		case j == i: // not a decodable escape
			b.WriteByte('%')
			i++
		case utf8.Valid(run):
			b.Write(run)
			i = j
		default:
			b.WriteString(s[i:j])
			i = j
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
