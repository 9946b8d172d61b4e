package route

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	type m = map[string]string
	tests := []struct {
		tmpl, path string
		want       map[string]string // nil: no match
	}{
		// Literals.
		{"products", "/products", m{}},
		{"products", "products", m{}},
		{"products", "/PRODUCTS", m{}},
		{"products", "/products/", m{}},
		{"products", "/product", nil},
		{"products", "/products/1", nil},
		{"", "/", m{}},
		{"", "", m{}},
		{"", "/x", nil},
		{"/products/list", "/Products/List", m{}},
		{"~/products", "/products", m{}},
		{"products/", "/products", m{}},
		{"caf%C3%A9", "/caf%C3%A9", nil}, // template literals are not decoded; the path is
		{"café", "/caf%C3%A9", m{}},
		{"a{{b}}", "/a{b}", m{}},

		// Parameters.
		{"products/{id}", "/products/42", m{"id": "42"}},
		{"products/{id}", "/products", nil},
		{"products/{id}", "/products/", nil},
		{"products/{id}", "/products//", nil},
		{"{a}/{b}", "/x/y", m{"a": "x", "b": "y"}},
		{"{a}/{b}", "/x/y/z", nil},
		{"items/{name}", "/items/hello%20world", m{"name": "hello world"}},
		{"items/{name}", "/items/a%2Fb", m{"name": "a%2Fb"}},
		{"items/{name}", "/items/a%2fb", m{"name": "a%2fb"}},
		{"items/{name}", "/items/100%25", m{"name": "100%"}},
		{"items/{name}", "/items/%E2%82%AC", m{"name": "€"}},
		{"items/{name}", "/items/%FF%FE", m{"name": "%FF%FE"}},
		{"items/{name}", "/items/%zz%4", m{"name": "%zz%4"}},
		{"items/{name}", "/items/a+b", m{"name": "a+b"}},

		// Optional parameters.
		{"products/{id?}", "/products", m{}},
		{"products/{id?}", "/products/", m{}},
		{"products/{id?}", "/products/7", m{"id": "7"}},
		{"products/{category}/{id?}", "/products/books", m{"category": "books"}},
		{"a/{b?}/c", "/a/x/c", m{"b": "x"}},
		{"a/{b?}/c", "/a/c", nil},
		{"a/{b?}/{c?}", "/a", m{}},

		// Defaults.
		{"products/{id=5}", "/products", m{"id": "5"}},
		{"products/{id=5}", "/products/9", m{"id": "9"}},
		{"products/{page:int=1}", "/products", m{"page": "1"}},
		{"products/{page:int=x}", "/products", nil}, // the default is checked against the constraint
		{"products/{v=a=b}", "/products", m{"v": "a=b"}},

		// Catch-alls.
		{"{*path}", "/", m{}},
		{"{*path}", "/a/b/c", m{"path": "a/b/c"}},
		{"{**path}", "/a/b/c", m{"path": "a/b/c"}},
		{"files/{*path}", "/files", m{}},
		{"files/{*path}", "/files/", m{}},
		{"files/{*path}", "/files/a/b.txt", m{"path": "a/b.txt"}},
		{"files/{*path}", "/files/a/b/", m{"path": "a/b/"}},
		{"files/{*path}", "/files/a%20b/c%2Fd", m{"path": "a b/c%2Fd"}},
		{"files/{*path}", "/other/a", nil},
		{"files/{*path=index.html}", "/files", m{"path": "index.html"}},
		{"files/{*path:int}", "/files", nil},
		{"files/{*path:int}", "/files/12", m{"path": "12"}},
		{"files/{*path:regex(\\.txt$)}", "/files/a/b.txt", m{"path": "a/b.txt"}},
		{"files/{*path:file}", "/files/dir/a.txt", m{"path": "dir/a.txt"}},
		{"files/{*path:file}", "/files/dir.x/a", nil},
		{"files/{*path:nonfile}", "/files/dir.x/a", m{"path": "dir.x/a"}},
		{"x/{v:regex(^a/b$)}", "/x/a%2Fb", nil}, // the value is "a%2Fb"
		{"x/{v:regex(^a%2Fb$)}", "/x/a%2Fb", m{"v": "a%2Fb"}},

		// Complex segments.
		{"{name}.{ext}", "/report.pdf", m{"name": "report", "ext": "pdf"}},
		{"{name}.{ext}", "/a.b.c", m{"name": "a.b", "ext": "c"}},
		{"{name}.{ext}", "/abc", nil},
		{"{name}.{ext}", "/abc.", nil},
		{"{name}.{ext}", "/.abc", nil},
		{"{name}.{ext?}", "/abc", m{"name": "abc"}},
		{"{name}.{ext?}", "/abc.txt", m{"name": "abc", "ext": "txt"}},
		{"{name}.{ext?}", "/abc.", nil},
		{"files/{name}.{ext?}", "/files/abc", m{"name": "abc"}},
		{"img-{id}", "/IMG-7", m{"id": "7"}},
		{"img-{id}", "/img-", nil},
		{"img-{id}", "/x-img-7", nil},
		{"{id}-img", "/7-img", m{"id": "7"}},
		{"{id}-img", "/7-img-x", nil},
		{"{a}-{b}-{c}", "/1-2-3-4", m{"a": "1-2", "b": "3", "c": "4"}},
		{"v{major}.{minor}", "/v1.2", m{"major": "1", "minor": "2"}},
		{"{a:int}x{b}", "/12x34", m{"a": "12", "b": "34"}},
		{"{a:int}x{b}", "/ax34", nil},

		// The example.
		{"products/{category:alpha}/{id:int?}", "/products/books", m{"category": "books"}},
		{"products/{category:alpha}/{id:int?}", "/products/Books/12", m{"category": "Books", "id": "12"}},
		{"products/{category:alpha}/{id:int?}", "/products/books/x", nil},
		{"products/{category:alpha}/{id:int?}", "/products/b00ks/1", nil},
	}
	for _, tc := range tests {
		tmpl, err := Parse(tc.tmpl)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.tmpl, err)
			continue
		}
		got, ok := tmpl.Match(tc.path)
		if tc.want == nil {
			if ok {
				t.Errorf("%q.Match(%q) = %v, want no match", tc.tmpl, tc.path, got)
			}
			continue
		}
		if !ok || !maps.Equal(got, tc.want) {
			t.Errorf("%q.Match(%q) = %v, %v; want %v", tc.tmpl, tc.path, got, ok, tc.want)
		}
	}
}

