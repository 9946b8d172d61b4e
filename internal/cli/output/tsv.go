package output

import "bytes"

// writeTSV follows knack's _TsvOutput: a list prints one line per element,
// anything else one line. A line for an object holds its values in key order
// (query order for multi-select hashes, sorted otherwise), a line for a list
// its elements, separated by tabs; see tsvField for each value. A line that
// is a bare bool prints true/false, another bare scalar prints as a field.
func writeTSV(buf *bytes.Buffer, v any, book *orderBook) {
	rows, ok := v.([]any)
	if !ok {
		rows = []any{v}
	}
	for _, row := range rows {
		switch x := row.(type) {
		case map[string]any:
			for i, k := range book.keys(x) {
				if i > 0 {
					buf.WriteByte('\t')
				}
				buf.WriteString(tsvField(x[k]))
			}
		case []any:
			for i, e := range x {
				if i > 0 {
					buf.WriteByte('\t')
				}
				buf.WriteString(tsvField(e))
			}
		case bool:
			if x {
				buf.WriteString("true")
			} else {
				buf.WriteString("false")
			}
		default:
			buf.WriteString(tsvField(x))
		}
		buf.WriteByte('\n')
	}
}

// tsvField is one field of a tsv line: a list prints its length, an object
// nothing (so that lines keep the same number of fields), a string as is,
// null as nothing, a bool as True/False (Python's str) and a number as
// pyNumber. Knack prints null as "None"; lapis prints an empty field.
func tsvField(v any) string {
	switch x := v.(type) {
	case []any:
		return pyNumber(float64(len(x)))
	case map[string]any, nil:
		return ""
	}
	return pyStr(v)
}
