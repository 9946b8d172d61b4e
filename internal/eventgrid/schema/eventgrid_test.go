package schema

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const topicID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t1"

var now = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// wantErr checks an *Error's status, codes and message.
func wantErr(t *testing.T, err error, status int, detail, msg string) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if e.Status != status {
		t.Errorf("status = %d, want %d (%s)", e.Status, status, e.Message)
	}
	code := CodeBadRequest
	if status == http.StatusRequestEntityTooLarge {
		code = CodeRequestEntityTooLarge
	}
	if e.Code != code {
		t.Errorf("code = %q, want %q", e.Code, code)
	}
	if len(e.Details) != 1 || e.Details[0].Code != detail {
		t.Errorf("details = %+v, want code %q", e.Details, detail)
	}
	if e.Message != msg {
		t.Errorf("message = %q\n want %q", e.Message, msg)
	}
}

// egEvent is a valid Event Grid event with fields overridden (nil deletes).
func egEvent(over map[string]any) map[string]any {
	m := map[string]any{
		"id":          "e1",
		"subject":     "/a/b",
		"eventType":   "Contoso.Items.ItemReceived",
		"eventTime":   "2026-11-24T05:00:00.1234567Z",
		"data":        map[string]any{"n": 1, "s": "<x & y>"},
		"dataVersion": "1.0",
	}
	for k, v := range over {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEventGridValid(t *testing.T) {
	body := `[{"id":"e1","subject":"/a/b","eventType":"T","eventTime":"2026-11-24T05:00:00Z","data":{"s":"<x & y>", "n": 1.50},"dataVersion":"2"},
	          {"id":"e2","topic":"` + strings.ToUpper(topicID) + `","subject":"s","eventType":"T","eventTime":"2026-11-24T06:00:00.123+01:00","metadataVersion":"1","extra":true}]`
	evs, err := Parse(EventGridSchema, topicID, jsonHeader(), []byte(body), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("got %d events", len(evs))
	}
	want0 := `{"topic":"` + topicID + `","subject":"/a/b","eventType":"T","eventTime":"2026-11-24T05:00:00Z","id":"e1","data":{"s":"<x & y>","n":1.50},"dataVersion":"2","metadataVersion":"1"}`
	if string(evs[0].Raw) != want0 {
		t.Errorf("raw 0 =\n%s\nwant\n%s", evs[0].Raw, want0)
	}
	want1 := `{"topic":"` + topicID + `","subject":"s","eventType":"T","eventTime":"2026-11-24T06:00:00.123+01:00","id":"e2","dataVersion":"","metadataVersion":"1"}`
	if string(evs[1].Raw) != want1 {
		t.Errorf("raw 1 =\n%s\nwant\n%s", evs[1].Raw, want1)
	}
	e := evs[0]
	if e.Schema != EventGridSchema || e.ID != "e1" || e.Topic != topicID || e.Source != topicID || e.Subject != "/a/b" ||
		e.Type != "T" || e.Time != "2026-11-24T05:00:00Z" || e.DataVersion != "2" || !e.Received.Equal(now) {
		t.Errorf("event = %+v", e)
	}
	if e.Size == 0 || e.Size > len(body) {
		t.Errorf("size = %d", e.Size)
	}
	// curl -d's Content-Type is read as JSON, as Azure does.
	if _, err := Parse(EventGridSchema, topicID, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(body), now); err != nil {
		t.Fatalf("form content type: %v", err)
	}
	// No Content-Type and an empty array are fine too.
	evs, err = Parse(EventGridSchema, topicID, nil, []byte(" [ ] "), now)
	if err != nil || len(evs) != 0 {
		t.Fatalf("empty array: %v %v", evs, err)
	}
	// data null is kept.
	evs, err = Parse(EventGridSchema, topicID, nil, mustJSON(t, []any{egEvent(map[string]any{"data": json.RawMessage("null")})}), now)
	if err != nil || !strings.Contains(string(evs[0].Raw), `"data":null`) {
		t.Fatalf("data null: %s %v", evs[0].Raw, err)
	}
}

func TestEventGridErrors(t *testing.T) {
	bad := func(over map[string]any) string { return string(mustJSON(t, []any{egEvent(over)})) }
	wrongEG := "This resource is configured to receive event in 'EventGridEvent' schema. The JSON received does not conform to the expected schema. "
	cases := []struct {
		name   string
		header http.Header
		body   string
		status int
		detail string
		msg    string
	}{
		{"object not array", jsonHeader(), string(mustJSON(t, egEvent(nil))), 400, DetailInputJSONInvalid,
			"Unexpected token when reading JSON. Expected: StartArray, actual: StartObject."},
		{"string body", jsonHeader(), `"x"`, 400, DetailInputJSONInvalid,
			"Unexpected token when reading JSON. Expected: StartArray, actual: String."},
		{"element not object", jsonHeader(), `[1]`, 400, DetailInputJSONInvalid,
			"Unexpected token when reading JSON. Expected: StartObject, actual: Integer."},
		{"invalid json", jsonHeader(), `[{"id":}]`, 400, DetailInputJSONInvalid,
			"The request body is not valid JSON: invalid character '}' looking for beginning of value."},
		{"empty body", jsonHeader(), ``, 400, DetailInputJSONInvalid,
			"The request body is not valid JSON: the body is empty."},
		{"trailing data", jsonHeader(), `[] []`, 400, DetailInputJSONInvalid,
			"The request body is not valid JSON: there is data after the JSON value."},
		{"not utf8", jsonHeader(), "[\"\xff\"]", 400, DetailInputJSONInvalid, "The request body is not valid UTF-8."},
		{"missing id", nil, bad(map[string]any{"id": nil}), 400, DetailInputJSONInvalid, "Required property 'id' was not set."},
		{"empty id", nil, bad(map[string]any{"id": ""}), 400, DetailInputJSONInvalid, "Required property 'id' was not set."},
		{"null id", nil, bad(map[string]any{"id": json.RawMessage("null")}), 400, DetailInputJSONInvalid, "Required property 'id' was not set."},
		{"numeric id", nil, bad(map[string]any{"id": 5}), 400, DetailInputJSONInvalid, "Property 'id' must be a string, but was Integer."},
		{"missing subject", nil, bad(map[string]any{"subject": nil}), 400, DetailInputJSONInvalid, "Required property 'subject' was not set."},
		{"missing eventType", nil, bad(map[string]any{"eventType": nil}), 400, DetailInputJSONInvalid, "Required property 'eventType' was not set."},
		{"object eventType", nil, bad(map[string]any{"eventType": map[string]any{}}), 400, DetailInputJSONInvalid, "Property 'eventType' must be a string, but was StartObject."},
		{"missing eventTime", nil, bad(map[string]any{"eventTime": nil}), 400, DetailInputJSONInvalid, "Required property 'eventTime' was not set."},
		{"bad eventTime", nil, bad(map[string]any{"eventTime": "yesterday"}), 400, DetailInputJSONInvalid, "The event time property 'eventTime' was not a valid date/time."},
		{"eventTime without zone", nil, bad(map[string]any{"eventTime": "2026-11-24T05:00:00"}), 400, DetailInputJSONInvalid, "The event time property 'eventTime' was not a valid date/time."},
		{"numeric dataVersion", nil, bad(map[string]any{"dataVersion": 1}), 400, DetailInputJSONInvalid, "Property 'dataVersion' must be a string, but was Integer."},
		{"other topic", nil, bad(map[string]any{"topic": "/subscriptions/x/other"}), 400, DetailInputJSONInvalid,
			"Property 'topic' was found to be set to '/subscriptions/x/other', but was expected to either be null or be set to the ARM resource id of the Event Grid topic '" + topicID + "'."},
		{"metadataVersion 2", nil, bad(map[string]any{"metadataVersion": "2"}), 400, DetailInputJSONInvalid,
			"Property 'metadataVersion' was found to be set to '2', but was expected to either be null or be set to '1'."},
		{"metadataVersion number", nil, bad(map[string]any{"metadataVersion": 1}), 400, DetailInputJSONInvalid,
			"Property 'metadataVersion' was found to be set to '1', but was expected to either be null or be set to '1'."},
		{"cloudevents content type", http.Header{"Content-Type": {"application/cloudevents+json; charset=utf-8"}}, `{}`, 400, DetailInputJSONInvalid,
			wrongEG + "The Content-Type 'application/cloudevents+json' is for events in the CloudEvents schema."},
		{"cloudevents batch content type", http.Header{"Content-Type": {"application/cloudevents-batch+json"}}, `[]`, 400, DetailInputJSONInvalid,
			wrongEG + "The Content-Type 'application/cloudevents-batch+json' is for events in the CloudEvents schema."},
		{"binary cloudevent", http.Header{"Ce-Specversion": {"1.0"}}, `{}`, 400, DetailInputJSONInvalid,
			wrongEG + "The request has binary-mode CloudEvents headers (ce-specversion)."},
		{"cloudevent in array", jsonHeader(), `[{"specversion":"1.0","id":"1","source":"s","type":"t"}]`, 400, DetailInputJSONInvalid,
			wrongEG + "The event has 'specversion' and no 'eventType': it is a CloudEvent."},
		{"form content type, object", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, `{}`, 400, DetailInputJSONInvalid,
			"Unexpected token when reading JSON. Expected: StartArray, actual: StartObject."},
		{"second event bad", nil, `[` + string(mustJSON(t, egEvent(nil))) + `,{"id":"x"}]`, 400, DetailInputJSONInvalid,
			"Required property 'subject' was not set."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, err := Parse(EventGridSchema, topicID, c.header, []byte(c.body), now)
			if err == nil {
				t.Fatalf("accepted: %s", evs[0].Raw)
			}
			wantErr(t, err, c.status, c.detail, c.msg)
		})
	}
}

func TestSchemaNames(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Schema
	}{{"", EventGridSchema}, {"eventgridschema", EventGridSchema}, {"CloudEventSchemaV1_0", CloudEventSchemaV1_0},
		{"cloudeventschemav1_0", CloudEventSchemaV1_0}, {"CustomEventSchema", CustomEventSchema}, {"custominputschema", CustomEventSchema}} {
		got, err := ParseSchema(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSchema(%q) = %v, %v", c.in, got, err)
		}
	}
	if _, err := ParseSchema("cloudeventv01schema"); err == nil {
		t.Error("cloudeventv01schema accepted")
	}
	var s Schema
	if err := json.Unmarshal([]byte(`"CloudEventSchemaV1_0"`), &s); err != nil || s != CloudEventSchemaV1_0 {
		t.Errorf("unmarshal: %v %v", s, err)
	}
	if b, _ := json.Marshal(CloudEventSchemaV1_0); string(b) != `"CloudEventSchemaV1_0"` {
		t.Errorf("marshal: %s", b)
	}
	if Schema(9).String() != "Schema(9)" {
		t.Error(Schema(9).String())
	}
}

