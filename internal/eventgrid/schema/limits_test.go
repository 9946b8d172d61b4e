package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// padded is an Event Grid event whose JSON object is exactly n bytes.
func padded(t *testing.T, n int) []byte {
	t.Helper()
	b := mustJSON(t, egEvent(map[string]any{"data": ""}))
	pad := n - len(b)
	if pad < 0 {
		t.Fatalf("event too small for %d", n)
	}
	b = mustJSON(t, egEvent(map[string]any{"data": strings.Repeat("x", pad)}))
	if len(b) != n {
		t.Fatalf("padded to %d, want %d", len(b), n)
	}
	return b
}

func TestSizeLimits(t *testing.T) {
	const mib = 1 << 20
	// A request of exactly 1 MiB holding one event is accepted.
	ev := padded(t, mib-2)
	body := append(append([]byte("["), ev...), ']')
	evs, err := Parse(EventGridSchema, topicID, nil, body, now)
	if err != nil {
		t.Fatalf("1 MiB request: %v", err)
	}
	if evs[0].Size != mib-2 {
		t.Errorf("size = %d", evs[0].Size)
	}
	// One byte more is 413.
	body = append(append([]byte("[ "), ev...), ']')
	_, err = Parse(EventGridSchema, topicID, nil, body, now)
	wantErr(t, err, 413, DetailRequestTooLarge, "The request body exceeds the maximum size of 1048576 bytes.")
	_, err = Parse(CloudEventSchemaV1_0, topicID, nil, body, now)
	wantErr(t, err, 413, DetailRequestTooLarge, "The request body exceeds the maximum size of 1048576 bytes.")

	// Azure's old GA limit of 64 KB per event.
	ga := Limits{MaxEventBytes: 64 << 10}
	small, big := padded(t, 64<<10), padded(t, 64<<10+1)
	if _, err := ga.Parse(EventGridSchema, topicID, nil, []byte("["+string(small)+"]"), now); err != nil {
		t.Errorf("64 KB event: %v", err)
	}
	_, err = ga.Parse(EventGridSchema, topicID, nil, []byte("["+string(small)+","+string(big)+"]"), now)
	wantErr(t, err, 413, DetailEventTooLarge, "Event 1 of the request is 65537 bytes; the maximum size of an event is 65536 bytes.")

	// CloudEvents: structured and binary.
	ce := []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","data":"` + strings.Repeat("x", 100) + `"}`)
	tiny := Limits{MaxEventBytes: 100}
	_, err = tiny.Parse(CloudEventSchemaV1_0, topicID, ceHeader(ctCloudEvent), ce, now)
	wantErr(t, err, 413, DetailEventTooLarge, fmt.Sprintf("Event 0 of the request is %d bytes; the maximum size of an event is 100 bytes.", len(ce)))
	h := binHeader("Content-Type", "text/plain")
	_, err = tiny.Parse(CloudEventSchemaV1_0, topicID, h, bytes.Repeat([]byte("x"), 40), now)
	// body 40 + Content-Type 12+10 + Ce-Specversion 14+3, Ce-Id 5+2,
	// Ce-Source 9+4, Ce-Type 7+15 = 121
	wantErr(t, err, 413, DetailEventTooLarge, "Event 0 of the request is 121 bytes; the maximum size of an event is 100 bytes.")
	if _, err := tiny.Parse(CloudEventSchemaV1_0, topicID, h, []byte("x"), now); err != nil {
		t.Errorf("small binary event: %v", err)
	}
}

func TestParseRequest(t *testing.T) {
	body := mustJSON(t, []any{egEvent(nil)})
	r := httptest.NewRequest(http.MethodPost, "/api/events?api-version=2018-01-01", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	evs, err := ParseRequest(EventGridSchema, topicID, r, now)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %v", evs, err)
	}
	// Over the limit by Content-Length.
	big := bytes.Repeat([]byte(" "), 1<<20+1)
	r = httptest.NewRequest(http.MethodPost, "/api/events", bytes.NewReader(big))
	_, err = ParseRequest(EventGridSchema, topicID, r, now)
	wantErr(t, err, 413, DetailRequestTooLarge, "The request body exceeds the maximum size of 1048576 bytes.")
	// Over the limit without a Content-Length (chunked).
	r = httptest.NewRequest(http.MethodPost, "/api/events", bytes.NewReader(big))
	r.ContentLength = -1
	_, err = ParseRequest(EventGridSchema, topicID, r, now)
	wantErr(t, err, 413, DetailRequestTooLarge, "The request body exceeds the maximum size of 1048576 bytes.")
	// A body behind http.MaxBytesReader.
	rec := httptest.NewRecorder()
	r = httptest.NewRequest(http.MethodPost, "/api/events", bytes.NewReader(body))
	r.ContentLength = -1
	r.Body = http.MaxBytesReader(rec, r.Body, 10)
	_, err = ParseRequest(EventGridSchema, topicID, r, now)
	wantErr(t, err, 413, DetailRequestTooLarge, "The request body exceeds the maximum size of 1048576 bytes.")
	// Binary mode through a request.
	r = httptest.NewRequest(http.MethodPost, "/api/events", strings.NewReader(`{"a":1}`))
	r.Header = binHeader("Content-Type", "application/json")
	evs, err = ParseRequest(CloudEventSchemaV1_0, topicID, r, now)
	if err != nil || !json.Valid(evs[0].Raw) {
		t.Fatalf("%v %v", evs, err)
	}
}
