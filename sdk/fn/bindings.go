package fn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Prop is one function.json property of a binding, such as
// {"connection": "MyStorage"} or {"dataType": "string"}. Passed to a
// registration method as an [Option], it sets a property of the function's
// trigger; passed to [QueueOutput], [BlobOutput] or [BlobInput], it sets a
// property of that binding. A Prop whose Value is nil removes the property.
// [Connection] and [DataType] build the common ones; others can be written
// directly, for example fn.Prop{Key: "source", Value: "EventGrid"} on a
// blob trigger.
type Prop struct {
	Key   string
	Value any
}

func (p Prop) apply(f *function) error {
	if err := setProp(f.trigger(), p); err != nil {
		return fmt.Errorf("trigger %q: %w", f.trigger().Name, err)
	}
	return nil
}

// setProp sets (or, for a nil Value, removes) one property of b.
func setProp(b *Binding, p Prop) error {
	if err := checkPropKey(p.Key); err != nil {
		return err
	}
	if strings.EqualFold(p.Key, "dataType") && p.Value != nil {
		s, _ := p.Value.(string)
		switch s {
		case "binary", "string", "stream":
		default:
			return fmt.Errorf("dataType %v is not one of binary, string, stream", p.Value)
		}
	}
	if p.Value == nil {
		delete(b.Props, p.Key)
		return nil
	}
	if b.Props == nil {
		b.Props = map[string]any{}
	}
	b.Props[p.Key] = p.Value
	return nil
}

// Connection names the app setting that holds the connection of a trigger
// or binding: its function.json "connection". For Storage (queues, blobs)
// the setting holds a storage connection string (or
// "UseDevelopmentStorage=true"), and without Connection the host uses
// "AzureWebJobsStorage", as Azure does; for Cosmos DB it holds
// "AccountEndpoint=...;AccountKey=...;", and the default is "CosmosDB".
//
//	app.Queue("process_order", "orders", handler, fn.Connection("AzureWebJobsStorage"))
//	fn.QueueOutput("out", "processed-orders", fn.Connection("OtherStorage"))
func Connection(setting string) Prop {
	return Prop{Key: "connection", Value: setting}
}

// DataType sets a binding's function.json "dataType": "binary", "string" or
// "stream" (which the custom-handler protocol carries as "binary"), or ""
// to leave it unset. It decides how the host encodes blob content and
// queue messages in the payload; see "Payloads" in the package
// documentation. Blob triggers and blob bindings made by this package are
// "binary" unless DataType says otherwise.
func DataType(t string) Prop {
	if t == "" {
		return Prop{Key: "dataType"}
	}
	return Prop{Key: "dataType", Value: t}
}

// TriggerName sets the binding name of a function's trigger, under which
// the host passes the trigger value in the payload's Data (Python's
// arg_name). The defaults are "timer" for [App.Timer], "msg" for
// [App.Queue], "blob" for [App.Blob] and "req" for HTTP functions.
func TriggerName(name string) Option {
	return optionFunc(func(f *function) error {
		if !bindingNameRE.MatchString(name) || name == ReturnName {
			return fmt.Errorf("trigger binding name %q is not valid", name)
		}
		for _, b := range f.bindings[1:] {
			if strings.EqualFold(b.Name, name) {
				return fmt.Errorf("two bindings are named %q", name)
			}
		}
		f.trigger().Name = name
		return nil
	})
}

// QueueOutput declares a Storage Queue output binding named name that
// writes to queueName (function.json type "queue"). Set its value with
// [Context.PutQueueMessage], once per message, or with [Context.SetOutput].
// The queue name may be a binding expression such as "%OutQueue%".
func QueueOutput(name, queueName string, props ...Prop) Option {
	return optionFunc(func(f *function) error {
		if err := checkQueueName(queueName); err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		return addBindingWith(f, Binding{Type: "queue", Direction: "out", Name: name,
			Props: map[string]any{"queueName": queueName}}, props)
	})
}

