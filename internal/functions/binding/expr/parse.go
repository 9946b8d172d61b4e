package expr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Builtin names a built-in expression.
type Builtin int

const (
	// NotBuiltin is a path into the binding data.
	NotBuiltin Builtin = iota
	// RandGUID is {rand-guid}: a new GUID for each evaluation.
	RandGUID
	// DateTime is {DateTime}: the current UTC time.
	DateTime
)

// Template is a parsed binding expression template: literal text and expressions.
type Template struct {
	src   string
	parts []Part
}

// Part is a piece of a template: literal text, or an expression when Expr is set.
type Part struct {
	Literal string
	Expr    *Expr
}

// Expr is one "{...}" of a template.
type Expr struct {
	// Raw is the text between the braces as written, e.g. "customer.id" or "DateTime:yyyy".
	Raw string
	// Path is the dotted names, e.g. ["customer", "id"]; for a built-in, its one name as written.
	Path []string
	// Format is what follows the first ':' (HasFormat tells an absent format from none).
	Format    string
	HasFormat bool
	// Builtin is set for {rand-guid} and {DateTime}. Such a name still resolves to binding data of the same name
	// first.
	Builtin Builtin
}

// Name returns the dotted path, e.g. "customer.id".
func (e *Expr) Name() string { return strings.Join(e.Path, ".") }

// Error is a parse or evaluation error of a template.
type Error struct {
	Template string // the template as written
	Expr     string // the expression, without braces; "" for errors about the template as a whole
	Pos      int    // 1-based byte position of the problem in Template, 0 if none
	Msg      string
	// Available lists the names an unknown name could have been (evaluation errors only).
	Available []string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Expr != "" {
		fmt.Fprintf(&b, "binding expression {%s} in %q: %s", e.Expr, e.Template, e.Msg)
	} else {
		fmt.Fprintf(&b, "binding expression %q: %s", e.Template, e.Msg)
	}
	if e.Pos > 0 {
		fmt.Fprintf(&b, " (at position %d)", e.Pos)
	}
	if len(e.Available) > 0 {
		b.WriteString("; available: ")
		b.WriteString(strings.Join(e.Available, ", "))
	}
	return b.String()
}

// Parse parses a template. It never panics; every problem is an *Error.
func Parse(s string) (*Template, error) {
	t := &Template{src: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, Part{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i += 2
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i += 2
		case c == '}':
			return nil, &Error{Template: s, Pos: i + 1, Msg: "'}' has no opening '{' (write \"}}\" for a literal brace)"}
		case c == '{':
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] == '{' {
				return nil, &Error{Template: s, Pos: i + 1, Msg: "'{' has no closing '}' (write \"{{\" for a literal brace)"}
			}
			raw := s[i+1 : i+1+end]
			e, err := parseExpr(raw)
			if err != nil {
				err.Template, err.Pos = s, i+1
				return nil, err
			}
			flush()
			t.parts = append(t.parts, Part{Expr: e})
			i += end + 2
		default:
			j := i + 1
			for j < len(s) && s[j] != '{' && s[j] != '}' {
				j++
			}
			lit.WriteString(s[i:j])
			i = j
		}
	}
	flush()
	return t, nil
}

// MustParse is Parse for templates known to be valid; it panics on an error.
func MustParse(s string) *Template {
	t, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return t
}

func parseExpr(raw string) (*Expr, *Error) {
	e := &Expr{Raw: raw}
	name := raw
	if k := strings.IndexByte(raw, ':'); k >= 0 {
		name, e.Format, e.HasFormat = raw[:k], raw[k+1:], true
		if e.Format == "" {
			return nil, &Error{Expr: raw, Msg: "the format after ':' is empty"}
		}
	}
	switch {
	case name == "":
		return nil, &Error{Expr: raw, Msg: "the expression is empty; write a name such as {name}"}
	case strings.EqualFold(name, "rand-guid"):
		e.Builtin, e.Path = RandGUID, []string{name}
		return e, nil
	case strings.EqualFold(name, "datetime"):
		e.Builtin, e.Path = DateTime, []string{name}
		return e, nil
	}
	e.Path = strings.Split(name, ".")
	for i, p := range e.Path {
		if p == "" {
			return nil, &Error{Expr: raw, Msg: fmt.Sprintf("%q has an empty name between dots", name)}
		}
		if i == 0 && !validName(p) {
			return nil, &Error{Expr: raw, Msg: fmt.Sprintf("%q is not a valid name; a name starts with a letter or '_' and goes on with letters, digits and '_' (built-ins: rand-guid, DateTime)", p)}
		}
		if i > 0 && !validMember(p) {
			return nil, &Error{Expr: raw, Msg: fmt.Sprintf("%q is not a valid member name; use letters, digits, '_' and '-'", p)}
		}
	}
	return e, nil
}

func validName(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			return false
		}
		if i == 0 {
			if r != '_' && !unicode.IsLetter(r) && !unicode.Is(unicode.Nl, r) {
				return false
			}
			continue
		}
		if !identPart(r) {
			return false
		}
	}
	return s != ""
}

func validMember(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (r != '-' && !identPart(r)) {
			return false
		}
	}
	return s != ""
}

// identPart is a C# identifier-part character: letters, decimal digits, connecting, combining and formatting
// characters.
func identPart(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.In(r, unicode.Nl, unicode.Nd, unicode.Pc, unicode.Mn, unicode.Mc, unicode.Cf)
}

// String returns the template as written; Parse(t.String()) gives an equal template.
func (t *Template) String() string { return t.src }

// Parts returns the template's parts: literal text (with "{{" and "}}" already unescaped) and expressions.
func (t *Template) Parts() []Part { return t.parts }

// IsLiteral reports whether the template has no expressions.
func (t *Template) IsLiteral() bool {
	for _, p := range t.parts {
		if p.Expr != nil {
			return false
		}
	}
	return true
}

// Literal returns the template's text when it has no expressions.
func (t *Template) Literal() (string, bool) {
	if !t.IsLiteral() {
		return "", false
	}
	var b strings.Builder
	for _, p := range t.parts {
		b.WriteString(p.Literal)
	}
	return b.String(), true
}

// Exprs returns the template's expressions in order.
func (t *Template) Exprs() []*Expr {
	var out []*Expr
	for _, p := range t.parts {
		if p.Expr != nil {
			out = append(out, p.Expr)
		}
	}
	return out
}

// Escape returns s as a literal template: its braces doubled.
func Escape(s string) string {
	return strings.NewReplacer("{", "{{", "}", "}}").Replace(s)
}
