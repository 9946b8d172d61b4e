package route

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// constraint is one compiled inline constraint.
type constraint struct {
	text  string // as written, e.g. "min(1)"
	match func(string) bool
}

// constraintNames lists the constraints ASP.NET Core's DefaultInlineConstraintResolver knows, which is the set
// Azure Functions routes accept.
var constraintNames = []string{
	"alpha", "bool", "datetime", "decimal", "double", "file", "float", "guid", "int", "length", "long",
	"max", "maxlength", "min", "minlength", "nonfile", "range", "regex", "required",
}

// compileConstraint resolves an inline constraint such as "int", "min(1)" or "regex(^\d+$)" the way
// DefaultInlineConstraintResolver does: the name is what precedes the first '(' when the text ends in ')', the
// arguments are what lies between (split on ',' and trimmed, except for regex, which takes them whole).
func compileConstraint(text string) (constraint, error) {
	name, args, hasArgs := text, "", false
	if i := strings.IndexByte(text, '('); i >= 0 && strings.HasSuffix(text, ")") {
		name, args, hasArgs = text[:i], text[i+1:len(text)-1], true
	}
	key := strings.ToLower(name)
	if !slices.Contains(constraintNames, key) {
		return constraint{}, fmt.Errorf("unknown constraint %q; known constraints: %s", name, strings.Join(constraintNames, ", "))
	}
	c := constraint{text: text}
	var argv []string
	if hasArgs && key != "regex" {
		for a := range strings.SplitSeq(args, ",") {
			argv = append(argv, strings.TrimSpace(a))
		}
	}
	wantArgs := func(n ...int) error {
		if slices.Contains(n, len(argv)) {
			return nil
		}
		var forms []string
		for _, k := range n {
			switch k {
			case 0:
				forms = append(forms, key)
			case 1:
				forms = append(forms, key+"(n)")
			case 2:
				forms = append(forms, key+"(a,b)")
			}
		}
		return fmt.Errorf("constraint %q takes %s", text, strings.Join(forms, " or "))
	}
	ints := func() ([]int64, error) {
		out := make([]int64, len(argv))
		for i, a := range argv {
			n, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("constraint %q: argument %q is not an integer", text, a)
			}
			out[i] = n
		}
		return out, nil
	}
	simple := map[string]func(string) bool{
		"alpha": isAlpha, "bool": isBool, "datetime": isDateTime, "decimal": isDecimal, "double": isFloat,
		"float": isFloat, "guid": isGUID, "int": func(s string) bool { return isInteger(s, 32) },
		"long": func(s string) bool { return isInteger(s, 64) }, "required": func(s string) bool { return s != "" },
		"file": isFileName, "nonfile": func(s string) bool { return !isFileName(s) },
	}
	if f, ok := simple[key]; ok {
		if hasArgs {
			return constraint{}, fmt.Errorf("constraint %q takes no arguments; write %s", text, key)
		}
		c.match = f
		return c, nil
	}
	switch key {
	case "regex":
		if !hasArgs {
			return constraint{}, fmt.Errorf("constraint %q needs a pattern: regex(pattern)", text)
		}
		re, err := regexp.Compile("(?i)" + args)
		if err != nil {
			return constraint{}, fmt.Errorf("constraint %q: invalid regular expression (RE2 syntax): %v", text, err)
		}
		c.match = re.MatchString // unanchored, as ASP.NET's RegexRouteConstraint: write ^ and $ to anchor
		return c, nil
	case "minlength", "maxlength", "min", "max":
		if err := wantArgs(1); err != nil {
			return constraint{}, err
		}
		n, err := ints()
		if err != nil {
			return constraint{}, err
		}
		v := n[0]
		switch key {
		case "minlength":
			if v < 0 {
				return constraint{}, fmt.Errorf("constraint %q: the length must be 0 or more", text)
			}
			c.match = func(s string) bool { return utf16Len(s) >= v }
		case "maxlength":
			if v < 0 {
				return constraint{}, fmt.Errorf("constraint %q: the length must be 0 or more", text)
			}
			c.match = func(s string) bool { return utf16Len(s) <= v }
		case "min":
			c.match = func(s string) bool { x, ok := parseLong(s); return ok && x >= v }
		case "max":
			c.match = func(s string) bool { x, ok := parseLong(s); return ok && x <= v }
		}
		return c, nil
	case "length":
		if err := wantArgs(1, 2); err != nil {
			return constraint{}, err
		}
		n, err := ints()
		if err != nil {
			return constraint{}, err
		}
		lo, hi := n[0], n[0]
		if len(n) == 2 {
			hi = n[1]
		}
		if lo < 0 || hi < lo {
			return constraint{}, fmt.Errorf("constraint %q: lengths must be 0 or more, and the minimum no more than the maximum", text)
		}
		c.match = func(s string) bool { l := utf16Len(s); return l >= lo && l <= hi }
		return c, nil
	case "range":
		if err := wantArgs(2); err != nil {
			return constraint{}, err
		}
		n, err := ints()
		if err != nil {
			return constraint{}, err
		}
		lo, hi := n[0], n[1]
		if hi < lo {
			return constraint{}, fmt.Errorf("constraint %q: the minimum must be no more than the maximum", text)
		}
		c.match = func(s string) bool { x, ok := parseLong(s); return ok && x >= lo && x <= hi }
		return c, nil
	}
	return constraint{}, fmt.Errorf("unknown constraint %q", name) // unreachable
}

