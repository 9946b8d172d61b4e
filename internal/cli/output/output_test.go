package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
)

// groups looks like `az group list` output: ids and types (skipped by the
// table), nested objects, nulls and non-ASCII names.
func groups() []any {
	return []any{
		map[string]any{
			"id":         "/subscriptions/0000/resourceGroups/web",
			"name":       "web",
			"location":   "eastus",
			"type":       "Microsoft.Resources/resourceGroups",
			"managedBy":  nil,
			"tags":       map[string]any{"env": "prod"},
			"properties": map[string]any{"provisioningState": "Succeeded"},
		},
		map[string]any{
			"id":         "/subscriptions/0000/resourceGroups/db",
			"name":       "db",
			"location":   "westeurope",
			"type":       "Microsoft.Resources/resourceGroups",
			"managedBy":  nil,
			"tags":       nil,
			"properties": map[string]any{"provisioningState": "Deleting"},
		},
		map[string]any{
			"id":         "/subscriptions/0000/resourceGroups/データ",
			"name":       "データ",
			"location":   "eastus",
			"type":       "Microsoft.Resources/resourceGroups",
			"managedBy":  "someone",
			"tags":       map[string]any{},
			"properties": map[string]any{"provisioningState": "Succeeded"},
		},
	}
}

// disk is a single object with every kind of JSON value.
func disk() map[string]any {
	return map[string]any{
		"name":      "osdisk",
		"sizeGb":    128,
		"iops":      500.0,
		"ratio":     0.25,
		"tiny":      0.00001,
		"huge":      1e21,
		"neg":       -3,
		"encrypted": true,
		"shared":    false,
		"lun":       nil,
		"zones":     []any{"1", "2"},
		"sku":       map[string]any{"name": "Premium_LRS", "tier": "Premium"},
		"etag":      "W/\"1\"",
	}
}

type vmStruct struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Size     string            `json:"vmSize"`
	Cores    int               `json:"cores"`
	Running  bool              `json:"running"`
	Tags     map[string]string `json:"tags,omitempty"`
	Internal string            `json:"-"`
}

type writeCase struct {
	name  string
	v     any
	f     Format
	query string
	want  string
}

