package appconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FieldError is one problem found in an app's configuration files. Its message names the file, the JSON path of
// the field and what is allowed, for example
//
//	myfunc/function.json: bindings[0].direction: "sideways" is not one of in, out, inout
type FieldError struct {
	File string // slash-separated path inside the app, e.g. "host.json" or "myfunc/function.json"
	Path string // JSON path of the field, e.g. "bindings[0].direction"; empty for the file as a whole
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.File + ": " + e.Msg
	}
	return e.File + ": " + e.Path + ": " + e.Msg
}

// collector accumulates FieldErrors for one file.
type collector struct {
	file string
	errs []error
}

func (c *collector) add(path, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{File: c.file, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *collector) err() error { return errors.Join(c.errs...) }

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func indexPath(base string, i int) string { return base + "[" + strconv.Itoa(i) + "]" }

// cleanJSON makes the JSON dialect Azure's Newtonsoft-based readers accept readable by encoding/json: it drops a
// UTF-8 byte order mark, and blanks out // and /* */ comments and trailing commas before } or ]. Blanking (rather
// than removing) keeps byte offsets, so syntax errors still point at the right line and column.
func cleanJSON(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	out := bytes.Clone(data)
	inString := false
	lastComma := -1 // index of a comma that may turn out to be trailing
	for i := 0; i < len(out); i++ {
		ch := out[i]
		if inString {
			switch ch {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch {
		case ch == '"':
			inString = true
			lastComma = -1
		case ch == '/' && i+1 < len(out) && out[i+1] == '/':
			for ; i < len(out) && out[i] != '\n'; i++ {
				out[i] = ' '
			}
		case ch == '/' && i+1 < len(out) && out[i+1] == '*':
			j := i + 2
			for ; j+1 < len(out) && !(out[j] == '*' && out[j+1] == '/'); j++ {
			}
			end := min(j+2, len(out))
			for k := i; k < end; k++ {
				if out[k] != '\n' {
					out[k] = ' '
				}
			}
			i = end - 1
		case ch == ',':
			lastComma = i
		case ch == '}' || ch == ']':
			if lastComma >= 0 {
				out[lastComma] = ' '
			}
			lastComma = -1
		case ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n':
		default:
			lastComma = -1
		}
	}
	return out
}

// syntaxError turns a decoding error into a message with a line and column.
func syntaxError(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		off = int64(len(data))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "unexpected end of JSON"
	}
	if off < 0 {
		return "invalid JSON: " + msg
	}
	line, col := 1, 1
	for i := 0; i < int(off) && i < len(data); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, msg)
}

// member is one key/value pair of a JSON object, in document order.
type member struct {
	Key   string
	Value json.RawMessage
}

// object is a JSON object whose keys are looked up case-insensitively, as .NET configuration binding does.
type object []member

// parseObject decodes raw as a JSON object, keeping the members in document order.
func parseObject(raw json.RawMessage) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	var obj object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		obj = append(obj, member{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the top-level object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the top-level object")
	}
	return obj, nil
}

var errNotObject = errors.New("not a JSON object")

// get returns the value of key (case-insensitively; the last duplicate wins, as in .NET configuration).
func (o object) get(key string) (json.RawMessage, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if strings.EqualFold(o[i].Key, key) {
			if isNull(o[i].Value) {
				return nil, false
			}
			return o[i].Value, true
		}
	}
	return nil, false
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// describe renders a JSON value for an error message.
func describe(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err == nil {
		raw = buf.Bytes()
	}
	s := string(raw)
	if len(s) > 60 {
		cut := 57
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// The value readers below report a type mismatch to c and return ok=false.

func (c *collector) object(path string, raw json.RawMessage) (object, bool) {
	obj, err := parseObject(raw)
	if err != nil {
		c.add(path, "must be an object, got %s %s", kind(raw), describe(raw))
		return nil, false
	}
	return obj, true
}

func (c *collector) str(path string, raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		c.add(path, "must be a string, got %s %s", kind(raw), describe(raw))
		return "", false
	}
	return s, true
}

// boolean accepts true/false and, as .NET configuration binding does, the strings "true"/"false".
func (c *collector) boolean(path string, raw json.RawMessage) (bool, bool) {
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if v, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil && (strings.EqualFold(strings.TrimSpace(s), "true") || strings.EqualFold(strings.TrimSpace(s), "false")) {
			return v, true
		}
	}
	c.add(path, "must be true or false, got %s", describe(raw))
	return false, false
}

// integer accepts a JSON integer or a string holding one (as .NET configuration binding does).
func (c *collector) integer(path string, raw json.RawMessage) (int, bool) {
	text := strings.TrimSpace(string(raw))
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = strings.TrimSpace(s)
	}
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		c.add(path, "must be an integer, got %s", describe(raw))
		return 0, false
	}
	return int(n), true
}

func (c *collector) intRange(path string, raw json.RawMessage, lo, hi int) (int, bool) {
	n, ok := c.integer(path, raw)
	if !ok {
		return 0, false
	}
	if n < lo || n > hi {
		c.add(path, "%d is out of range; allowed: %d to %d", n, lo, hi)
		return 0, false
	}
	return n, true
}

func (c *collector) strings(path string, raw json.RawMessage) ([]string, bool) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		c.add(path, "must be an array of strings, got %s %s", kind(raw), describe(raw))
		return nil, false
	}
	out := make([]string, 0, len(items))
	ok := true
	for i, it := range items {
		s, good := c.str(indexPath(path, i), it)
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// oneOf checks s against allowed (case-insensitively) and returns the canonical spelling.
func (c *collector) oneOf(path, s string, allowed ...string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a, true
		}
	}
	c.add(path, "%q is not one of %s", s, strings.Join(allowed, ", "))
	return "", false
}
