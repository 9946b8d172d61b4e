package filter

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits Azure Event Grid enforces on a subscription's filter (see doc.go).
const (
	// MaxAdvancedFilters is the number of advanced filters per subscription.
	MaxAdvancedFilters = 25
	// MaxFilterValues is the number of filter values across all the advanced
	// filters of a subscription. A [lo,hi] range counts as one value, a
	// single-value operator (value) as one, IsNullOrUndefined/IsNotNull as none.
	MaxFilterValues = 25
	// MaxStringValueLength is the length of a string filter value, in UTF-16
	// code units (characters, as .NET counts them).
	MaxStringValueLength = 512
	// MaxKeyDepth is the number of dot-separated segments in a key. Azure
	// documents no depth limit today (the 2018 limit of two levels, as in
	// data.key1.key2, was lifted); this is Lapis's sanity cap.
	MaxKeyDepth = 16
)

// Operator types, spelled as ARM spells them (operatorType).
const (
	NumberIn                  = "NumberIn"
	NumberNotIn               = "NumberNotIn"
	NumberLessThan            = "NumberLessThan"
	NumberGreaterThan         = "NumberGreaterThan"
	NumberLessThanOrEquals    = "NumberLessThanOrEquals"
	NumberGreaterThanOrEquals = "NumberGreaterThanOrEquals"
	NumberInRange             = "NumberInRange"
	NumberNotInRange          = "NumberNotInRange"
	BoolEquals                = "BoolEquals"
	StringContains            = "StringContains"
	StringNotContains         = "StringNotContains"
	StringBeginsWith          = "StringBeginsWith"
	StringNotBeginsWith       = "StringNotBeginsWith"
	StringEndsWith            = "StringEndsWith"
	StringNotEndsWith         = "StringNotEndsWith"
	StringIn                  = "StringIn"
	StringNotIn               = "StringNotIn"
	IsNullOrUndefined         = "IsNullOrUndefined"
	IsNotNull                 = "IsNotNull"
)

// Filter is an event subscription's filter in the ARM JSON shape of
// properties.filter; it unmarshals straight from it. A nil or zero Filter
// matches every event.
//
// A Filter obtained from Parse or json.Unmarshal carries a compiled form and
// is safe for concurrent Match calls. After changing its fields, or for a
// Filter built in Go, call Prepare (else every Match compiles afresh and
// allocates).
type Filter struct {
	IncludedEventTypes              []string         `json:"includedEventTypes,omitempty"`
	SubjectBeginsWith               string           `json:"subjectBeginsWith,omitempty"`
	SubjectEndsWith                 string           `json:"subjectEndsWith,omitempty"`
	IsSubjectCaseSensitive          bool             `json:"isSubjectCaseSensitive,omitempty"`
	EnableAdvancedFilteringOnArrays bool             `json:"enableAdvancedFilteringOnArrays,omitempty"`
	AdvancedFilters                 []AdvancedFilter `json:"advancedFilters,omitempty"`

	prepared *compiled
}

// AdvancedFilter is one element of advancedFilters. Single-value operators
// (NumberLessThan, NumberGreaterThan, NumberLessThanOrEquals,
// NumberGreaterThanOrEquals, BoolEquals) use Value; IsNullOrUndefined and
// IsNotNull use neither; every other operator uses Values, which for
// NumberInRange/NumberNotInRange is a list of [lo, hi] pairs.
type AdvancedFilter struct {
	OperatorType string `json:"operatorType"`
	Key          string `json:"key"`
	Value        any    `json:"value,omitempty"`
	Values       []any  `json:"values,omitempty"`
}