// BlobOutput declares a blob output binding named name that writes the
// blob at path (function.json type "blob"), a "container/blob" path that
// may hold binding expressions such as "thumbnails/{name}" (from the
// trigger's metadata) or "processed/{rand-guid}.json". Its dataType is
// "binary" unless a [DataType] Prop says otherwise. Set its content with
// [Context.SetBlob].
func BlobOutput(name, path string, props ...Prop) Option {
	return optionFunc(func(f *function) error {
		if err := checkBlobPath(path); err != nil {
			return fmt.Errorf("output %q: %w", name, err)
		}
		return addBindingWith(f, Binding{Type: "blob", Direction: "out", Name: name,
			Props: map[string]any{"path": path, "dataType": "binary"}}, props)
	})
}

// BlobInput declares a blob input binding named name that reads the blob
// at path (function.json type "blob"), which may hold binding expressions
// such as "images/{name}". Its dataType is "binary" unless a [DataType]
// Prop says otherwise. Read its content with [Context.BlobInput].
func BlobInput(name, path string, props ...Prop) Option {
	return optionFunc(func(f *function) error {
		if err := checkBlobPath(path); err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		return addBindingWith(f, Binding{Type: "blob", Direction: "in", Name: name,
			Props: map[string]any{"path": path, "dataType": "binary"}}, props)
	})
}

func addBindingWith(f *function, b Binding, props []Prop) error {
	for _, p := range props {
		if err := setProp(&b, p); err != nil {
			return fmt.Errorf("%s binding %q: %w", b.Direction, b.Name, err)
		}
	}
	return f.addBinding(b)
}

var queueNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

// checkQueueName checks a Storage queue name, unless it is a binding
// expression the host resolves (%Setting% or {param}).
func checkQueueName(q string) error {
	if q == "" {
		return errors.New("no queue name")
	}
	if strings.ContainsAny(q, "%{") {
		return nil
	}
	if !queueNameRE.MatchString(q) || strings.Contains(q, "--") {
		return fmt.Errorf("queue name %q is not valid: use 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit", q)
	}
	return nil
}

func checkBlobPath(p string) error {
	if p == "" {
		return errors.New("no blob path")
	}
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("blob path %q starts with /; write container/blob", p)
	}
	return nil
}

// ErrBlobNotFound is returned (wrapped) by [Context.BlobInput] when the
// blob an input binding names does not exist: the host passes null for it.
var ErrBlobNotFound = errors.New("blob not found")

// Input decodes the value of the input binding named name (or the
// trigger's value) from the payload's Data into v, with [encoding/json]
// rules; it is [Invocation.Decode] on the invocation's payload. For blob
// content use [Context.BlobInput], which undoes the payload's encoding.
func (c *Context) Input(name string, v any) error {
	inv := c.Invocation
	if inv == nil {
		inv = &Invocation{}
	}
	return inv.Decode(name, v)
}

// BlobInput returns the content of the blob input binding named name,
// declared with [BlobInput] (or an [Input] of type "blob"), decoded as its
// dataType says (see "Payloads" in the package documentation). If the blob
// does not exist it returns an error that wraps [ErrBlobNotFound].
func (c *Context) BlobInput(name string) ([]byte, error) {
	var data map[string]json.RawMessage
	if c.Invocation != nil {
		data = c.Invocation.Data
	}
	var decl *Binding
	if c.fn != nil {
		for i := range c.fn.bindings {
			if b := &c.fn.bindings[i]; b.Direction != "out" && strings.EqualFold(b.Name, name) {
				decl = b
				break
			}
		}
	}
	raw, ok := lookupFold(data, name)
	if !ok {
		if decl != nil {
			return nil, fmt.Errorf("fn: blob input %q: %w", name, ErrBlobNotFound)
		}
		return nil, fmt.Errorf("fn: the invocation has no input named %q (it has: %s)", name, keys(data))
	}
	content, found, err := decodeContent(raw, dataTypeOf(decl))
	if err != nil {
		return nil, fmt.Errorf("fn: blob input %q: %w", name, err)
	}
	if !found {
		return nil, fmt.Errorf("fn: blob input %q: %w", name, ErrBlobNotFound)
	}
	return content, nil
}

