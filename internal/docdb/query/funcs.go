package query

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// builtin is a system function. fn gets evaluated arguments (possibly
// undefined) and must not keep the slice. Wrong argument types give
// undefined, as in Cosmos DB.
type builtin struct {
	min, max int // max < 0: any number
	fn       func(args []any) any
}

func (b *builtin) arity() string {
	switch {
	case b.max < 0:
		return fmt.Sprintf("at least %d arguments", b.min)
	case b.min == b.max && b.min == 1:
		return "1 argument"
	case b.min == b.max:
		return fmt.Sprintf("%d arguments", b.min)
	}
	return fmt.Sprintf("%d to %d arguments", b.min, b.max)
}

// maxReplicateLen bounds REPLICATE's result, as in Cosmos DB; maxBuiltLen
// bounds what REPLACE builds, so a query cannot exhaust memory.
const (
	maxReplicateLen = 10000
	maxBuiltLen     = 4 << 20
)

var builtins map[string]*builtin

func init() {
	typeCheck := func(k kind) *builtin {
		return &builtin{1, 1, func(a []any) any { return kindOf(a[0]) == k }}
	}
	num1 := func(f func(float64) float64) *builtin {
		return &builtin{1, 1, func(a []any) any {
			x, ok := toNumber(a[0])
			if !ok {
				return undef
			}
			return number(f(x))
		}}
	}
	builtins = map[string]*builtin{
		// Type checks.
		"IS_ARRAY":     typeCheck(kArray),
		"IS_BOOL":      typeCheck(kBool),
		"IS_NULL":      typeCheck(kNull),
		"IS_NUMBER":    typeCheck(kNumber),
		"IS_OBJECT":    typeCheck(kObject),
		"IS_STRING":    typeCheck(kString),
		"IS_DEFINED":   {1, 1, func(a []any) any { return kindOf(a[0]) != kUndef }},
		"IS_PRIMITIVE": {1, 1, func(a []any) any { k := kindOf(a[0]); return k >= kNull && k <= kString }},
		"IS_FINITE_NUMBER": {1, 1, func(a []any) any {
			f, ok := toNumber(a[0])
			return ok && !math.IsInf(f, 0) && !math.IsNaN(f)
		}},
		"IS_INTEGER": {1, 1, func(a []any) any {
			f, ok := toNumber(a[0])
			return ok && f == math.Trunc(f) && math.Abs(f) <= 1<<63
		}},

		// Strings.
		"CONCAT":       {2, -1, fnConcat},
		"CONTAINS":     {2, 3, strPredicate(strings.Contains)},
		"STARTSWITH":   {2, 3, strPredicate(strings.HasPrefix)},
		"ENDSWITH":     {2, 3, strPredicate(strings.HasSuffix)},
		"STRINGEQUALS": {2, 3, strPredicate(func(a, b string) bool { return a == b })},
		"INDEX_OF":     {2, 3, fnIndexOf},
		"LENGTH": {1, 1, func(a []any) any {
			if s, ok := a[0].(string); ok {
				return float64(utf8.RuneCountInString(s))
			}
			return undef
		}},
		"LOWER":     str1(strings.ToLower),
		"UPPER":     str1(strings.ToUpper),
		"REVERSE":   str1(reverse),
		"LTRIM":     {1, 2, trimmer(strings.TrimLeftFunc, strings.TrimLeft)},
		"RTRIM":     {1, 2, trimmer(strings.TrimRightFunc, strings.TrimRight)},
		"TRIM":      {1, 2, trimmer(strings.TrimFunc, strings.Trim)},
		"LEFT":      {2, 2, fnLeft},
		"RIGHT":     {2, 2, fnRight},
		"SUBSTRING": {3, 3, fnSubstring},
		"REPLACE": {3, 3, func(a []any) any {
			s, ok1 := a[0].(string)
			old, ok2 := a[1].(string)
			repl, ok3 := a[2].(string)
			if !ok1 || !ok2 || !ok3 {
				return undef
			}
			if old == "" {
				return s
			}
			if len(repl) > len(old) && len(s)+strings.Count(s, old)*(len(repl)-len(old)) > maxBuiltLen {
				return undef
			}
			return strings.ReplaceAll(s, old, repl)
		}},
		"REPLICATE": {2, 2, func(a []any) any {
			s, ok1 := a[0].(string)
			n, ok2 := integer(a[1])
			if !ok1 || !ok2 || n < 0 || n > 0 && len(s) > maxReplicateLen/n {
				return undef
			}
			return strings.Repeat(s, n)
		}},
		"TOSTRING": {1, 1, fnToString},

		// Arrays.
		"ARRAY_CONTAINS": {2, 3, fnArrayContains},
		"ARRAY_LENGTH": {1, 1, func(a []any) any {
			if arr, ok := a[0].([]any); ok {
				return float64(len(arr))
			}
			return undef
		}},
		"ARRAY_SLICE":  {2, 3, fnArraySlice},
		"ARRAY_CONCAT": {2, -1, fnArrayConcat},

		// Mathematics.
		"ABS":     num1(math.Abs),
		"CEILING": num1(math.Ceil),
		"FLOOR":   num1(math.Floor),
		"ROUND":   num1(math.Round), // halves round away from zero, as in Cosmos DB
		"TRUNC":   num1(math.Trunc),
		"SQRT":    num1(math.Sqrt),
		"SQUARE":  num1(func(x float64) float64 { return x * x }),
		"EXP":     num1(math.Exp),
		"LOG10":   num1(math.Log10),
		"SIGN": num1(func(x float64) float64 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return 0
		}),
		"LOG": {1, 2, func(a []any) any {
			x, ok := toNumber(a[0])
			if !ok {
				return undef
			}
			if len(a) == 1 {
				return number(math.Log(x))
			}
			base, ok := toNumber(a[1])
			if !ok {
				return undef
			}
			return number(math.Log(x) / math.Log(base))
		}},
		"POWER": {2, 2, func(a []any) any {
			x, ok1 := toNumber(a[0])
			y, ok2 := toNumber(a[1])
			if !ok1 || !ok2 {
				return undef
			}
			return number(math.Pow(x, y))
		}},
		"PI": {0, 0, func([]any) any { return math.Pi }},

		// Conditionals.
		"IIF": {3, 3, func(a []any) any {
			if a[0] == true {
				return a[1]
			}
			return a[2]
		}},
	}
}