// ValidationError names the offending field and the rule it breaks.
type ValidationError struct {
	Field   string // e.g. "advancedFilters[2].values"
	Message string // e.g. "at most 25 filter values across all advanced filters"
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// Parse unmarshals an ARM properties.filter object and validates it. An empty
// or null raw message gives an empty filter, which matches everything.
func Parse(raw json.RawMessage) (*Filter, error) {
	f := &Filter{}
	if len(strings.TrimSpace(string(raw))) != 0 {
		if err := json.Unmarshal(raw, f); err != nil {
			return nil, fmt.Errorf("eventgrid/filter: %w", err)
		}
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	f.Prepare()
	return f, nil
}

// UnmarshalJSON decodes the ARM shape and compiles the filter for Match. It
// does not validate: call Validate (Parse does both).
func (f *Filter) UnmarshalJSON(b []byte) error {
	type plain Filter
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*f = Filter(p)
	f.Prepare()
	return nil
}

// Prepare compiles the filter's current fields for Match. It is not safe to
// call concurrently with Match on the same Filter.
func (f *Filter) Prepare() {
	f.prepared = compile(f)
}

// Validate checks the filter against Azure's rules and limits and returns the
// first violation as a *ValidationError, or nil.
func (f *Filter) Validate() error {
	if f == nil {
		return nil
	}
	for i, t := range f.IncludedEventTypes {
		if strings.TrimSpace(t) == "" {
			return &ValidationError{fmt.Sprintf("includedEventTypes[%d]", i), "event type must not be empty"}
		}
	}
	if n := len(f.AdvancedFilters); n > MaxAdvancedFilters {
		return &ValidationError{"advancedFilters", fmt.Sprintf("at most %d advanced filters per event subscription (got %d)", MaxAdvancedFilters, n)}
	}
	total := 0
	for i := range f.AdvancedFilters {
		c, n, err := compileAdvanced(i, &f.AdvancedFilters[i])
		if err != nil {
			return err
		}
		total += n
		if total > MaxFilterValues {
			field := fmt.Sprintf("advancedFilters[%d].values", i)
			if c.op.single() {
				field = fmt.Sprintf("advancedFilters[%d].value", i)
			}
			return &ValidationError{field, fmt.Sprintf("at most %d filter values across all advanced filters of an event subscription (got %d so far)", MaxFilterValues, total)}
		}
	}
	return nil
}

type opcode uint8

const (
	opInvalid opcode = iota
	opNumberIn
	opNumberNotIn
	opNumberLessThan
	opNumberGreaterThan
	opNumberLessThanOrEquals
	opNumberGreaterThanOrEquals
	opNumberInRange
	opNumberNotInRange
	opBoolEquals
	opStringContains
	opStringNotContains
	opStringBeginsWith
	opStringNotBeginsWith
	opStringEndsWith
	opStringNotEndsWith
	opStringIn
	opStringNotIn
	opIsNullOrUndefined
	opIsNotNull
)

var opByName = map[string]opcode{
	"numberin": opNumberIn, "numbernotin": opNumberNotIn,
	"numberlessthan": opNumberLessThan, "numbergreaterthan": opNumberGreaterThan,
	"numberlessthanorequals": opNumberLessThanOrEquals, "numbergreaterthanorequals": opNumberGreaterThanOrEquals,
	"numberinrange": opNumberInRange, "numbernotinrange": opNumberNotInRange,
	"boolequals":     opBoolEquals,
	"stringcontains": opStringContains, "stringnotcontains": opStringNotContains,
	"stringbeginswith": opStringBeginsWith, "stringnotbeginswith": opStringNotBeginsWith,
	"stringendswith": opStringEndsWith, "stringnotendswith": opStringNotEndsWith,
	"stringin": opStringIn, "stringnotin": opStringNotIn,
	"isnullorundefined": opIsNullOrUndefined, "isnotnull": opIsNotNull,
}

// single: the operator takes "value", not "values".
func (o opcode) single() bool {
	switch o {
	case opNumberLessThan, opNumberGreaterThan, opNumberLessThanOrEquals, opNumberGreaterThanOrEquals, opBoolEquals:
		return true
	}
	return false
}

// negative: the operator's result is "no element violates" rather than "some
// element satisfies".
func (o opcode) negative() bool {
	switch o {
	case opNumberNotIn, opNumberNotInRange, opStringNotContains, opStringNotBeginsWith, opStringNotEndsWith, opStringNotIn:
		return true
	}
	return false
}

func (o opcode) isNumber() bool { return o >= opNumberIn && o <= opNumberNotInRange }
func (o opcode) isString() bool { return o >= opStringContains && o <= opStringNotIn }

// cond is a compiled advanced filter.
type cond struct {
	op     opcode
	path   []string
	num    float64
	b      bool
	nums   []float64
	ranges [][2]float64
	strs   []string
}

type compiled struct {
	types         []string // nil: all event types
	begins, ends  string
	caseSensitive bool
	arrays        bool
	conds         []cond
}

func compile(f *Filter) *compiled {
	c := &compiled{
		begins:        f.SubjectBeginsWith,
		ends:          f.SubjectEndsWith,
		caseSensitive: f.IsSubjectCaseSensitive,
		arrays:        f.EnableAdvancedFilteringOnArrays,
	}
	for _, t := range f.IncludedEventTypes {
		if strings.EqualFold(t, "All") {
			c.types = nil
			break
		}
		c.types = append(c.types, t)
	}
	for i := range f.AdvancedFilters {
		cd, _, err := compileAdvanced(i, &f.AdvancedFilters[i])
		if err != nil {
			cd = cond{op: opInvalid} // never matches
		}
		c.conds = append(c.conds, cd)
	}
	return c
}

// compileAdvanced compiles advancedFilters[i] and counts its filter values.
func compileAdvanced(i int, af *AdvancedFilter) (cond, int, error) {
	at := func(suffix string) string { return fmt.Sprintf("advancedFilters[%d].%s", i, suffix) }
	var c cond
	if af.OperatorType == "" {
		return c, 0, &ValidationError{at("operatorType"), "required"}
	}
	op, ok := opByName[strings.ToLower(af.OperatorType)]
	if !ok {
		return c, 0, &ValidationError{at("operatorType"), fmt.Sprintf("unknown operator type %q", af.OperatorType)}
	}
	c.op = op
	if af.Key == "" {
		return c, 0, &ValidationError{at("key"), "required"}
	}
	c.path = strings.Split(af.Key, ".")
	if len(c.path) > MaxKeyDepth {
		return c, 0, &ValidationError{at("key"), fmt.Sprintf("at most %d dot-separated levels (got %d)", MaxKeyDepth, len(c.path))}
	}
	for _, seg := range c.path {
		if seg == "" {
			return c, 0, &ValidationError{at("key"), fmt.Sprintf("%q has an empty segment", af.Key)}
		}
	}
	switch {
	case op == opIsNullOrUndefined || op == opIsNotNull:
		if af.Value != nil || len(af.Values) != 0 {
			return c, 0, &ValidationError{at("values"), af.OperatorType + " takes no value"}
		}
		return c, 0, nil
	case op.single():
		if len(af.Values) != 0 {
			return c, 0, &ValidationError{at("values"), af.OperatorType + " takes a single value: use value, not values"}
		}
		if af.Value == nil {
			return c, 0, &ValidationError{at("value"), "required"}
		}
		if op == opBoolEquals {
			b, ok := af.Value.(bool)
			if !ok {
				return c, 0, &ValidationError{at("value"), "must be a boolean"}
			}
			c.b = b
		} else {
			n, ok := toFloat(af.Value)
			if !ok {
				return c, 0, &ValidationError{at("value"), "must be a number"}
			}
			c.num = n
		}
		return c, 1, nil
	}
	if af.Value != nil && len(af.Values) == 0 {
		return c, 0, &ValidationError{at("value"), af.OperatorType + " takes values (an array), not value"}
	}
	if len(af.Values) == 0 {
		return c, 0, &ValidationError{at("values"), "at least one value is required"}
	}
	if len(af.Values) > MaxFilterValues {
		return c, 0, &ValidationError{at("values"), fmt.Sprintf("at most %d values (got %d)", MaxFilterValues, len(af.Values))}
	}
	for j, v := range af.Values {
		vf := func() string { return at("values[" + strconv.Itoa(j) + "]") }
		switch {
		case op == opNumberInRange || op == opNumberNotInRange:
			pair, ok := v.([]any)
			if !ok || len(pair) != 2 {
				return c, 0, &ValidationError{vf(), "must be a range [low, high] of two numbers"}
			}
			lo, ok1 := toFloat(pair[0])
			hi, ok2 := toFloat(pair[1])
			if !ok1 || !ok2 {
				return c, 0, &ValidationError{vf(), "must be a range [low, high] of two numbers"}
			}
			if lo > hi {
				return c, 0, &ValidationError{vf(), "range low must not exceed high"}
			}
			c.ranges = append(c.ranges, [2]float64{lo, hi})
		case op.isNumber():
			n, ok := toFloat(v)
			if !ok {
				return c, 0, &ValidationError{vf(), "must be a number"}
			}
			c.nums = append(c.nums, n)
		default: // string operators
			s, ok := v.(string)
			if !ok {
				return c, 0, &ValidationError{vf(), "must be a string"}
			}
			if n := utf16Len(s); n > MaxStringValueLength {
				return c, 0, &ValidationError{vf(), fmt.Sprintf("at most %d characters per string value (got %d)", MaxStringValueLength, n)}
			}
			c.strs = append(c.strs, s)
		}
	}
	return c, len(af.Values), nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// toFloat accepts the numbers encoding/json produces and any Go number.
func toFloat(x any) (float64, bool) {
	var f float64
	switch t := x.(type) {
	case float64:
		f = t
	case float32:
		f = float64(t)
	case int:
		f = float64(t)
	case int8:
		f = float64(t)
	case int16:
		f = float64(t)
	case int32:
		f = float64(t)
	case int64:
		f = float64(t)
	case uint:
		f = float64(t)
	case uint8:
		f = float64(t)
	case uint16:
		f = float64(t)
	case uint32:
		f = float64(t)
	case uint64:
		f = float64(t)
	case json.Number:
		v, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !math.IsInf(v, 0) {
			return 0, false
		}
		f = v
	default:
		return 0, false
	}
	if math.IsNaN(f) {
		return 0, false
	}
	return f, true
}
