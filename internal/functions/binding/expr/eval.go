package expr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DefaultTimeFormat is how {DateTime} and {sys.UtcNow} are written without a format: .NET's
// "yyyy-MM-ddTHH-mm-ssZ", path-safe (no ':'), e.g. "2018-02-16T17-59-55Z".
const DefaultTimeFormat = "2006-01-02T15-04-05Z"

// Sys is the "sys" binding data of an invocation.
type Sys struct {
	MethodName string    // the function's name
	UtcNow     time.Time // when the invocation started
	RandGuid   string    // a GUID fixed for the invocation
}

// Context is what a template is evaluated against. The zero value has no binding data, and takes the time and
// GUIDs from the system.
type Context struct {
	// Metadata is the trigger metadata: names with JSON values.
	Metadata map[string]json.RawMessage
	// Value is the trigger value. When it is a JSON object, or a JSON string holding a JSON object, its
	// properties are names too (after Metadata).
	Value json.RawMessage
	// Sys is the "sys" data; a "sys" entry in Metadata takes its place.
	Sys Sys
	// Now returns the current time for {DateTime} (default time.Now); it is converted to UTC.
	Now func() time.Time
	// NewGUID returns a new GUID for {rand-guid} (default a random UUID).
	NewGUID func() string
}

// Evaluate returns the template with every expression replaced by its value. An error is an *Error naming the
// expression and, for an unknown name, the names available.
func (t *Template) Evaluate(c *Context) (string, error) {
	if c == nil {
		c = &Context{}
	}
	var b strings.Builder
	var valueProps map[string]json.RawMessage
	propsDone := false
	for _, p := range t.parts {
		if p.Expr == nil {
			b.WriteString(p.Literal)
			continue
		}
		if !propsDone {
			valueProps, propsDone = objectOf(c.Value), true
		}
		s, err := c.eval(p.Expr, valueProps)
		if err != nil {
			err.Template = t.src
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// Eval parses template s and evaluates it against c.
func Eval(s string, c *Context) (string, error) {
	t, err := Parse(s)
	if err != nil {
		return "", err
	}
	return t.Evaluate(c)
}

// value is a resolved expression: JSON, a time or a GUID.
type value struct {
	raw  json.RawMessage
	time *time.Time
	guid string
}

func (c *Context) eval(e *Expr, props map[string]json.RawMessage) (string, *Error) {
	v, err := c.resolve(e, props)
	if err != nil {
		return "", err
	}
	s, msg := v.text(e.Format, e.HasFormat)
	if msg != "" {
		return "", &Error{Expr: e.Raw, Msg: msg}
	}
	return s, nil
}

func (c *Context) resolve(e *Expr, props map[string]json.RawMessage) (value, *Error) {
	first := e.Path[0]
	var cur json.RawMessage
	found := false
	if strings.EqualFold(first, "sys") {
		sys := c.Sys
		if raw, ok := lookup(c.Metadata, first); ok {
			// The host's "sys": {"MethodName","UtcNow","RandGuid"}, with UtcNow as RFC 3339 text.
			var m struct{ MethodName, UtcNow, RandGuid string }
			if json.Unmarshal(raw, &m) == nil {
				sys = Sys{MethodName: m.MethodName, RandGuid: m.RandGuid}
				sys.UtcNow, _ = time.Parse(time.RFC3339Nano, m.UtcNow)
			}
		}
		return sys.resolve(e)
	}
	if raw, ok := lookup(c.Metadata, first); ok {
		cur, found = raw, true
	} else if raw, ok := lookup(props, first); ok {
		cur, found = raw, true
	}
	if !found {
		switch e.Builtin {
		case RandGUID:
			if c.NewGUID != nil {
				return value{guid: c.NewGUID()}, nil
			}
			return value{guid: uuid.NewString()}, nil
		case DateTime:
			now := time.Now
			if c.Now != nil {
				now = c.Now
			}
			t := now().UTC()
			return value{time: &t}, nil
		}
		return value{}, &Error{Expr: e.Raw, Msg: fmt.Sprintf("no value named %q", first), Available: c.available(props)}
	}
	if e.Builtin != NotBuiltin {
		return value{raw: cur}, nil
	}
	for i := 1; i < len(e.Path); i++ {
		next, msg := member(cur, e.Path[i])
		if msg != "" {
			return value{}, &Error{Expr: e.Raw, Msg: fmt.Sprintf("%s %s", strings.Join(e.Path[:i], "."), msg)}
		}
		cur = next
	}
	return value{raw: cur}, nil
}

// resolve resolves a "sys..." path.
func (sys Sys) resolve(e *Expr) (value, *Error) {
	if len(e.Path) != 2 {
		return value{}, &Error{Expr: e.Raw, Msg: "sys is an object; use sys.MethodName, sys.UtcNow or sys.RandGuid"}
	}
	switch strings.ToLower(e.Path[1]) {
	case "methodname":
		raw, _ := json.Marshal(sys.MethodName)
		return value{raw: raw}, nil
	case "utcnow":
		t := sys.UtcNow
		if t.IsZero() {
			t = time.Now()
		}
		t = t.UTC()
		return value{time: &t}, nil
	case "randguid":
		g := sys.RandGuid
		if g == "" {
			g = uuid.NewString()
		}
		return value{guid: g}, nil
	}
	return value{}, &Error{Expr: e.Raw, Msg: fmt.Sprintf("sys has no property %q; it has MethodName, UtcNow, RandGuid", e.Path[1])}
}

// available lists the names an expression could use, for error messages.
func (c *Context) available(props map[string]json.RawMessage) []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if !seen[strings.ToLower(n)] {
			seen[strings.ToLower(n)] = true
			out = append(out, n)
		}
	}
	for _, m := range []map[string]json.RawMessage{c.Metadata, props} {
		names := make([]string, 0, len(m))
		for k := range m {
			if !strings.EqualFold(k, "sys") {
				names = append(names, k)
			}
		}
		slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
		for _, n := range names {
			add(n)
		}
	}
	const limit = 40
	if len(out) > limit {
		out = append(out[:limit], fmt.Sprintf("... (%d more)", len(out)-limit))
	}
	for _, n := range []string{"sys.MethodName", "sys.UtcNow", "sys.RandGuid", "rand-guid", "DateTime"} {
		add(n)
	}
	return out
}

// lookup finds name in m, exactly or else ignoring case.
func lookup(m map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// objectOf returns the properties of raw when it is a JSON object, or a JSON string holding one.
func objectOf(raw json.RawMessage) map[string]json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// member returns property (or array index) name of cur; msg says why not.
func member(cur json.RawMessage, name string) (json.RawMessage, string) {
	cur = bytes.TrimSpace(cur)
	if len(cur) > 0 && cur[0] == '"' {
		// A JSON string holding JSON (a queue message, a string-encoded body) is walked into as well.
		var s string
		if json.Unmarshal(cur, &s) == nil {
			if t := bytes.TrimSpace([]byte(s)); len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t) {
				cur = t
			}
		}
	}
	if len(cur) == 0 {
		return nil, "has no value"
	}
	switch cur[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cur, &m); err != nil {
			return nil, "is not valid JSON"
		}
		if v, ok := lookup(m, name); ok {
			return v, ""
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(keys) > 40 {
			keys = append(keys[:40], "...")
		}
		if len(keys) == 0 {
			return nil, fmt.Sprintf("has no property %q; it is an empty object", name)
		}
		return nil, fmt.Sprintf("has no property %q; its properties: %s", name, strings.Join(keys, ", "))
	case '[':
		var a []json.RawMessage
		if err := json.Unmarshal(cur, &a); err != nil {
			return nil, "is not valid JSON"
		}
		i, err := strconv.Atoi(name)
		if err != nil || i < 0 {
			return nil, fmt.Sprintf("is an array; %q is not an index", name)
		}
		if i >= len(a) {
			return nil, fmt.Sprintf("is an array of %d; index %d is out of range", len(a), i)
		}
		return a[i], ""
	}
	return nil, fmt.Sprintf("is %s, which has no property %q", kind(cur), name)
}

func kind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "empty"
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
	}
	return "a number"
}

