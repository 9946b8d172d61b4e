package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Write renders v (any value that encoding/json can marshal, typically
// map[string]any / []any / structs; a json.RawMessage is taken as the JSON it
// holds) to w. v is first normalised through a JSON round trip into
// map[string]any/[]any/float64/string/bool/nil, then the query (if q != nil)
// is applied, then the result is formatted. A null result prints nothing.
//
// JSONC always prints colour; see Format.Plain. The zero Format means JSON.
// Nothing is written when an error is returned.
func Write(w io.Writer, v any, f Format, q *Compiled) error {
	f, err := f.resolve()
	if err != nil {
		return err
	}
	data, err := normalize(v)
	if err != nil {
		return err
	}
	var book *orderBook
	if q != nil {
		if data, book, err = q.search(data); err != nil {
			return err
		}
	}
	if data == nil || f == None {
		return nil
	}
	if data, err = canon(data, book); err != nil {
		return err
	}
	var buf bytes.Buffer
	switch f {
	case JSON:
		writeJSON(&buf, data, false)
	case JSONC:
		writeJSON(&buf, data, true)
	case TSV:
		writeTSV(&buf, data, book)
	case Table:
		if err := writeTable(&buf, data, book); err != nil {
			return err
		}
	case YAML:
		if err := writeYAML(&buf, data); err != nil {
			return err
		}
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// normalize turns v into the plain JSON data model by a JSON round trip.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("output: cannot encode the result as JSON: %w", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("output: cannot decode the result's JSON: %w", err)
	}
	return out, nil
}

// errExpRef is returned for a query whose result holds an expression
// reference (&expr), which has no JSON form.
var errExpRef = errors.New("output: the query result contains an expression reference (&...), which cannot be printed")

// canon checks a query result for values outside the JSON data model and
// converts them: strings (and keys) become valid UTF-8, unknown Go types
// go through a JSON round trip, expression references are an error. Data that
// needs no change is returned as is, so that objects keep their identity in
// the order book.
func canon(v any, book *orderBook) (any, error) {
	switch x := v.(type) {
	case nil, bool, float64:
		return v, nil
	case string:
		if utf8.ValidString(x) {
			return v, nil
		}
		return strings.ToValidUTF8(x, "\uFFFD"), nil
	case []any:
		var out []any
		for i, e := range x {
			c, err := canon(e, book)
			if err != nil {
				return nil, err
			}
			if out == nil && !same(c, e) {
				out = make([]any, len(x))
				copy(out, x[:i])
			}
			if out != nil {
				out[i] = c
			}
		}
		if out == nil {
			return v, nil
		}
		return out, nil
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			c, err := canon(e, book)
			if err != nil {
				return nil, err
			}
			valid := utf8.ValidString(k)
			if out == nil && (!same(c, e) || !valid) {
				// Entries seen so far are unchanged, so a clone holds them.
				out = maps.Clone(x)
			}
			if out != nil {
				if !valid {
					delete(out, k)
					k = strings.ToValidUTF8(k, "\uFFFD")
				}
				out[k] = c
			}
		}
		if out == nil {
			return v, nil
		}
		book.alias(out, x)
		return out, nil
	}
	if reflect.ValueOf(v).Kind() == reflect.Func {
		return nil, errExpRef
	}
	n, err := normalize(v)
	if err != nil {
		return nil, err
	}
	return canon(n, book)
}

// same reports whether canon left a value unchanged.
func same(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && reflect.ValueOf(x).Pointer() == reflect.ValueOf(y).Pointer()
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || x != x && y != y)
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}