// unsupportedFuncs are Cosmos DB system functions Lapis does not implement;
// calling one is reported as unsupported rather than unknown. Names
// starting with ST_ (spatial functions) are unsupported too.
var unsupportedFuncs = map[string]bool{}

func init() {
	for _, name := range strings.Fields(`
		ACOS ASIN ATAN ATN2 COS COT DEGREES RADIANS RAND SIN TAN NUMBERBIN
		INTADD INTBITAND INTBITLEFTSHIFT INTBITNOT INTBITOR INTBITRIGHTSHIFT INTBITXOR
		INTDIV INTMOD INTMUL INTSUB
		ARRAY_CONTAINS_ALL ARRAY_CONTAINS_ANY SETINTERSECT SETUNION CHOOSE OBJECTTOARRAY
		REGEXMATCH STRINGTOARRAY STRINGTOBOOLEAN STRINGTONULL STRINGTONUMBER STRINGTOOBJECT
		STRINGJOIN STRINGSPLIT
		DATETIMEADD DATETIMEBIN DATETIMEDIFF DATETIMEFROMPARTS DATETIMEPART DATETIMETOTICKS
		DATETIMETOTIMESTAMP GETCURRENTDATETIME GETCURRENTDATETIMESTATIC GETCURRENTTICKS
		GETCURRENTTICKSSTATIC GETCURRENTTIMESTAMP GETCURRENTTIMESTAMPSTATIC
		TICKSTODATETIME TIMESTAMPTODATETIME
		DOCUMENTID VECTORDISTANCE RRF
		FULLTEXTCONTAINS FULLTEXTCONTAINSALL FULLTEXTCONTAINSANY FULLTEXTSCORE
		MAKELIST MAKESET COUNTIF`) {
		unsupportedFuncs[name] = true
	}
}

