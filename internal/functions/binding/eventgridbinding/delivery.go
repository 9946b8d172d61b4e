package eventgridbinding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ValidationEventType is the eventType of the Event Grid schema's subscription validation event.
const ValidationEventType = "Microsoft.EventGrid.SubscriptionValidationEvent"

// deliveryKind is what a POST to the webhook asks for.
type deliveryKind int

const (
	kindNotification deliveryKind = iota // events to invoke the function with
	kindValidation                       // the subscription validation handshake
	kindUnsubscribe                      // the subscription is going away: Azure's host answers 202 and does nothing
)

// delivery is a POST to the webhook, read.
type delivery struct {
	kind   deliveryKind
	code   string            // the code a validation must echo
	events []json.RawMessage // a notification's events, each a JSON object as delivered
}

// parseDelivery reads a POST to the webhook from its aeg-event-type header and its body, as Azure's Event Grid
// extension does (HttpRequestProcessor):
//
//   - SubscriptionValidation: the code is data.validationCode of the first event of an array (Event Grid schema),
//     or of a lone object's data, which may be a JSON string holding the object (CloudEvents double-encode it);
//   - Notification: a JSON array holds the events (Event Grid schema, or a CloudEvents batch); a JSON object is
//     one event (a structured CloudEvent). Every event must be a JSON object;
//   - Unsubscribe and SubscriptionDeletion: nothing to do.
//
// The header's value matches ignoring case. Without the header, a body that is one
// Microsoft.EventGrid.SubscriptionValidationEvent is a validation (Azure answers 400 to any request without it,
// as Lapis does to the rest). Errors say what is wrong, for a 400.
func parseDelivery(eventType string, body []byte) (*delivery, error) {
	switch {
	case strings.EqualFold(eventType, "SubscriptionValidation"):
		return validation(body)
	case strings.EqualFold(eventType, "Notification"):
		events, err := splitEvents(body)
		if err != nil {
			return nil, err
		}
		return &delivery{kind: kindNotification, events: events}, nil
	case strings.EqualFold(eventType, "Unsubscribe"), strings.EqualFold(eventType, "SubscriptionDeletion"):
		return &delivery{kind: kindUnsubscribe}, nil
	case eventType == "":
		if events, err := splitEvents(body); err == nil && len(events) == 1 && isValidationEvent(events[0]) {
			return validation(body)
		}
		return nil, errors.New("the request has no aeg-event-type header: Event Grid sends \"aeg-event-type: Notification\" with events " +
			"and \"aeg-event-type: SubscriptionValidation\" for the validation handshake")
	}
	return nil, fmt.Errorf("aeg-event-type %q is not one of Notification, SubscriptionValidation, SubscriptionDeletion", eventType)
}

// splitEvents returns the events of a body: the elements of a JSON array, or a JSON object.
func splitEvents(body []byte) ([]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("the body is empty: Event Grid delivers a JSON array of events or a CloudEvent object")
	}
	switch body[0] {
	case '{':
		if !json.Valid(body) {
			return nil, errors.New("the body is not valid JSON")
		}
		return []json.RawMessage{body}, nil
	case '[':
		var events []json.RawMessage
		if err := json.Unmarshal(body, &events); err != nil {
			return nil, fmt.Errorf("the body is not valid JSON: %w", err)
		}
		for i, ev := range events {
			if t := bytes.TrimSpace(ev); len(t) == 0 || t[0] != '{' {
				return nil, fmt.Errorf("event %d is not a JSON object", i)
			}
		}
		return events, nil
	}
	if !json.Valid(body) {
		return nil, errors.New("the body is not valid JSON")
	}
	return nil, errors.New("the body must be a JSON array of events or a CloudEvent object")
}

// validation reads a validation handshake's code.
func validation(body []byte) (*delivery, error) {
	events, err := splitEvents(body)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, errors.New("the validation request holds no event")
	}
	var ev struct {
		Data json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(events[0], &ev) // an object: splitEvents checked it
	data := ev.Data
	var s string
	if json.Unmarshal(data, &s) == nil {
		data = json.RawMessage(s) // a CloudEvent's data, encoded twice
	}
	var d struct {
		ValidationCode json.RawMessage `json:"validationCode"`
	}
	if json.Unmarshal(data, &d) != nil {
		return nil, errors.New("the validation event's data is not an object with validationCode")
	}
	// Azure takes the code's text, whatever its JSON type.
	c := string(bytes.TrimSpace(d.ValidationCode))
	if json.Unmarshal(d.ValidationCode, &s) == nil {
		c = s
	}
	if c == "" || c == "null" {
		return nil, errors.New("the validation event has no data.validationCode")
	}
	return &delivery{kind: kindValidation, code: c}, nil
}

// isValidationEvent reports whether ev is a subscription validation event (eventType, or a CloudEvent's type).
func isValidationEvent(ev json.RawMessage) bool {
	var e struct {
		EventType string `json:"eventType"`
		Type      string `json:"type"`
	}
	_ = json.Unmarshal(ev, &e)
	return strings.EqualFold(e.EventType, ValidationEventType) || strings.EqualFold(e.Type, ValidationEventType)
}
