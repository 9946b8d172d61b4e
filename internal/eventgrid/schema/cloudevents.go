package schema

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// CloudEvents 1.0 rules (CloudEvents spec 1.0, its JSON format and HTTP
// binding; reference §2.1–2.2):
//
//   - Content-Type application/cloudevents+json: structured mode, one event
//     object. application/cloudevents-batch+json: batched mode, a JSON array
//     of event objects (the Go SDK sends this). A request with a
//     ce-specversion header is binary mode. Otherwise (application/json, no
//     Content-Type, or curl's default application/x-www-form-urlencoded) the
//     body is JSON: an object is one event and an array a batch (lenient).
//   - specversion must be "1.0"; id, source and type are required non-empty
//     strings; subject, datacontenttype and dataschema are optional strings,
//     dataschema an absolute URI; time is optional and RFC 3339.
//   - data and data_base64 are exclusive; data_base64 must be base64.
//   - every other member is an extension attribute: its name is 1 to 20
//     characters a-z and 0-9, its value a string, number or boolean (null
//     means absent).
//   - binary mode: ce-<name> headers carry the attributes (values
//     percent-decoded), Content-Type is datacontenttype and the body is the
//     data: JSON media types become data as JSON, text/* that is UTF-8
//     becomes data as a string, anything else data_base64.
//
// The delivered event is structured: specversion, id, source, type, subject,
// time, datacontenttype, dataschema, extensions by name, then data or
// data_base64. Azure stamps nothing on CloudEvents.

var ceAttrs = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true,
	"time": true, "datacontenttype": true, "dataschema": true, "data": true, "data_base64": true,
}

func (l Limits) parseCloudEvents(topicID string, header http.Header, mt string, body []byte, now time.Time) ([]Event, error) {
	switch {
	case mt == ctCloudEvent:
		return l.cloudEventsJSON(topicID, body, now, '{')
	case mt == ctCloudEventBatch:
		return l.cloudEventsJSON(topicID, body, now, '[')
	case hasCEHeaders(header):
		ev, err := l.binaryCloudEvent(topicID, header, body, now)
		if err != nil {
			return nil, err
		}
		return []Event{ev}, nil
	}
	return l.cloudEventsJSON(topicID, body, now, 0)
}

// cloudEventsJSON parses structured ('{'), batched ('[') or either (0).
func (l Limits) cloudEventsJSON(topicID string, body []byte, now time.Time, want byte) ([]Event, error) {
	if err := checkJSON(body); err != nil {
		return nil, err
	}
	got := firstToken(body)
	if want != 0 && got != want {
		exp := "StartObject"
		if want == '[' {
			exp = "StartArray"
		}
		return nil, invalid(msgUnexpectedToken, exp, tokenName(body))
	}
	var elems []json.RawMessage
	switch got {
	case '{':
		elems = []json.RawMessage{body}
	case '[':
		elems = splitArray(body)
	default:
		return nil, invalid(msgUnexpectedToken, "StartObject", tokenName(body))
	}
	events := make([]Event, 0, len(elems))
	for i, raw := range elems {
		if len(raw) > l.MaxEventBytes {
			return nil, tooLarge(DetailEventTooLarge, msgEventSize, i, len(raw), l.MaxEventBytes)
		}
		ev, err := structuredCloudEvent(topicID, raw, now)
		if err != nil {
			return nil, err
		}
		ev.Size = len(raw)
		events = append(events, ev)
	}
	return events, nil
}

// ceFields are a CloudEvent's attributes, from either mode.
type ceFields struct {
	id, source, typ, subject, time, contentType, dataSchema string
	hasSubject, hasTime, hasContentType, hasDataSchema      bool
	ext                                                     map[string]json.RawMessage
	data                                                    json.RawMessage // JSON value
	dataBase64                                              string
	hasData, hasBase64                                      bool
}

func structuredCloudEvent(topicID string, raw json.RawMessage, now time.Time) (Event, *Error) {
	m, ok := object(raw)
	if !ok {
		return Event{}, invalid(msgUnexpectedToken, "StartObject", tokenName(raw))
	}
	sv, present, err := str(m, "specversion")
	if err != nil {
		return Event{}, err
	}
	if !present {
		if _, eg := m["eventType"]; eg {
			return Event{}, invalid(msgWrongSchema, CloudEventSchemaV1_0.eventName(),
				"The event has 'eventType' and no 'specversion': it is in the Event Grid schema.")
		}
		return Event{}, invalid(msgRequired, "specversion")
	}
	if sv != "1.0" {
		return Event{}, invalid(msgSpecVersion, sv)
	}
	var f ceFields
	if f.id, err = required(m, "id"); err != nil {
		return Event{}, err
	}
	if f.source, err = required(m, "source"); err != nil {
		return Event{}, err
	}
	if f.typ, err = required(m, "type"); err != nil {
		return Event{}, err
	}
	for _, a := range []struct {
		name string
		v    *string
		has  *bool
	}{
		{"subject", &f.subject, &f.hasSubject},
		{"time", &f.time, &f.hasTime},
		{"datacontenttype", &f.contentType, &f.hasContentType},
		{"dataschema", &f.dataSchema, &f.hasDataSchema},
	} {
		if *a.v, *a.has, err = str(m, a.name); err != nil {
			return Event{}, err
		}
	}
	if d, ok := m["data"]; ok {
		f.data, f.hasData = d, true
	}
	if b, ok := m["data_base64"]; ok && !isNull(b) {
		if f.dataBase64, _, err = str(m, "data_base64"); err != nil {
			return Event{}, err
		}
		f.hasBase64 = true
	}
	for k, v := range m {
		if ceAttrs[k] {
			continue
		}
		if f.ext == nil {
			f.ext = map[string]json.RawMessage{}
		}
		f.ext[k] = v
	}
	return f.event(topicID, now)
}

