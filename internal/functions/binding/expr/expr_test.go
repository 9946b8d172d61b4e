package expr

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

var when = time.Date(2018, 2, 16, 17, 59, 55, 123456700, time.UTC)

func ctx() *Context {
	return &Context{
		Metadata: map[string]json.RawMessage{
			"name":          json.RawMessage(`"photo.png"`),
			"BlobTrigger":   json.RawMessage(`"images/photo.png"`),
			"DequeueCount":  json.RawMessage(`3`),
			"Properties":    json.RawMessage(`{"ContentLength":42,"ContentType":"image/png","ETag":"\"0x1\""}`),
			"Flag":          json.RawMessage(`true`),
			"Nothing":       json.RawMessage(`null`),
			"InsertionTime": json.RawMessage(`"2024-03-05T06:07:08Z"`),
		},
		Value: json.RawMessage(`{"orderId":1234,"customer":{"id":"c-9","tags":["a","b"]},"data":{"url":"https://x/y.png"}}`),
		Sys:   Sys{MethodName: "ProcessImage", UtcNow: when, RandGuid: "0f8fad5b-d9cb-469f-a165-70867728950e"},
		Now:   func() time.Time { return when },
		NewGUID: func() string {
			return "7c9e6679-7425-40de-944b-e07fc1f90ae7"
		},
	}
}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct{ tmpl, want string }{
		{"images/{name}", "images/photo.png"},
		{"{NAME}", "photo.png"},
		{"output/{rand-guid}.txt", "output/7c9e6679-7425-40de-944b-e07fc1f90ae7.txt"},
		{"output/{RAND-GUID:N}.txt", "output/7c9e6679742540de944be07fc1f90ae7.txt"},
		{"{rand-guid:B}", "{7c9e6679-7425-40de-944b-e07fc1f90ae7}"},
		{"{DateTime}", "2018-02-16T17-59-55Z"},
		{"my-output-container/{DateTime}.txt", "my-output-container/2018-02-16T17-59-55Z.txt"},
		{"{datetime:yyyy/MM/dd}", "2018/02/16"},
		{"{DateTime:yyyy-MM-ddTHH:mm:ss.fffK}", "2018-02-16T17:59:55.123Z"},
		{"{DateTime:o}", "2018-02-16T17:59:55.1234567Z"},
		{"{DateTime:s}", "2018-02-16T17:59:55"},
		{"{DateTime:u}", "2018-02-16 17:59:55Z"},
		{"{DateTime:R}", "Fri, 16 Feb 2018 17:59:55 GMT"},
		{"{DateTime:dddd d MMM yy h tt}", "Friday 16 Feb 18 5 PM"},
		{"{DateTime:'y'yyyy\\-%M}", "y2018-2"},
		{"{DateTime:HH.FFF}", "17.123"},
		{"{sys.UtcNow}", "2018-02-16T17-59-55Z"},
		{"{sys.UtcNow:yyyyMMdd}", "20180216"},
		{"{sys.RandGuid}", "0f8fad5b-d9cb-469f-a165-70867728950e"},
		{"{sys.randguid:N}", "0f8fad5bd9cb469fa16570867728950e"},
		{"{sys.MethodName}", "ProcessImage"},
		{"archive/{orderId}/{customer.id}.json", "archive/1234/c-9.json"},
		{"{Customer.ID}", "c-9"},
		{"{customer.tags.1}", "b"},
		{"{data.url}", "https://x/y.png"},
		{"{Properties.ContentLength}", "42"},
		{"{DequeueCount:D5}", "00003"},
		{"{DequeueCount:X2}", "03"},
		{"{Flag}", "True"},
		{"{InsertionTime}", "2024-03-05T06:07:08Z"},
		{"{InsertionTime:yyyy}", "2024"},
		{"{{literal}}/{name}", "{literal}/photo.png"},
		{"no expressions", "no expressions"},
		{"", ""},
		{"{{{name}}}", "{photo.png}"},
	} {
		tmpl, err := Parse(tc.tmpl)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.tmpl, err)
			continue
		}
		got, err := tmpl.Evaluate(ctx())
		if err != nil {
			t.Errorf("Evaluate(%q): %v", tc.tmpl, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Evaluate(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

func TestEval(t *testing.T) {
	if got, err := Eval("a/{name}", ctx()); err != nil || got != "a/photo.png" {
		t.Fatalf("Eval = %q, %v", got, err)
	}
	if _, err := Eval("a/{name", ctx()); err == nil {
		t.Fatal("Eval of a bad template succeeded")
	}
}

func TestEvaluateBindingDataWins(t *testing.T) {
	c := ctx()
	c.Metadata["DateTime"] = json.RawMessage(`"from-data"`)
	got, err := MustParse("{DateTime}").Evaluate(c)
	if err != nil || got != "from-data" {
		t.Fatalf("got %q, %v; binding data named DateTime must win over the built-in", got, err)
	}
	// Metadata wins over the value's properties.
	c.Metadata["orderId"] = json.RawMessage(`"meta"`)
	if got, _ := MustParse("{orderId}").Evaluate(c); got != "meta" {
		t.Fatalf("orderId = %q, want the metadata's", got)
	}
}

func TestEvaluateQueueMessageString(t *testing.T) {
	// A queue trigger's value is the message text: a JSON string holding JSON.
	c := &Context{Value: json.RawMessage(`"{\"orderId\":7,\"customer\":{\"id\":\"x\"}}"`)}
	got, err := MustParse("{orderId}-{customer.id}").Evaluate(c)
	if err != nil || got != "7-x" {
		t.Fatalf("got %q, %v", got, err)
	}
	// A plain string value has no properties.
	c = &Context{Value: json.RawMessage(`"hello"`), Metadata: map[string]json.RawMessage{"queueTrigger": json.RawMessage(`"hello"`)}}
	if got, err := MustParse("{queueTrigger}").Evaluate(c); err != nil || got != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestEvaluateSysFromMetadata(t *testing.T) {
	c := &Context{Metadata: map[string]json.RawMessage{
		"sys": json.RawMessage(`{"MethodName":"F","UtcNow":"2020-01-02T03:04:05.5Z","RandGuid":"0f8fad5b-d9cb-469f-a165-70867728950e"}`)}}
	got, err := MustParse("{sys.MethodName}/{sys.UtcNow}/{sys.RandGuid:N}").Evaluate(c)
	if err != nil || got != "F/2020-01-02T03-04-05Z/0f8fad5bd9cb469fa16570867728950e" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestRandGuidIsNewEachTime(t *testing.T) {
	tmpl := MustParse("{rand-guid}")
	a, _ := tmpl.Evaluate(nil)
	b, _ := tmpl.Evaluate(nil)
	if a == b || len(a) != 36 {
		t.Fatalf("rand-guid gave %q then %q", a, b)
	}
	two, _ := MustParse("{rand-guid}/{rand-guid}").Evaluate(nil)
	if x, y, _ := strings.Cut(two, "/"); x == y {
		t.Fatalf("two rand-guids in one template are equal: %q", two)
	}
	now, _ := MustParse("{DateTime}").Evaluate(nil)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$`).MatchString(now) {
		t.Fatalf("DateTime = %q", now)
	}
}

func TestEvaluateErrors(t *testing.T) {
	for _, tc := range []struct{ tmpl, want string }{
		{"archive/{ordrId}.json", `binding expression {ordrId} in "archive/{ordrId}.json": no value named "ordrId"; available: BlobTrigger, DequeueCount, Flag, InsertionTime, name, Nothing, Properties, customer, data, orderId, sys.MethodName, sys.UtcNow, sys.RandGuid, rand-guid, DateTime`},
		{"{customer.name}", `customer has no property "name"; its properties: id, tags`},
		{"{customer}", `is an object; a binding expression needs a string or a number`},
		{"{customer.tags}", `is an array`},
		{"{customer.tags.9}", `index 9 is out of range`},
		{"{customer.tags.x}", `"x" is not an index`},
		{"{name.x}", `is a string, which has no property "x"`},
		{"{Nothing}", `is null`},
		{"{sys}", `sys is an object`},
		{"{sys.Foo}", `sys has no property "Foo"`},
		{"{name:yyyy}", `applies to times, GUIDs and integers`},
		{"{DateTime:Q}", `not a .NET standard date and time format`},
		{"{rand-guid:Z}", `not a GUID format`},
		{"{DequeueCount:N2}", `not an integer format`},
		{"{DateTime:'abc}", `unclosed ' quote`},
	} {
		_, err := MustParse(tc.tmpl).Evaluate(ctx())
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: err = %v, want an *Error", tc.tmpl, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %q, want it to contain %q", tc.tmpl, err, tc.want)
		}
		if e.Template != tc.tmpl {
			t.Errorf("%q: Error.Template = %q", tc.tmpl, e.Template)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ tmpl, want string }{
		{"a/{name", `'{' has no closing '}' (write "{{" for a literal brace) (at position 3)`},
		{"a/name}", `'}' has no opening '{'`},
		{"a/{}", "the expression is empty"},
		{"{a{b}}", "'{' has no closing '}'"},
		{"{1abc}", `"1abc" is not a valid name`},
		{"{a b}", `"a b" is not a valid name`},
		{"{a..b}", "empty name between dots"},
		{"{a.}", "empty name between dots"},
		{"{a.b c}", `"b c" is not a valid member name`},
		{"{x-y}", `"x-y" is not a valid name`},
		{"{name:}", "the format after ':' is empty"},
		{"}", "no opening"},
	} {
		_, err := Parse(tc.tmpl)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q): err = %v, want an *Error", tc.tmpl, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): %q, want it to contain %q", tc.tmpl, err, tc.want)
		}
	}
}

