package schema

import (
	"encoding/json"
	"strings"
	"time"
)

// Event Grid schema rules (azure-docs event-schema.md and
// post-to-custom-topic.md, reference §2.1–2.2):
//
//   - the body is a JSON array of event objects, whatever the Content-Type
//     (except the CloudEvents ones); an empty array is accepted and yields
//     no events;
//   - id, subject and eventType are required non-empty strings;
//   - eventTime is required and must be an RFC 3339 date-time;
//   - dataVersion is optional; absent, it is stamped "" (Azure stamps an
//     empty value);
//   - topic is optional; if set it must be the topic's resource id
//     (compared case-insensitively, as ARM ids are); Azure stamps it;
//   - metadataVersion is optional; if set it must be "1"; Azure stamps "1";
//   - data is optional and any JSON value; other members are dropped.
//
// The delivered event has Azure's member order: topic, subject, eventType,
// eventTime, id, data, dataVersion, metadataVersion.

func (l Limits) parseEventGrid(topicID string, header map[string][]string, mt string, body []byte, now time.Time) ([]Event, error) {
	switch {
	case mt == ctCloudEvent || mt == ctCloudEventBatch:
		return nil, invalid(msgWrongSchema, EventGridSchema.eventName(),
			"The Content-Type '"+mt+"' is for events in the CloudEvents schema.")
	case hasCEHeaders(header):
		return nil, invalid(msgWrongSchema, EventGridSchema.eventName(),
			"The request has binary-mode CloudEvents headers (ce-specversion).")
	}
	// Any other Content-Type is read as JSON: the documented curl example
	// (curl -d, so application/x-www-form-urlencoded) works on Azure.
	if err := checkJSON(body); err != nil {
		return nil, err
	}
	if t := firstToken(body); t != '[' {
		return nil, invalid(msgUnexpectedToken, "StartArray", tokenName(body))
	}
	elems := splitArray(body)
	events := make([]Event, 0, len(elems))
	for i, raw := range elems {
		if len(raw) > l.MaxEventBytes {
			return nil, tooLarge(DetailEventTooLarge, msgEventSize, i, len(raw), l.MaxEventBytes)
		}
		ev, err := eventGridEvent(topicID, raw, now)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	return events, nil
}

// ParseEventGridEvent validates one Event Grid schema event object, such as
// a system event (Microsoft.Storage.Blob*, Microsoft.Resources.*) that the
// platform raises for topicID, with the rules of a publish, and stamps it as
// Azure does. Its Size is len(raw); no size limit is applied.
func ParseEventGridEvent(topicID string, raw []byte, now time.Time) (Event, error) {
	if err := checkJSON(raw); err != nil {
		return Event{}, err
	}
	ev, err := eventGridEvent(topicID, raw, now)
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

func eventGridEvent(topicID string, raw json.RawMessage, now time.Time) (Event, *Error) {
	m, ok := object(raw)
	if !ok {
		return Event{}, invalid(msgUnexpectedToken, "StartObject", tokenName(raw))
	}
	if _, ce := m["specversion"]; ce {
		if _, eg := m["eventType"]; !eg {
			return Event{}, invalid(msgWrongSchema, EventGridSchema.eventName(),
				"The event has 'specversion' and no 'eventType': it is a CloudEvent.")
		}
	}
	id, err := required(m, "id")
	if err != nil {
		return Event{}, err
	}
	subject, err := required(m, "subject")
	if err != nil {
		return Event{}, err
	}
	eventType, err := required(m, "eventType")
	if err != nil {
		return Event{}, err
	}
	eventTime, err := required(m, "eventTime")
	if err != nil {
		return Event{}, err
	}
	if !validTime(eventTime) {
		return Event{}, invalid(msgEventTime, "eventTime")
	}
	dataVersion, _, err := str(m, "dataVersion")
	if err != nil {
		return Event{}, err
	}
	topic, _, err := str(m, "topic")
	if err != nil {
		return Event{}, err
	}
	if topic != "" && !strings.EqualFold(topic, topicID) {
		return Event{}, invalid(msgTopic, topic, topicID)
	}
	if mv, ok := m["metadataVersion"]; ok && !isNull(mv) {
		var s string
		if firstToken(mv) != '"' || json.Unmarshal(mv, &s) != nil || s != "1" {
			shown := s
			if firstToken(mv) != '"' {
				shown = string(mv)
			}
			return Event{}, invalid(msgMetadata, shown)
		}
	}
	var w writer
	w.str("topic", topicID)
	w.str("subject", subject)
	w.str("eventType", eventType)
	w.str("eventTime", eventTime)
	w.str("id", id)
	if data, ok := m["data"]; ok {
		w.raw("data", data)
	}
	w.str("dataVersion", dataVersion)
	w.str("metadataVersion", "1")
	return Event{
		Schema:      EventGridSchema,
		ID:          id,
		Topic:       topicID,
		Source:      topicID,
		Subject:     subject,
		Type:        eventType,
		Time:        eventTime,
		DataVersion: dataVersion,
		Raw:         w.done(),
		Size:        len(raw),
		Received:    now,
	}, nil
}

func hasCEHeaders(h map[string][]string) bool {
	for k := range h {
		if strings.EqualFold(k, "ce-specversion") {
			return true
		}
	}
	return false
}
