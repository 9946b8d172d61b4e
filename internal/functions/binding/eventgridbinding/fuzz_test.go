package eventgridbinding

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Seeds: a validation handshake, a delivery of two events and a CloudEvent.
const (
	seedValidation = `[{"id":"v","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-01-01T00:00:00Z","data":{"validationCode":"512d38b6"}}]`
	seedEvents     = `[{"subject":"a/1","eventType":"T","eventTime":"2026-01-01T00:00:00Z","id":"e1","data":{"n":1}},{"subject":"a/2","eventType":"T","eventTime":"2026-01-01T00:00:00Z","id":"e2"}]`
	seedCloudEvent = `{"specversion":"1.0","id":"c1","source":"/s","type":"t","data":{"n":3}}`
)

func fixedID() string { return "00000000-0000-4000-8000-000000000001" }

var now = time.Date(2026, 3, 4, 5, 6, 7, 8e6, time.FixedZone("CET", 3600))

func TestEncodeEvents(t *testing.T) {
	for _, c := range []struct {
		name, value, want, ctype string
		n                        int
	}{
		{"one event, filled in", `{"subject":"s","eventType":"T","data":{"a":"<b>"}}`,
			`[{"data":{"a":"<b>"},"eventTime":"2026-03-04T04:06:07.008Z","eventType":"T","id":"00000000-0000-4000-8000-000000000001","subject":"s"}]`, contentTypeEventGrid, 1},
		{"complete events kept as written", `[ {"id":"1", "eventTime":"2026-01-01T00:00:00Z", "subject":"s", "eventType":"T", "dataVersion":"2.0"}, null ]`,
			`[{"id":"1","eventTime":"2026-01-01T00:00:00Z","subject":"s","eventType":"T","dataVersion":"2.0"}]`, contentTypeEventGrid, 1},
		{"null and empty id replaced", `{"id":null,"eventTime":"","subject":"s","eventType":"T"}`,
			`[{"eventTime":"2026-03-04T04:06:07.008Z","eventType":"T","id":"00000000-0000-4000-8000-000000000001","subject":"s"}]`, contentTypeEventGrid, 1},
		{"a string holding an event", `"{\"id\":\"1\",\"eventTime\":\"t\",\"subject\":\"s\",\"eventType\":\"T\"}"`,
			`[{"id":"1","eventTime":"t","subject":"s","eventType":"T"}]`, contentTypeEventGrid, 1},
		{"a string holding an array", `"[{\"id\":\"1\",\"eventTime\":\"t\"},{\"id\":\"2\",\"eventTime\":\"t\"}]"`,
			`[{"id":"1","eventTime":"t"},{"id":"2","eventTime":"t"}]`, contentTypeEventGrid, 2},
		{"strings in an array", `["{\"id\":\"1\",\"eventTime\":\"t\"}"]`, `[{"id":"1","eventTime":"t"}]`, contentTypeEventGrid, 1},
		{"cloud events", `[{"specversion":"1.0","source":"/s","type":"T"},{"specversion":"1.0","id":"c2","time":"2026-01-01T00:00:00Z","source":"/s","type":"T"}]`,
			`[{"id":"00000000-0000-4000-8000-000000000001","source":"/s","specversion":"1.0","time":"2026-03-04T04:06:07.008Z","type":"T"},{"specversion":"1.0","id":"c2","time":"2026-01-01T00:00:00Z","source":"/s","type":"T"}]`,
			contentTypeCloudEvents, 2},
		{"null", `null`, ``, ``, 0},
		{"empty array", `[]`, ``, ``, 0},
	} {
		body, ctype, n, err := encodeEvents(json.RawMessage(c.value), now, fixedID)
		if err != nil || string(body) != c.want || ctype != c.ctype || n != c.n {
			t.Errorf("%s: %s %q %d %v\nwant %s %q %d", c.name, body, ctype, n, err, c.want, c.ctype, c.n)
		}
	}
	for _, c := range []struct{ value, want string }{
		{`42`, "must be an event object or an array of them"},
		{`"not JSON"`, "must be an event object or an array of them"},
		{`"\"nested\""`, "must be an event object or an array of them"},
		{`[{"id":"1"},7]`, "element 1 of the value is not an event object"},
		{`[{"id":"1"},{"specversion":"1.0"}]`, "events 0 and 1 are in different schemas"},
		{`{"id":`, "not valid JSON"},
	} {
		if _, _, _, err := encodeEvents(json.RawMessage(c.value), now, fixedID); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.value, err, c.want)
		}
	}
}

// FuzzParseDelivery feeds arbitrary requests to the webhook's parser: it never panics, a notification's events
// are JSON objects, and a validation has a code.
func FuzzParseDelivery(f *testing.F) {
	for _, s := range []string{seedValidation, seedEvents, seedCloudEvent, `[]`, `[null]`, `{"data":"{\"validationCode\":1}"}`} {
		for _, h := range []string{"Notification", "SubscriptionValidation", ""} {
			f.Add(h, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, eventType string, body []byte) {
		d, err := parseDelivery(eventType, body)
		if err != nil {
			return
		}
		switch d.kind {
		case kindValidation:
			if d.code == "" {
				t.Fatal("a validation without a code")
			}
		case kindNotification:
			for _, ev := range d.events {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(ev, &m); err != nil {
					t.Fatalf("event %s is not an object: %v", ev, err)
				}
			}
		}
	})
}

// FuzzEncodeEvents feeds arbitrary output values to the encoder: it never panics, and what it publishes is a
// JSON array of as many objects as it says, each with an id and a time.
func FuzzEncodeEvents(f *testing.F) {
	for _, s := range []string{`{"subject":"s","eventType":"T"}`, `[{"id":"1"},null,"{\"id\":2}"]`, `"[{\"specversion\":\"1.0\"}]"`,
		`[{"specversion":"1.0","id":""},{"specversion":"1.0","time":null}]`, `null`, `[]`, `{"id":"\u003c"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		body, ctype, n, err := encodeEvents(value, now, fixedID)
		if err != nil || n == 0 {
			return
		}
		var events []map[string]json.RawMessage
		if err := json.Unmarshal(body, &events); err != nil || len(events) != n {
			t.Fatalf("body %s of %d events: %v", body, n, err)
		}
		timeKey := "eventTime"
		if ctype == contentTypeCloudEvents {
			timeKey = "time"
		}
		for _, ev := range events {
			if !present(ev, "id") || !present(ev, timeKey) {
				t.Fatalf("event %v lacks id or %s", ev, timeKey)
			}
		}
	})
}