// integer returns v as an int when it is an integral number in range.
func integer(v any) (int, bool) {
	f, ok := toNumber(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int(f), true
}

func str1(f func(string) string) *builtin {
	return &builtin{1, 1, func(a []any) any {
		if s, ok := a[0].(string); ok {
			return f(s)
		}
		return undef
	}}
}

// strPredicate builds CONTAINS, STARTSWITH and friends: (s, t[, ignoreCase]).
func strPredicate(f func(s, t string) bool) func([]any) any {
	return func(a []any) any {
		s, ok1 := a[0].(string)
		t, ok2 := a[1].(string)
		if !ok1 || !ok2 {
			return undef
		}
		if len(a) == 3 {
			ignore, ok := a[2].(bool)
			if !ok {
				return undef
			}
			if ignore {
				s, t = foldCase(s), foldCase(t)
			}
		}
		return f(s, t)
	}
}

// foldCase maps s to a form in which case-insensitively equal strings are
// equal.
func foldCase(s string) string {
	return strings.Map(func(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }, s)
}

func fnConcat(a []any) any {
	n := 0
	for _, v := range a {
		s, ok := v.(string)
		if !ok {
			return undef
		}
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, v := range a {
		b.WriteString(v.(string))
	}
	return b.String()
}

func fnIndexOf(a []any) any {
	s, ok1 := a[0].(string)
	sub, ok2 := a[1].(string)
	if !ok1 || !ok2 {
		return undef
	}
	start := 0
	if len(a) == 3 {
		n, ok := integer(a[2])
		if !ok {
			return undef
		}
		start = n
	}
	if start < 0 {
		return -1.0
	}
	off := 0 // byte offset of the character at start
	for range start {
		if off >= len(s) {
			return -1.0
		}
		_, n := utf8.DecodeRuneInString(s[off:])
		off += n
	}
	i := strings.Index(s[off:], sub)
	if i < 0 {
		return -1.0
	}
	return float64(start + utf8.RuneCountInString(s[off:off+i]))
}

func fnLeft(a []any) any {
	s, ok1 := a[0].(string)
	n, ok2 := integer(a[1])
	if !ok1 || !ok2 {
		return undef
	}
	rs := []rune(s)
	return string(rs[:max(0, min(n, len(rs)))])
}

func fnRight(a []any) any {
	s, ok1 := a[0].(string)
	n, ok2 := integer(a[1])
	if !ok1 || !ok2 {
		return undef
	}
	rs := []rune(s)
	return string(rs[len(rs)-max(0, min(n, len(rs))):])
}

// fnSubstring is SUBSTRING(s, start, length) with a zero-based start.
func fnSubstring(a []any) any {
	s, ok1 := a[0].(string)
	start, ok2 := integer(a[1])
	length, ok3 := integer(a[2])
	if !ok1 || !ok2 || !ok3 {
		return undef
	}
	rs := []rune(s)
	start = max(0, start)
	if start >= len(rs) || length <= 0 {
		return ""
	}
	return string(rs[start : start+min(length, len(rs)-start)])
}

func reverse(s string) string {
	rs := []rune(s)
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return string(rs)
}

// trimmer builds TRIM, LTRIM and RTRIM: whitespace, or the characters of
// the optional second argument.
func trimmer(byFunc func(string, func(rune) bool) string, byChars func(string, string) string) func([]any) any {
	return func(a []any) any {
		s, ok := a[0].(string)
		if !ok {
			return undef
		}
		if len(a) == 1 {
			return byFunc(s, unicode.IsSpace)
		}
		chars, ok := a[1].(string)
		if !ok {
			return undef
		}
		return byChars(s, chars)
	}
}

func fnToString(a []any) any {
	switch v := a[0].(type) {
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
		return "false"
	case nil:
		return "null"
	}
	switch kindOf(a[0]) {
	case kNumber:
		f, _ := toNumber(a[0])
		return formatNumber(f)
	case kArray, kObject:
		if s, ok := toJSON(a[0]); ok {
			return s
		}
	}
	return undef
}

// fnArrayContains is ARRAY_CONTAINS(arr, value[, partial]). With partial
// true, an object value matches an object element holding all its
// properties with equal values.
func fnArrayContains(a []any) any {
	arr, ok := a[0].([]any)
	if !ok {
		return undef
	}
	partial := false
	if len(a) == 3 {
		if partial, ok = a[2].(bool); !ok {
			return undef
		}
	}
	want := a[1]
	if kindOf(want) == kUndef {
		return false
	}
	wantObj, isObj := want.(map[string]any)
	for _, el := range arr {
		if partial && isObj {
			if obj, ok := el.(map[string]any); ok && containsAll(obj, wantObj) {
				return true
			}
			continue
		}
		if sameValue(el, want) {
			return true
		}
	}
	return false
}

func containsAll(obj, want map[string]any) bool {
	for k, wv := range want {
		v, ok := obj[k]
		if !ok || !sameValue(v, wv) {
			return false
		}
	}
	return true
}

// fnArraySlice is ARRAY_SLICE(arr, start[, length]); a negative start counts
// from the end.
func fnArraySlice(a []any) any {
	arr, ok := a[0].([]any)
	if !ok {
		return undef
	}
	start, ok := integer(a[1])
	if !ok {
		return undef
	}
	if start < 0 {
		start = max(0, len(arr)+start)
	}
	start = min(start, len(arr))
	end := len(arr)
	if len(a) == 3 {
		n, ok := integer(a[2])
		if !ok {
			return undef
		}
		end = start + max(0, min(n, len(arr)-start))
	}
	return append([]any{}, arr[start:end]...)
}

func fnArrayConcat(a []any) any {
	n := 0
	for _, v := range a {
		arr, ok := v.([]any)
		if !ok {
			return undef
		}
		n += len(arr)
	}
	out := make([]any, 0, n)
	for _, v := range a {
		out = append(out, v.([]any)...)
	}
	return out
}

// Aggregates.

type aggKind uint8

const (
	aggCount aggKind = iota
	aggSum
	aggAvg
	aggMin
	aggMax
)

type aggSpec struct {
	kind aggKind
	arg  evalFn
}

// aggState accumulates one aggregate over the rows of a run.
type aggState struct {
	n       int     // values seen (undefined ones are skipped)
	sum     float64 // SUM, AVG
	best    any     // MIN, MAX
	invalid bool    // a value of the wrong type made the result undefined
}

func (s *aggState) add(kind aggKind, v any) {
	k := kindOf(v)
	if k == kUndef || s.invalid {
		return
	}
	switch kind {
	case aggCount:
		s.n++
	case aggSum, aggAvg:
		f, ok := toNumber(v)
		if !ok {
			s.invalid = true
			return
		}
		s.sum += f
		s.n++
	case aggMin, aggMax:
		if k == kArray || k == kObject {
			s.invalid = true
			return
		}
		if s.n == 0 {
			s.best = v
		} else if c := compareTotal(v, s.best); kind == aggMin && c < 0 || kind == aggMax && c > 0 {
			s.best = v
		}
		s.n++
	}
}

// result is the aggregate's value: COUNT and SUM of nothing are 0; AVG,
// MIN and MAX of nothing are undefined.
func (s *aggState) result(kind aggKind) any {
	if s.invalid {
		return undef
	}
	switch kind {
	case aggCount:
		return float64(s.n)
	case aggSum:
		return number(s.sum)
	case aggAvg:
		if s.n == 0 {
			return undef
		}
		return number(s.sum / float64(s.n))
	}
	if s.n == 0 {
		return undef
	}
	return s.best
}