// SetBlob sets the content of the blob output binding named name, declared
// with [BlobOutput] (or an [Output] of type "blob"). With dataType
// "binary" (the default) the content is sent in standard base64, the way
// Azure's host encodes bytes; with "string" it is sent as text when it is
// valid UTF-8. As with [Context.SetOutput], a later call replaces the
// content, and a name that was not declared fails the invocation.
func (c *Context) SetBlob(name string, content []byte) {
	var decl *Binding
	if c.fn != nil {
		decl = c.fn.output(name)
	}
	if dataTypeOf(decl) == "string" && utf8.Valid(content) {
		c.SetOutput(name, string(content))
		return
	}
	c.SetOutput(name, base64.StdEncoding.EncodeToString(content))
}

// PutQueueMessage adds a message to the queue output binding named name,
// declared with [QueueOutput]. Call it once per message: one message is
// sent as the binding's value, several as a JSON array of messages, which
// the host writes as one queue message each, in order.
//
// A string is the message text; a []byte is too (if it is not UTF-8 it is
// sent in base64); a [json.RawMessage] is sent as is; any other value is
// encoded as JSON, so a struct becomes a JSON message. A value that cannot
// be encoded fails the invocation. Setting the binding with
// [Context.SetOutput] replaces the messages put so far.
func (c *Context) PutQueueMessage(name string, msg any) { c.appendOutput(name, "message", msg) }

// PublishEvent adds an event to the Event Grid output binding named name,
// declared with [EventGridOutput]. Call it once per event: the host
// publishes them all to the topic in one request after the function
// returns, and a topic that refuses them fails the invocation.
//
// The event is an [EventGridEvent], a [json.RawMessage] or any value that
// encodes as a JSON object, such as a map or a struct with the schema's
// member names: the Event Grid schema's (id, subject, eventType,
// eventTime, data, dataVersion) or, with specversion, the CloudEvents
// schema's; all events of a call must be in the schema the topic takes.
// The host fills in a missing id and time. Setting the binding with
// [Context.SetOutput] replaces the events published so far.
func (c *Context) PublishEvent(name string, event any) { c.appendOutput(name, "event", event) }

// appendOutput adds one item to an output that takes several (queue
// messages, events); noun names the items in errors.
func (c *Context) appendOutput(name, noun string, item any) {
	m, err := encodeItem(noun, item)
	c.appendEncoded(name, noun, m, err)
}

// appendEncoded adds one encoded item (or the error encoding it) to an
// output that takes several.
func (c *Context) appendEncoded(name, noun string, m json.RawMessage, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sealed {
		return
	}
	if c.outputs == nil {
		c.outputs = map[string]any{}
	}
	batch, ok := c.outputs[name].(*outputBatch)
	if !ok {
		batch = &outputBatch{noun: noun}
		if old, exists := c.outputs[name]; exists {
			// A value set with SetOutput becomes the first item.
			m0, err0 := encodeItem(noun, old)
			batch.add(m0, err0)
		} else {
			c.order = append(c.order, name)
		}
		c.outputs[name] = batch
	}
	batch.add(m, err)
}

// outputBatch is the value of an output set with PutQueueMessage or
// PublishEvent: the items encoded, and the first encoding error.
type outputBatch struct {
	noun string
	msgs []json.RawMessage
	err  error
}

func (b *outputBatch) add(m json.RawMessage, err error) {
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("%s %d: %w", b.noun, len(b.msgs)+1, err)
	}
	b.msgs = append(b.msgs, m)
}

func (b *outputBatch) MarshalJSON() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	if len(b.msgs) == 1 && b.msgs[0][0] != '[' {
		return b.msgs[0], nil
	}
	// Several items, or one that is itself a JSON array, which would
	// otherwise be read as several.
	return json.Marshal(b.msgs)
}

