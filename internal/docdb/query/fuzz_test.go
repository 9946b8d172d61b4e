package query

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
)

// fuzzSeeds adds every query the other tests use.
func fuzzSeeds(f *testing.F) {
	for _, tc := range runCases(f) {
		f.Add(tc.query)
	}
	for _, q := range []string{
		`SELECT * FROM c WHERE`, `SELECT * FORM c`, `SELECT c.id FROM c GROUP BY c.id`,
		`SELECT * FROM c ORDER BY c.a, c.b`, `SELECT udf.tax(c.x) FROM c`, `SELECT VALUE 'a\u00e9\ud83d\ude00'`,
		`SELECT * FROM c WHERE c.a LIKE '[a-' ESCAPE '['`, `SELECT VALUE REPLICATE('ab', 5000)`,
		`SELECT TOP @n * FROM c OFFSET @o LIMIT @l`, `SELECT VALUE c.a ? c.b ?? 1 : [c.x[0]] FROM c`,
	} {
		f.Add(q)
	}
}

// FuzzParse checks that Parse never panics and that its errors locate
// themselves inside the text.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text string) {
		q, err := Parse(text)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is not a *SyntaxError", text, err)
			}
			if se.Pos < 0 || se.Pos > len(text) || se.Line < 1 || se.Col < 1 || se.Msg == "" {
				t.Fatalf("Parse(%q): bad error location %+v", text, se)
			}
			return
		}
		if q.String() != text {
			t.Fatalf("String() = %q, want %q", q.String(), text)
		}
	})
}

// fuzzParams gives every parameter a value, cycling through the JSON types.
func fuzzParams(q *Query) map[string]any {
	values := []any{1.0, "a", true, nil, []any{1.0, "b"}, map[string]any{"city": "Oslo"}, 0.0, 2.0}
	params := map[string]any{}
	for i, name := range q.Parameters() {
		params[name] = values[i%len(values)]
	}
	return params
}

// FuzzRun parses and runs queries over the test documents: no panic, no
// undefined or non-JSON value in the results, the same results twice, and
// Stream agreeing with Run.
func FuzzRun(f *testing.F) {
	fuzzSeeds(f)
	docs := loadDocs(f)
	f.Fuzz(func(t *testing.T, text string) {
		q, err := Parse(text)
		if err != nil {
			return
		}
		params := fuzzParams(q)
		got, err := q.Run(slices.Values(docs), params)
		if err != nil {
			if !errors.Is(err, ErrParameter) {
				t.Fatalf("Run(%q): unexpected error %v", text, err)
			}
			return
		}
		checkDefined(t, got)
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("Run(%q) results do not encode: %v", text, err)
		}
		again, err := q.Run(slices.Values(docs), params)
		if err != nil || !reflect.DeepEqual(got, again) {
			t.Fatalf("Run(%q) is not deterministic", text)
		}
		seq, err := q.Stream(slices.Values(docs), params)
		if err != nil {
			t.Fatal(err)
		}
		first := []any{}
		for v := range seq {
			first = append(first, v)
			if len(first) == 2 {
				break
			}
		}
		if len(got) < len(first) || !reflect.DeepEqual(first, got[:len(first)]) {
			t.Fatalf("Stream(%q) began %v, Run gave %v", text, first, got)
		}
		if !reflect.DeepEqual(docs, loadDocs(t)) {
			t.Fatalf("Run(%q) changed the documents", text)
		}
	})
}
