package eventgridbinding

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/loopback"
)

// Content types of a publish.
const (
	contentTypeEventGrid   = "application/json; charset=utf-8"
	contentTypeCloudEvents = "application/cloudevents-batch+json; charset=utf-8"
)

// publishTimeout bounds one publish, answer included.
const publishTimeout = 30 * time.Second

// client publishes events; names under .localhost (Lapis's topics, {topic}.localhost:7072) reach the loopback
// interface (package loopback).
var client = &http.Client{Timeout: publishTimeout, Transport: loopback.Transport()}

// Output is the eventGrid output binding type.
type Output struct{}

// Name implements binding.Type.
func (Output) Name() string { return OutputType }

// Directions implements binding.Type.
func (Output) Directions() []appconfig.Direction { return []appconfig.Direction{appconfig.Out} }

// Validate implements binding.Type.
func (Output) Validate(b *appconfig.Binding) error { _, err := ParseConfig(b); return err }

// Write implements binding.Output: it publishes the events value stands for to the topic; see the package
// documentation.
func (Output) Write(ctx context.Context, fn *binding.Function, b *appconfig.Binding, _ *binding.Invocation, value json.RawMessage) error {
	cfg, err := ParseConfig(b)
	if err != nil {
		return err
	}
	body, contentType, n, err := encodeEvents(value, fn.Env.Now(), uuid.NewString)
	if err != nil || n == 0 {
		return err
	}
	endpoint, key, err := cfg.resolve(fn.Settings)
	if err != nil {
		return err
	}
	return publish(ctx, endpoint, key, contentType, body, n)
}

// PublishError is a topic's refusal of a publish.
type PublishError struct {
	Endpoint string // the URL posted to
	Status   int
	Body     string // the topic's answer (Azure's {"error":{...}}), trimmed to 4 KiB
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("the topic %s answered %d %s: %s", e.Endpoint, e.Status, http.StatusText(e.Status), e.Body)
}

// publish posts a batch of n events to the topic.
func publish(ctx context.Context, endpoint, key, contentType string, body []byte, n int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("topicEndpointUri %s: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("aeg-sas-key", key)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("publishing %d event(s): %w", n, err)
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("publishing %d event(s): %w", n, &PublishError{Endpoint: endpoint, Status: resp.StatusCode, Body: strings.TrimSpace(string(msg))})
	}
	if err != nil {
		return fmt.Errorf("publishing %d event(s): reading the topic's answer: %w", n, err)
	}
	return nil
}

// encodeEvents turns an eventGrid output's value into the body of one publish: one event object, an array of
// them (null elements skipped), or a JSON string holding either; null is no event. Every event must be a JSON
// object, all in one schema: CloudEvents when they have specversion, else the Event Grid schema. A missing (or
// null, or empty) id is filled with newID(), and a missing eventTime (CloudEvents: time) with now in UTC. It
// returns the body (a JSON array), its content type and the number of events.
func encodeEvents(value json.RawMessage, now time.Time, newID func() string) (body []byte, contentType string, n int, err error) {
	events, err := splitValue(value, true)
	if err != nil || len(events) == 0 {
		return nil, "", 0, err
	}
	stamp := now.UTC().Format(time.RFC3339Nano)
	var buf bytes.Buffer
	buf.WriteByte('[')
	cloud := false
	for i, raw := range events {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, "", 0, fmt.Errorf("eventGrid output: event %d: %w", i, err)
		}
		ce := present(m, "specversion")
		if i == 0 {
			cloud = ce
		} else if ce != cloud {
			return nil, "", 0, fmt.Errorf("eventGrid output: events 0 and %d are in different schemas (one has specversion, the other not); a topic takes one schema", i)
		}
		timeKey := "eventTime"
		if ce {
			timeKey = "time"
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		if present(m, "id") && present(m, timeKey) {
			if err := json.Compact(&buf, raw); err != nil {
				return nil, "", 0, fmt.Errorf("eventGrid output: event %d: %w", i, err)
			}
			continue
		}
		fill(m, "id", newID())
		fill(m, timeKey, stamp)
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			return nil, "", 0, fmt.Errorf("eventGrid output: event %d: %w", i, err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	buf.WriteByte(']')
	contentType = contentTypeEventGrid
	if cloud {
		contentType = contentTypeCloudEvents
	}
	return buf.Bytes(), contentType, len(events), nil
}

// splitValue returns the event objects an output value holds. unwrap allows one level of JSON string around
// the value.
func splitValue(value json.RawMessage, unwrap bool) ([]json.RawMessage, error) {
	v := bytes.TrimSpace(value)
	if len(v) == 0 || string(v) == "null" {
		return nil, nil
	}
	switch v[0] {
	case '{':
		if !json.Valid(v) {
			return nil, errors.New("eventGrid output: the value is not valid JSON")
		}
		return []json.RawMessage{v}, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, fmt.Errorf("eventGrid output: the value is not valid JSON: %w", err)
		}
		out := make([]json.RawMessage, 0, len(items))
		for i, it := range items {
			it = bytes.TrimSpace(it)
			if string(it) == "null" {
				continue
			}
			if it[0] == '"' {
				var s string
				if json.Unmarshal(it, &s) == nil {
					it = bytes.TrimSpace([]byte(s))
				}
			}
			if len(it) == 0 || it[0] != '{' || !json.Valid(it) {
				return nil, fmt.Errorf("eventGrid output: element %d of the value is not an event object", i)
			}
			out = append(out, it)
		}
		return out, nil
	case '"':
		var s string
		if unwrap && json.Unmarshal(v, &s) == nil {
			return splitValue(json.RawMessage(s), false)
		}
	}
	return nil, errors.New("eventGrid output: the value must be an event object or an array of them")
}

// present reports whether m has key set to something other than null or "".
func present(m map[string]json.RawMessage, key string) bool {
	v, ok := m[key]
	s := string(bytes.TrimSpace(v))
	return ok && s != "null" && s != `""`
}

// fill sets m[key] to the string v unless it is present.
func fill(m map[string]json.RawMessage, key, v string) {
	if !present(m, key) {
		m[key], _ = json.Marshal(v)
	}
}