func runWriteCases(t *testing.T, cases []writeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var q *Compiled
			if tc.query != "" {
				var err error
				if q, err = Query(tc.query); err != nil {
					t.Fatalf("Query(%q): %v", tc.query, err)
				}
			}
			var buf bytes.Buffer
			if err := Write(&buf, tc.v, tc.f, q); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("Write(%s, --query %q)\n got: %q\nwant: %q\n got:\n%s\nwant:\n%s", tc.f, tc.query, got, tc.want, got, tc.want)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	runWriteCases(t, []writeCase{
		{name: "object sorted keys and numbers", v: disk(), f: JSON, want: `{
  "encrypted": true,
  "etag": "W/\"1\"",
  "huge": 1e+21,
  "iops": 500,
  "lun": null,
  "name": "osdisk",
  "neg": -3,
  "ratio": 0.25,
  "shared": false,
  "sizeGb": 128,
  "sku": {
    "name": "Premium_LRS",
    "tier": "Premium"
  },
  "tiny": 1e-05,
  "zones": [
    "1",
    "2"
  ]
}
`},
		{name: "list with empty containers", v: []any{[]any{}, map[string]any{}, nil, "x"}, f: JSON, want: "[\n  [],\n  {},\n  null,\n  \"x\"\n]\n"},
		{name: "empty list", v: []any{}, f: JSON, want: "[]\n"},
		{name: "unicode and html kept, controls escaped", v: map[string]any{"s": "生活 <a&b> é \u2028 \x7f", "c": "tab\tnl\ncr\rbs\\q\"\b\f\x01\x1f"}, f: JSON,
			want: "{\n  \"c\": \"tab\\tnl\\ncr\\rbs\\\\q\\\"\\b\\f\\u0001\\u001f\",\n  \"s\": \"生活 <a&b> é \u2028 \x7f\"\n}\n"},
		{name: "struct input", v: vmStruct{ID: "/vm/1", Name: "vm1", Size: "B2s", Cores: 2, Running: true, Internal: "secret"}, f: JSON,
			want: "{\n  \"cores\": 2,\n  \"id\": \"/vm/1\",\n  \"name\": \"vm1\",\n  \"running\": true,\n  \"vmSize\": \"B2s\"\n}\n"},
		{name: "raw message input", v: json.RawMessage(`{"b":[1,2.50,3e2],"a":"x"}`), f: JSON, want: "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    2.5,\n    300\n  ]\n}\n"},
		{name: "bare string", v: "hello", f: JSON, want: "\"hello\"\n"},
		{name: "bare number", v: 42, f: JSON, want: "42\n"},
		{name: "bare bool", v: false, f: JSON, want: "false\n"},
		{name: "query id", v: groups()[0], f: JSON, query: "id", want: "\"/subscriptions/0000/resourceGroups/web\"\n"},
		{name: "query names", v: groups(), f: JSON, query: "[].name", want: "[\n  \"web\",\n  \"db\",\n  \"データ\"\n]\n"},
		{name: "query filter hash", v: groups(), f: JSON, query: "[?location=='eastus'].{n:name, loc:location}",
			want: "[\n  {\n    \"loc\": \"eastus\",\n    \"n\": \"web\"\n  },\n  {\n    \"loc\": \"eastus\",\n    \"n\": \"データ\"\n  }\n]\n"},
		{name: "query length", v: groups(), f: JSON, query: "length(@)", want: "3\n"},
		{name: "query nested field", v: groups(), f: JSON, query: "[0].properties.provisioningState", want: "\"Succeeded\"\n"},
		{name: "query sort_by", v: groups(), f: JSON, query: "sort_by(@, &name)[].name", want: "[\n  \"db\",\n  \"web\",\n  \"データ\"\n]\n"},
		{name: "query arithmetic", v: disk(), f: JSON, query: "sizeGb / `4`", want: "32\n"},
		{name: "query division by zero", v: disk(), f: JSON, query: "sizeGb / `0`", want: "Infinity\n"},
		{name: "query literal float", v: nil, f: JSON, query: "`[0.1, 1.0, -0.0, 12345678901234567]`", want: "[\n  0.1,\n  1,\n  0,\n  12345678901234568\n]\n"},
		{name: "zero format is json", v: []any{1}, f: "", want: "[\n  1\n]\n"},
		{name: "format case-insensitive", v: []any{1}, f: "JSON", want: "[\n  1\n]\n"},
	})
}

func TestWriteJSONC(t *testing.T) {
	const (
		k = colorKey
		s = colorString
		n = colorNumber
		c = colorConst
		r = colorReset
	)
	runWriteCases(t, []writeCase{
		{name: "object", v: map[string]any{"a": "x", "b": 1.5, "c": []any{true, nil}, "d": map[string]any{}}, f: JSONC,
			want: "{\n  " + k + `"a"` + r + ": " + s + `"x"` + r + ",\n  " +
				k + `"b"` + r + ": " + n + "1.5" + r + ",\n  " +
				k + `"c"` + r + ": [\n    " + c + "true" + r + ",\n    " + c + "null" + r + "\n  ],\n  " +
				k + `"d"` + r + ": {}\n}\n"},
		{name: "scalar", v: "é", f: JSONC, want: s + `"é"` + r + "\n"},
		{name: "plain drops colour", v: 7, f: JSONC.Plain(), want: "7\n"},
	})
}