func TestUnsupportedSchema(t *testing.T) {
	_, err := Parse(CustomEventSchema, topicID, nil, []byte(`[]`), now)
	wantErr(t, err, 400, DetailInputSchemaNotSupported,
		"The topic's input schema is CustomEventSchema, which Lapis does not support; use EventGridSchema or CloudEventSchemaV1_0.")
	_, err = Parse(Schema(7), topicID, nil, []byte(`[]`), now)
	wantErr(t, err, 400, DetailInputSchemaNotSupported, "The topic's input schema (7) is not known.")
}

func TestErrorBody(t *testing.T) {
	_, err := Parse(EventGridSchema, topicID, nil, mustJSON(t, []any{egEvent(map[string]any{"id": nil})}), now)
	e := err.(*Error)
	b, _ := json.Marshal(e)
	want := `{"error":{"code":"BadRequest","message":"Required property 'id' was not set.","details":[{"code":"InputJsonInvalid","message":"Required property 'id' was not set."}]}}`
	if string(b) != want {
		t.Errorf("body = %s", b)
	}
	e.Report = ReportID("c28fd24a-bf33-40e1-b01e-9f86ec0e4bd1", 1, time.Date(2020, 9, 23, 14, 38, 0, 0, time.UTC))
	b, _ = json.Marshal(e)
	want = `{"error":{"code":"BadRequest","message":"Required property 'id' was not set. Report 'c28fd24a-bf33-40e1-b01e-9f86ec0e4bd1:1:9/23/2020 2:38:00 PM (UTC)' to our forums for assistance or raise a support ticket.","details":[{"code":"InputJsonInvalid","message":"Required property 'id' was not set."}]}}`
	if string(b) != want {
		t.Errorf("body = %s", b)
	}
	var back Error
	if err := json.Unmarshal(b, &back); err != nil || back.Code != "BadRequest" || len(back.Details) != 1 {
		t.Errorf("unmarshal: %+v %v", back, err)
	}
	if !strings.Contains(e.Error(), "400 BadRequest") {
		t.Error(e.Error())
	}
	rec := &recorder{h: http.Header{}}
	e.Write(rec)
	if rec.status != 400 || rec.h.Get("Content-Type") != "application/json; charset=utf-8" || string(rec.body) != want {
		t.Errorf("write: %d %v %s", rec.status, rec.h, rec.body)
	}
}

type recorder struct {
	h      http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(b []byte) (int, error) { r.body = append(r.body, b...); return len(b), nil }