// encodeItem encodes one queue message or event: a string as a JSON
// string, []byte as a string when UTF-8 (else base64), a json.RawMessage
// as is (compacted), anything else with encoding/json.
func encodeItem(noun string, msg any) (json.RawMessage, error) {
	switch m := msg.(type) {
	case nil:
		return nil, fmt.Errorf("the %s is nil", noun)
	case string:
		return json.Marshal(m)
	case []byte:
		if utf8.Valid(m) {
			return json.Marshal(string(m))
		}
		return json.Marshal(m)
	case json.RawMessage:
		if !json.Valid(m) {
			return nil, errors.New("the json.RawMessage is not valid JSON")
		}
		var buf bytes.Buffer
		json.Compact(&buf, m)
		return buf.Bytes(), nil
	}
	return json.Marshal(msg)
}

// dataTypeOf returns a binding's dataType in lower case, or "".
func dataTypeOf(b *Binding) string {
	if b == nil {
		return ""
	}
	for k, v := range b.Props {
		if strings.EqualFold(k, "dataType") {
			s, _ := v.(string)
			return strings.ToLower(s)
		}
	}
	return ""
}

// decodeContent turns a blob (or binary) value from the payload into bytes.
// found is false for null (the blob does not exist). A JSON string is
// base64 for dataType "binary" and "stream" (falling back to the string's
// own bytes when it is not valid base64) and the text itself otherwise; any
// other JSON value is the content's JSON text, as a host that parsed a
// JSON blob would send it.
func decodeContent(raw json.RawMessage, dataType string) (content []byte, found bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, nil
	}
	if raw[0] != '"' {
		if !json.Valid(raw) {
			return nil, true, errors.New("the value is not valid JSON")
		}
		return bytes.Clone(raw), true, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, true, err
	}
	if dataType == "binary" || dataType == "stream" {
		if b, ok := decodeBase64(s); ok {
			return b, true, nil
		}
	}
	return []byte(s), true, nil
}

// decodeBase64 decodes standard, padded base64, the form .NET writes.
func decodeBase64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

// lookupFold returns m[key], or else the value of a key equal to it
// ignoring case.
func lookupFold(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// asObject returns the members of a JSON object, also one sent as a JSON
// string holding an object (a host may serialize a value twice).
func asObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	raw = unwrapString(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	return m, true
}

// unwrapString returns the JSON inside a JSON string that holds a JSON
// object, or raw unchanged.
func unwrapString(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return raw
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return raw
	}
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	return raw
}

// metaString returns metadata value key (ignoring case) as a string: a JSON
// string's value, or another scalar's JSON text. ok is false when absent or
// null.
func metaString(m map[string]json.RawMessage, key string) (string, bool) {
	raw, ok := lookupFold(m, key)
	if !ok {
		return "", false
	}
	return jsonString(raw)
}

func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	}
	if raw[0] == '{' || raw[0] == '[' {
		return "", false
	}
	return string(raw), true
}

// metaInt returns metadata value key as an integer, from a JSON number or
// a string holding one.
func metaInt(m map[string]json.RawMessage, key string) (int64, error) {
	s, ok := metaString(m, key)
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == float64(int64(f)) {
			return int64(f), nil
		}
		return 0, fmt.Errorf("metadata %q: %q is not an integer", key, s)
	}
	return n, nil
}

// metaTime returns metadata value key as a time; see parseTime.
func metaTime(m map[string]json.RawMessage, key string) (time.Time, error) {
	s, ok := metaString(m, key)
	if !ok {
		return time.Time{}, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("metadata %q: %w", key, err)
	}
	return t, nil
}

// timeLayouts are the forms in which hosts write times: ISO 8601 with an
// offset (Newtonsoft's DateTimeOffset, Go's RFC 3339), ISO 8601 without one
// (a .NET DateTime of unspecified kind, read as UTC), and RFC 1123 (the
// storage REST API's form).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	time.RFC1123,
	time.RFC1123Z,
}

// parseTime reads a time in any of timeLayouts and returns it in UTC. An
// empty string is the zero time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time in ISO 8601 or RFC 1123 form", s)
}

// flexTime is a time.Time that decodes from any form parseTime reads, or
// null.
type flexTime time.Time

func (t *flexTime) UnmarshalJSON(b []byte) error {
	s, ok := jsonString(b)
	if !ok {
		*t = flexTime{}
		return nil
	}
	v, err := parseTime(s)
	if err != nil {
		return err
	}
	*t = flexTime(v)
	return nil
}
