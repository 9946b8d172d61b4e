package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Schema says which envelope an Event was decoded from.
type Schema uint8

const (
	// SchemaEventGrid is the Event Grid schema: id, topic, subject, eventType,
	// eventTime, data, dataVersion, metadataVersion.
	SchemaEventGrid Schema = iota + 1
	// SchemaCloudEvents is CloudEvents 1.0 (JSON format): id, source, type,
	// specversion, subject, time, datacontenttype, dataschema, data,
	// data_base64 and extension attributes.
	SchemaCloudEvents
)

func (s Schema) String() string {
	switch s {
	case SchemaEventGrid:
		return "EventGridSchema"
	case SchemaCloudEvents:
		return "CloudEventSchemaV1_0"
	}
	return "Schema(" + strconv.Itoa(int(s)) + ")"
}

type kind uint8

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

// value is the decoded form of a JSON value. It is built once per event so
// that matching never decodes JSON and never allocates.
type value struct {
	kind kind
	// attr marks a CloudEvents context attribute (a top-level member other
	// than data) holding a number or boolean: CloudEvents gives every
	// attribute a canonical string form, so string operators see str.
	attr bool
	b    bool
	num  float64
	str  string  // the string; for numbers the JSON literal; for booleans "true"/"false"
	kids []field // array elements (name "") or object members sorted by name
}

type field struct {
	name string
	val  value
}

// Event is one decoded event. It is immutable and safe for concurrent use.
// Build it with FromEventGrid or FromCloudEvent once per published event and
// match it against any number of filters.
type Event struct {
	schema     Schema
	root       value // always an object
	eventType  string
	hasType    bool
	subject    string
	hasSubject bool
}

// FromEventGrid decodes one event in the Event Grid schema (a JSON object; a
// custom-schema object also works, its members being the top-level keys).
func FromEventGrid(raw json.RawMessage) (*Event, error) {
	return decodeEvent(raw, SchemaEventGrid)
}

// FromCloudEvent decodes one CloudEvents 1.0 event in structured JSON form.
func FromCloudEvent(raw json.RawMessage) (*Event, error) {
	return decodeEvent(raw, SchemaCloudEvents)
}

// FromMap builds an event from already-decoded JSON-shaped Go values
// (map[string]any, []any, string, float64 or any Go number, json.Number, bool,
// nil). Values of other types are treated as null.
func FromMap(schema Schema, m map[string]any) *Event {
	return newEvent(schema, m)
}

func decodeEvent(raw json.RawMessage, schema Schema) (*Event, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("eventgrid/filter: decode %s event: %w", schema, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("eventgrid/filter: decode %s event: trailing data after the event object", schema)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("eventgrid/filter: an event must be a JSON object")
	}
	return newEvent(schema, m), nil
}

func newEvent(schema Schema, m map[string]any) *Event {
	ev := &Event{schema: schema, root: convert(m)}
	if schema == SchemaCloudEvents {
		for i := range ev.root.kids {
			f := &ev.root.kids[i]
			if f.name != "data" && (f.val.kind == kNumber || f.val.kind == kBool) {
				f.val.attr = true
			}
		}
	}
	typeKey := "eventType"
	if schema == SchemaCloudEvents {
		typeKey = "type"
	}
	if v := ev.root.member(typeKey); v != nil && v.kind == kString {
		ev.eventType, ev.hasType = v.str, true
	}
	if v := ev.root.member("subject"); v != nil && v.kind == kString {
		ev.subject, ev.hasSubject = v.str, true
	}
	return ev
}

func convert(x any) value {
	switch t := x.(type) {
	case nil:
		return value{kind: kNull}
	case bool:
		if t {
			return value{kind: kBool, b: true, str: "true"}
		}
		return value{kind: kBool, str: "false"}
	case string:
		return value{kind: kString, str: t}
	case json.Number:
		// Out of float64 range ParseFloat yields ±Inf, which still orders correctly.
		f, _ := strconv.ParseFloat(string(t), 64)
		return value{kind: kNumber, num: f, str: string(t)}
	case map[string]any:
		kids := make([]field, 0, len(t))
		for k, v := range t {
			kids = append(kids, field{name: k, val: convert(v)})
		}
		sort.Slice(kids, func(i, j int) bool { return kids[i].name < kids[j].name })
		return value{kind: kObject, kids: kids}
	case []any:
		kids := make([]field, len(t))
		for i, v := range t {
			kids[i].val = convert(v)
		}
		return value{kind: kArray, kids: kids}
	}
	if f, ok := toFloat(x); ok {
		return value{kind: kNumber, num: f, str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	return value{kind: kNull}
}

// member finds an object member: an exact name first, else the first member
// whose name is equal under Unicode case folding (Azure treats filter keys
// case-insensitively: its own examples use "Data.Key1" and "Subject").
func (v *value) member(name string) *value {
	if v.kind != kObject {
		return nil
	}
	for i := range v.kids {
		if v.kids[i].name == name {
			return &v.kids[i].val
		}
	}
	for i := range v.kids {
		if strings.EqualFold(v.kids[i].name, name) {
			return &v.kids[i].val
		}
	}
	return nil
}

// lookup walks a dotted key, already split into segments.
func (e *Event) lookup(path []string) *value {
	cur := &e.root
	for _, seg := range path {
		cur = cur.member(seg)
		if cur == nil {
			return nil
		}
	}
	return cur
}

// Schema reports the envelope the event was decoded from.
func (e *Event) Schema() Schema { return e.schema }

// EventType is the event's eventType (Event Grid) or type (CloudEvents).
func (e *Event) EventType() string { return e.eventType }

// Subject is the event's subject, "" when absent.
func (e *Event) Subject() string { return e.subject }

// Field answers a filter key ("subject", "data.a.b", a CloudEvents extension
// name, ...) with the decoded value: string, float64, bool, nil (JSON null),
// []any or map[string]any. ok is false when the key is undefined. Field
// allocates; Match does not use it.
func (e *Event) Field(key string) (any, bool) {
	if key == "" {
		return nil, false
	}
	v := e.lookup(strings.Split(key, "."))
	if v == nil {
		return nil, false
	}
	return v.toAny(), true
}

func (v *value) toAny() any {
	switch v.kind {
	case kBool:
		return v.b
	case kNumber:
		return v.num
	case kString:
		return v.str
	case kArray:
		out := make([]any, len(v.kids))
		for i := range v.kids {
			out[i] = v.kids[i].val.toAny()
		}
		return out
	case kObject:
		out := make(map[string]any, len(v.kids))
		for i := range v.kids {
			out[v.kids[i].name] = v.kids[i].val.toAny()
		}
		return out
	}
	return nil
}