func TestConstraints(t *testing.T) {
	tests := []struct {
		constraint string
		yes, no    []string
	}{
		{"int", []string{"0", "42", "-7", "+7", " 12 ", "2147483647", "-2147483648", "007"},
			[]string{"x", "1.5", "2147483648", "-2147483649", "1e3", "", "--1", "1 2", "0x10", "１"}},
		{"long", []string{"9223372036854775807", "-9223372036854775808", "3"},
			[]string{"9223372036854775808", "a", "1.0"}},
		{"bool", []string{"true", "FALSE", "True", " true "}, []string{"yes", "1", "0", "t"}},
		{"alpha", []string{"abc", "ABC", "aBc"}, []string{"ab1", "a-b", "é", "a b"}},
		{"decimal", []string{"1", "1.5", "-1.5", "1.5-", ".5", "5.", "1,000.25", "79228162514264337593543950335"},
			[]string{"1e5", "abc", "1.2.3", "79228162514264337593543950336", ",5", "-1.5-", "."}},
		{"double", []string{"1", "1.5", "-1.5e10", "1E-3", "NaN", "infinity", "-Infinity", "1e400", "1,000.5", " 2 "},
			[]string{"abc", "1.5-", "1e", "e5", "0x1p3", "1..2"}},
		{"float", []string{"3.14", "1e39", "-0"}, []string{"pi", ""}},
		{"guid", []string{
			"d3b07384-d9a0-4c9b-8f3e-1a2b3c4d5e6f", "D3B07384D9A04C9B8F3E1A2B3C4D5E6F",
			"{d3b07384-d9a0-4c9b-8f3e-1a2b3c4d5e6f}", "(d3b07384-d9a0-4c9b-8f3e-1a2b3c4d5e6f)",
			"{0xd3b07384,0xd9a0,0x4c9b,{0x8f,0x3e,0x1a,0x2b,0x3c,0x4d,0x5e,0x6f}}"},
			[]string{"d3b07384-d9a0-4c9b-8f3e-1a2b3c4d5e6", "g3b07384-d9a0-4c9b-8f3e-1a2b3c4d5e6f", "{d3b07384-d9a0-4c9b-8f3e-1a2b3c4d5e6f)", "123"}},
		{"datetime", []string{"2024-01-15", "2024-01-15T10:30:00", "2024-01-15T10:30:00Z", "2024-01-15T10:30:00.123+02:00",
			"2024-01-15 10:30", "Jan 15, 2024", "15 january 2024", "10:30"},
			// Dates with '/' cannot match one segment: Kestrel keeps %2F encoded, so the value holds "%2F".
			[]string{"2024-13-01", "yesterday", "2024-02-30", "12", "01/15/2024"}},
		{"minlength(3)", []string{"abc", "abcd", "€€€"}, []string{"ab", "😀"}}, // 😀 is 2 UTF-16 units
		{"maxlength(3)", []string{"abc", "a", "😀"}, []string{"abcd", "😀😀"}},
		{"length(3)", []string{"abc"}, []string{"ab", "abcd"}},
		{"length(2,4)", []string{"ab", "abcd"}, []string{"a", "abcde"}},
		{"length( 2 , 4 )", []string{"abc"}, []string{"a"}},
		{"min(10)", []string{"10", "11", "+99"}, []string{"9", "-1", "abc", "10.5"}},
		{"max(10)", []string{"10", "-5"}, []string{"11", "x"}},
		{"range(1,5)", []string{"1", "3", "5"}, []string{"0", "6", "z"}},
		{"range(-5,-1)", []string{"-3"}, []string{"0"}},
		{"regex(^\\d{{3}}$)", []string{"123"}, []string{"1234", "12a"}},
		{"regex(\\d)", []string{"a1b"}, []string{"abc"}}, // unanchored, as ASP.NET
		{"regex(^ABC$)", []string{"abc", "AbC"}, []string{"abcd"}},
		{"regex(^a:c$)", []string{"a:c", "A:C"}, []string{"c:c"}},
		{"required", []string{"x"}, nil},
		{"file", []string{"a.txt", "a..b", ".x"}, []string{"a", "a.", "a.."}},
		{"nonfile", []string{"a", "a."}, []string{"a.txt"}},
		{"INT", []string{"5"}, []string{"x"}}, // names are case-insensitive
	}
	for _, tc := range tests {
		tmpl, err := Parse("x/{v:" + tc.constraint + "}")
		if err != nil {
			t.Errorf("constraint %q: %v", tc.constraint, err)
			continue
		}
		for _, v := range tc.yes {
			if _, ok := tmpl.Match("/x/" + escape(v)); !ok {
				t.Errorf("%s should accept %q", tc.constraint, v)
			}
		}
		for _, v := range tc.no {
			if _, ok := tmpl.Match("/x/" + escape(v)); ok {
				t.Errorf("%s should reject %q", tc.constraint, v)
			}
		}
	}
}