func TestWriteTSV(t *testing.T) {
	runWriteCases(t, []writeCase{
		{name: "list of objects", v: groups(), f: TSV, want: "" +
			"/subscriptions/0000/resourceGroups/web\teastus\t\tweb\t\t\tMicrosoft.Resources/resourceGroups\n" +
			"/subscriptions/0000/resourceGroups/db\twesteurope\t\tdb\t\t\tMicrosoft.Resources/resourceGroups\n" +
			"/subscriptions/0000/resourceGroups/データ\teastus\tsomeone\tデータ\t\t\tMicrosoft.Resources/resourceGroups\n"},
		{name: "object values in key order", v: disk(), f: TSV,
			want: "True\tW/\"1\"\t1e+21\t500\t\tosdisk\t-3\t0.25\tFalse\t128\t\t1e-05\t2\n"},
		{name: "knack dict", v: map[string]any{"B": 1, "A": 2}, f: TSV, want: "2\t1\n"},
		{name: "query id prints the id", v: groups()[0], f: TSV, query: "id", want: "/subscriptions/0000/resourceGroups/web\n"},
		{name: "query names one per line", v: groups(), f: TSV, query: "[].name", want: "web\ndb\nデータ\n"},
		{name: "query multiselect list", v: groups(), f: TSV, query: "[].[name, location, tags, managedBy]",
			want: "web\teastus\t\t\ndb\twesteurope\t\t\nデータ\teastus\t\tsomeone\n"},
		{name: "query hash keeps query order", v: groups(), f: TSV, query: "[?location=='eastus'].{name:name, group:id}",
			want: "web\t/subscriptions/0000/resourceGroups/web\nデータ\t/subscriptions/0000/resourceGroups/データ\n"},
		{name: "query length", v: groups(), f: TSV, query: "length(@)", want: "3\n"},
		{name: "bare bools are lower case", v: []any{true, false}, f: TSV, want: "true\nfalse\n"},
		{name: "bare bool", v: true, f: TSV, want: "true\n"},
		{name: "bools in rows are Python", v: []any{[]any{true, false}}, f: TSV, want: "True\tFalse\n"},
		{name: "nulls print empty", v: []any{nil, []any{nil, "x"}}, f: TSV, want: "\n\tx\n"},
		{name: "nested list is its length", v: map[string]any{"a": []any{1, 2, 3}, "b": []any{}}, f: TSV, want: "3\t0\n"},
		{name: "nested object is empty", v: []any{[]any{map[string]any{"x": 1}, 1}}, f: TSV, want: "\t1\n"},
		{name: "strings raw", v: []any{"a\tb", "c\nd", "\"q\""}, f: TSV, want: "a\tb\nc\nd\n\"q\"\n"},
		{name: "numbers", v: []any{5, 5.0, 0.1, -2.5, 1e-7, 1e16, 1.5e300}, f: TSV, want: "5\n5\n0.1\n-2.5\n1e-07\n10000000000000000\n1.5e+300\n"},
		{name: "empty list", v: []any{}, f: TSV, want: ""},
		{name: "empty object", v: map[string]any{}, f: TSV, want: "\n"},
		{name: "struct", v: []vmStruct{{ID: "1", Name: "a", Size: "S", Cores: 4, Running: true}}, f: TSV, want: "4\t1\ta\tTrue\tS\n"},
	})
}

