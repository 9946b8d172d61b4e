package route

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Template is a compiled route template. It is immutable and safe for concurrent use.
type Template struct {
	text       string // as given to Parse
	segments   []segment
	params     []*Parameter
	precedence []byte // one digit per segment, see precedenceDigit
}

// Parameter describes one route parameter of a template.
type Parameter struct {
	Name        string
	Optional    bool     // {name?}
	CatchAll    bool     // {*name} or {**name}
	Default     string   // {name=value}
	HasDefault  bool     //
	Constraints []string // as written, e.g. ["int", "min(1)"]

	constraints []constraint
}

type segment struct {
	parts []part
}

type part struct {
	literal string     // when param == nil
	param   *Parameter //
}

func (s segment) simple() bool { return len(s.parts) == 1 }

// ParseError reports an invalid route template.
type ParseError struct {
	Template string
	Pos      int // 1-based column in Template where the problem starts
	Msg      string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("route template %q: column %d: %s", e.Template, e.Pos, e.Msg)
}

// MustParse is Parse that panics on error, for templates fixed in code.
func MustParse(template string) *Template {
	t, err := Parse(template)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template as given to Parse.
func (t *Template) String() string { return t.text }

// Params returns the template's parameters in order.
func (t *Template) Params() []Parameter {
	out := make([]Parameter, len(t.params))
	for i, p := range t.params {
		out[i] = *p
		out[i].Constraints = append([]string(nil), p.Constraints...)
		out[i].constraints = nil
	}
	return out
}

// Segments returns the number of '/'-separated segments of the template.
func (t *Template) Segments() int { return len(t.segments) }

// Parse compiles a route template as Azure Functions (ASP.NET Core routing) reads it. A leading "/" or "~/" and a
// trailing "/" are ignored; "" matches the root. Errors are *ParseError values naming the column.
func Parse(template string) (*Template, error) {
	p := &parser{text: template}
	t, err := p.parse()
	if err != nil {
		return nil, err
	}
	return t, nil
}

type parser struct {
	text string
	pos  int // byte offset in text
}

func (p *parser) fail(at int, format string, args ...any) error {
	col := utf8.RuneCountInString(p.text[:min(at, len(p.text))]) + 1
	return &ParseError{Template: p.text, Pos: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parse() (*Template, error) {
	t := &Template{text: p.text}
	s := p.text
	switch {
	case strings.HasPrefix(s, "~/"):
		p.pos = 2
	case strings.HasPrefix(s, "~"):
		return nil, p.fail(0, "a template cannot start with '~' unless '~/' follows")
	case strings.HasPrefix(s, "/"):
		p.pos = 1
	}
	seen := map[string]bool{}
	for p.pos < len(s) {
		start := p.pos
		if s[p.pos] == '/' {
			return nil, p.fail(p.pos, "the separator '/' cannot appear twice in a row; put a literal or a parameter between")
		}
		seg, err := p.parseSegment()
		if err != nil {
			return nil, err
		}
		if err := p.checkSegment(seg, start); err != nil {
			return nil, err
		}
		for _, pt := range seg.parts {
			if pt.param == nil {
				continue
			}
			key := strings.ToLower(pt.param.Name)
			if seen[key] {
				return nil, p.fail(start, "the parameter name %q appears more than once (names are case-insensitive)", pt.param.Name)
			}
			seen[key] = true
			t.params = append(t.params, pt.param)
		}
		if len(t.segments) > 0 {
			if last := t.segments[len(t.segments)-1]; last.simple() && last.parts[0].param != nil && last.parts[0].param.CatchAll {
				return nil, p.fail(start, "a catch-all parameter can only be the last segment of the template")
			}
		}
		t.segments = append(t.segments, seg)
		if p.pos < len(s) { // at a '/'
			p.pos++
		}
	}
	for i := range t.segments {
		t.precedence = append(t.precedence, precedenceDigit(t.segments[i]))
	}
	return t, nil
}

// parseSegment reads parts up to the next '/' outside a parameter or the end.
func (p *parser) parseSegment() (segment, error) {
	var seg segment
	s := p.text
	var lit strings.Builder
	litStart := p.pos
	flush := func() error {
		if lit.Len() == 0 {
			return nil
		}
		l := lit.String()
		if strings.IndexByte(l, '?') >= 0 {
			return p.fail(litStart, "the literal %q cannot contain '?'; '?' marks an optional parameter, as in {id?}", l)
		}
		seg.parts = append(seg.parts, part{literal: l})
		lit.Reset()
		return nil
	}
	for p.pos < len(s) && s[p.pos] != '/' {
		ch := s[p.pos]
		switch {
		case ch == '{' && p.pos+1 < len(s) && s[p.pos+1] == '{':
			if lit.Len() == 0 {
				litStart = p.pos
			}
			lit.WriteByte('{')
			p.pos += 2
		case ch == '}' && p.pos+1 < len(s) && s[p.pos+1] == '}':
			if lit.Len() == 0 {
				litStart = p.pos
			}
			lit.WriteByte('}')
			p.pos += 2
		case ch == '}':
			return seg, p.fail(p.pos, "'}' without a matching '{'; write '}}' for a literal '}'")
		case ch == '{':
			if err := flush(); err != nil {
				return seg, err
			}
			param, err := p.parseParameter()
			if err != nil {
				return seg, err
			}
			seg.parts = append(seg.parts, part{param: param})
			litStart = p.pos
		default:
			if lit.Len() == 0 {
				litStart = p.pos
			}
			lit.WriteByte(ch)
			p.pos++
		}
	}
	if err := flush(); err != nil {
		return seg, err
	}
	return seg, nil
}

// parseParameter reads "{...}" starting at p.pos (on the '{'), following ASP.NET's RoutePatternParser: inside a
// parameter "{{" and "}}" stand for literal braces (so a regex can hold them) and a single '}' ends it.
func (p *parser) parseParameter() (*Parameter, error) {
	s := p.text
	open := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.pos >= len(s) {
			return nil, p.fail(open, "the parameter starting here has no closing '}'")
		}
		ch := s[p.pos]
		if ch == '{' {
			if p.pos+1 < len(s) && s[p.pos+1] == '{' {
				b.WriteByte('{')
				p.pos += 2
				continue
			}
			return nil, p.fail(p.pos, "a '{' inside a parameter must be escaped as '{{'")
		}
		if ch == '}' {
			if p.pos+1 < len(s) && s[p.pos+1] == '}' {
				b.WriteByte('}')
				p.pos += 2
				continue
			}
			p.pos++
			break
		}
		b.WriteByte(ch)
		p.pos++
	}
	param, err := parseParameterText(b.String())
	if err != nil {
		return nil, p.fail(open, "%s", err)
	}
	return param, nil
}

// parseParameterText parses the inside of "{...}" the way ASP.NET's RouteParameterParser does.
func parseParameterText(text string) (*Parameter, error) {
	if text == "" {
		return nil, fmt.Errorf("empty parameter {}; a parameter needs a name")
	}
	prm := &Parameter{}
	start, end := 0, len(text)-1 // inclusive bounds
	switch {
	case strings.HasPrefix(text, "**"):
		prm.CatchAll, start = true, 2
	case text[0] == '*':
		prm.CatchAll, start = true, 1
	}
	if end >= start && text[end] == '?' {
		prm.Optional = true
		end--
	}
	// The name runs to the first ':' or '=' that is not its first character.
	i := start
	for ; i <= end; i++ {
		if (text[i] == ':' || text[i] == '=') && i != start {
			break
		}
	}
	if i > end {
		prm.Name = text[start : end+1]
	} else {
		prm.Name = text[start:i]
	}
	if prm.Name == "" || strings.ContainsAny(prm.Name, "/{}?*") {
		return nil, fmt.Errorf("the parameter name %q is invalid: it must be non-empty and cannot contain '/', '{', '}', '?' or '*'; "+
			"'?' may end a parameter to make it optional and '*' may start one to make it catch-all", prm.Name)
	}
	constraints, next := splitConstraints(text, i, end)
	if next <= end && text[next] == '=' {
		prm.Default, prm.HasDefault = text[next+1:end+1], true
	}
	for _, ct := range constraints {
		c, err := compileConstraint(ct)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %v", prm.Name, err)
		}
		prm.Constraints = append(prm.Constraints, ct)
		prm.constraints = append(prm.constraints, c)
	}
	switch {
	case prm.CatchAll && prm.Optional:
		return nil, fmt.Errorf("the catch-all parameter %q cannot be marked optional (a catch-all is optional already)", prm.Name)
	case prm.Optional && prm.HasDefault:
		return nil, fmt.Errorf("the optional parameter %q cannot have a default value", prm.Name)
	}
	return prm, nil
}

// splitConstraints is a port of RouteParameterParser.ParseConstraints: starting at text[i] (a ':' or '=' or past
// the end), it collects ":name" and ":name(args)" references. Inside parentheses a ')' ends the arguments only when
// it is followed by ':', '=' or the end, so a regex may hold ':' and ')'. It returns the references and the index
// of the '=' that starts the default value (or end+1).
func splitConstraints(text string, i, end int) ([]string, int) {
	const (
		stStart = iota
		stName
		stParen
		stEnd
	)
	var out []string
	state := stStart
	start := i
	at := func(k int) int {
		if k > end {
			return -1
		}
		return int(text[k])
	}
	for state != stEnd {
		ch := at(i)
		switch state {
		case stStart:
			switch ch {
			case -1:
				state = stEnd
			case ':':
				state, start = stName, i+1
			case '(':
				state = stParen
			case '=':
				state = stEnd
				i--
			}
		case stParen:
			switch ch {
			case -1:
				state = stEnd
				out = append(out, text[start:i])
			case ')':
				switch at(i + 1) {
				case -1:
					state = stEnd
					out = append(out, text[start:i+1])
				case ':':
					state = stStart
					out = append(out, text[start:i+1])
					start = i + 1
				case '=':
					state = stEnd
					out = append(out, text[start:i+1])
				}
			case ':', '=':
				closing := strings.IndexByte(text[i+1:end+1], ')')
				if closing < 0 {
					out = append(out, text[start:i])
					if ch == ':' {
						state, start = stName, i+1
					} else {
						state = stEnd
						i--
					}
				} else {
					i = i + 1 + closing - 1
				}
			}
		case stName:
			switch ch {
			case -1:
				state = stEnd
				if i > start {
					out = append(out, text[start:i])
				}
			case ':':
				if i > start {
					out = append(out, text[start:i])
				}
				start = i + 1
			case '(':
				state = stParen
			case '=':
				state = stEnd
				if i > start {
					out = append(out, text[start:i])
				}
				i--
			}
		}
		i++
	}
	return out, i
}

// checkSegment applies ASP.NET's rules for segments made of several parts ("complex segments").
func (p *parser) checkSegment(seg segment, start int) error {
	if len(seg.parts) < 2 {
		return nil
	}
	for i, pt := range seg.parts {
		if pt.param == nil {
			continue
		}
		if pt.param.CatchAll {
			return p.fail(start, "a segment with more than one part cannot hold the catch-all parameter %q; put it in its own segment", pt.param.Name)
		}
		if i > 0 && seg.parts[i-1].param != nil {
			return p.fail(start, "the parameters %q and %q are next to each other; separate them with '/' or a literal", seg.parts[i-1].param.Name, pt.param.Name)
		}
		if pt.param.Optional {
			if i != len(seg.parts)-1 {
				return p.fail(start, "the optional parameter %q must be at the end of its segment", pt.param.Name)
			}
			if prev := seg.parts[i-1]; prev.param == nil && prev.literal != "." {
				return p.fail(start, "the optional parameter %q is preceded by %q; only a period (.) can precede an optional parameter in a segment", pt.param.Name, prev.literal)
			}
		}
	}
	return nil
}

// precedenceDigit is ASP.NET's RoutePrecedence.ComputeInboundPrecedenceDigit: 1 literal, 2 constrained parameter
// or multi-part segment, 3 parameter, 4 constrained catch-all, 5 catch-all. Lower digits match first.
func precedenceDigit(s segment) byte {
	if len(s.parts) > 1 {
		return 2
	}
	pt := s.parts[0]
	if pt.param == nil {
		return 1
	}
	d := byte(3)
	if pt.param.CatchAll {
		d = 5
	}
	if len(pt.param.constraints) > 0 {
		d--
	}
	return d
}
