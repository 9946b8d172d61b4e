package fn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EventGridEvent is an Event Grid event, in the Event Grid schema or the
// CloudEvents 1.0 schema: what an Event Grid function receives, and what
// [Context.PublishEvent] can send. Each field holds the member of either
// schema that means the same (topic and source, eventType and type,
// eventTime and time), as Azure maps them.
type EventGridEvent struct {
	// ID is the event's id. Left empty in an event to publish, the host
	// fills in a new UUID.
	ID string
	// Topic is the event's topic (Event Grid schema), or its source
	// (CloudEvents). Leave it empty in an event to publish to an Event
	// Grid schema topic: the topic stamps its own, and refuses an event
	// that names another.
	Topic string
	// Subject is the event's subject; the Event Grid schema requires one.
	Subject string
	// EventType is eventType (Event Grid schema) or type (CloudEvents).
	EventType string
	// EventTime is eventTime (Event Grid schema) or time (CloudEvents), in
	// UTC; zero if a CloudEvent has none. Left zero in an event to publish,
	// the host fills in the current time.
	EventTime time.Time
	// Data is the event's data as JSON, or nil if it has none. (A
	// CloudEvent's data_base64 stays in Raw.)
	Data json.RawMessage
	// DataVersion is the Event Grid schema's dataVersion.
	DataVersion string
	// MetadataVersion is the Event Grid schema's metadataVersion, "1" in
	// delivered events.
	MetadataVersion string
	// SpecVersion is a CloudEvent's specversion ("1.0"), and "" for an
	// event in the Event Grid schema.
	SpecVersion string
	// DataContentType is a CloudEvent's datacontenttype.
	DataContentType string
	// Raw is the event as delivered. It is not written when the event is
	// published; to forward an event exactly as it came (with CloudEvents
	// extension attributes, say), publish its Raw.
	Raw json.RawMessage
}

// IsCloudEvent reports whether the event is in the CloudEvents schema.
func (e EventGridEvent) IsCloudEvent() bool { return e.SpecVersion != "" }

// DataJSON decodes the event's data as JSON into v.
func (e EventGridEvent) DataJSON(v any) error {
	if len(bytes.TrimSpace(e.Data)) == 0 {
		return fmt.Errorf("fn: event %s has no data", e.ID)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("fn: event %s data: %w", e.ID, err)
	}
	return nil
}

// eventWire holds the members of both schemas, for reading.
type eventWire struct {
	ID              string          `json:"id"`
	Topic           string          `json:"topic"`
	Source          string          `json:"source"`
	Subject         string          `json:"subject"`
	EventType       string          `json:"eventType"`
	Type            string          `json:"type"`
	EventTime       string          `json:"eventTime"`
	Time            string          `json:"time"`
	Data            json.RawMessage `json:"data"`
	DataVersion     string          `json:"dataVersion"`
	MetadataVersion string          `json:"metadataVersion"`
	SpecVersion     string          `json:"specversion"`
	DataContentType string          `json:"datacontenttype"`
}

// eventGridWire is an event in the Event Grid schema, for writing.
type eventGridWire struct {
	ID              string          `json:"id,omitempty"`
	Topic           string          `json:"topic,omitempty"`
	Subject         string          `json:"subject"`
	EventType       string          `json:"eventType"`
	EventTime       string          `json:"eventTime,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
	DataVersion     string          `json:"dataVersion,omitempty"`
	MetadataVersion string          `json:"metadataVersion,omitempty"`
}

// cloudEventWire is an event in the CloudEvents schema, for writing.
type cloudEventWire struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id,omitempty"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            string          `json:"time,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
}

// UnmarshalJSON reads an event in either schema: a JSON object, or a JSON
// string holding one.
func (e *EventGridEvent) UnmarshalJSON(b []byte) error {
	raw := unwrapString(b)
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("the event is not a JSON object")
	}
	var w eventWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return err
	}
	ev := EventGridEvent{ID: w.ID, Topic: first(w.Topic, w.Source), Subject: w.Subject, EventType: first(w.EventType, w.Type),
		DataVersion: w.DataVersion, MetadataVersion: w.MetadataVersion, SpecVersion: w.SpecVersion,
		DataContentType: w.DataContentType, Raw: bytes.Clone(raw)}
	if d := bytes.TrimSpace(w.Data); len(d) > 0 && string(d) != "null" {
		ev.Data = bytes.Clone(d)
	}
	t, err := parseTime(first(w.EventTime, w.Time))
	if err != nil {
		return fmt.Errorf("event %s: %w", w.ID, err)
	}
	ev.EventTime = t
	*e = ev
	return nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// MarshalJSON writes the event in its schema: a CloudEvent (SpecVersion
