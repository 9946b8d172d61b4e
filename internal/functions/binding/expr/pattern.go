package expr

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Pattern is a blob trigger path pattern: a template whose expressions are names to capture.
type Pattern struct {
	t     *Template
	names []string // in order of appearance
	re    *regexp.Regexp
}

// ParsePattern parses a pattern. Its expressions must be plain names (no members, formats or built-ins), each
// used once (ignoring case); any problem is an *Error.
func ParsePattern(s string) (*Pattern, error) {
	if !utf8.ValidString(s) {
		return nil, &Error{Template: s, Msg: "a path pattern must be valid UTF-8"}
	}
	t, err := Parse(s)
	if err != nil {
		return nil, err
	}
	p := &Pattern{t: t}
	var re strings.Builder
	re.WriteString(`^(?s:`)
	seen := map[string]bool{}
	for _, part := range t.parts {
		if part.Expr == nil {
			re.WriteString(regexp.QuoteMeta(part.Literal))
			continue
		}
		e := part.Expr
		switch {
		case e.Builtin != NotBuiltin:
			return nil, &Error{Template: s, Expr: e.Raw, Msg: "a path pattern captures names from the blob's path; built-ins such as rand-guid and DateTime cannot be matched"}
		case len(e.Path) != 1:
			return nil, &Error{Template: s, Expr: e.Raw, Msg: "a path pattern captures plain names; it cannot use members (a '.')"}
		case e.HasFormat:
			return nil, &Error{Template: s, Expr: e.Raw, Msg: "a path pattern captures plain names; it cannot have a format"}
		}
		key := strings.ToLower(e.Path[0])
		if seen[key] {
			return nil, &Error{Template: s, Expr: e.Raw, Msg: fmt.Sprintf("the name %q appears more than once; each name can be captured once", e.Path[0])}
		}
		seen[key] = true
		re.WriteString("(.*)")
		p.names = append(p.names, e.Path[0])
	}
	re.WriteString(`)$`)
	p.re = regexp.MustCompile(re.String())
	return p, nil
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.t.src }

// Template returns the pattern as a template (to evaluate it with captured values).
func (p *Pattern) Template() *Template { return p.t }

// Names returns the names the pattern captures, in order.
func (p *Pattern) Names() []string { return append([]string(nil), p.names...) }

// Prefix returns the literal text before the first name: every path the pattern matches starts with it.
func (p *Pattern) Prefix() string {
	var b strings.Builder
	for _, part := range p.t.parts {
		if part.Expr != nil {
			break
		}
		b.WriteString(part.Literal)
	}
	return b.String()
}

// Match matches the whole of path and returns the captured values by name. Each name takes as much as it can
// while the rest still matches. A path that is not valid UTF-8 (no blob name is) matches nothing.
func (p *Pattern) Match(path string) (map[string]string, bool) {
	if !utf8.ValidString(path) {
		return nil, false
	}
	m := p.re.FindStringSubmatch(path)
	if m == nil {
		return nil, false
	}
	out := make(map[string]string, len(p.names))
	for i, n := range p.names {
		out[n] = m[i+1]
	}
	return out, true
}
