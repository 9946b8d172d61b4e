package expr

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var seeds = []string{
	"", "images/{name}", "output/{rand-guid}.txt", "{DateTime}", "{sys.UtcNow}", "{sys.RandGuid}",
	"archive/{orderId}/{customer.id}.json", "{queueTrigger}", "{data.url}", "input/{name}.{ext}",
	"{{", "}}", "{{{a}}}", "{", "}", "{a{b}}", "{a:}", "{DateTime:yyyy-MM-dd'T'HH}", "{rand-guid:N}",
	"{a.b.0}", "{é.ü}", "{_x}", "{1}", "a}}b{{c", "{x:{}", "{DateTime:%d\\y\"q\"}",
}

// FuzzParse checks that Parse never panics, that a parsed template round-trips (String, and rebuilding it from
// its parts), that Escape gives a literal template, and that Evaluate never panics.
func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := Parse(s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse(%q) error %T is not *Error", s, err)
			}
			_ = err.Error()
		} else {
			if tmpl.String() != s {
				t.Fatalf("String() = %q, want %q", tmpl.String(), s)
			}
			// Rebuild the source from the parts: it must parse to the same parts.
			var b strings.Builder
			for _, p := range tmpl.Parts() {
				if p.Expr != nil {
					b.WriteString("{" + p.Expr.Raw + "}")
				} else {
					if p.Literal == "" {
						t.Fatalf("Parse(%q) gave an empty literal part", s)
					}
					b.WriteString(Escape(p.Literal))
				}
			}
			again, err := Parse(b.String())
			if err != nil {
				t.Fatalf("Parse(%q) ok, but its rebuilt form %q fails: %v", s, b.String(), err)
			}
			if !reflect.DeepEqual(again.Parts(), tmpl.Parts()) {
				t.Fatalf("Parse(%q) parts differ from those of its rebuilt form %q", s, b.String())
			}
			c := &Context{
				Metadata: map[string]json.RawMessage{"name": json.RawMessage(`"x"`), "n": json.RawMessage(`12`),
					"o": json.RawMessage(`{"a":{"b":[1,"two",null]}}`)},
				Value: json.RawMessage(`"{\"orderId\":1}"`),
				Now:   func() time.Time { return time.Unix(1e9, 5) },
			}
			if _, err := tmpl.Evaluate(c); err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("Evaluate error %T is not *Error", err)
				}
				_ = err.Error()
			}
		}
		lit, err := Parse(Escape(s))
		if err != nil {
			t.Fatalf("Parse(Escape(%q)): %v", s, err)
		}
		if got, ok := lit.Literal(); !ok || got != s {
			t.Fatalf("Parse(Escape(%q)).Literal() = %q, %v", s, got, ok)
		}
	})
}

// FuzzMatch checks that ParsePattern and Match never panic, and that a pattern filled in with any values gives a
// path that it matches, with captured values that give the same path back.
func FuzzMatch(f *testing.F) {
	f.Add("images/{name}", "images/a.png", "photo.png")
	f.Add("input/{name}.{ext}", "input/a.b.c", "a.b|c")
	f.Add("input/{a}{b}/{c}", "input/xy/z", "|x/y|.")
	f.Add("{{x}}/{n}", "{x}/1", "")
	f.Add("fixed.txt", "fixed.txt", "")
	f.Add("c/{a}-{b}-{c}", "c/1-2-3", "-|--|-")
	f.Fuzz(func(t *testing.T, pattern, path, vals string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			return
		}
		if m, ok := p.Match(path); ok {
			if len(m) != len(p.Names()) {
				t.Fatalf("Match(%q) on %q gave %v for names %v", path, pattern, m, p.Names())
			}
			if got := fill(t, p, m); got != path {
				t.Fatalf("pattern %q matched %q with %v, which fills in to %q", pattern, path, m, got)
			}
		}
		if !utf8.ValidString(vals) {
			return
		}
		parts := strings.Split(vals, "|")
		values := map[string]string{}
		for i, n := range p.Names() {
			if i < len(parts) {
				values[n] = parts[i]
			}
		}
		filled := fill(t, p, values)
		m, ok := p.Match(filled)
		if !ok {
			t.Fatalf("pattern %q does not match %q, filled in with %v", pattern, filled, values)
		}
		if again := fill(t, p, m); again != filled {
			t.Fatalf("pattern %q matched %q with %v, which fills in to %q", pattern, filled, m, again)
		}
	})
}

func fill(t *testing.T, p *Pattern, values map[string]string) string {
	t.Helper()
	meta := map[string]json.RawMessage{}
	for _, n := range p.Names() {
		raw, _ := json.Marshal(values[n])
		meta[n] = raw
	}
	s, err := p.Template().Evaluate(&Context{Metadata: meta})
	if err != nil {
		t.Fatalf("pattern %q with %v: %v", p, values, err)
	}
	return s
}
