package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Schema is a topic's input schema or a subscription's delivery schema.
type Schema int

// The schemas, named as ARM names them (inputSchema, eventDeliverySchema).
const (
	EventGridSchema Schema = iota
	CloudEventSchemaV1_0
	// CustomEventSchema (custom input schema with mappings) is not
	// supported: Parse refuses it with a 400.
	CustomEventSchema
)

// String returns ARM's name of the schema.
func (s Schema) String() string {
	switch s {
	case EventGridSchema:
		return "EventGridSchema"
	case CloudEventSchemaV1_0:
		return "CloudEventSchemaV1_0"
	case CustomEventSchema:
		return "CustomEventSchema"
	}
	return fmt.Sprintf("Schema(%d)", int(s))
}

// eventName is the schema's name in Azure's wrong-schema message.
func (s Schema) eventName() string {
	if s == CloudEventSchemaV1_0 {
		return "CloudEventV10"
	}
	return "EventGridEvent"
}

// ParseSchema reads a schema name as ARM and az write it, case-insensitively:
// EventGridSchema, CloudEventSchemaV1_0, CustomEventSchema (alias
// CustomInputSchema). An empty name is the default, EventGridSchema.
func ParseSchema(name string) (Schema, error) {
	switch strings.ToLower(name) {
	case "", "eventgridschema":
		return EventGridSchema, nil
	case "cloudeventschemav1_0":
		return CloudEventSchemaV1_0, nil
	case "customeventschema", "custominputschema":
		return CustomEventSchema, nil
	}
	return 0, fmt.Errorf("unknown event schema %q: use EventGridSchema or CloudEventSchemaV1_0", name)
}

// MarshalText writes ARM's name.
func (s Schema) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name with ParseSchema.
func (s *Schema) UnmarshalText(b []byte) error {
	v, err := ParseSchema(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Event is one validated event.
type Event struct {
	// Schema is the schema of Raw.
	Schema Schema
	// ID is id (both schemas).
	ID string
	// Topic is the resource id of the topic the event was published to.
	Topic string
	// Source is the CloudEvents source; for an Event Grid event it is the
	// topic, as Azure maps topic to source.
	Source string
	// Subject is subject; "" if a CloudEvent has none.
	Subject string
	// Type is eventType or type.
	Type string
	// Time is eventTime or time as published (RFC 3339); "" if a
	// CloudEvent has none.
	Time string
	// DataVersion is an Event Grid event's dataVersion ("" if absent).
	DataVersion string
	// Raw is the event as it will be delivered in Schema: one JSON object,
	// compact, with Azure's stamps (topic, metadataVersion) for Event Grid
	// events.
	Raw json.RawMessage
	// Size is the event's size as published, the size that the per-event
	// limit is checked against: the bytes of its JSON object, or for a
	// binary-mode CloudEvent its body plus its ce-* and Content-Type headers.
	// Conversions keep it.
	Size int
	// Received is the time the event was accepted (Parse's now).
	Received time.Time
}

// Limits are the size limits of a publish.
type Limits struct {
	// MaxRequestBytes bounds the body of a request (413 beyond).
	MaxRequestBytes int
	// MaxEventBytes bounds each event (413 beyond).
	MaxEventBytes int
}

// DefaultLimits are Azure's current limits: 1 MB per request and events of
// up to 1 MB (the reference notes: "1 MB per request; 64 KB per event is GA,
// up to 1 MB is in preview"; Azure has since made 1 MB events GA). Lapis
// counts 1 MB as 1 MiB = 1,048,576 bytes. Use Limits{MaxEventBytes: 64 << 10}
// for the old 64 KB per-event limit.
var DefaultLimits = Limits{MaxRequestBytes: 1 << 20, MaxEventBytes: 1 << 20}

// Parse validates a publish request to a topic with the given input schema
// and resource id, with DefaultLimits. header is the request's header (its
// Content-Type and, for binary-mode CloudEvents, ce-* headers). now is the
// receive time. Errors are *Error.
func Parse(schema Schema, topicID string, header http.Header, body []byte, now time.Time) ([]Event, error) {
	return DefaultLimits.Parse(schema, topicID, header, body, now)
}

// ParseRequest reads r's body (up to the request limit) and parses it with
// DefaultLimits.
func ParseRequest(schema Schema, topicID string, r *http.Request, now time.Time) ([]Event, error) {
	return DefaultLimits.ParseRequest(schema, topicID, r, now)
}

// ParseRequest reads r's body, refusing more than l.MaxRequestBytes, and
// parses it. A read error that is not about size is returned as is.
func (l Limits) ParseRequest(schema Schema, topicID string, r *http.Request, now time.Time) ([]Event, error) {
	l = l.withDefaults()
	if r.ContentLength > int64(l.MaxRequestBytes) {
		return nil, tooLarge(DetailRequestTooLarge, msgRequestSize, l.MaxRequestBytes)
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, int64(l.MaxRequestBytes)+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge(DetailRequestTooLarge, msgRequestSize, l.MaxRequestBytes)
			}
			return nil, err
		}
	}
	return l.Parse(schema, topicID, r.Header, body, now)
}