func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' || c == '%' || c == ' ' || c == '?' || c == '#' || c >= 0x80 {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestChainedAndOptionalConstraints(t *testing.T) {
	tmpl := MustParse("orders/{id:int:min(1):max(100)}")
	for path, want := range map[string]bool{"/orders/1": true, "/orders/100": true, "/orders/0": false, "/orders/101": false, "/orders/x": false} {
		if _, ok := tmpl.Match(path); ok != want {
			t.Errorf("%s: got %v want %v", path, ok, want)
		}
	}
	tmpl = MustParse("orders/{id:int?}")
	if _, ok := tmpl.Match("/orders"); !ok {
		t.Error("optional constrained parameter should match when absent")
	}
	if _, ok := tmpl.Match("/orders/x"); ok {
		t.Error("optional constrained parameter should check a present value")
	}
	p := MustParse("a/{id:regex(^[a-z]+(:\\d+)?$):minlength(2)=ab}").Params()[0]
	want := Parameter{Name: "id", Default: "ab", HasDefault: true, Constraints: []string{"regex(^[a-z]+(:\\d+)?$)", "minlength(2)"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Params() = %+v, want %+v", p, want)
	}
}

func TestParameters(t *testing.T) {
	tests := []struct {
		tmpl string
		want Parameter
	}{
		{"{id}", Parameter{Name: "id"}},
		{"{id?}", Parameter{Name: "id", Optional: true}},
		{"{id=7}", Parameter{Name: "id", Default: "7", HasDefault: true}},
		{"{id=}", Parameter{Name: "id", Default: "", HasDefault: true}},
		{"{*p}", Parameter{Name: "p", CatchAll: true}},
		{"{**p}", Parameter{Name: "p", CatchAll: true}},
		{"{id:int?}", Parameter{Name: "id", Optional: true, Constraints: []string{"int"}}},
		{"{id:int:min(1)}", Parameter{Name: "id", Constraints: []string{"int", "min(1)"}}},
		{"{id:int:}", Parameter{Name: "id", Constraints: []string{"int"}}},
		{"{x:regex(a:b)}", Parameter{Name: "x", Constraints: []string{"regex(a:b)"}}},
		{"{x:regex(a=b)=c}", Parameter{Name: "x", Default: "c", HasDefault: true, Constraints: []string{"regex(a=b)"}}},
		{"{x:regex(^(a)(b)$)}", Parameter{Name: "x", Constraints: []string{"regex(^(a)(b)$)"}}},
		{"{x:regex(^a{{2}}$)}", Parameter{Name: "x", Constraints: []string{"regex(^a{2}$)"}}},
		{"{x:regex(a?)?}", Parameter{Name: "x", Optional: true, Constraints: []string{"regex(a?)"}}},
	}
	for _, tc := range tests {
		tmpl, err := Parse(tc.tmpl)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.tmpl, err)
			continue
		}
		if got := tmpl.Params(); len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
			t.Errorf("Parse(%q).Params() = %+v, want %+v", tc.tmpl, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ tmpl, want string }{
		{"a//b", `route template "a//b": column 3: the separator '/' cannot appear twice in a row; put a literal or a parameter between`},
		{"a/{id", `route template "a/{id": column 3: the parameter starting here has no closing '}'`},
		{"a/id}", `route template "a/id}": column 5: '}' without a matching '{'; write '}}' for a literal '}'`},
		{"a/{i{d}", `route template "a/{i{d}": column 5: a '{' inside a parameter must be escaped as '{{'`},
		{"{}", `route template "{}": column 1: empty parameter {}; a parameter needs a name`},
		{"a/{id:foo}", `route template "a/{id:foo}": column 3: parameter "id": unknown constraint "foo"; known constraints: alpha, bool, datetime, decimal, double, file, float, guid, int, length, long, max, maxlength, min, minlength, nonfile, range, regex, required`},
		{"{id:int(3)}", `route template "{id:int(3)}": column 1: parameter "id": constraint "int(3)" takes no arguments; write int`},
		{"{id:min}", `route template "{id:min}": column 1: parameter "id": constraint "min" takes min(n)`},
		{"{id:length(1,2,3)}", `route template "{id:length(1,2,3)}": column 1: parameter "id": constraint "length(1,2,3)" takes length(n) or length(a,b)`},
		{"{id:min(x)}", `route template "{id:min(x)}": column 1: parameter "id": constraint "min(x)": argument "x" is not an integer`},
		{"{id:range(5,1)}", `route template "{id:range(5,1)}": column 1: parameter "id": constraint "range(5,1)": the minimum must be no more than the maximum`},
		{"{id:length(5,1)}", `route template "{id:length(5,1)}": column 1: parameter "id": constraint "length(5,1)": lengths must be 0 or more, and the minimum no more than the maximum`},
		{"{id:regex((?<=a)b)}", `route template "{id:regex((?<=a)b)}": column 1: parameter "id": constraint "regex((?<=a)b)": invalid regular expression (RE2 syntax): error parsing regexp: invalid named capture: ` + "`(?<=a)b`"},
		// As in ASP.NET, a ')' followed by ':' ends a constraint's arguments, so this regex is cut short.
		{"{x:regex(^(a|b):c$)}", `route template "{x:regex(^(a|b):c$)}": column 1: parameter "x": constraint "regex(^(a|b)": invalid regular expression (RE2 syntax): error parsing regexp: missing closing ): ` + "`(?i)^(a|b`"},
		{"{id:regex}", `route template "{id:regex}": column 1: parameter "id": constraint "regex" needs a pattern: regex(pattern)`},
		{"{*path?}", `route template "{*path?}": column 1: the catch-all parameter "path" cannot be marked optional (a catch-all is optional already)`},
		{"{id?=5}", `route template "{id?=5}": column 1: the parameter name "id?" is invalid: it must be non-empty and cannot contain '/', '{', '}', '?' or '*'; '?' may end a parameter to make it optional and '*' may start one to make it catch-all`},
		{"{id=5?}", `route template "{id=5?}": column 1: the optional parameter "id" cannot have a default value`},
		{"{*path}/more", `route template "{*path}/more": column 9: a catch-all parameter can only be the last segment of the template`},
		{"a/{id}/{ID}", `route template "a/{id}/{ID}": column 8: the parameter name "ID" appears more than once (names are case-insensitive)`},
		{"a/{x}{y}", `route template "a/{x}{y}": column 3: the parameters "x" and "y" are next to each other; separate them with '/' or a literal`},
		{"a/x{*y}", `route template "a/x{*y}": column 3: a segment with more than one part cannot hold the catch-all parameter "y"; put it in its own segment`},
		{"{a?}.{b}", `route template "{a?}.{b}": column 1: the optional parameter "a" must be at the end of its segment`},
		{"{a}-{b?}", `route template "{a}-{b?}": column 1: the optional parameter "b" is preceded by "-"; only a period (.) can precede an optional parameter in a segment`},
		{"a?b", `route template "a?b": column 1: the literal "a?b" cannot contain '?'; '?' marks an optional parameter, as in {id?}`},
		{"~a", `route template "~a": column 1: a template cannot start with '~' unless '~/' follows`},
		{"é/{a/b}", `route template "é/{a/b}": column 3: the parameter name "a/b" is invalid: it must be non-empty and cannot contain '/', '{', '}', '?' or '*'; '?' may end a parameter to make it optional and '*' may start one to make it catch-all`},
		{"é/{a", `route template "é/{a": column 3: the parameter starting here has no closing '}'`},
	}
	for _, tc := range tests {
		_, err := Parse(tc.tmpl)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want %s", tc.tmpl, tc.want)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q): %T is not a *ParseError", tc.tmpl, err)
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tc.tmpl, err, tc.want)
		}
	}
}

