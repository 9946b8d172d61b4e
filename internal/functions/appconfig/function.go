package appconfig

import (
	"encoding/json"
	"path"
	"strings"
)

// FunctionFile is the name of the file that makes a folder a function.
const FunctionFile = "function.json"

// ReturnBinding is the binding name that receives a worker's ReturnValue.
const ReturnBinding = "$return"

// MaxFunctionNameLength is the longest function (folder) name Azure accepts.
const MaxFunctionNameLength = 128

// Direction is a binding's direction.
type Direction string

const (
	In    Direction = "in"
	Out   Direction = "out"
	InOut Direction = "inout"
)

// Function is one function of an app: a folder holding function.json.
type Function struct {
	Name     string    // the folder name
	Dir      string    // the folder, slash-separated, relative to the app root
	Bindings []Binding // in file order; exactly one is the trigger
	// Disabled is function.json "disabled", or the app setting AzureWebJobs.<name>.Disabled (when Load has a
	// Lookup). A disabled function is loaded but must not be triggered.
	Disabled bool
	// Retry is the function's own retry policy, or nil (the host may fall back to HostConfig.Retry).
	Retry *RetryPolicy
	// ScriptFile is recorded but ignored: custom handlers route by function name.
	ScriptFile string
}

// Trigger returns the function's trigger binding.
func (f *Function) Trigger() *Binding {
	for i := range f.Bindings {
		if f.Bindings[i].IsTrigger() {
			return &f.Bindings[i]
		}
	}
	return nil
}

// Binding returns the binding called name (case-insensitively), or nil.
func (f *Function) Binding(name string) *Binding {
	for i := range f.Bindings {
		if strings.EqualFold(f.Bindings[i].Name, name) {
			return &f.Bindings[i]
		}
	}
	return nil
}

// Binding is one entry of function.json "bindings". The host knows no binding type: the type-specific properties
// stay raw JSON for the binding registry, with %NAME% app-setting references already resolved.
type Binding struct {
	Type      string    // as written, e.g. "httpTrigger", "queue"; compare with strings.EqualFold
	Direction Direction // normalised to lower case
	Name      string
	DataType  string // "", "string", "binary" or "stream"

	// Properties holds every other property, keyed as written.
	Properties map[string]json.RawMessage
	// Raw is the whole binding object (type, direction and name included). A binding type can json.Unmarshal it
	// into its own struct; encoding/json matches field names case-insensitively, as Azure does.
	Raw json.RawMessage
}

// IsTrigger reports whether the binding is a trigger: its type ends in "Trigger" (case-insensitively), as the
// Functions host decides.
func (b *Binding) IsTrigger() bool {
	return len(b.Type) >= 7 && strings.EqualFold(b.Type[len(b.Type)-7:], "trigger")
}