// utf16Len is .NET's string.Length.
func utf16Len(s string) int64 {
	n := int64(0)
	for _, r := range s {
		n += int64(utf16.RuneLen(r))
	}
	return n
}

// isNetSpace is .NET's "white" for number parsing: U+0009–U+000D and U+0020.
func isNetSpace(r rune) bool { return r == ' ' || (r >= '\t' && r <= '\r') }

func trimNetSpace(s string) string { return strings.TrimFunc(s, isNetSpace) }

// isInteger is int.TryParse / long.TryParse with NumberStyles.Integer and the invariant culture: optional
// surrounding white space, an optional leading sign, then decimal digits.
func isInteger(s string, bits int) bool {
	t := trimNetSpace(s)
	if t == "" {
		return false
	}
	sign := ""
	if t[0] == '+' || t[0] == '-' {
		sign, t = t[:1], t[1:]
	}
	if t == "" || strings.TrimLeft(t, "0123456789") != "" {
		return false
	}
	if sign == "+" {
		sign = ""
	}
	_, err := strconv.ParseInt(sign+t, 10, bits)
	return err == nil
}

func parseLong(s string) (int64, bool) {
	if !isInteger(s, 64) {
		return 0, false
	}
	t := strings.TrimPrefix(trimNetSpace(s), "+")
	n, err := strconv.ParseInt(t, 10, 64)
	return n, err == nil
}

// isBool is bool.TryParse: "true" or "false" in any case, with white space (and NULs) around.
func isBool(s string) bool {
	t := strings.TrimFunc(s, func(r rune) bool { return isNetSpace(r) || r == 0 })
	return strings.EqualFold(t, "true") || strings.EqualFold(t, "false")
}

// isAlpha is ^[a-z]*$ case-insensitive.
func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i] | 0x20
		if ch < 'a' || ch > 'z' {
			return false
		}
	}
	return true
}

// isFileName is ASP.NET's FileNameRouteConstraint: the last '/'-separated part holds a '.' followed somewhere by a
// character other than '.'.
func isFileName(s string) bool {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return false
	}
	return strings.Trim(s[dot+1:], ".") != ""
}

// scanNumber parses .NET's invariant number grammar: [ws][sign]digits-with-thousands[.digits][e[sign]digits]
// [sign][ws]. allowExp and allowTrailingSign select the NumberStyles. It returns the digits of the integer part
// (without separators) and whether the whole string matched.
func scanNumber(s string, allowExp, allowTrailingSign bool) (intDigits string, ok bool) {
	t := trimNetSpace(s)
	i := 0
	leadSign := false
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		leadSign = true
		i++
	}
	var b strings.Builder
	digits := 0
	for i < len(t) {
		switch {
		case t[i] >= '0' && t[i] <= '9':
			b.WriteByte(t[i])
			digits++
		case t[i] == ',' && digits > 0:
		default:
			goto frac
		}
		i++
	}
frac:
	if i < len(t) && t[i] == '.' {
		i++
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			digits++
			i++
		}
	}
	if digits == 0 {
		return "", false
	}
	if allowExp && i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		j := i + 1
		if j < len(t) && (t[j] == '+' || t[j] == '-') {
			j++
		}
		k := j
		for k < len(t) && t[k] >= '0' && t[k] <= '9' {
			k++
		}
		if k == j {
			return "", false
		}
		i = k
	}
	if allowTrailingSign && !leadSign && i < len(t) && (t[i] == '+' || t[i] == '-') {
		i++
	}
	return b.String(), i == len(t)
}