func TestTablePrecedence(t *testing.T) {
	var tb Table[string]
	add := func(tmpl string, methods ...string) {
		t.Helper()
		if err := tb.Add(tmpl, methods, tmpl); err != nil {
			t.Fatal(err)
		}
	}
	// Added in an order that first-match-in-insertion-order would get wrong.
	add("{*path}")
	add("products/{*rest}")
	add("products/{id}")
	add("products/{id:int}")
	add("products/special")
	add("products/{category}/{id}")
	add("{a}/{b}/{c}/{d}")
	add("files/{name}.{ext}")
	add("files/{name}")
	add("orders", "post")
	add("orders", "GET", "head")
	add("things/{id:int}", "get")
	add("things/{name}", "delete")
	add("{a}")
	add("{a}/{b?}")

	tests := []struct{ method, path, want string }{
		{"GET", "/products/special", "products/special"},
		{"GET", "/PRODUCTS/SPECIAL", "products/special"},
		{"GET", "/products/12", "products/{id:int}"},
		{"GET", "/products/abc", "products/{id}"},
		{"GET", "/products/books/12", "products/{category}/{id}"},
		{"GET", "/products/a/b/c", "products/{*rest}"},
		{"GET", "/products", "products/{*rest}"}, // 1.5 sorts before 3
		{"GET", "/other", "{a}"},
		{"GET", "/x/y/z/w", "{a}/{b}/{c}/{d}"},
		{"GET", "/x/y/z", "{*path}"},
		{"GET", "/files/a.txt", "files/{name}.{ext}"},
		{"GET", "/files/readme", "files/{name}"},
		{"POST", "/orders", "orders"},
		{"get", "/orders", "orders"},
		{"GET", "/things/5", "things/{id:int}"},
		{"DELETE", "/things/5", "things/{name}"},
		{"GET", "/things/x", "{a}/{b?}"},
		{"GET", "/", "{*path}"},
	}
	for _, tc := range tests {
		r := tb.Lookup(tc.method, tc.path)
		if r.Outcome != Found || r.Value != tc.want {
			t.Errorf("Lookup(%s %s) = %v %q, want %q", tc.method, tc.path, r.Outcome, r.Value, tc.want)
		}
	}
	// With the catch-alls the table never says 404; check 405 and 404 on a smaller table.
	var api Table[int]
	for i, r := range []struct {
		tmpl    string
		methods []string
	}{{"orders", []string{"post"}}, {"orders", []string{"get", "head"}}, {"orders/{id:int}", []string{"delete"}}, {"open", nil}} {
		if err := api.Add(r.tmpl, r.methods, i); err != nil {
			t.Fatal(err)
		}
	}
	if r := api.Lookup("PUT", "/orders"); r.Outcome != MethodNotAllowed || !reflect.DeepEqual(r.Allowed, []string{"GET", "HEAD", "POST"}) {
		t.Errorf("PUT /orders = %+v, want 405 with GET, HEAD, POST", r)
	}
	if r := api.Lookup("GET", "/orders/1"); r.Outcome != MethodNotAllowed || !reflect.DeepEqual(r.Allowed, []string{"DELETE"}) {
		t.Errorf("GET /orders/1 = %+v", r)
	}
	if r := api.Lookup("GET", "/orders/x"); r.Outcome != NotFound {
		t.Errorf("GET /orders/x = %+v, want 404", r)
	}
	if r := api.Lookup("PATCH", "/open"); r.Outcome != Found || r.Value != 3 {
		t.Errorf("PATCH /open = %+v, want found (no methods = all)", r)
	}
	if r := api.Lookup("DELETE", "/orders/7"); r.Outcome != Found || r.Params["id"] != "7" || r.Template.String() != "orders/{id:int}" {
		t.Errorf("DELETE /orders/7 = %+v", r)
	}
	if api.Len() != 4 {
		t.Errorf("Len() = %d", api.Len())
	}
}

