package output

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrTableUnavailable is returned for table output when the rows have no
// scalar field to show. The text is az's.
var ErrTableUnavailable = errors.New("Table output unavailable. " +
	"Use the --query option to specify an appropriate query. " +
	"Use --debug for more info.")

// tableSkipKeys are never shown as table columns (knack's SKIP_KEYS).
var tableSkipKeys = map[string]bool{"id": true, "type": true, "etag": true}

// tableRow is one row: cells by header, headers in their order in the row.
type tableRow struct {
	headers []string
	cells   map[string]string
}

func (r *tableRow) set(header, cell string) {
	if _, ok := r.cells[header]; !ok {
		r.headers = append(r.headers, header)
	}
	r.cells[header] = cell // a repeated header keeps its place, takes the last value
}

// tableItem is knack's _TableOutput._auto_table_item.
func tableItem(v any, book *orderBook) tableRow {
	row := tableRow{cells: map[string]string{}}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range book.keys(x) {
			if tableSkipKeys[k] {
				continue
			}
			switch e := x[k].(type) {
			case nil, []any, map[string]any:
				continue
			default:
				row.set(capitalizeFirst(k), pyStr(e))
			}
		}
	case []any:
		for i, e := range x {
			row.set("Column"+strconv.Itoa(i+1), tableCell(e, book))
		}
	default:
		row.set("Result", tableCell(x, book))
	}
	return row
}

// tableCell is how tabulate prints a value: null as nothing, anything else
// as Python's str().
func tableCell(v any, book *orderBook) string {
	switch v.(type) {
	case nil:
		return ""
	case map[string]any, []any:
		var b strings.Builder
		pyRepr(&b, v, book)
		return b.String()
	}
	return pyStr(v)
}

func capitalizeFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return strings.ToUpper(string(r)) + s[n:]
}

// writeTable follows knack's _TableOutput and python-tabulate's "simple"
// format with headers="keys" and number parsing off: columns are the union
// of the rows' headers in first-seen order, every cell is stripped of
// surrounding white space and left-aligned, a column is as wide as its widest
// cell and at least two wider than its header, columns are separated by two
// spaces, a line of dashes follows the header and trailing white space is
// cut from every line. Cells holding line breaks spread over several lines.
func writeTable(buf *bytes.Buffer, v any, book *orderBook) error {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	if len(items) == 0 {
		return nil // knack prints an empty line here; lapis prints nothing
	}
	rows := make([]tableRow, len(items))
	var headers []string
	seen := map[string]bool{}
	for i, it := range items {
		rows[i] = tableItem(it, book)
		for _, h := range rows[i].headers {
			if !seen[h] {
				seen[h] = true
				headers = append(headers, h)
			}
		}
	}
	if len(headers) == 0 {
		return ErrTableUnavailable
	}

	cells := make([][]string, len(rows)) // [row][column], stripped
	multiline := false
	for _, h := range headers {
		multiline = multiline || strings.ContainsAny(h, "\r\n")
	}
	for i, r := range rows {
		cells[i] = make([]string, len(headers))
		for j, h := range headers {
			c := pyStrip(r.cells[h])
			cells[i][j] = c
			multiline = multiline || strings.ContainsAny(c, "\r\n")
		}
	}

	cellWidth := width
	if multiline {
		cellWidth = func(s string) int {
			w := 0
			for _, part := range splitCRLF(s) {
				w = max(w, width(part))
			}
			return w
		}
	}
	widths := make([]int, len(headers))
	for j, h := range headers {
		widths[j] = cellWidth(h) + 2
		for i := range cells {
			widths[j] = max(widths[j], cellWidth(cells[i][j]))
		}
	}

	var lines []string
	dashes := make([]string, len(headers))
	for j, w := range widths {
		dashes[j] = strings.Repeat("-", w)
	}
	if !multiline {
		padded := make([]string, len(headers))
		for j, h := range headers {
			padded[j] = padRight(h, widths[j])
		}
		lines = append(lines, joinRow(padded), joinRow(dashes))
		for _, row := range cells {
			for j, c := range row {
				padded[j] = padRight(c, widths[j])
			}
			lines = append(lines, joinRow(padded))
		}
	} else {
		// tabulate pads every line of a cell, then lays the cells of a row
		// side by side, filling short cells with blank lines at the bottom.
		padded := make([]string, len(headers))
		for j, h := range headers {
			parts := splitCRLF(h)
			for k, p := range parts {
				parts[k] = padRight(p, widths[j])
			}
			padded[j] = strings.Join(parts, "\n")
		}
		lines = appendMultilineRow(lines, padded, widths)
		lines = append(lines, joinRow(dashes))
		for _, row := range cells {
			for j, c := range row {
				parts := pySplitlines(c)
				for k, p := range parts {
					parts[k] = padRight(p, widths[j])
				}
				padded[j] = strings.Join(parts, "\n")
			}
			lines = appendMultilineRow(lines, padded, widths)
		}
	}
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	return nil
}

func appendMultilineRow(lines, cells []string, widths []int) []string {
	split := make([][]string, len(cells))
	n := 0
	for j, c := range cells {
		split[j] = pySplitlines(c)
		n = max(n, len(split[j]))
	}
	line := make([]string, len(cells))
	for i := range n {
		for j := range cells {
			if i < len(split[j]) {
				line[j] = split[j][i]
			} else {
				line[j] = strings.Repeat(" ", widths[j])
			}
		}
		lines = append(lines, joinRow(line))
	}
	return lines
}

func padRight(s string, w int) string {
	if n := w - width(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

func joinRow(cells []string) string { return pyRstrip(strings.Join(cells, "  ")) }