func TestWriteTable(t *testing.T) {
	runWriteCases(t, []writeCase{
		{name: "list of objects", v: groups(), f: Table, want: "" +
			"Location    Name    ManagedBy\n" +
			"----------  ------  -----------\n" +
			"eastus      web\n" +
			"westeurope  db\n" +
			"eastus      データ     someone\n"},
		{name: "single object", v: disk(), f: Table, want: "" +
			"Encrypted    Huge    Iops    Name    Neg    Ratio    Shared    SizeGb    Tiny\n" +
			"-----------  ------  ------  ------  -----  -------  --------  --------  ------\n" +
			"True         1e+21   500     osdisk  -3     0.25     False     128       1e-05\n"},
		// The next four are knack's own tests (tests/test_output.py).
		{name: "knack table", v: map[string]any{"active": true, "val": "0b1f6472", "lun": 0}, f: Table, want: "" +
			"Active    Lun    Val\n" +
			"--------  -----  --------\n" +
			"True      0      0b1f6472\n"},
		{name: "knack list of lists", v: []any{[]any{"a", "b"}, []any{"c", "d"}}, f: Table, want: "" +
			"Column1    Column2\n" +
			"---------  ---------\n" +
			"a          b\n" +
			"c          d\n"},
		{name: "knack number-like string", v: map[string]any{"Sku": "6.10"}, f: Table, want: "Sku\n-----\n6.10\n"},
		{name: "knack jmespath order", v: map[string]any{"name": "qwerty", "val": "0b1f6472qwerty", "active": true, "sub": "0b1f6472"},
			f: Table, query: "{Name:name, Val:val, Active:active}", want: "" +
				"Name    Val             Active\n" +
				"------  --------------  --------\n" +
				"qwerty  0b1f6472qwerty  True\n"},
		{name: "query names", v: groups(), f: Table, query: "[].name", want: "Result\n--------\nweb\ndb\nデータ\n"},
		{name: "query id is not skipped as a scalar", v: groups()[0], f: Table, query: "id", want: "" +
			"Result\n" +
			"--------------------------------------\n" +
			"/subscriptions/0000/resourceGroups/web\n"},
		{name: "query hash keeps query order and skips id", v: groups(), f: Table,
			query: "[?location=='eastus'].{Name:name, id:id, Group:id, State:properties.provisioningState}", want: "" +
				"Name    Group                                   State\n" +
				"------  --------------------------------------  ---------\n" +
				"web     /subscriptions/0000/resourceGroups/web  Succeeded\n" +
				"データ     /subscriptions/0000/resourceGroups/データ  Succeeded\n"},
		{name: "query lower-case hash keys are capitalised", v: groups(), f: Table, query: "[?location=='eastus'].{n:name}",
			want: "N\n---\nweb\nデータ\n"},
		{name: "query length", v: groups(), f: Table, query: "length(@)", want: "Result\n--------\n3\n"},
		{name: "query multiselect list with nested values", v: groups(), f: Table, query: "[].[name, tags, managedBy]", want: "" +
			"Column1    Column2          Column3\n" +
			"---------  ---------------  ---------\n" +
			"web        {'env': 'prod'}\n" +
			"db\n" +
			"データ        {}               someone\n"},
		{name: "column union in first-seen order", v: []any{
			map[string]any{"b": 1, "a": "x"},
			map[string]any{"c": true},
			map[string]any{"a": "longer value", "type": "t", "etag": "e", "nested": []any{1}},
		}, f: Table, want: "" +
			"A             B    C\n" +
			"------------  ---  ----\n" +
			"x             1\n" +
			"                   True\n" +
			"longer value\n"},
		{name: "headers collide", v: map[string]any{"name": "a", "Name": "b"}, f: Table, want: "Name\n------\na\n"},
		{name: "empty key", v: map[string]any{"": "v"}, f: Table, want: "\n--\nv\n"},
		{name: "scalars and nulls in a list", v: []any{"a", 1, true, nil, 2.5}, f: Table, want: "Result\n--------\na\n1\nTrue\n\n2.5\n"},
		{name: "cells are stripped", v: []any{map[string]any{"a": "  padded  ", "b": "x"}}, f: Table, want: "A       B\n------  ---\npadded  x\n"},
		{name: "empty string cells", v: []any{map[string]any{"a": "", "b": "x"}}, f: Table, want: "A    B\n---  ---\n     x\n"},
		{name: "multiline cells", v: []any{
			map[string]any{"a": "one\ntwo\nthree", "b": "x"},
			map[string]any{"a": "four", "b": "y\r\nz"},
		}, f: Table, want: "" +
			"A      B\n" +
			"-----  ---\n" +
			"one    x\n" +
			"two\n" +
			"three\n" +
			"four   y\n" +
			"       z\n"},
		{name: "python repr of nested values", v: []any{[]any{
			map[string]any{"b": []any{1, 2.5, nil, true}, "a": "it's"},
			[]any{`say "hi"`, `both ' and "`, "tab\there", "\x01é\u200b"},
		}}, f: Table, want: "" +
			"Column1                                   Column2\n" +
			"----------------------------------------  ---------------------------------------------------------\n" +
			`{'a': "it's", 'b': [1, 2.5, None, True]}  ['say "hi"', 'both \' and "', 'tab\there', '\x01é\u200b']` + "\n"},
		{name: "empty list prints nothing", v: []any{}, f: Table, want: ""},
		{name: "struct", v: vmStruct{ID: "1", Name: "vm1", Size: "B2s", Cores: 2, Tags: map[string]string{"a": "b"}}, f: Table, want: "" +
			"Cores    Name    Running    VmSize\n" +
			"-------  ------  ---------  --------\n" +
			"2        vm1     False      B2s\n"},
	})
}

