package appconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Lookup returns the value of an app setting and whether it is set. In a running app the settings are the app's
// configured settings (and, locally, local.settings.json Values) with the process environment behind them.
type Lookup func(name string) (string, bool)

// SettingError reports a %NAME% reference that could not be resolved.
type SettingError struct {
	Setting string // the setting name; empty for a syntax problem
	Msg     string
}

func (e *SettingError) Error() string { return e.Msg }

// ResolveSettings replaces every %NAME% in s with the value of app setting NAME, as the Functions host's name
// resolver does (ResolveWholeString): text outside %...% is kept, a '%' without a closing '%' is an error, and so is
// a setting that is not set. "%%" (an empty name) is an error too. Resolution is a single pass: a setting's value is
// not itself resolved again.
func ResolveSettings(s string, lookup Lookup) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		start := strings.IndexByte(s[i:], '%')
		if start < 0 {
			b.WriteString(s[i:])
			break
		}
		start += i
		end := strings.IndexByte(s[start+1:], '%')
		if end < 0 {
			return "", &SettingError{Msg: fmt.Sprintf("the '%%' at position %d of %q has no closing '%%'", start, s)}
		}
		end += start + 1
		name := s[start+1 : end]
		if name == "" {
			return "", &SettingError{Msg: fmt.Sprintf("empty app setting reference %%%% at position %d of %q", start, s)}
		}
		v, ok := lookup(name)
		if !ok {
			return "", &SettingError{Setting: name, Msg: fmt.Sprintf("%%%s%% does not resolve to a value: app setting %q is not set", name, name)}
		}
		b.WriteString(s[i:start])
		b.WriteString(v)
		i = end + 1
	}
	return b.String(), nil
}

// resolveString resolves s and reports a failure at path.
func (c *collector) resolveString(path, s string, lookup Lookup) string {
	if lookup == nil {
		return s
	}
	v, err := ResolveSettings(s, lookup)
	if err != nil {
		c.add(path, "%s", err)
		return s
	}
	return v
}

// resolveJSON resolves %NAME% in every string value (not key) of raw, recursively. It returns raw unchanged when
// nothing needs resolving.
func (c *collector) resolveJSON(path string, raw json.RawMessage, lookup Lookup) json.RawMessage {
	if lookup == nil || !bytes.Contains(raw, []byte("%")) {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	v = c.resolveValue(path, v, lookup)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return raw
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n"))
}

func (c *collector) resolveValue(path string, v any, lookup Lookup) any {
	switch x := v.(type) {
	case string:
		return c.resolveString(path, x, lookup)
	case []any:
		for i := range x {
			x[i] = c.resolveValue(indexPath(path, i), x[i], lookup)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic error order
		for _, k := range keys {
			x[k] = c.resolveValue(joinPath(path, k), x[k], lookup)
		}
	}
	return v
}
