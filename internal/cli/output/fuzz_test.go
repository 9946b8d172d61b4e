package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var allFormats = []Format{JSON, JSONC, TSV, Table, YAML, None}

// maxFuzzNodes bounds the results FuzzQuery renders: a short expression such
// as [@,@]|[@,@]|... builds a result that shares structure and costs nothing
// to compute but grows exponentially when printed.
const maxFuzzNodes = 20000

// nodes counts the values in v, stopping past limit.
func nodes(v any, limit int) int {
	n := 1
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if n += nodes(e, limit-n); n > limit {
				return n
			}
		}
	case map[string]any:
		for _, e := range x {
			if n += nodes(e, limit-n); n > limit {
				return n
			}
		}
	}
	return n
}

// FuzzQuery compiles arbitrary expressions and runs them against a fixed
// document, then prints the result in every format. Nothing may panic, and
// every error must be one the package documents.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"id", "[].name", "[?location=='eastus'].{n:name}", "length(@)",
		"[0].properties.provisioningState", "[*].tags.*", "[].tags.env",
		"sort_by(@, &name)[].name", "max_by(@, &name).{n: name, l: location}",
		"[].[name, tags, managedBy]", "[0:2:-1]", "[-1]", "[].name | [0]",
		"`[1, 2.5, \"x\", null, true, {\"a\": [1]}]`", "to_string(@)", "@ / `0`",
		"keys([0])", "values([0].tags)", "let $x = [0] in $x.name", "[][]",
		"items([0])", "from_items(items([0]))", "group_by(@, &location)",
		"zip([].name, [].location)", "[?contains(name, 'd')].id", "&name",
		"map(&name, @)", "merge([0], [1])", "not_null([0].managedBy, `3`)",
		"join(', ', [].name)", "pad_left([0].name, `5`, '*')", "split([0].id, '/')",
		"sum([].length(name))", "avg(`[1,2]`)", "[?!(location=='eastus')]",
		"[0].name[::-1]", "{a: `1`, b: {c: @[0].name}}", "[0].\"id\"", "$[0]",
		"foo[", "{a:b", "[?", "'abc", "`x`", "", "@@", "a || b && !c",
		"[@,@]|[@,@]|[@,@]", "`1` + `2` * `3` % `2` // `1` - `-1`",
	} {
		f.Add(s)
	}
	doc, err := normalize(groups())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if len(expr) > 100 {
			t.Skip("long expressions only make slower inputs")
		}
		q, err := Query(expr)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("Query(%q) returned %T: %v", expr, err, err)
			}
			if q != nil || qe.Expr != expr || qe.Runtime || qe.Offset < -1 || qe.Offset > len(expr) {
				t.Fatalf("Query(%q) = %v, %+v", expr, q, qe)
			}
			_ = qe.Highlight()
			if !strings.HasPrefix(err.Error(), "argument --query: ") {
				t.Fatalf("Query(%q) error %q", expr, err)
			}
			return
		}
		if q.String() != expr {
			t.Fatalf("String() = %q", q.String())
		}
		res, _, err := q.search(doc)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || !qe.Runtime {
				t.Fatalf("search(%q) returned %T: %v", expr, err, err)
			}
			return
		}
		if nodes(res, maxFuzzNodes) > maxFuzzNodes {
			return
		}
		for _, format := range allFormats {
			var buf bytes.Buffer
			err := Write(&buf, groups(), format, q)
			var qe *QueryError
			switch {
			case err == nil:
			case errors.As(err, &qe) && qe.Runtime:
				// Possible: the order of map values (`*`, values()) varies
				// between evaluations, and so can their success.
			case errors.Is(err, errExpRef), format == Table && errors.Is(err, ErrTableUnavailable):
			default:
				t.Fatalf("Write(%s, %q): %v", format, expr, err)
			}
			if err != nil && buf.Len() > 0 {
				t.Fatalf("Write(%s, %q) printed output and failed: %v", format, expr, err)
			}
		}
	})
}

// depth is how deeply v nests lists and objects.
func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// FuzzWrite prints arbitrary JSON in every format. JSON and YAML output must
// read back as the input, jsonc must be json plus colour codes, and no table
// line may end in white space.
func FuzzWrite(f *testing.F) {
	for _, s := range []string{
		`null`, `true`, `1`, `-0`, `1e-7`, `1e400`, `12345678901234567890`, `""`, `"x"`,
		`[]`, `{}`, `[null]`, `[[]]`, `[{}]`, `{"":""}`, `"<<"`, `"yes"`, `"1e3"`,
		`{"a":1,"b":[1,2,{"c":null}],"d":{"e":"f"}}`,
		`[{"name":"a","id":"x","type":"t","etag":"e","n":1.5},{"name":"b\nc","flag":false}]`,
		`[[1,"two",null,true,{"k":"v"},[3]]]`,
		`{"s":"tab\there \u2028 \u0085 \ud800 \u0000 日本 é 😀","t":"  padded  "}`,
		`["a\r\nb","\u000b","\u001c","- x","#c","'q'","\"d\"","a: b","? x",": y","|","@at","%p","!t","*a","&a"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			t.Skip("large inputs only make slower runs")
		}
		var want any
		if err := json.Unmarshal(data, &want); err != nil {
			return
		}
		if depth(want) > 64 {
			// Indented output grows with the square of the depth, in az too.
			t.Skip("deep nesting only makes slower runs")
		}
		out := map[Format]string{}
		for _, format := range allFormats {
			var buf bytes.Buffer
			err := Write(&buf, json.RawMessage(data), format, nil)
			if err != nil && !(format == Table && errors.Is(err, ErrTableUnavailable)) {
				t.Fatalf("Write(%s): %v", format, err)
			}
			out[format] = buf.String()
		}
		if out[None] != "" {
			t.Fatalf("none printed %q", out[None])
		}
		if want == nil {
			for format, s := range out {
				if s != "" {
					t.Fatalf("%s printed %q for null", format, s)
				}
			}
			return
		}

		var got any
		if err := json.Unmarshal([]byte(out[JSON]), &got); err != nil {
			t.Fatalf("json output does not parse: %v\n%s", err, out[JSON])
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("json output reads back as %#v, want %#v\n%s", got, want, out[JSON])
		}
		if !strings.HasSuffix(out[JSON], "\n") {
			t.Fatalf("json output lacks the final newline: %q", out[JSON])
		}
		if plain := ansi.ReplaceAllString(out[JSONC], ""); plain != out[JSON] {
			t.Fatalf("jsonc without colour differs from json:\n%q\n%q", plain, out[JSON])
		}

		var y any
		if err := yaml.Unmarshal([]byte(out[YAML]), &y); err != nil {
			t.Fatalf("yaml output does not parse: %v\n%s", err, out[YAML])
		}
		// yaml gives ints and float64s; compare through JSON's model.
		yb, err := json.Marshal(y)
		if err != nil {
			t.Fatalf("yaml output read back as %#v: %v", y, err)
		}
		var yv any
		if err := json.Unmarshal(yb, &yv); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(yv, want) {
			t.Fatalf("yaml output reads back as %#v, want %#v\n%s", yv, want, out[YAML])
		}

		for _, line := range strings.Split(strings.TrimSuffix(out[Table], "\n"), "\n") {
			if line != pyRstrip(line) {
				t.Fatalf("table line %q ends in white space", line)
			}
		}
		if out[Table] != "" && !strings.HasSuffix(out[Table], "\n") || !strings.HasSuffix(out[TSV], "\n") && out[TSV] != "" {
			t.Fatalf("table/tsv output lacks the final newline: %q %q", out[Table], out[TSV])
		}
	})
}
