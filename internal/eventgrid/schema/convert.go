package schema

import (
	"encoding/json"
	"time"
)

// Conversions for subscriptions whose eventDeliverySchema differs from the
// topic's input schema.
//
// Event Grid → CloudEvents (what Azure does; reference §2.2 and the
// CloudEvents form of Microsoft.Storage.BlobCreated in §2.6):
//
//	specversion  "1.0"
//	id           id
//	source       topic
//	subject      subject
//	type         eventType
//	time         eventTime
//	data         data (absent if absent)
//
// dataVersion and metadataVersion are dropped, as in Azure's CloudEvents
// form of blob events, and no datacontenttype is added (JSON data). The
// members are in the order Parse delivers CloudEvents in.
//
// CloudEvents → Event Grid: Azure does not do this ("Event Grid can take
// Event Grid input and output CloudEvents, but not the reverse", reference
// §2.2), so subscriptions on a CloudEvents topic should not be allowed an
// Event Grid delivery schema. ToEventGrid exists for the platform's own uses
// (for example handing a CloudEvent to an eventGridTrigger that expects the
// Event Grid shape), with the inverse mapping:
//
//	topic            source
//	subject          subject, or "" if absent
//	eventType        type
//	eventTime        time, or the receive time (RFC 3339, UTC) if absent
//	id               id
//	data             data; data_base64 becomes data as that base64 string
//	dataVersion      the "dataversion" extension if it is a string, else ""
//	metadataVersion  "1"
//
// Other attributes (datacontenttype, dataschema, extensions) are dropped.
// The result has an empty subject if the CloudEvent had none, which a
// publish would refuse but a delivery may carry (Azure's own validation
// event has subject "").

// ToCloudEvent returns ev in the CloudEvents schema. A CloudEvent is
// returned as it is.
func ToCloudEvent(ev Event) (Event, error) {
	if ev.Schema == CloudEventSchemaV1_0 {
		return ev, nil
	}
	var in struct {
		ID        string          `json:"id"`
		Topic     string          `json:"topic"`
		Subject   string          `json:"subject"`
		EventType string          `json:"eventType"`
		EventTime string          `json:"eventTime"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(ev.Raw, &in); err != nil {
		return Event{}, err
	}
	f := ceFields{id: in.ID, source: in.Topic, typ: in.EventType,
		subject: in.Subject, hasSubject: true, time: in.EventTime, hasTime: true,
		data: in.Data, hasData: in.Data != nil}
	ce, err := f.event(ev.Topic, ev.Received)
	if err != nil {
		return Event{}, err
	}
	out := ev
	out.Schema = CloudEventSchemaV1_0
	out.ID, out.Source, out.Subject, out.Type, out.Time = in.ID, in.Topic, in.Subject, in.EventType, in.EventTime
	out.DataVersion = ""
	out.Raw = ce.Raw
	return out, nil
}

// ToEventGrid returns ev in the Event Grid schema. An Event Grid event is
// returned as it is.
func ToEventGrid(ev Event) (Event, error) {
	if ev.Schema == EventGridSchema {
		return ev, nil
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(ev.Raw, &in); err != nil {
		return Event{}, err
	}
	s := func(name string) string {
		var v string
		_ = json.Unmarshal(in[name], &v)
		return v
	}
	eventTime := s("time")
	if eventTime == "" {
		eventTime = ev.Received.UTC().Format(time.RFC3339Nano)
	}
	var w writer
	w.str("topic", s("source"))
	w.str("subject", s("subject"))
	w.str("eventType", s("type"))
	w.str("eventTime", eventTime)
	w.str("id", s("id"))
	if d, ok := in["data"]; ok {
		w.raw("data", d)
	} else if b, ok := in["data_base64"]; ok {
		w.raw("data", b)
	}
	dataVersion := s("dataversion")
	w.str("dataVersion", dataVersion)
	w.str("metadataVersion", "1")
	out := ev
	out.Schema = EventGridSchema
	out.ID, out.Source, out.Subject, out.Type, out.Time = s("id"), s("source"), s("subject"), s("type"), eventTime
	out.DataVersion = dataVersion
	out.Raw = w.done()
	return out, nil
}