func TestWriteYAML(t *testing.T) {
	runWriteCases(t, []writeCase{
		{name: "object", v: disk(), f: YAML, want: `encrypted: true
etag: W/"1"
huge: 1.0e+21
iops: 500
lun: null
name: osdisk
neg: -3
ratio: 0.25
shared: false
sizeGb: 128
sku:
  name: Premium_LRS
  tier: Premium
tiny: 1.0e-05
zones:
- "1"
- "2"
`},
		{name: "list", v: groups()[:2], f: YAML, want: `- id: /subscriptions/0000/resourceGroups/web
  location: eastus
  managedBy: null
  name: web
  properties:
    provisioningState: Succeeded
  tags:
    env: prod
  type: Microsoft.Resources/resourceGroups
- id: /subscriptions/0000/resourceGroups/db
  location: westeurope
  managedBy: null
  name: db
  properties:
    provisioningState: Deleting
  tags: null
  type: Microsoft.Resources/resourceGroups
`},
		{name: "unicode and ambiguous strings", v: map[string]any{"name": "データ", "yes": "true", "num": "123", "empty": "", "list": []any{}, "map": map[string]any{}, "off": "On", "n": "y"}, f: YAML,
			want: "empty: \"\"\nlist: []\nmap: {}\n\"n\": \"y\"\nname: データ\nnum: \"123\"\n\"off\": \"On\"\n\"yes\": \"true\"\n"},
		{name: "query hash is sorted", v: groups(), f: YAML, query: "[0].{z:name, a:location}", want: "a: eastus\nz: web\n"},
		{name: "plain root scalar ends the document", v: groups(), f: YAML, query: "[0].name", want: "web\n...\n"},
		{name: "root number", v: groups(), f: YAML, query: "length(@)", want: "3\n...\n"},
		{name: "quoted root scalar", v: "true", f: YAML, want: "\"true\"\n"},
		{name: "numbers", v: []any{1, -2.5, 1e-7, 2.5e-7, 1e20, 1e21}, f: YAML,
			want: "- 1\n- -2.5\n- 1.0e-07\n- 2.5e-07\n- 100000000000000000000\n- 1.0e+21\n"},
		{name: "infinity from a query", v: 1, f: YAML, query: "@ / `0`", want: ".inf\n...\n"},
		{name: "merge key is quoted", v: map[string]any{"<<": "x"}, f: YAML, want: "\"<<\": x\n"},
	})
}

func TestNullAndNonePrintNothing(t *testing.T) {
	formats := []Format{JSON, JSONC, TSV, Table, YAML, None}
	inputs := []struct {
		v     any
		query string
	}{
		{v: nil},
		{v: json.RawMessage("null")},
		{v: groups(), query: "[0].missing"},
		{v: groups(), query: "[0].managedBy"},
		{v: (*vmStruct)(nil)},
	}
	for _, f := range formats {
		for _, in := range inputs {
			var q *Compiled
			if in.query != "" {
				q = mustQuery(t, in.query)
			}
			var buf bytes.Buffer
			if err := Write(&buf, in.v, f, q); err != nil {
				t.Errorf("Write(%s, %q): %v", f, in.query, err)
			}
			if buf.Len() != 0 {
				t.Errorf("Write(%s, %q) printed %q, want nothing", f, in.query, buf.String())
			}
		}
	}
	var buf bytes.Buffer
	if err := Write(&buf, groups(), None, mustQuery(t, "[].name")); err != nil || buf.Len() != 0 {
		t.Errorf("none format: err=%v output=%q", err, buf.String())
	}
}

