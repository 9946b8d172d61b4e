package schema_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/eventgrid/schema"
	"github.com/lapisdev/lapis/internal/storage/blob"
)

// The platform's system events (internal/storage/blob and internal/arm
// events.go) are Event Grid schema events that system topics pass through
// this package.
func TestSystemEvents(t *testing.T) {
	now := time.Date(2026, 11, 24, 5, 0, 0, 123456789, time.UTC)
	account := "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"
	size := int64(524288)
	blobData, _ := json.Marshal(blob.EventData{API: "PutBlockList", ClientRequestID: "c", RequestID: "r", ETag: `"0x8D4BCC2E4835CD0"`,
		ContentType: "text/plain", ContentLength: &size, BlobType: "BlockBlob", URL: "http://127.0.0.1/acct/c1/a.jpg",
		Sequencer: "00000000000000010000000000000000", StorageDiagnostics: blob.StorageDiagnostics{BatchID: "b"}})
	group := "/subscriptions/s1/resourceGroups/rg"
	resData, _ := json.Marshal(arm.ResourceEventData{ResourceURI: group + "/providers/Microsoft.Web/sites/app", Status: "Succeeded"})
	cases := []struct {
		name  string
		topic string
		ev    arm.Event
	}{
		{"BlobCreated", account, arm.Event{ID: "1", Topic: account, Subject: blob.Subject("c1", "a.jpg"),
			EventType: blob.EventBlobCreated, EventTime: now, Data: blobData, DataVersion: "", MetadataVersion: "1"}},
		{"ResourceWriteSuccess", group, arm.Event{ID: "2", Topic: group, Subject: group + "/providers/Microsoft.Web/sites/app",
			EventType: arm.EventWriteSuccess, EventTime: now, Data: resData, DataVersion: "2", MetadataVersion: "1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := json.Marshal(c.ev)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := schema.ParseEventGridEvent(c.topic, raw, now)
			if err != nil {
				t.Fatal(err)
			}
			// Delivered as produced: same members and values.
			var a, b map[string]any
			_ = json.Unmarshal(raw, &a)
			_ = json.Unmarshal(ev.Raw, &b)
			if ja, jb := mustString(t, a), mustString(t, b); ja != jb {
				t.Errorf("delivered\n%s\nproduced\n%s", jb, ja)
			}
			if ev.Type != c.ev.EventType || ev.Subject != c.ev.Subject || ev.DataVersion != c.ev.DataVersion {
				t.Errorf("event = %+v", ev)
			}
			// And as a publish of a one-element array.
			if _, err := schema.Parse(schema.EventGridSchema, c.topic, nil, []byte("["+string(raw)+"]"), now); err != nil {
				t.Error(err)
			}
			ce, err := schema.ToCloudEvent(ev)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			_ = json.Unmarshal(ce.Raw, &m)
			if m["source"] != c.topic || m["type"] != c.ev.EventType || m["specversion"] != "1.0" ||
				!strings.HasPrefix(m["time"].(string), "2026-11-24T05:00:00.123456789") {
				t.Errorf("cloud event = %s", ce.Raw)
			}
		})
	}
}

func mustString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
