package query

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// undefinedValue is the type of undef, the value of a missing property and
// of every expression Cosmos DB calls undefined. It never reaches a result:
// projections drop it.
type undefinedValue struct{}

var undef any = undefinedValue{}

// kind is a JSON type, plus undefined. Its order is the order ORDER BY and
// MIN/MAX put types in.
type kind uint8

const (
	kUndef kind = iota
	kNull
	kBool
	kNumber
	kString
	kArray
	kObject
)

// kindOf classifies a value. Documents hold what encoding/json decodes into
// any (float64 numbers); json.Number and Go's numeric types are understood
// as numbers too. Any other Go type is treated as undefined.
func kindOf(v any) kind {
	switch v.(type) {
	case string:
		return kString
	case float64:
		return kNumber
	case bool:
		return kBool
	case nil:
		return kNull
	case map[string]any:
		return kObject
	case []any:
		return kArray
	case undefinedValue:
		return kUndef
	case json.Number, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr, float32:
		return kNumber
	}
	return kUndef
}

// toNumber returns v as a float64 when it is a number.
func toNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil && !isRangeErr(err) {
			return 0, false
		}
		return f, true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uintptr:
		return float64(n), true
	case float32:
		return float64(n), true
	}
	return 0, false
}

func isRangeErr(err error) bool {
	var ne *strconv.NumError
	return errors.As(err, &ne) && ne.Err == strconv.ErrRange
}

// number wraps a computed float64, turning results JSON cannot carry
// (NaN, ±Inf) into undefined.
func number(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return undef
	}
	return f
}

// boolOf returns v's boolean and whether it is one.
func boolOf(v any) (b, ok bool) {
	b, ok = v.(bool)
	return b, ok
}

// equal implements =: true or false for two values of the same JSON type
// (arrays and objects compare deeply), undefined otherwise.
func equal(a, b any) any {
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return as == bs
		}
	}
	if af, ok := a.(float64); ok {
		if bf, ok := b.(float64); ok {
			return af == bf
		}
	}
	ka, kb := kindOf(a), kindOf(b)
	if ka == kUndef || ka != kb {
		return undef
	}
	return deepEqual(a, b, ka)
}

// deepEqual compares two defined values of kind k.
func deepEqual(a, b any, k kind) bool {
	switch k {
	case kNull:
		return true
	case kBool:
		return a.(bool) == b.(bool)
	case kNumber:
		x, _ := toNumber(a)
		y, _ := toNumber(b)
		return x == y
	case kString:
		return a.(string) == b.(string)
	case kArray:
		x, y := a.([]any), b.([]any)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case kObject:
		x, y := a.(map[string]any), b.(map[string]any)
		if len(x) != len(y) {
			return false
		}
		for key, xv := range x {
			yv, ok := y[key]
			if !ok || !sameValue(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// sameValue is strict deep equality: values of different types differ.
func sameValue(a, b any) bool {
	ka := kindOf(a)
	return ka == kindOf(b) && ka != kUndef && deepEqual(a, b, ka)
}

// compareRel orders two values for < <= > >= and BETWEEN. ok is false,
// making the comparison undefined, across types, for arrays and objects,
// and when either side is undefined.
func compareRel(a, b any) (c int, ok bool) {
	if af, ok := a.(float64); ok {
		if bf, ok := b.(float64); ok {
			return cmp.Compare(af, bf), true
		}
	}
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return strings.Compare(as, bs), true
		}
	}
	ka, kb := kindOf(a), kindOf(b)
	if ka != kb {
		return 0, false
	}
	switch ka {
	case kNull, kBool, kNumber, kString:
		return compareTotal(a, b), true
	}
	return 0, false
}

// compareTotal is the total order ORDER BY, DISTINCT and MIN/MAX use:
// undefined < null < false < true < numbers < strings < arrays < objects.
// Strings compare ordinally (by bytes, which is code point order). Arrays
// compare element by element, objects by their sorted keys and then values;
// Cosmos DB orders those two by hash, so only their place among the types
// is compatible.
func compareTotal(a, b any) int {
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	}
	ka, kb := kindOf(a), kindOf(b)
	if ka != kb {
		return cmp.Compare(ka, kb)
	}
	switch ka {
	case kBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case kNumber:
		x, _ := toNumber(a)
		y, _ := toNumber(b)
		return cmp.Compare(x, y)
	case kString:
		return strings.Compare(a.(string), b.(string))
	case kArray:
		x, y := a.([]any), b.([]any)
		for i := range min(len(x), len(y)) {
			if c := compareTotal(x[i], y[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(x), len(y))
	case kObject:
		x, y := a.(map[string]any), b.(map[string]any)
		xk, yk := sortedKeys(x), sortedKeys(y)
		if c := slices.Compare(xk, yk); c != 0 {
			return c
		}
		for _, key := range xk {
			if c := compareTotal(x[key], y[key]); c != 0 {
				return c
			}
		}
	}
	return 0
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendKey appends a canonical encoding of v that is equal for values
// sameValue calls equal; DISTINCT uses it as a map key.
func appendKey(buf []byte, v any) []byte {
	switch k := kindOf(v); k {
	case kUndef:
		return append(buf, 'u')
	case kNull:
		return append(buf, 'n')
	case kBool:
		if v.(bool) {
			return append(buf, 't')
		}
		return append(buf, 'f')
	case kNumber:
		f, _ := toNumber(v)
		if f == 0 {
			f = 0 // -0 and 0 are equal
		}
		buf = append(buf, '#')
		buf = strconv.AppendFloat(buf, f, 'g', -1, 64)
		return append(buf, ';')
	case kString:
		buf = append(buf, 's')
		return strconv.AppendQuote(buf, v.(string))
	case kArray:
		buf = append(buf, '[')
		for _, e := range v.([]any) {
			buf = appendKey(buf, e)
			buf = append(buf, ',')
		}
		return append(buf, ']')
	default:
		m := v.(map[string]any)
		buf = append(buf, '{')
		for _, key := range sortedKeys(m) {
			buf = strconv.AppendQuote(buf, key)
			buf = append(buf, ':')
			buf = appendKey(buf, m[key])
			buf = append(buf, ',')
		}
		return append(buf, '}')
	}
}

// formatNumber formats f the way JavaScript's Number.prototype.toString
// does, which is what Cosmos DB's TOSTRING produces.
func formatNumber(f float64) string {
	if f == 0 {
		return "0"
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + string(sign) + exp
}

// toJSON renders v as compact JSON without HTML escaping.
func toJSON(v any) (string, bool) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", false
	}
	return strings.TrimSuffix(b.String(), "\n"), true
}

// normalize converts a parameter value to the representation documents
// use: nil, bool, float64, string, []any and map[string]any. Go numbers and
// json.Number become float64; anything else goes through encoding/json.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v is not a JSON number", x)
		}
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a usable number: %w", string(x), err)
		}
		return f, nil
	case json.RawMessage:
		var out any
		if err := json.Unmarshal(x, &out); err != nil {
			return nil, fmt.Errorf("decoding JSON: %w", err)
		}
		return out, nil
	}
	if f, ok := toNumber(v); ok {
		return normalize(f)
	}
	if rv := reflect.ValueOf(v); (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && rv.IsNil() {
		return nil, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T as JSON: %w", v, err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	return out, nil
}