func (l Limits) withDefaults() Limits {
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = DefaultLimits.MaxRequestBytes
	}
	if l.MaxEventBytes <= 0 {
		l.MaxEventBytes = DefaultLimits.MaxEventBytes
	}
	return l
}

// Parse is the package-level Parse with these limits.
func (l Limits) Parse(schema Schema, topicID string, header http.Header, body []byte, now time.Time) ([]Event, error) {
	l = l.withDefaults()
	if len(body) > l.MaxRequestBytes {
		return nil, tooLarge(DetailRequestTooLarge, msgRequestSize, l.MaxRequestBytes)
	}
	if header == nil {
		header = http.Header{}
	}
	mt := mediaType(header.Get("Content-Type"))
	switch schema {
	case EventGridSchema:
		return l.parseEventGrid(topicID, header, mt, body, now)
	case CloudEventSchemaV1_0:
		return l.parseCloudEvents(topicID, header, mt, body, now)
	case CustomEventSchema:
		return nil, badRequest(DetailInputSchemaNotSupported, msgCustomSchema)
	}
	return nil, badRequest(DetailInputSchemaNotSupported, msgUnknownSchema, int(schema))
}

// Content types of the CloudEvents JSON format.
const (
	ctCloudEvent      = "application/cloudevents+json"
	ctCloudEventBatch = "application/cloudevents-batch+json"
)

// ContentType is the Content-Type of a delivery in the schema (reference
// §2.2).
func ContentType(s Schema) string {
	if s == CloudEventSchemaV1_0 {
		return "application/cloudevents+json; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// Batch is the body of a delivery: a JSON array of the events' Raw.
func Batch(events []Event) []byte {
	n := 2
	for _, ev := range events {
		n += len(ev.Raw) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, ev := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, ev.Raw...)
	}
	return append(b, ']')
}

func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt
}

func isJSONMediaType(mt string) bool {
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// firstToken is the first non-space byte of a JSON text, or 0.
func firstToken(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// tokenName names a JSON value's kind as Json.NET does in Azure's messages.
func tokenName(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "None"
	}
	switch raw[0] {
	case '{':
		return "StartObject"
	case '[':
		return "StartArray"
	case '"':
		return "String"
	case 't', 'f':
		return "Boolean"
	case 'n':
		return "Null"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return "Float"
	}
	return "Integer"
}

// checkJSON verifies a JSON body: valid UTF-8 and valid JSON.
func checkJSON(body []byte) *Error {
	if !utf8.Valid(body) {
		return invalid(msgNotUTF8)
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		if err == io.EOF {
			return invalid(msgBadJSON, "the body is empty")
		}
		return invalid(msgBadJSON, strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := d.Token(); err != io.EOF {
		return invalid(msgBadJSON, "there is data after the JSON value")
	}
	return nil
}

// splitArray returns the elements of a JSON array that checkJSON passed.
func splitArray(body []byte) []json.RawMessage {
	var elems []json.RawMessage
	_ = json.Unmarshal(body, &elems)
	return elems
}

// object decodes a JSON object; ok is false if raw is not one.
func object(raw []byte) (map[string]json.RawMessage, bool) {
	if firstToken(raw) != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false
	}
	return m, true
}

// str reads an optional string property: present is false if it is absent
// or null.
func str(m map[string]json.RawMessage, name string) (s string, present bool, err *Error) {
	raw, ok := m[name]
	if !ok || isNull(raw) {
		return "", false, nil
	}
	if firstToken(raw) != '"' {
		return "", true, invalid(msgNotString, name, tokenName(raw))
	}
	if e := json.Unmarshal(raw, &s); e != nil {
		return "", true, invalid(msgNotString, name, tokenName(raw))
	}
	return s, true, nil
}

// required reads a string property that must be set and not empty.
func required(m map[string]json.RawMessage, name string) (string, *Error) {
	s, _, err := str(m, name)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", invalid(msgRequired, name)
	}
	return s, nil
}

func isNull(raw []byte) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// validTime reports whether s is an RFC 3339 date-time.
func validTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// writer builds a compact JSON object in a fixed member order.
type writer struct{ b []byte }

func (w *writer) key(k string) {
	if len(w.b) == 0 {
		w.b = append(w.b, '{')
	} else {
		w.b = append(w.b, ',')
	}
	w.b = appendString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *writer) str(k, v string) {
	w.key(k)
	w.b = appendString(w.b, v)
}

// raw writes a JSON value that is known to be valid, compacted.
func (w *writer) raw(k string, v []byte) {
	w.key(k)
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, buf.Bytes()...)
}

func (w *writer) done() json.RawMessage {
	if len(w.b) == 0 {
		return json.RawMessage("{}")
	}
	return json.RawMessage(append(w.b, '}'))
}

// appendString appends s as a JSON string, escaping only what JSON
// requires (no HTML escaping, so that strings are delivered as published).
// Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