func mustQuery(t *testing.T, expr string) *Compiled {
	t.Helper()
	q, err := Query(expr)
	if err != nil {
		t.Fatalf("Query(%q): %v", expr, err)
	}
	return q
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
	}{
		{"json", JSON}, {"jsonc", JSONC}, {"tsv", TSV}, {"table", Table}, {"yaml", YAML},
		{"yamlc", YAML}, {"none", None}, {"JSON", JSON}, {"Table", Table},
	} {
		got, err := ParseFormat(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"x", "argument --output/-o: invalid choice: 'x' (choose from 'json', 'jsonc', 'none', 'table', 'tsv', 'yaml', 'yamlc')"},
		{"", "argument --output/-o: invalid choice: '' (choose from 'json', 'jsonc', 'none', 'table', 'tsv', 'yaml', 'yamlc')"},
		{"CMD", "argument --output/-o: invalid choice: 'cmd' (choose from 'json', 'jsonc', 'none', 'table', 'tsv', 'yaml', 'yamlc')"},
		{"it's", `argument --output/-o: invalid choice: "it's" (choose from 'json', 'jsonc', 'none', 'table', 'tsv', 'yaml', 'yamlc')`},
	} {
		_, err := ParseFormat(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseFormat(%q) error = %v; want %s", tc.in, err, tc.want)
		}
	}
	var buf bytes.Buffer
	if err := Write(&buf, 1, "xml", nil); err == nil || !strings.Contains(err.Error(), "invalid choice: 'xml'") {
		t.Errorf("Write with format xml: err = %v", err)
	}
}

func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		expr   string
		offset int
		msg    string
	}{
		{"", 0, "argument --query: invalid jmespath_type value: '': empty expression"},
		{"  ", 0, "empty expression"},
		{"[?", 2, "argument --query: invalid jmespath_type value: '[?': Incomplete expression (at offset 2)"},
		{"foo.", 4, "'foo.': Expected identifier"},
		{"'abc", 4, `"'abc": Unclosed delimiter`},
		{"a ||", 4, "Incomplete expression"},
		{"`x`", -1, "'`x`': invalid character"},
		{"@@", 1, "Unexpected token"},
	} {
		q, err := Query(tc.expr)
		if q != nil || err == nil {
			t.Errorf("Query(%q) = %v, %v; want an error", tc.expr, q, err)
			continue
		}
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("Query(%q) error %T is not a *QueryError", tc.expr, err)
			continue
		}
		if qe.Expr != tc.expr || qe.Offset != tc.offset || qe.Runtime {
			t.Errorf("Query(%q) error = %+v; want offset %d", tc.expr, qe, tc.offset)
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Query(%q) error %q does not contain %q", tc.expr, err, tc.msg)
		}
		if tc.offset >= 0 {
			want := tc.expr + "\n" + strings.Repeat(" ", tc.offset) + "^"
			if got := qe.Highlight(); got != want {
				t.Errorf("Highlight() = %q; want %q", got, want)
			}
		} else if got := qe.Highlight(); got != "" {
			t.Errorf("Highlight() = %q; want empty", got)
		}
	}
}