// maxDecimal is decimal.MaxValue.
var maxDecimal, _ = new(big.Int).SetString("79228162514264337593543950335", 10)

// isDecimal is decimal.TryParse with NumberStyles.Number: no exponent, thousands separators and a trailing sign
// allowed, magnitude at most decimal.MaxValue.
func isDecimal(s string) bool {
	intDigits, ok := scanNumber(s, false, true)
	if !ok {
		return false
	}
	n, _ := new(big.Int).SetString("0"+intDigits, 10)
	return n.Cmp(maxDecimal) <= 0
}

// isFloat is double.TryParse / float.TryParse with NumberStyles.Float | AllowThousands under .NET Core 3.0 and
// later: out-of-range values become ±Infinity and still parse, and "NaN" and "Infinity" (any case, optionally
// signed) are accepted.
func isFloat(s string) bool {
	u := trimNetSpace(s)
	if u != "" && (u[0] == '+' || u[0] == '-') {
		u = u[1:]
	}
	if strings.EqualFold(u, "NaN") || strings.EqualFold(u, "Infinity") || u == "∞" {
		return true
	}
	_, ok := scanNumber(s, true, false)
	return ok
}

var guidX = regexp.MustCompile(`^\{0[xX][0-9a-fA-F]{1,8},0[xX][0-9a-fA-F]{1,4},0[xX][0-9a-fA-F]{1,4},\{(0[xX][0-9a-fA-F]{1,2},){7}0[xX][0-9a-fA-F]{1,2}\}\}$`)

// isGUID is Guid.TryParse: the N, D, B, P and X formats, with white space around.
func isGUID(s string) bool {
	t := trimNetSpace(s)
	hex := func(s string) bool {
		for i := 0; i < len(s); i++ {
			c := s[i] | 0x20
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
		return true
	}
	dashed := func(s string) bool {
		return len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' &&
			hex(s[:8]) && hex(s[9:13]) && hex(s[14:18]) && hex(s[19:23]) && hex(s[24:])
	}
	switch {
	case len(t) == 32:
		return hex(t)
	case len(t) == 36:
		return dashed(t)
	case len(t) == 38 && (t[0] == '{' && t[37] == '}' || t[0] == '(' && t[37] == ')'):
		return dashed(t[1:37])
	}
	return guidX.MatchString(t)
}

// dateLayouts approximate what DateTime.TryParse accepts with the invariant culture.
var dateLayouts = []string{
	"2006-01-02", "2006-1-2", "2006/01/02", "2006/1/2", "01/02/2006", "1/2/2006", "2006-01",
	"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02T15:04:05.9999999",
	"2006-01-02T15:04Z07:00", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.9999999Z07:00",
	"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02 15:04:05.9999999", "2006-01-02 15:04:05Z07:00",
	"01/02/2006 15:04", "01/02/2006 15:04:05", "1/2/2006 15:04", "1/2/2006 15:04:05",
	"1/2/2006 3:04 PM", "1/2/2006 3:04:05 PM", "01/02/2006 03:04:05 PM",
	"2006/01/02 15:04", "2006/01/02 15:04:05",
	"Jan 2 2006", "Jan 2, 2006", "January 2 2006", "January 2, 2006", "2 Jan 2006", "2 January 2006",
	"Mon, 02 Jan 2006 15:04:05 MST", "02 Jan 2006 15:04:05", "15:04", "15:04:05",
}

// isDateTime approximates DateTime.TryParse with the invariant culture (see the package documentation).
func isDateTime(s string) bool {
	t := trimNetSpace(s)
	if t == "" {
		return false
	}
	for _, l := range dateLayouts {
		if _, err := time.Parse(l, t); err == nil {
			return true
		}
		if strings.ContainsAny(l, "JM") { // month and day names in any case
			if _, err := time.Parse(l, titleCase(t)); err == nil {
				return true
			}
		}
	}
	return false
}

func titleCase(s string) string {
	b := []byte(strings.ToLower(s))
	for i := range b {
		if (i == 0 || b[i-1] == ' ' || b[i-1] == ',') && b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	out := string(b)
	// Keep AM/PM and zone abbreviations upper case.
	for _, w := range []string{" Am", " Pm", " Gmt", " Utc"} {
		out = strings.ReplaceAll(out, w, strings.ToUpper(w))
	}
	return out
}