// text converts a resolved value to path text, applying format when given. msg is an error message.
func (v value) text(format string, hasFormat bool) (string, string) {
	switch {
	case v.time != nil:
		if !hasFormat {
			return v.time.Format(DefaultTimeFormat), ""
		}
		return formatTime(*v.time, format)
	case v.guid != "":
		if !hasFormat {
			return v.guid, ""
		}
		return formatGUID(v.guid, format)
	}
	raw := bytes.TrimSpace(v.raw)
	if len(raw) == 0 {
		return "", "has no value"
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", "is not a valid JSON string"
		}
		if !hasFormat {
			return s, ""
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return formatTime(t, format)
		}
		if _, err := uuid.Parse(s); err == nil && len(s) == 36 {
			return formatGUID(s, format)
		}
		return "", fmt.Sprintf("the format %q applies to times, GUIDs and integers; the value %q is neither", format, truncate(s, 64))
	case 't':
		return "True", "" // .NET's spelling, as Azure writes a JSON true
	case 'f':
		return "False", ""
	case 'n':
		return "", "is null"
	case '{', '[':
		return "", fmt.Sprintf("is %s; a binding expression needs a string or a number (name a property with a '.')", kind(raw))
	}
	// A number.
	if !json.Valid(raw) {
		return "", "is not valid JSON"
	}
	if !hasFormat {
		return string(raw), ""
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return "", fmt.Sprintf("the format %q applies to integers, and %s is not one", format, raw)
	}
	return formatInt(n, format)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