func TestQueryRuntimeErrors(t *testing.T) {
	for _, tc := range []struct{ expr, msg string }{
		{"abs(name)", "argument --query: evaluating 'abs(name)' failed: invalid type"},
		{"nosuchfunction(@)", "unknown function: nosuchfunction"},
		{"length(@, @)", "invalid arity"},
		{"pad_left(name, `100000000`)", "'width' argument to be at most 1048576"},
		{"pad_right(name, `1e15`, '*')", "at most"},
		// Found by FuzzQuery: the library panics evaluating this let
		// expression; the panic must come back as an error.
		{"let$00[]in$", "internal error"},
	} {
		q := mustQuery(t, tc.expr)
		var buf bytes.Buffer
		err := Write(&buf, map[string]any{"name": "x"}, JSON, q)
		var qe *QueryError
		if !errors.As(err, &qe) || !qe.Runtime || qe.Offset != -1 {
			t.Errorf("Write with %q: error %v (%T); want a runtime *QueryError", tc.expr, err, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Write with %q: error %q does not contain %q", tc.expr, err, tc.msg)
		}
		if buf.Len() != 0 {
			t.Errorf("Write with %q printed %q despite the error", tc.expr, buf.String())
		}
	}
	// A small pad still works.
	got, err := mustQuery(t, "pad_left(name, `4`, '*')").Search(map[string]any{"name": "x"})
	if err != nil || got != "***x" {
		t.Errorf("pad_left: %v, %v", got, err)
	}
}

func TestWriteErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, math.NaN(), JSON, nil); err == nil {
		t.Error("NaN input: want an error")
	}
	if err := Write(&buf, make(chan int), JSON, nil); err == nil {
		t.Error("channel input: want an error")
	}
	if err := Write(&buf, json.RawMessage("{"), JSON, nil); err == nil {
		t.Error("broken raw JSON: want an error")
	}
	if err := Write(&buf, groups(), JSON, mustQuery(t, "&name")); !errors.Is(err, errExpRef) {
		t.Errorf("expression reference result: err = %v", err)
	}
	for _, v := range []any{
		map[string]any{"nested": map[string]any{"a": 1}},
		[]any{map[string]any{"id": "x", "type": "y", "etag": "z", "tags": nil}, map[string]any{}},
		[]any{[]any{}},
	} {
		if err := Write(&buf, v, Table, nil); !errors.Is(err, ErrTableUnavailable) {
			t.Errorf("table of %v: err = %v; want ErrTableUnavailable", v, err)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("failed writes printed %q", buf.String())
	}
	wantErr := errors.New("disk full")
	if err := Write(failingWriter{wantErr}, 1, JSON, nil); !errors.Is(err, wantErr) {
		t.Errorf("failing writer: err = %v", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteDoesNotModifyInput(t *testing.T) {
	in := groups()
	before, _ := json.Marshal(in)
	for _, f := range []Format{JSON, TSV, Table, YAML} {
		if err := Write(&bytes.Buffer{}, in, f, mustQuery(t, "reverse(sort_by(@, &name))")); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := json.Marshal(in)
	if !bytes.Equal(before, after) {
		t.Errorf("input changed:\n%s\n%s", before, after)
	}
}

func TestSearch(t *testing.T) {
	got, err := mustQuery(t, "[?location=='eastus'].name").Search(groups())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if string(b) != `["web","データ"]` {
		t.Errorf("Search = %s", b)
	}
	got, err = mustQuery(t, "cores").Search(vmStruct{Cores: 8})
	if err != nil || got != 8.0 {
		t.Errorf("Search on a struct = %#v, %v; want float64 8", got, err)
	}
	if _, err := mustQuery(t, "@").Search(make(chan int)); err == nil {
		t.Error("Search of an unencodable value: want an error")
	}
	if _, err := mustQuery(t, "&a").Search(1); !errors.Is(err, errExpRef) {
		t.Errorf("Search returning &a: %v", err)
	}
}

func TestCompiledString(t *testing.T) {
	if got := mustQuery(t, " [].name ").String(); got != " [].name " {
		t.Errorf("String() = %q", got)
	}
}

// TestHashOrder checks that a multi-select hash keeps its key order in tsv
// and table output wherever it sits in the expression, and that repeated
// keys keep their first place with their last value.
func TestHashOrder(t *testing.T) {
	doc := map[string]any{"a": 1, "b": 2, "items": []any{map[string]any{"x": "1", "y": "2"}}}
	for _, tc := range []struct{ query, want string }{
		{"{z: a, y: b, x: `3`}", "1\t2\t3\n"},
		{"{b: b, a: a, b: `9`}", "9\t1\n"},
		{"items[].{y: y, x: x}", "2\t1\n"},
		{"items[*].{y: y, x: x} | [0]", "2\t1\n"},
		{"[{q: a, p: b}][]", "1\t2\n"},
		{"sort_by(items, &x)[].{y: y, x: x}", "2\t1\n"},
		{"map(&{y: y, x: x}, items)", "2\t1\n"},
		{"let $k = a in {second: b, first: $k}", "2\t1\n"},
		{"merge({z: a}, {a: b})", "2\t1\n"}, // merge builds a new object: sorted
		{"items[0]", "1\t2\n"},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, doc, TSV, mustQuery(t, tc.query)); err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if buf.String() != tc.want {
			t.Errorf("%q: got %q, want %q", tc.query, buf.String(), tc.want)
		}
	}
	// The same expression evaluated concurrently keeps its order everywhere.
	q := mustQuery(t, "[].{zz: name, aa: location, mm: properties.provisioningState}")
	want := "web\teastus\tSucceeded\ndb\twesteurope\tDeleting\nデータ\teastus\tSucceeded\n"
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 20 {
				var buf bytes.Buffer
				if err := Write(&buf, groups(), TSV, q); err != nil {
					t.Error(err)
					return
				}
				if buf.String() != want {
					t.Errorf("concurrent: got %q", buf.String())
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestPyNumber(t *testing.T) {
	for _, tc := range []struct {
		f          float64
		str, jsonS string
	}{
		{0, "0", "0"},
		{math.Copysign(0, -1), "0", "0"},
		{5, "5", "5"},
		{-5, "-5", "-5"},
		{1.5, "1.5", "1.5"},
		{0.1, "0.1", "0.1"},
		{1.0 / 3, "0.3333333333333333", "0.3333333333333333"},
		{0.0001, "0.0001", "0.0001"},
		{0.00001, "1e-05", "1e-05"},
		{1.5e-7, "1.5e-07", "1.5e-07"},
		{123456.789, "123456.789", "123456.789"},
		{1e15 + 0.5, "1000000000000000.5", "1000000000000000.5"},
		{1e16, "10000000000000000", "10000000000000000"},
		{9007199254740993, "9007199254740992", "9007199254740992"},
		{1e20, "100000000000000000000", "100000000000000000000"},
		{1e21, "1e+21", "1e+21"},
		{-1.5e300, "-1.5e+300", "-1.5e+300"},
		{math.Inf(1), "inf", "Infinity"},
		{math.Inf(-1), "-inf", "-Infinity"},
		{math.NaN(), "nan", "NaN"},
	} {
		if got := pyNumber(tc.f); got != tc.str {
			t.Errorf("pyNumber(%v) = %q; want %q", tc.f, got, tc.str)
		}
		if got := jsonNumber(tc.f); got != tc.jsonS {
			t.Errorf("jsonNumber(%v) = %q; want %q", tc.f, got, tc.jsonS)
		}
	}
}

func TestPyQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "''"},
		{"abc", "'abc'"},
		{"it's", `"it's"`},
		{`say "hi"`, `'say "hi"'`},
		{`both ' and "`, `'both \' and "'`},
		{`back\slash`, `'back\\slash'`},
		{"\t\n\r\x00\x7f", `'\t\n\r\x00\x7f'`},
		{"é日本", "'é日本'"},
		{"\u00a0\u200b\U0001F600\U000E0001", `'\xa0\u200b` + "\U0001F600" + `\U000e0001'`},
	} {
		if got := pyQuote(tc.in); got != tc.want {
			t.Errorf("pyQuote(%q) = %s; want %s", tc.in, got, tc.want)
		}
	}
}

func TestPySplitlines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"\n", []string{""}},
		{"a\r\nb\rc\nd", []string{"a", "b", "c", "d"}},
		{"a\n\nb", []string{"a", "", "b"}},
		{"a\vb\fc\x1cd\u0085e\u2028f\u2029g", []string{"a", "b", "c", "d", "e", "f", "g"}},
	} {
		got := pySplitlines(tc.in)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("pySplitlines(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
	if got := splitCRLF("a\r\nb"); strings.Join(got, "|") != "a||b" {
		t.Errorf("splitCRLF = %q", got)
	}
}

func TestCanon(t *testing.T) {
	// Invalid UTF-8 can only come from a query literal; every format then
	// prints the replacement character.
	q := mustQuery(t, "{\"k\xff\": 'v\xfe'}")
	for _, tc := range []struct {
		f    Format
		want string
	}{
		{JSON, "{\n  \"k\uFFFD\": \"v\uFFFD\"\n}\n"},
		{TSV, "v\uFFFD\n"},
		{Table, "K\uFFFD\n----\nv\uFFFD\n"},
		{YAML, "k\uFFFD: v\uFFFD\n"},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, nil, tc.f, q); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("%s: got %q, want %q", tc.f, buf.String(), tc.want)
		}
	}
	// Values outside the JSON model are converted; unchanged data keeps
	// its identity.
	m := map[string]any{"a": []any{1.0}}
	got, err := canon(m, nil)
	if err != nil || !same(got, m) {
		t.Errorf("canon changed clean data: %v %v", got, err)
	}
	got, err = canon([]any{map[string]any{"n": 3}, int64(4)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(got); string(b) != `[{"n":3},4]` {
		t.Errorf("canon = %s", b)
	}
	if f, ok := got.([]any)[1].(float64); !ok || f != 4 {
		t.Errorf("canon kept %T", got.([]any)[1])
	}
}