// Property returns a type-specific property, matching its name case-insensitively.
func (b *Binding) Property(name string) (json.RawMessage, bool) {
	if v, ok := b.Properties[name]; ok {
		return v, true
	}
	for k, v := range b.Properties {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// StringProperty returns a type-specific property that is a JSON string.
func (b *Binding) StringProperty(name string) (string, bool) {
	raw, ok := b.Property(name)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// ValidFunctionName reports whether name is a function name Azure accepts: a letter, then letters, digits, '_'
// or '-', at most 128 characters in all (the host's ^[a-z][a-z0-9_\-]{0,127}$, case-insensitive).
func ValidFunctionName(name string) bool {
	if len(name) == 0 || len(name) > MaxFunctionNameLength || !isLetter(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		ch := name[i]
		if !isLetter(ch) && !isDigit(ch) && ch != '_' && ch != '-' {
			return false
		}
	}
	return true
}

// ValidBindingName reports whether name is a binding name Azure accepts: "$return", or a letter followed by up to
// 127 letters and digits (the host's ^([a-zA-Z][a-zA-Z0-9]{0,127}|\$return)$).
func ValidBindingName(name string) bool {
	if name == ReturnBinding {
		return true
	}
	if len(name) == 0 || len(name) > 128 || !isLetter(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if !isLetter(name[i]) && !isDigit(name[i]) {
			return false
		}
	}
	return true
}

func isLetter(ch byte) bool { return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' }
func isDigit(ch byte) bool  { return ch >= '0' && ch <= '9' }

// ParseFunction parses and validates the function.json of the function called name (its folder name). lookup, if
// not nil, resolves %NAME% references in the bindings' string properties. All problems are reported, joined; each
// is a *FieldError whose File is "<name>/function.json".
func ParseFunction(name string, data []byte, lookup Lookup) (*Function, error) {
	c := &collector{file: path.Join(name, FunctionFile)}
	f := parseFunction(c, name, data, lookup)
	if err := c.err(); err != nil {
		return nil, err
	}
	return f, nil
}

func parseFunction(c *collector, name string, data []byte, lookup Lookup) *Function {
	f := &Function{Name: name, Dir: name}
	if !ValidFunctionName(name) {
		c.add("", "the folder name %q is not a valid function name; use a letter, then letters, digits, '_' or '-', at most %d characters", truncate(name, 140), MaxFunctionNameLength)
	}
	clean := cleanJSON(data)
	root, err := parseObject(clean)
	if err != nil {
		if err == errNotObject {
			c.add("", "must hold a JSON object")
		} else {
			c.add("", "%s", syntaxError(clean, err))
		}
		return f
	}
	if v, ok := root.get("disabled"); ok {
		f.Disabled = parseDisabled(c, v, lookup)
	}
	if v, ok := root.get("retry"); ok {
		f.Retry = parseRetry(c, "retry", v)
	}
	if v, ok := root.get("scriptFile"); ok {
		f.ScriptFile, _ = c.str("scriptFile", v)
	}
	v, ok := root.get("bindings")
	if !ok {
		c.add("bindings", "is missing; a function needs a bindings array with one trigger")
		return f
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		c.add("bindings", "must be an array, got %s %s", kind(v), describe(v))
		return f
	}
	triggers := []int{}
	seen := map[string]int{}
	for i, item := range items {
		p := indexPath("bindings", i)
		b, ok := parseBinding(c, p, item, lookup)
		if !ok {
			continue
		}
		if b.Name != "" {
			key := strings.ToLower(b.Name)
			if j, dup := seen[key]; dup {
				c.add(p+".name", "%q is already the name of bindings[%d]; binding names must be unique (ignoring case)", b.Name, j)
			} else {
				seen[key] = i
			}
		}
		if b.IsTrigger() {
			triggers = append(triggers, i)
		}
		f.Bindings = append(f.Bindings, b)
	}
	switch {
	case len(items) == 0:
		c.add("bindings", "is empty; a function needs exactly one trigger binding (a type ending in \"Trigger\", such as httpTrigger)")
	case len(triggers) == 0 && len(f.Bindings) == len(items):
		c.add("bindings", "has no trigger; a function needs exactly one trigger binding (a type ending in \"Trigger\", such as httpTrigger)")
	case len(triggers) > 1:
		c.add("bindings", "has %d triggers (%s); a function can have only one", len(triggers), bindingList(triggers))
	}
	return f
}

func bindingList(idx []int) string {
	parts := make([]string, len(idx))
	for i, j := range idx {
		parts[i] = indexPath("bindings", j)
	}
	return strings.Join(parts, ", ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// parseDisabled reads "disabled": a boolean, the strings "true"/"false", or a %NAME% reference to one.
func parseDisabled(c *collector, raw json.RawMessage, lookup Lookup) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		s = strings.TrimSpace(c.resolveString("disabled", s, lookup))
		switch {
		case strings.EqualFold(s, "true") || s == "1":
			return true
		case strings.EqualFold(s, "false") || s == "0" || s == "":
			return false
		case strings.Contains(s, "%"):
			return false // unresolved reference without a Lookup: not disabled
		}
	}
	c.add("disabled", "must be true or false, got %s", describe(raw))
	return false
}

var reservedBindingKeys = []string{"type", "direction", "name", "dataType"}

func parseBinding(c *collector, p string, raw json.RawMessage, lookup Lookup) (Binding, bool) {
	obj, ok := c.object(p, raw)
	if !ok {
		return Binding{}, false
	}
	b := Binding{Properties: map[string]json.RawMessage{}}
	good := true
	if v, ok := obj.get("type"); !ok {
		c.add(p+".type", "is missing; it names the binding type, e.g. httpTrigger, queueTrigger, blob")
		good = false
	} else if s, ok := c.str(p+".type", v); ok {
		if strings.TrimSpace(s) == "" {
			c.add(p+".type", "must not be empty; it names the binding type, e.g. httpTrigger, queueTrigger, blob")
			good = false
		}
		b.Type = s
	} else {
		good = false
	}
	if v, ok := obj.get("name"); !ok {
		c.add(p+".name", "is missing; every binding needs a name")
		good = false
	} else if s, ok := c.str(p+".name", v); ok {
		if !ValidBindingName(s) {
			c.add(p+".name", "%q is not a valid binding name; use a letter followed by letters and digits (at most 128), or $return", truncate(s, 140))
		}
		b.Name = s
	} else {
		good = false
	}
	if v, ok := obj.get("direction"); !ok {
		c.add(p+".direction", "is missing; allowed: in, out, inout")
		good = false
	} else if s, ok := c.str(p+".direction", v); ok {
		if d, ok := c.oneOf(p+".direction", s, string(In), string(Out), string(InOut)); ok {
			b.Direction = Direction(d)
		} else {
			good = false
		}
	} else {
		good = false
	}
	if v, ok := obj.get("dataType"); ok {
		if s, ok := c.str(p+".dataType", v); ok {
			b.DataType, _ = c.oneOf(p+".dataType", s, "string", "binary", "stream")
		}
	}
	if b.Direction != "" && b.Type != "" {
		if b.IsTrigger() && b.Direction != In {
			c.add(p+".direction", "%q is not allowed for trigger %s; a trigger's direction must be in", b.Direction, b.Type)
		}
		if b.Name == ReturnBinding && b.Direction != Out {
			c.add(p+".direction", "%q is not allowed for $return; $return must be an out binding", b.Direction)
		}
	}
	for _, m := range obj {
		reserved := false
		for _, k := range reservedBindingKeys {
			if strings.EqualFold(m.Key, k) {
				reserved = true
			}
		}
		if !reserved {
			b.Properties[m.Key] = c.resolveJSON(joinPath(p, m.Key), m.Value, lookup)
		}
	}
	b.Raw = c.resolveRawBinding(p, raw, obj, lookup)
	return b, good
}

// resolveRawBinding returns the binding object with %NAME% resolved in its type-specific properties.
func (c *collector) resolveRawBinding(p string, raw json.RawMessage, obj object, lookup Lookup) json.RawMessage {
	if lookup == nil || !strings.Contains(string(raw), "%") {
		return raw
	}
	out := make(map[string]json.RawMessage, len(obj))
	sub := &collector{file: c.file} // errors were already reported for Properties
	for _, m := range obj {
		out[m.Key] = m.Value
		reserved := false
		for _, k := range reservedBindingKeys {
			if strings.EqualFold(m.Key, k) {
				reserved = true
			}
		}
		if !reserved {
			out[m.Key] = sub.resolveJSON(joinPath(p, m.Key), m.Value, lookup)
		}
	}
	data, err := json.Marshal(out)
	if err != nil {
		return raw
	}
	return data
}