func TestTableConflicts(t *testing.T) {
	var tb Table[int]
	if err := tb.Add("orders/{id}", []string{"get"}, 1); err != nil {
		t.Fatal(err)
	}
	var ce *ConflictError
	if err := tb.Add("/Orders/{id}/", []string{"GET", "post"}, 2); !errors.As(err, &ce) || !reflect.DeepEqual(ce.Methods, []string{"GET"}) {
		t.Errorf("overlapping methods: got %v", err)
	}
	if err := tb.Add("orders/{id}", nil, 3); !errors.As(err, &ce) {
		t.Errorf("all methods vs get: got %v", err)
	} else if want := `route "orders/{id}" conflicts with a route already defined for the same template (GET)`; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if err := tb.Add("orders/{id}", []string{"post"}, 4); err != nil {
		t.Errorf("disjoint methods: %v", err)
	}
	if err := tb.Add("orders/{id:int}", nil, 5); err != nil {
		t.Errorf("different template: %v", err)
	}
	if err := tb.Add("x", []string{"bad method"}, 6); err == nil {
		t.Error("invalid method accepted")
	}
	if err := tb.Add("{", nil, 7); err == nil {
		t.Error("invalid template accepted")
	}
}

func TestDecodePath(t *testing.T) {
	for in, want := range map[string]string{
		"abc": "abc", "a%20b": "a b", "%2F": "%2F", "%2f%41": "%2fA", "%": "%", "%4": "%4", "%G1": "%G1",
		"%C3%A9": "é", "%C3": "%C3", "%e2%82%ac%2F%e2%82%ac": "€%2F€", "%25": "%", "%2525": "%25",
	} {
		if got := decodePath(in); got != want {
			t.Errorf("decodePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseMatch(f *testing.F) {
	for _, s := range []struct{ tmpl, path string }{
		{"products/{category:alpha}/{id:int?}", "/products/books/1"},
		{"{*path}", "/a/b/c"},
		{"{name}.{ext?}", "/a.b"},
		{"{a}-{b}-{c}", "/1-2-3-4"},
		{"x/{v:regex(^\\d{{3}}$):length(3)}", "/x/123"},
		{"files/{*p:int=5}", "/files/%41%2F"},
		{"{id:range(1,5)=3}/{x:guid}", "/2/d3b07384-d9a0-4c9b-8f3e-1a2b3c4d5e6f"},
		{"{x:datetime}/{y:decimal}/{z:double}", "/2024-01-01/1,000.5-/1e9"},
		{"{a=b}", ""},
	} {
		f.Add(s.tmpl, s.path)
	}
	f.Fuzz(func(t *testing.T, tmpl, path string) {
		tp, err := Parse(tmpl)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Pos < 1 {
				t.Fatalf("Parse(%q): bad error %v", tmpl, err)
			}
			return
		}
		if tp.String() != tmpl {
			t.Fatalf("String() = %q", tp.String())
		}
		params, ok := tp.Match(path)
		if !ok {
			return
		}
		names := map[string]bool{}
		for _, p := range tp.Params() {
			names[p.Name] = true
		}
		for k := range params {
			if !names[k] {
				t.Fatalf("Match returned unknown parameter %q", k)
			}
		}
		// A table holding only this template finds the same values.
		var tb Table[int]
		if err := tb.AddTemplate(tp, nil, 1); err != nil {
			t.Fatal(err)
		}
		if r := tb.Lookup("GET", path); r.Outcome != Found || !maps.Equal(r.Params, params) {
			t.Fatalf("Table.Lookup disagrees with Match: %+v vs %v", r, params)
		}
	})
}