// set) with specversion, id, source, type, subject, time, datacontenttype
// and data; otherwise an Event Grid event with id, topic, subject,
// eventType, eventTime, data, dataVersion and metadataVersion. Empty
// optional members are left out (the host fills in id and the time). Raw
// is not written.
func (e EventGridEvent) MarshalJSON() ([]byte, error) {
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return nil, fmt.Errorf("event %s: Data is not valid JSON", e.ID)
	}
	stamp := ""
	if !e.EventTime.IsZero() {
		t := e.EventTime.UTC()
		if t.Year() < 0 || t.Year() > 9999 {
			return nil, fmt.Errorf("event %s: EventTime %v is outside the years 0000 to 9999 that RFC 3339 can write", e.ID, t)
		}
		stamp = t.Format(time.RFC3339Nano)
	}
	if e.IsCloudEvent() {
		return json.Marshal(cloudEventWire{SpecVersion: e.SpecVersion, ID: e.ID, Source: e.Topic, Type: e.EventType,
			Subject: e.Subject, Time: stamp, DataContentType: e.DataContentType, Data: e.Data})
	}
	return json.Marshal(eventGridWire{ID: e.ID, Topic: e.Topic, Subject: e.Subject, EventType: e.EventType,
		EventTime: stamp, Data: e.Data, DataVersion: e.DataVersion, MetadataVersion: e.MetadataVersion})
}

// EventGridFunc is the signature of an Event Grid triggered function. A
// non-nil error fails the invocation: the host answers Event Grid 500 for
// the delivery, and Event Grid retries it (every event of the batch) on
// its retry schedule.
type EventGridFunc func(ctx *Context, event EventGridEvent) error

// EventGrid registers a function triggered by Event Grid events
// (function.json type "eventGridTrigger", binding name "event"). Event
// Grid calls it through the app's webhook,
// /runtime/webhooks/eventgrid?functionName={name}&code={system key}, the
// function's invoke URL (az functionapp function show --query
// invokeUrlTemplate); the host answers the subscription's validation
// handshake itself, and runs the function once per event of a delivery.
//
//	app.EventGrid("on_blob", func(ctx *fn.Context, ev fn.EventGridEvent) error {
//		ctx.Logf("%s on %s", ev.EventType, ev.Subject)
//		ctx.PublishEvent("audit", fn.EventGridEvent{Subject: ev.Subject, EventType: "App.Audited", Data: ev.Data})
//		return nil
//	}, fn.EventGridOutput("audit", "AuditTopicUri", "AuditTopicKey"))
//
// Options are [TriggerName] and bindings such as [EventGridOutput],
// [QueueOutput] and [BlobOutput]. It panics on a nil handler or an
// invalid option.
func (a *App) EventGrid(name string, h EventGridFunc, opts ...Option) {
	if h == nil {
		panic(fmt.Sprintf("fn: EventGrid(%q): nil handler", name))
	}
	f := &function{name: name}
	f.handler = func(ctx *Context, inv *Invocation) (any, error) {
		ev, err := decodeEventGridEvent(inv, f.trigger())
		if err != nil {
			return nil, &payloadError{err}
		}
		return nil, h(ctx, ev)
	}
	a.mustRegister("EventGrid", f, Binding{Type: "eventGridTrigger", Name: "event"}, opts)
}

// decodeEventGridEvent reads the event under the trigger's name in Data.
func decodeEventGridEvent(inv *Invocation, trigger *Binding) (EventGridEvent, error) {
	var ev EventGridEvent
	raw, ok := lookupFold(inv.Data, trigger.Name)
	if !ok || len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return ev, fmt.Errorf("event %q: the payload has no event", trigger.Name)
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return ev, fmt.Errorf("event %q: %w", trigger.Name, err)
	}
	return ev, nil
}

// EventGridOutput declares an Event Grid output binding named name
// (function.json type "eventGrid") that publishes to a topic: the app
// setting topicEndpointURISetting holds the topic's endpoint URL (such as
// http://mytopic.localhost:7072/api/events) and the app setting
// topicKeySetting one of its access keys. Publish with
// [Context.PublishEvent], once per event, or set the value with
// [Context.SetOutput].
func EventGridOutput(name, topicEndpointURISetting, topicKeySetting string, props ...Prop) Option {
	return optionFunc(func(f *function) error {
		if strings.TrimSpace(topicEndpointURISetting) == "" || strings.TrimSpace(topicKeySetting) == "" {
			return fmt.Errorf("output %q: name the app settings that hold the topic's endpoint and key", name)
		}
		return addBindingWith(f, Binding{Type: "eventGrid", Direction: "out", Name: name,
			Props: map[string]any{"topicEndpointUri": topicEndpointURISetting, "topicKeySetting": topicKeySetting}}, props)
	})
}
