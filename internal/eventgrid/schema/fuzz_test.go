package schema

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func FuzzParseEventGrid(f *testing.F) {
	f.Add([]byte(`[{"id":"e1","subject":"/a","eventType":"T","eventTime":"2026-11-24T05:00:00Z","data":{"a":[1,"<&>"]},"dataVersion":"1"}]`))
	f.Add([]byte(`[{"id":"e1","topic":"` + topicID + `","subject":"/a","eventType":"T","eventTime":"2026-11-24T05:00:00.1+02:00","metadataVersion":"1","x":null}]`))
	f.Add([]byte(`[{"id":"\u0000\"","subject":"\ud800","eventType":"T","eventTime":"2026-11-24T05:00:00Z","data":null}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"id":"x"}`))
	f.Add([]byte(`[{"specversion":"1.0"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := Parse(EventGridSchema, topicID, nil, body, now)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T", err)
			}
			return
		}
		for _, ev := range evs {
			if !json.Valid(ev.Raw) {
				t.Fatalf("invalid raw %q", ev.Raw)
			}
			again, err := ParseEventGridEvent(topicID, ev.Raw, now)
			if err != nil {
				t.Fatalf("re-validate %s: %v", ev.Raw, err)
			}
			if !bytes.Equal(again.Raw, ev.Raw) || again.ID != ev.ID || again.Subject != ev.Subject || again.Time != ev.Time {
				t.Fatalf("re-validate changed\n%s\n%s", ev.Raw, again.Raw)
			}
			ce, err := ToCloudEvent(ev)
			if err != nil {
				t.Fatalf("ToCloudEvent %s: %v", ev.Raw, err)
			}
			back, err := Parse(CloudEventSchemaV1_0, topicID, ceHeader(ctCloudEvent), ce.Raw, now)
			if err != nil || !bytes.Equal(back[0].Raw, ce.Raw) {
				t.Fatalf("cloud event %s: %v", ce.Raw, err)
			}
		}
		again, err := Parse(EventGridSchema, topicID, nil, Batch(evs), now)
		if err != nil || len(again) != len(evs) {
			t.Fatalf("batch: %v", err)
		}
	})
}

func FuzzParseCloudEvents(f *testing.F) {
	f.Add(ctCloudEvent, "", []byte(ceOK))
	f.Add(ctCloudEventBatch, "", []byte("["+ceOK+"]"))
	f.Add("application/json", "", []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"AA=="}`))
	f.Add("text/plain", "specversion=1.0\nid=1\nsource=s\ntype=t\nsubject=a%20b\nxext=%C3%A9", []byte("hello"))
	f.Add("application/json", "specversion=1.0\nid=1\nsource=s\ntype=t\ntime=2026-11-24T05:00:00Z", []byte(`{"a":1}`))
	f.Add("", "specversion=1.0\nid=1\nsource=s\ntype=t", []byte("\xff\x00"))
	f.Fuzz(func(t *testing.T, contentType, ceHeaders string, body []byte) {
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		for _, line := range strings.Split(ceHeaders, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				h.Set("ce-"+k, v)
			}
		}
		evs, err := Parse(CloudEventSchemaV1_0, topicID, h, body, now)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T", err)
			}
			return
		}
		for _, ev := range evs {
			if !json.Valid(ev.Raw) {
				t.Fatalf("invalid raw %q", ev.Raw)
			}
			again, err := Parse(CloudEventSchemaV1_0, topicID, ceHeader(ctCloudEvent), ev.Raw, now)
			if err != nil {
				t.Fatalf("re-validate %s: %v", ev.Raw, err)
			}
			if !bytes.Equal(again[0].Raw, ev.Raw) || again[0].ID != ev.ID || again[0].Source != ev.Source || again[0].Type != ev.Type {
				t.Fatalf("re-validate changed\n%s\n%s", ev.Raw, again[0].Raw)
			}
			eg, err := ToEventGrid(ev)
			if err != nil || !json.Valid(eg.Raw) {
				t.Fatalf("ToEventGrid %s: %v", ev.Raw, err)
			}
		}
		if _, err := Parse(CloudEventSchemaV1_0, topicID, ceHeader(ctCloudEventBatch), Batch(evs), now); err != nil {
			t.Fatalf("batch: %v", err)
		}
	})
}
