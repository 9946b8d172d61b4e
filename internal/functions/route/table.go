package route

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Outcome is the result of a Table lookup.
type Outcome int

const (
	// NotFound: no template matches the path (HTTP 404).
	NotFound Outcome = iota
	// MethodNotAllowed: some template matches the path, but none allows the method (HTTP 405; see Result.Allowed).
	MethodNotAllowed
	// Found: a route matches path and method.
	Found
)

func (o Outcome) String() string {
	switch o {
	case Found:
		return "Found"
	case MethodNotAllowed:
		return "MethodNotAllowed"
	}
	return "NotFound"
}

// Result is what Table.Lookup found.
type Result[V any] struct {
	Outcome  Outcome
	Value    V                 // the route's value when Found
	Template *Template         // the matching template when Found
	Params   map[string]string // route values when Found
	// Allowed lists, upper case and sorted, the methods that the templates matching the path allow, when the
	// outcome is MethodNotAllowed (for the Allow header).
	Allowed []string
}

// ConflictError reports a route added with the same template as an existing route and overlapping methods, which
// Azure rejects ("The route specified conflicts with the route defined by function ...").
type ConflictError struct {
	Template string
	Methods  []string // the overlapping methods; nil means all
}

func (e *ConflictError) Error() string {
	m := "all methods"
	if e.Methods != nil {
		m = strings.Join(e.Methods, ", ")
	}
	return fmt.Sprintf("route %q conflicts with a route already defined for the same template (%s)", e.Template, m)
}

// Table holds many routes and picks the best match for a request, ordering templates the way ASP.NET Core orders
// attribute routes: by inbound precedence, segment by segment (a literal before a constrained parameter or
// multi-part segment, before a plain parameter, before a constrained catch-all, before a catch-all; a template
// that runs out of segments first comes before a longer one with the same prefix), then by template text
// (case-insensitively), then in the order added. The first template in that order that matches the path and
// allows the method wins.
//
// Add is not safe for use concurrently with Lookup: build the table, then share it (or swap whole tables).
// Lookup is safe for concurrent use.
type Table[V any] struct {
	routes []*tableRoute[V]
	seq    int
}

type tableRoute[V any] struct {
	tmpl    *Template
	methods []string // upper case; nil = every method
	value   V
	seq     int
}

// Len returns the number of routes.
func (t *Table[V]) Len() int { return len(t.routes) }

// Add parses template and adds it with the methods it allows (any case; nil or empty allows every method) and
// its value.
func (t *Table[V]) Add(template string, methods []string, value V) error {
	tmpl, err := Parse(template)
	if err != nil {
		return err
	}
	return t.AddTemplate(tmpl, methods, value)
}

// AddTemplate adds a compiled template. It returns a *ConflictError when a route with the same template text
// (ignoring case and surrounding '/') already allows one of the methods.
func (t *Table[V]) AddTemplate(tmpl *Template, methods []string, value V) error {
	var ms []string
	for _, m := range methods {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m == "" || strings.ContainsAny(m, " \t/()<>@,;:\\\"[]?={}") {
			return fmt.Errorf("route %q: %q is not an HTTP method", tmpl.text, m)
		}
		if !slices.Contains(ms, m) {
			ms = append(ms, m)
		}
	}
	slices.Sort(ms)
	key := canonical(tmpl.text)
	for _, r := range t.routes {
		if !strings.EqualFold(canonical(r.tmpl.text), key) {
			continue
		}
		switch {
		case r.methods == nil || ms == nil:
			overlap := ms
			if ms == nil {
				overlap = r.methods
			}
			return &ConflictError{Template: tmpl.text, Methods: overlap}
		default:
			var overlap []string
			for _, m := range ms {
				if slices.Contains(r.methods, m) {
					overlap = append(overlap, m)
				}
			}
			if overlap != nil {
				return &ConflictError{Template: tmpl.text, Methods: overlap}
			}
		}
	}
	t.seq++
	nr := &tableRoute[V]{tmpl: tmpl, methods: ms, value: value, seq: t.seq}
	i, _ := slices.BinarySearchFunc(t.routes, nr, compareRoutes[V])
	t.routes = slices.Insert(t.routes, i, nr)
	return nil
}

func canonical(s string) string {
	s = strings.TrimPrefix(s, "~")
	return strings.Trim(s, "/")
}

func compareRoutes[V any](a, b *tableRoute[V]) int {
	if c := comparePrecedence(a.tmpl.precedence, b.tmpl.precedence); c != 0 {
		return c
	}
	if c := strings.Compare(strings.ToLower(a.tmpl.text), strings.ToLower(b.tmpl.text)); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// comparePrecedence compares ASP.NET's decimal precedences d₀.d₁d₂… digit by digit; a missing digit is 0.
func comparePrecedence(a, b []byte) int {
	for i := range max(len(a), len(b)) {
		var x, y byte
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return 0
}

// Lookup finds the route for method and path (see Template.Match for the form of path).
func (t *Table[V]) Lookup(method, path string) Result[V] {
	method = strings.ToUpper(method)
	var allowed []string
	any405 := false
	for _, r := range t.routes {
		values := map[string]string{}
		if !r.tmpl.match(path, values) {
			continue
		}
		if r.methods == nil || slices.Contains(r.methods, method) {
			return Result[V]{Outcome: Found, Value: r.value, Template: r.tmpl, Params: values}
		}
		any405 = true
		for _, m := range r.methods {
			if !slices.Contains(allowed, m) {
				allowed = append(allowed, m)
			}
		}
	}
	if any405 {
		slices.Sort(allowed)
		return Result[V]{Outcome: MethodNotAllowed, Allowed: allowed}
	}
	return Result[V]{Outcome: NotFound}
}
