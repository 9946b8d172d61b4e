package output

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pyNumber formats a number the way Python's str() prints what json.loads
// made of it: integral values as integers (5, not 5.0 or 5e+00), other values
// in Python's shortest repr, which switches to exponent form below 1e-4 and
// at or above 1e16 (1e-05, 1.5e+300). Integral values of 1e21 and more also
// use the exponent form, as encoding/json does.
func pyNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		return "0" // also for -0, which no integer is
	}
	abs := math.Abs(f)
	if f == math.Trunc(f) && abs < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	if abs < 1e-4 || abs >= 1e16 {
		return strconv.FormatFloat(f, 'e', -1, 64) // Go, like Python, writes e-05
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// jsonNumber is pyNumber with the spellings Python's json module uses for
// the values JSON has no syntax for.
func jsonNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return pyNumber(f)
}

// pyStr is Python's str() of a JSON value, which is what knack's tsv and
// table output print: strings raw, True/False/None, numbers as pyNumber and
// containers as their repr.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return pyNumber(x)
	case nil:
		return "None"
	}
	var b strings.Builder
	pyRepr(&b, v, nil)
	return b.String()
}

// pyRepr writes Python's repr() of a JSON value: {'a': 1, 'b': [True, None]}.
// Objects built by a multi-select hash keep the query's key order, others are
// sorted (Python would keep the order of the original JSON, which is lost).
func pyRepr(b *strings.Builder, v any, book *orderBook) {
	switch x := v.(type) {
	case string:
		b.WriteString(pyQuote(x))
	case map[string]any:
		b.WriteByte('{')
		for i, k := range book.keys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyQuote(k))
			b.WriteString(": ")
			pyRepr(b, x[k], book)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyRepr(b, e, book)
		}
		b.WriteByte(']')
	default:
		b.WriteString(pyStr(v))
	}
}

// pyQuote is Python's repr() of a str: single quotes unless the text has a
// single quote and no double quote, escapes for the quote, backslash and
// characters that are not printable.
func pyQuote(s string) string {
	quote := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteRune(quote)
	for _, r := range s {
		switch {
		case r == quote || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteRune(quote)
	return b.String()
}

// isPySpace is Python's str.isspace for one character: Go's unicode.IsSpace
// plus the ASCII information separators U+001C..U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// pyStrip and pyRstrip are Python's str.strip() and str.rstrip().
func pyStrip(s string) string  { return strings.TrimFunc(s, isPySpace) }
func pyRstrip(s string) string { return strings.TrimRightFunc(s, isPySpace) }

// pySplitlines is Python's str.splitlines(): it splits at \n, \r, \r\n, \v,
// \f, \x1c, \x1d, \x1e, \x85, U+2028 and U+2029, drops the line ends, and
// gives no final empty line for text that ends with a line end.
func pySplitlines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			lines = append(lines, s[start:i])
			i += size
			if r == '\r' && i < len(s) && s[i] == '\n' {
				i++
			}
			start = i
		default:
			i += size
		}
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

// splitCRLF splits s at every \r and every \n, like re.split("[\r\n]", s);
// "\r\n" gives an empty piece between the two.
func splitCRLF(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// width is the printed width tabulate gives a cell: its length in code
// points (az does not install wcwidth).
func width(s string) int { return utf8.RuneCountInString(s) }
