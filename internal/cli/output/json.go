package output

import (
	"bytes"
	"strings"
)

// ANSI colours of pygments' TerminalFormatter (light background, its
// default) for the tokens of its JSON lexer, which is what az's jsonc uses.
const (
	colorKey    = "\x1b[94m" // Name.Tag: brightblue
	colorString = "\x1b[33m" // String.Double: yellow
	colorNumber = "\x1b[34m" // Number: blue
	colorConst  = "\x1b[34m" // Keyword.Constant (true/false/null): blue
	colorReset  = "\x1b[39;49;00m"
)

// writeJSON writes v like Python's json.dumps(v, indent=2, sort_keys=True,
// ensure_ascii=False, separators=(',', ': ')) plus a newline, as knack does.
func writeJSON(buf *bytes.Buffer, v any, color bool) {
	j := jsonWriter{buf: buf, color: color}
	j.value(v, 0)
	buf.WriteByte('\n')
}

type jsonWriter struct {
	buf   *bytes.Buffer
	color bool
}

func (j *jsonWriter) token(color, text string) {
	if j.color {
		j.buf.WriteString(color)
		j.buf.WriteString(text)
		j.buf.WriteString(colorReset)
		return
	}
	j.buf.WriteString(text)
}

func (j *jsonWriter) newline(indent int) {
	j.buf.WriteByte('\n')
	for range indent {
		j.buf.WriteByte(' ')
	}
}

func (j *jsonWriter) value(v any, indent int) {
	switch x := v.(type) {
	case nil:
		j.token(colorConst, "null")
	case bool:
		if x {
			j.token(colorConst, "true")
		} else {
			j.token(colorConst, "false")
		}
	case float64:
		j.token(colorNumber, jsonNumber(x))
	case string:
		j.token(colorString, jsonQuote(x))
	case []any:
		if len(x) == 0 {
			j.buf.WriteString("[]")
			return
		}
		j.buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				j.buf.WriteByte(',')
			}
			j.newline(indent + 2)
			j.value(e, indent+2)
		}
		j.newline(indent)
		j.buf.WriteByte(']')
	case map[string]any:
		if len(x) == 0 {
			j.buf.WriteString("{}")
			return
		}
		j.buf.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				j.buf.WriteByte(',')
			}
			j.newline(indent + 2)
			j.token(colorKey, jsonQuote(k))
			j.buf.WriteString(": ")
			j.value(x[k], indent+2)
		}
		j.newline(indent)
		j.buf.WriteByte('}')
	}
}

// jsonQuote quotes s as Python's json module does with ensure_ascii=False:
// only the quote, the backslash and control characters below U+0020 are
// escaped (\n, \r, \t, \b, \f by name, the rest as \u00XX); everything else,
// U+2028, U+2029 and "<>&" included, is written as is.
func jsonQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		start = i + 1
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			const hex = "0123456789abcdef"
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
	return b.String()
}
