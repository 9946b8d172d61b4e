package expr

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// standardTimeFormats are .NET's standard date and time format strings (invariant culture) as custom ones.
var standardTimeFormats = map[byte]string{
	'd': "MM/dd/yyyy",
	'D': "dddd, dd MMMM yyyy",
	'f': "dddd, dd MMMM yyyy HH:mm",
	'F': "dddd, dd MMMM yyyy HH:mm:ss",
	'g': "MM/dd/yyyy HH:mm",
	'G': "MM/dd/yyyy HH:mm:ss",
	'm': "MMMM dd",
	'M': "MMMM dd",
	'o': "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	'O': "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	'r': "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	'R': "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	's': "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
	't': "HH:mm",
	'T': "HH:mm:ss",
	'u': "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
	'U': "dddd, dd MMMM yyyy HH:mm:ss",
	'y': "yyyy MMMM",
	'Y': "yyyy MMMM",
}

// formatTime formats t with a .NET date and time format string (standard or custom, invariant culture). msg is
// an error message.
func formatTime(t time.Time, f string) (string, string) {
	if len(f) == 1 {
		std, ok := standardTimeFormats[f[0]]
		if !ok {
			return "", fmt.Sprintf("%q is not a .NET standard date and time format (d D f F g G m o r s t T u U y); use a custom one such as yyyy-MM-dd", f)
		}
		if f[0] == 'r' || f[0] == 'R' || f[0] == 'u' || f[0] == 'U' {
			t = t.UTC()
		}
		f = std
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		c := f[i]
		n := 1
		for i+n < len(f) && f[i+n] == c {
			n++
		}
		switch c {
		case 'd':
			switch n {
			case 1:
				b.WriteString(strconv.Itoa(t.Day()))
			case 2:
				fmt.Fprintf(&b, "%02d", t.Day())
			case 3:
				b.WriteString(t.Weekday().String()[:3])
			default:
				b.WriteString(t.Weekday().String())
			}
		case 'f', 'F':
			if n > 7 {
				return "", fmt.Sprintf("%q has more than 7 '%c' (fractions of a second)", f, c)
			}
			digits := fmt.Sprintf("%09d", t.Nanosecond())[:n]
			if c == 'F' {
				digits = strings.TrimRight(digits, "0")
				if digits == "" {
					// .NET drops the decimal point before an empty F fraction.
					if s := b.String(); strings.HasSuffix(s, ".") {
						b.Reset()
						b.WriteString(s[:len(s)-1])
					}
				}
			}
			b.WriteString(digits)
		case 'g':
			b.WriteString("A.D.")
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			pad(&b, h, min(n, 2))
		case 'H':
			pad(&b, t.Hour(), min(n, 2))
		case 'K':
			if _, off := t.Zone(); off == 0 && t.Location() == time.UTC {
				b.WriteByte('Z')
			} else {
				b.WriteString(t.Format("-07:00"))
			}
		case 'm':
			pad(&b, t.Minute(), min(n, 2))
		case 'M':
			switch n {
			case 1, 2:
				pad(&b, int(t.Month()), n)
			case 3:
				b.WriteString(t.Month().String()[:3])
			default:
				b.WriteString(t.Month().String())
			}
		case 's':
			pad(&b, t.Second(), min(n, 2))
		case 't':
			ampm := "AM"
			if t.Hour() >= 12 {
				ampm = "PM"
			}
			if n == 1 {
				ampm = ampm[:1]
			}
			b.WriteString(ampm)
		case 'y':
			switch n {
			case 1:
				b.WriteString(strconv.Itoa(t.Year() % 100))
			case 2:
				fmt.Fprintf(&b, "%02d", t.Year()%100)
			default:
				pad(&b, t.Year(), n)
			}
		case 'z':
			_, off := t.Zone()
			sign := '+'
			if off < 0 {
				sign, off = '-', -off
			}
			switch n {
			case 1:
				fmt.Fprintf(&b, "%c%d", sign, off/3600)
			case 2:
				fmt.Fprintf(&b, "%c%02d", sign, off/3600)
			default:
				fmt.Fprintf(&b, "%c%02d:%02d", sign, off/3600, off%3600/60)
			}
		case '\'', '"':
			end := strings.IndexByte(f[i+1:], c)
			if end < 0 {
				return "", fmt.Sprintf("%q has an unclosed %c quote", f, c)
			}
			b.WriteString(f[i+1 : i+1+end])
			i += end + 2
			continue
		case '\\':
			if i+1 >= len(f) {
				return "", fmt.Sprintf("%q ends with a lone '\\'", f)
			}
			b.WriteByte(f[i+1])
			i += 2
			continue
		case '%':
			// "%d" is the custom specifier d alone (a one-character format is a standard one).
			i++
			continue
		default:
			b.WriteString(f[i : i+n])
		}
		i += n
	}
	return b.String(), ""
}

func pad(b *strings.Builder, v, width int) {
	s := strconv.Itoa(v)
	for len(s) < width {
		s = "0" + s
	}
	b.WriteString(s)
}

// formatGUID formats g with a .NET GUID format: N (32 digits), D (hyphens), B (braces), P (parentheses).
func formatGUID(g, f string) (string, string) {
	u, err := uuid.Parse(g)
	if err != nil {
		return "", fmt.Sprintf("%q is not a GUID", g)
	}
	d := u.String()
	switch f {
	case "D", "d":
		return d, ""
	case "N", "n":
		return strings.ReplaceAll(d, "-", ""), ""
	case "B", "b":
		return "{" + d + "}", ""
	case "P", "p":
		return "(" + d + ")", ""
	}
	return "", fmt.Sprintf("%q is not a GUID format; use N, D, B or P", f)
}

// formatInt formats n with a .NET numeric format: D or X with an optional precision (minimum digits).
func formatInt(n int64, f string) (string, string) {
	prec := 0
	if len(f) > 1 {
		p, err := strconv.Atoi(f[1:])
		if err != nil || p < 0 || p > 99 {
			return "", fmt.Sprintf("%q is not an integer format; use D or X with an optional precision, e.g. D5", f)
		}
		prec = p
	}
	var s string
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	switch f[0] {
	case 'D', 'd':
		s = strconv.FormatUint(u, 10)
	case 'X':
		s = strings.ToUpper(strconv.FormatUint(uint64(n), 16))
		neg = false
	case 'x':
		s = strconv.FormatUint(uint64(n), 16)
		neg = false
	default:
		return "", fmt.Sprintf("%q is not an integer format; use D or X with an optional precision, e.g. D5", f)
	}
	for len(s) < prec {
		s = "0" + s
	}
	if neg {
		s = "-" + s
	}
	return s, ""
}
