package fn

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEventGridTrigger(t *testing.T) {
	var (
		mu  sync.Mutex
		got EventGridEvent
	)
	app := NewApp()
	app.EventGrid("on_event", func(ctx *Context, ev EventGridEvent) error {
		mu.Lock()
		got = ev
		mu.Unlock()
		if ev.Subject == "fail" {
			return errors.New("planned failure")
		}
		var data struct{ URL string }
		if err := ev.DataJSON(&data); err != nil {
			return err
		}
		ctx.PublishEvent("out", EventGridEvent{Subject: ev.Subject, EventType: "Lapis.Seen", Data: ev.Data})
		ctx.PublishEvent("out", map[string]any{"subject": "second", "eventType": "Lapis.Seen", "data": data.URL})
		return nil
	}, EventGridOutput("out", "TopicUri", "TopicKey"))
	if b := app.lookup("on_event").bindings; !reflect.DeepEqual(b, []Binding{
		{Type: "eventGridTrigger", Direction: "in", Name: "event"},
		{Type: "eventGrid", Direction: "out", Name: "out", Props: map[string]any{"topicEndpointUri": "TopicUri", "topicKeySetting": "TopicKey"}},
	}) {
		t.Fatalf("bindings %+v", b)
	}
	w := startWorker(t, app)

	const egEvent = `{"topic":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a","subject":"/blobServices/default/containers/c/blobs/x.png","eventType":"Microsoft.Storage.BlobCreated","eventTime":"2026-01-02T03:04:05.5+01:00","id":"e1","data":{"url":"http://a/c/x.png"},"dataVersion":"","metadataVersion":"1"}`
	a := w.post("on_event", `{"Data":{"event":`+egEvent+`},"Metadata":{"data":{"url":"http://a/c/x.png"}}}`)
	if a.Status != 200 {
		t.Fatalf("status %d: %s", a.Status, a.raw)
	}
	mu.Lock()
	ev := got
	mu.Unlock()
	want := EventGridEvent{ID: "e1", Topic: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a",
		Subject: "/blobServices/default/containers/c/blobs/x.png", EventType: "Microsoft.Storage.BlobCreated",
		EventTime: time.Date(2026, 1, 2, 2, 4, 5, 5e8, time.UTC), Data: json.RawMessage(`{"url":"http://a/c/x.png"}`),
		MetadataVersion: "1", Raw: json.RawMessage(egEvent)}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("event %+v\nwant  %+v", ev, want)
	}
	if ev.IsCloudEvent() {
		t.Error("an Event Grid schema event is a CloudEvent")
	}
	wantOut := `[{"subject":"/blobServices/default/containers/c/blobs/x.png","eventType":"Lapis.Seen","data":{"url":"http://a/c/x.png"}},{"data":"http://a/c/x.png","eventType":"Lapis.Seen","subject":"second"}]`
	if got := string(a.Outputs["out"]); got != wantOut {
		t.Errorf("out %s\nwant %s", got, wantOut)
	}

	// A CloudEvent, passed as a JSON string (a host that serialized it twice).
	ce := `{"specversion":"1.0","id":"c1","source":"/my/source","type":"com.example.t","time":"2026-01-02T03:04:05Z","datacontenttype":"application/json","data":{"url":"u"}}`
	quoted, _ := json.Marshal(ce)
	a = w.post("on_event", `{"Data":{"event":`+string(quoted)+`},"Metadata":{}}`)
	mu.Lock()
	ev = got
	mu.Unlock()
	if a.Status != 200 || !ev.IsCloudEvent() || ev.ID != "c1" || ev.Topic != "/my/source" || ev.EventType != "com.example.t" ||
		!ev.EventTime.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || ev.DataContentType != "application/json" || string(ev.Raw) != ce {
		t.Errorf("CloudEvent: %d %s: %+v", a.Status, a.raw, ev)
	}

	// A failure fails the invocation; a payload without an event is a bad payload.
	if a = w.post("on_event", `{"Data":{"event":{"id":"x","subject":"fail"}}}`); a.Status != 500 || a.Error.Code != "FunctionFailed" {
		t.Errorf("failure: %d %s", a.Status, a.raw)
	}
	for _, p := range []string{`{"Data":{}}`, `{"Data":{"event":null}}`, `{"Data":{"event":[1]}}`, `{"Data":{"event":{"id":"x","eventTime":"soon"}}}`} {
		if a = w.post("on_event", p); a.Status != 400 || a.Error.Code != "BadPayload" {
			t.Errorf("%s: %d %s", p, a.Status, a.raw)
		}
	}
}

func TestEventGridEventJSON(t *testing.T) {
	for _, c := range []struct {
		ev   EventGridEvent
		want string
	}{
		{EventGridEvent{Subject: "s", EventType: "T"}, `{"subject":"s","eventType":"T"}`},
		{EventGridEvent{EventType: "T"}, `{"subject":"","eventType":"T"}`},
		{EventGridEvent{ID: "1", Topic: "/t", Subject: "s", EventType: "T", EventTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)),
			Data: json.RawMessage(`{"a":1}`), DataVersion: "1.0", MetadataVersion: "1"},
			`{"id":"1","topic":"/t","subject":"s","eventType":"T","eventTime":"2025-12-31T23:00:00Z","data":{"a":1},"dataVersion":"1.0","metadataVersion":"1"}`},
		{EventGridEvent{SpecVersion: "1.0", Topic: "/src", EventType: "T", Data: json.RawMessage(`"x"`)},
			`{"specversion":"1.0","source":"/src","type":"T","data":"x"}`},
	} {
		b, err := json.Marshal(c.ev)
		if err != nil || string(b) != c.want {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", c.ev, b, err, c.want)
		}
		var back EventGridEvent
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		back.Raw = nil
		if !back.EventTime.Equal(c.ev.EventTime) {
			t.Errorf("time %v, want %v", back.EventTime, c.ev.EventTime)
		}
		back.EventTime, c.ev.EventTime = time.Time{}, time.Time{}
		if !reflect.DeepEqual(back, c.ev) {
			t.Errorf("round trip %+v, want %+v", back, c.ev)
		}
	}
	if _, err := json.Marshal(EventGridEvent{Data: json.RawMessage(`{bad`)}); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("bad data: %v", err)
	}
	if err := (EventGridEvent{ID: "n"}).DataJSON(new(any)); err == nil {
		t.Error("DataJSON of no data succeeded")
	}
}

func TestEventGridOutputOption(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "name the app settings") {
			t.Errorf("panic %v", r)
		}
	}()
	NewApp().EventGrid("f", func(*Context, EventGridEvent) error { return nil }, EventGridOutput("out", "", "Key"))
}