func TestParseParts(t *testing.T) {
	tmpl := MustParse("archive/{orderId}/{customer.id:x}.json{{}}")
	var got []string
	for _, p := range tmpl.Parts() {
		if p.Expr != nil {
			got = append(got, "E:"+p.Expr.Name()+"|"+p.Expr.Format)
		} else {
			got = append(got, "L:"+p.Literal)
		}
	}
	want := "L:archive/ E:orderId| L:/ E:customer.id|x L:.json{}"
	if strings.Join(got, " ") != want {
		t.Fatalf("parts %q, want %q", strings.Join(got, " "), want)
	}
	if tmpl.IsLiteral() || len(tmpl.Exprs()) != 2 {
		t.Fatal("IsLiteral/Exprs")
	}
	if s, ok := MustParse("a{{b}}").Literal(); !ok || s != "a{b}" {
		t.Fatalf("Literal = %q, %v", s, ok)
	}
	if Escape("a{b}") != "a{{b}}" {
		t.Fatal("Escape")
	}
	for _, b := range []string{"rand-guid", "RAND-GUID", "datetime", "DateTime:yyyy"} {
		if MustParse("{" + b + "}").Exprs()[0].Builtin == NotBuiltin {
			t.Errorf("%s is not a built-in", b)
		}
	}
}

func TestPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          map[string]string // nil: no match
	}{
		{"images/{name}", "images/photo.png", map[string]string{"name": "photo.png"}},
		{"images/{name}", "images/a/b/c.png", map[string]string{"name": "a/b/c.png"}},
		{"images/{name}", "images/", map[string]string{"name": ""}},
		{"images/{name}", "other/photo.png", nil},
		{"images/{name}", "Images/photo.png", nil}, // case-sensitive, as Azure
		{"input/{name}.{ext}", "input/report.pdf", map[string]string{"name": "report", "ext": "pdf"}},
		{"input/{name}.{ext}", "input/a.b.txt", map[string]string{"name": "a.b", "ext": "txt"}},
		{"input/{name}.{ext}", "input/noext", nil},
		{"input/{name}.png", "input/x.png", map[string]string{"name": "x"}},
		{"input/{name}.png", "input/x.jpg", nil},
		{"input/{{x}}/{name}", "input/{x}/y", map[string]string{"name": "y"}},
		{"input/{year}/{month}/{file}", "input/2024/03/a.csv", map[string]string{"year": "2024", "month": "03", "file": "a.csv"}},
		{"input/{a}{b}", "input/xy", map[string]string{"a": "xy", "b": ""}},
		{"samples/fixed.txt", "samples/fixed.txt", map[string]string{}},
		{"samples/fixed.txt", "samples/fixed.txt2", nil},
		{"a.b/{n}", "axb/1", nil}, // '.' is literal
	} {
		p, err := ParsePattern(tc.pattern)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tc.pattern, err)
			continue
		}
		got, ok := p.Match(tc.path)
		if ok != (tc.want != nil) {
			t.Errorf("%q ~ %q: match %v, want %v", tc.pattern, tc.path, ok, tc.want != nil)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q ~ %q: %s = %q, want %q", tc.pattern, tc.path, k, got[k], v)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q ~ %q: got %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
	p, _ := ParsePattern("in/{{x}}/{name}.{ext}")
	if p.Prefix() != "in/{x}/" || strings.Join(p.Names(), ",") != "name,ext" || p.String() != "in/{{x}}/{name}.{ext}" {
		t.Fatalf("Prefix %q Names %v String %q", p.Prefix(), p.Names(), p.String())
	}
}

func TestPatternErrors(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{"images/{rand-guid}", "built-ins"},
		{"images/{DateTime}", "built-ins"},
		{"images/{a.b}", "members"},
		{"images/{a:x}", "format"},
		{"images/{name}/{Name}", `"Name" appears more than once`},
		{"images/{name", "no closing"},
		{"images/\xff{name}", "valid UTF-8"},
	} {
		_, err := ParsePattern(tc.pattern)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePattern(%q): %v, want %q", tc.pattern, err, tc.want)
		}
	}
}
