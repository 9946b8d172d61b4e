package schema

import (
	"encoding/json"
	"testing"
	"time"
)

func TestToCloudEvent(t *testing.T) {
	body := `[{"id":"e1","subject":"/a/b","eventType":"T","eventTime":"2026-11-24T05:00:00.1234567Z","data":{"n":1},"dataVersion":"2"},
	          {"id":"e2","subject":"s","eventType":"T2","eventTime":"2026-11-24T05:00:00Z"}]`
	evs, err := Parse(EventGridSchema, topicID, nil, []byte(body), now)
	if err != nil {
		t.Fatal(err)
	}
	ce, err := ToCloudEvent(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"specversion":"1.0","id":"e1","source":"` + topicID + `","type":"T","subject":"/a/b","time":"2026-11-24T05:00:00.1234567Z","data":{"n":1}}`
	if string(ce.Raw) != want {
		t.Errorf("raw =\n%s\nwant\n%s", ce.Raw, want)
	}
	if ce.Schema != CloudEventSchemaV1_0 || ce.Source != topicID || ce.Type != "T" || ce.Size != evs[0].Size || ce.DataVersion != "" {
		t.Errorf("event = %+v", ce)
	}
	// The converted event is a valid CloudEvent.
	again, err := Parse(CloudEventSchemaV1_0, topicID, ceHeader(ctCloudEvent), ce.Raw, now)
	if err != nil || string(again[0].Raw) != want {
		t.Errorf("re-parse: %v %s", err, again[0].Raw)
	}
	// Without data, no data.
	ce2, _ := ToCloudEvent(evs[1])
	if want := `{"specversion":"1.0","id":"e2","source":"` + topicID + `","type":"T2","subject":"s","time":"2026-11-24T05:00:00Z"}`; string(ce2.Raw) != want {
		t.Errorf("raw = %s", ce2.Raw)
	}
	// Round trip back: all but dataVersion survive.
	eg, err := ToEventGrid(ce)
	if err != nil {
		t.Fatal(err)
	}
	wantEG := `{"topic":"` + topicID + `","subject":"/a/b","eventType":"T","eventTime":"2026-11-24T05:00:00.1234567Z","id":"e1","data":{"n":1},"dataVersion":"","metadataVersion":"1"}`
	if string(eg.Raw) != wantEG {
		t.Errorf("round trip =\n%s\nwant\n%s", eg.Raw, wantEG)
	}
	eg2, _ := ToEventGrid(ce2)
	if string(eg2.Raw) != string(evs[1].Raw) {
		t.Errorf("round trip without dataVersion =\n%s\nwant\n%s", eg2.Raw, evs[1].Raw)
	}
	// Identity on the same schema.
	if same, _ := ToCloudEvent(ce); string(same.Raw) != string(ce.Raw) {
		t.Error("ToCloudEvent of a CloudEvent changed it")
	}
	if same, _ := ToEventGrid(evs[0]); string(same.Raw) != string(evs[0].Raw) {
		t.Error("ToEventGrid of an Event Grid event changed it")
	}
}

func TestToEventGrid(t *testing.T) {
	received := time.Date(2026, 11, 24, 5, 6, 7, 800, time.FixedZone("x", 3600))
	cases := []struct {
		name, in, want string
	}{
		{"full",
			`{"specversion":"1.0","id":"c1","source":"/src","type":"t","subject":"sub","time":"2026-11-24T05:00:00Z","datacontenttype":"application/json","dataversion":"3","other":1,"data":{"a":1}}`,
			`{"topic":"/src","subject":"sub","eventType":"t","eventTime":"2026-11-24T05:00:00Z","id":"c1","data":{"a":1},"dataVersion":"3","metadataVersion":"1"}`},
		{"minimal, time from receive time",
			`{"specversion":"1.0","id":"c1","source":"/src","type":"t"}`,
			`{"topic":"/src","subject":"","eventType":"t","eventTime":"2026-11-24T04:06:07.0000008Z","id":"c1","dataVersion":"","metadataVersion":"1"}`},
		{"data_base64",
			`{"specversion":"1.0","id":"c1","source":"/src","type":"t","dataversion":7,"data_base64":"AAEC"}`,
			`{"topic":"/src","subject":"","eventType":"t","eventTime":"2026-11-24T04:06:07.0000008Z","id":"c1","data":"AAEC","dataVersion":"","metadataVersion":"1"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, err := Parse(CloudEventSchemaV1_0, topicID, ceHeader(ctCloudEvent), []byte(c.in), received)
			if err != nil {
				t.Fatal(err)
			}
			eg, err := ToEventGrid(evs[0])
			if err != nil {
				t.Fatal(err)
			}
			if string(eg.Raw) != c.want {
				t.Errorf("raw =\n%s\nwant\n%s", eg.Raw, c.want)
			}
			if eg.Schema != EventGridSchema || eg.Topic != topicID || eg.Time == "" {
				t.Errorf("event = %+v", eg)
			}
			// A valid Event Grid event for a topic whose id is its source
			// (given a subject, which publishes need).
			if eg.Subject != "" {
				if _, err := ParseEventGridEvent("/src", eg.Raw, now); err != nil {
					t.Errorf("re-validate: %v", err)
				}
			}
		})
	}
}

func TestBatchAndContentType(t *testing.T) {
	evs, err := Parse(EventGridSchema, topicID, nil, mustJSON(t, []any{egEvent(nil), egEvent(map[string]any{"id": "e2"})}), now)
	if err != nil {
		t.Fatal(err)
	}
	b := Batch(evs)
	var back []map[string]any
	if err := json.Unmarshal(b, &back); err != nil || len(back) != 2 || back[1]["id"] != "e2" {
		t.Fatalf("batch %s: %v", b, err)
	}
	if string(Batch(nil)) != "[]" {
		t.Error(string(Batch(nil)))
	}
	if ContentType(EventGridSchema) != "application/json; charset=utf-8" ||
		ContentType(CloudEventSchemaV1_0) != "application/cloudevents+json; charset=utf-8" {
		t.Error("content types")
	}
}