// event validates the attributes and builds the delivered event.
func (f *ceFields) event(topicID string, now time.Time) (Event, *Error) {
	if f.hasTime && !validTime(f.time) {
		return Event{}, invalid(msgEventTime, "time")
	}
	if f.hasDataSchema {
		if u, err := url.Parse(f.dataSchema); err != nil || !u.IsAbs() {
			return Event{}, invalid(msgDataSchema, f.dataSchema)
		}
	}
	if f.hasData && f.hasBase64 {
		return Event{}, invalid(msgDataBoth)
	}
	if f.hasBase64 {
		if _, err := base64.StdEncoding.DecodeString(f.dataBase64); err != nil {
			return Event{}, invalid(msgDataBase64)
		}
	}
	names := make([]string, 0, len(f.ext))
	for k, v := range f.ext {
		if !validExtName(k) {
			return Event{}, invalid(msgExtName, k)
		}
		switch t := tokenName(v); t {
		case "String", "Integer", "Float", "Boolean":
			names = append(names, k)
		case "Null":
		default:
			return Event{}, invalid(msgExtValue, k, t)
		}
	}
	sort.Strings(names)

	var w writer
	w.str("specversion", "1.0")
	w.str("id", f.id)
	w.str("source", f.source)
	w.str("type", f.typ)
	if f.hasSubject {
		w.str("subject", f.subject)
	}
	if f.hasTime {
		w.str("time", f.time)
	}
	if f.hasContentType {
		w.str("datacontenttype", f.contentType)
	}
	if f.hasDataSchema {
		w.str("dataschema", f.dataSchema)
	}
	for _, k := range names {
		w.raw(k, f.ext[k])
	}
	switch {
	case f.hasData:
		w.raw("data", f.data)
	case f.hasBase64:
		w.str("data_base64", f.dataBase64)
	}
	return Event{
		Schema:   CloudEventSchemaV1_0,
		ID:       f.id,
		Topic:    topicID,
		Source:   f.source,
		Subject:  f.subject,
		Type:     f.typ,
		Time:     f.time,
		Raw:      w.done(),
		Received: now,
	}, nil
}

func validExtName(s string) bool {
	if len(s) == 0 || len(s) > 20 || ceAttrs[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func (l Limits) binaryCloudEvent(topicID string, header http.Header, body []byte, now time.Time) (Event, error) {
	size := len(body)
	var f ceFields
	var specVersion string
	var hasSpec bool
	for k, vs := range header {
		lk := strings.ToLower(k)
		if lk == "content-type" && len(vs) > 0 {
			size += len(k) + len(vs[0])
			continue
		}
		name, ok := strings.CutPrefix(lk, "ce-")
		if !ok || len(vs) == 0 {
			continue
		}
		size += len(k) + len(vs[0])
		v, err := url.PathUnescape(vs[0])
		if err != nil {
			return Event{}, invalid(msgHeaderValue, lk, "bad percent-encoding")
		}
		if !utf8.ValidString(v) {
			return Event{}, invalid(msgHeaderValue, lk, "not UTF-8")
		}
		switch name {
		case "specversion":
			specVersion, hasSpec = v, true
		case "id":
			f.id = v
		case "source":
			f.source = v
		case "type":
			f.typ = v
		case "subject":
			f.subject, f.hasSubject = v, true
		case "time":
			f.time, f.hasTime = v, true
		case "dataschema":
			f.dataSchema, f.hasDataSchema = v, true
		case "datacontenttype":
			// Binary mode carries it in Content-Type; used only without one.
			if header.Get("Content-Type") == "" {
				f.contentType, f.hasContentType = v, true
			}
		default:
			if f.ext == nil {
				f.ext = map[string]json.RawMessage{}
			}
			f.ext[name] = json.RawMessage(appendString(nil, v))
		}
	}
	if size > l.MaxEventBytes {
		return Event{}, tooLarge(DetailEventTooLarge, msgEventSize, 0, size, l.MaxEventBytes)
	}
	if !hasSpec {
		return Event{}, invalid(msgRequiredHdr, "ce-specversion")
	}
	if specVersion != "1.0" {
		return Event{}, invalid(msgSpecVersion, specVersion)
	}
	for _, a := range []struct{ name, v string }{{"id", f.id}, {"source", f.source}, {"type", f.typ}} {
		if a.v == "" {
			return Event{}, invalid(msgRequiredHdr, "ce-"+a.name)
		}
	}
	if ct := header.Get("Content-Type"); ct != "" {
		f.contentType, f.hasContentType = ct, true
	}
	if len(body) > 0 {
		mt := mediaType(f.contentType)
		switch {
		case isJSONMediaType(mt):
			if err := checkJSON(body); err != nil {
				return Event{}, err
			}
			f.data, f.hasData = body, true
		case mt == "" && checkJSON(body) == nil:
			// No Content-Type: JSON if it parses, else bytes.
			f.data, f.hasData = body, true
		case strings.HasPrefix(mt, "text/") && utf8.Valid(body):
			f.data, f.hasData = appendString(nil, string(body)), true
		default:
			f.dataBase64, f.hasBase64 = base64.StdEncoding.EncodeToString(body), true
		}
	}
	ev, err := f.event(topicID, now)
	if err != nil {
		return Event{}, err
	}
	ev.Size = size
	return ev, nil
}
