package blobbinding

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/binding"
)

const egTrigger = `[{"type":"blobTrigger","direction":"in","name":"blob","path":"images/{name}","source":"EventGrid"}]`

// blobCreatedEvent is a Microsoft.Storage.BlobCreated event in the Event Grid schema, as a storage account's
// system topic delivers it.
func blobCreatedEvent(container, name, etag string) string {
	return fmt.Sprintf(`{"topic":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",`+
		`"subject":"/blobServices/default/containers/%[1]s/blobs/%[2]s","eventType":"Microsoft.Storage.BlobCreated",`+
		`"id":"%[1]s-%[2]s","eventTime":"2026-01-01T00:00:00Z","data":{"api":"PutBlob","url":"http://127.0.0.1:10000/devstoreaccount1/%[1]s/%[2]s",`+
		`"contentType":"text/plain","contentLength":1,"blobType":"BlockBlob","eTag":%[3]q},"dataVersion":"","metadataVersion":"1"}`, container, name, etag)
}

// webhookCall serves one request to the blob extension's webhook for the function fn (functionName id).
func webhookCall(fn *binding.Function, method, id string, hdr map[string]string, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/runtime/webhooks/blobs?functionName="+id, strings.NewReader(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	Trigger{}.ServeWebhook(w, r, func(name string) *binding.Function {
		if strings.EqualFold(name, fn.Name()) {
			return fn
		}
		return nil
	}, nil)
	return w
}

var notification = map[string]string{"aeg-event-type": "Notification"}

func TestWebhookFiresFromEventsOnly(t *testing.T) {
	st := newFakeStorage()
	env := &binding.Env{Substrate: openSubstrate(t, t.TempDir()), Storage: st, Logger: testLogger()}
	fn := function(t, "eg", egTrigger, "", env)
	rec := &recorder{}
	st.acct.upload("images", "before.png", "x") // no scan at start
	start(t, fn, rec)
	etag := st.acct.upload("images", "cat.png", "meow")
	time.Sleep(200 * time.Millisecond)
	if n := len(rec.names()); n != 0 {
		t.Fatalf("uploads fired the function %d times without an event", n)
	}

	ev := blobCreatedEvent("images", "cat.png", etag)
	for range 2 { // at-least-once delivery: the same event twice fires once
		if w := webhookCall(fn, "POST", "Host.Functions.eg", notification, "["+ev+"]"); w.Code != http.StatusAccepted {
			t.Fatalf("notification: %d %s", w.Code, w.Body)
		}
	}
	if got := rec.names(); len(got) != 1 || got[0] != "images/cat.png" {
		t.Fatalf("invocations %v", got)
	}
	inv := rec.calls[0]
	if string(inv.Data["blob"]) != `"meow"` || string(inv.Metadata["name"]) != `"cat.png"` ||
		string(inv.Metadata["Uri"]) != `"http://127.0.0.1:10000/devstoreaccount1/images/cat.png"` || string(inv.Metadata["Metadata"]) != `{"k":"v"}` {
		t.Errorf("invocation Data %s, Metadata %s", inv.Data, inv.Metadata)
	}
	var props BlobProperties
	if err := json.Unmarshal(inv.Metadata["Properties"], &props); err != nil || props.ETag != etag || props.ContentLength != 4 {
		t.Errorf("Properties %s: %v", inv.Metadata["Properties"], err)
	}

	// Acknowledged and ignored: another container, a name the pattern does not match (images/{name} wants a
	// name), a deleted blob, another event type; a CloudEvent naming its blob by URL only fires; the plain
	// function name works too.
	st.acct.upload("other", "a.png", "x")
	dog := st.acct.upload("images", "dog.png", "woof")
	deleted := strings.Replace(blobCreatedEvent("images", "cat.png", etag), "BlobCreated", "BlobDeleted", 1)
	cloud := `{"specversion":"1.0","id":"c1","source":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",` +
		`"type":"Microsoft.Storage.BlobCreated","data":{"url":"http://127.0.0.1:10000/devstoreaccount1/images/dog.png","eTag":` + jsonQuote(dog) + `}}`
	body := "[" + strings.Join([]string{blobCreatedEvent("other", "a.png", ""), blobCreatedEvent("images", "", ""), deleted,
		`{"eventType":"Contoso.Other","subject":"x","data":{}}`, cloud}, ",") + "]"
	if w := webhookCall(fn, "POST", "eg", notification, body); w.Code != http.StatusAccepted {
		t.Fatalf("mixed notification: %d %s", w.Code, w.Body)
	}
	if got := rec.names(); len(got) != 2 || got[1] != "images/dog.png" {
		t.Fatalf("after the mixed notification: %v", got)
	}

	// The handshakes, without an invocation.
	validation := `[{"id":"v","topic":"/subscriptions/s","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",` +
		`"eventTime":"2026-01-01T00:00:00Z","metadataVersion":"1","dataVersion":"1","data":{"validationCode":"512d38b6"}}]`
	w := webhookCall(fn, "POST", "Host.Functions.eg", map[string]string{"aeg-event-type": "SubscriptionValidation"}, validation)
	if w.Code != 200 || w.Body.String() != `{"validationResponse":"512d38b6"}` {
		t.Fatalf("validation: %d %s", w.Code, w.Body)
	}
	w = webhookCall(fn, "OPTIONS", "Host.Functions.eg", map[string]string{"WebHook-Request-Origin": "eventgrid.azure.net"}, "")
	if w.Code != 200 || w.Header().Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" || w.Header().Get("Allow") != "POST" {
		t.Fatalf("OPTIONS: %d %v", w.Code, w.Header())
	}
	if w := webhookCall(fn, "POST", "Host.Functions.eg", nil, "[]"); w.Code != http.StatusBadRequest {
		t.Fatalf("no aeg-event-type: %d %s", w.Code, w.Body)
	}
	if n := len(rec.names()); n != 2 {
		t.Fatalf("%d invocations after the handshakes", n)
	}
}

func TestWebhookFailureAndPoison(t *testing.T) {
	st := newFakeStorage()
	env := &binding.Env{Substrate: openSubstrate(t, t.TempDir()), Storage: st, Logger: testLogger()}
	fn := function(t, "eg", egTrigger, "", env)
	rec := &recorder{fail: func(*binding.Invocation, int) bool { return true }}
	start(t, fn, rec)
	etag := st.acct.upload("images", "bad.png", "x")
	w := webhookCall(fn, "POST", "Host.Functions.eg", notification, "["+blobCreatedEvent("images", "bad.png", etag)+"]")
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "the worker answered 500") {
		t.Fatalf("a failed invocation: %d %s", w.Code, w.Body)
	}
	// The trigger retries on its own, as for the default source, and poisons the version after the last attempt.
	eventually(t, 10*time.Second, "a poison message", func() bool { return len(st.acct.messages(PoisonQueue)) > 0 })
	time.Sleep(200 * time.Millisecond)
	if n := rec.count("images/bad.png"); n != DefaultPoisonBlobThreshold {
		t.Fatalf("%d attempts, want %d", n, DefaultPoisonBlobThreshold)
	}
	// Event Grid's retry of the delivery finds the version poisoned.
	if w := webhookCall(fn, "POST", "Host.Functions.eg", notification, "["+blobCreatedEvent("images", "bad.png", etag)+"]"); w.Code != http.StatusAccepted {
		t.Fatalf("the delivery retried: %d %s", w.Code, w.Body)
	}
	if n := rec.count("images/bad.png"); n != DefaultPoisonBlobThreshold {
		t.Fatalf("%d attempts after the retried delivery", n)
	}
}

func TestWebhookRefusals(t *testing.T) {
	st := newFakeStorage()
	env := &binding.Env{Substrate: openSubstrate(t, t.TempDir()), Storage: st, Logger: testLogger()}
	scan := function(t, "scan", imagesTrigger, "", env)
	start(t, scan, &recorder{})
	eg := function(t, "eg", egTrigger, "", env)
	for _, c := range []struct {
		what string
		fn   *binding.Function
		id   string
		want int
		msg  string
	}{
		{"an unknown function", scan, "Host.Functions.nope", 404, "cannot find function: 'Host.Functions.nope'"},
		{"the default source", scan, "Host.Functions.scan", 404, "has source LogsAndContainerScan"},
		{"a trigger not started", eg, "Host.Functions.eg", 503, "is not running"},
	} {
		if w := webhookCall(c.fn, "POST", c.id, notification, "[]"); w.Code != c.want || !strings.Contains(w.Body.String(), c.msg) {
			t.Errorf("%s: %d %s, want %d %q", c.what, w.Code, w.Body, c.want, c.msg)
		}
	}
	stop := start(t, eg, &recorder{})
	if w := webhookCall(eg, "POST", "Host.Functions.eg", notification, "[]"); w.Code != http.StatusAccepted {
		t.Fatalf("started: %d %s", w.Code, w.Body)
	}
	stop()
	if w := webhookCall(eg, "POST", "Host.Functions.eg", notification, "[]"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("stopped: %d %s", w.Code, w.Body)
	}
}

func TestInvokePath(t *testing.T) {
	env := &binding.Env{}
	if p := (Trigger{}).InvokePath(function(t, "scan", imagesTrigger, "", env)); p != "" {
		t.Errorf("the default source: InvokePath %q, want none", p)
	}
	eg := `[{"type":"blobTrigger","direction":"in","name":"blob","path":"images/{name}","source":"eventGrid"}]`
	if p, want := (Trigger{}).InvokePath(function(t, "On-Upload", eg, "", env)), "/runtime/webhooks/blobs?functionName=Host.Functions.On-Upload"; p != want {
		t.Errorf("InvokePath %q, want %q", p, want)
	}
	if k := binding.SystemKeyName((Trigger{}).Extension()); k != "blobs_extension" {
		t.Errorf("system key %q", k)
	}
}

func TestParseBlobCreated(t *testing.T) {
	for _, c := range []struct {
		event string
		want  createdBlob
		ok    bool
	}{
		{blobCreatedEvent("images", "a/b c.png", `"0x1"`), createdBlob{"images", "a/b c.png", `"0x1"`}, true},
		{`{"type":"microsoft.storage.blobcreated","data":{"url":"https://acct.blob.core.windows.net/images/dir/x%20y.bin","eTag":"0x2"}}`,
			createdBlob{"images", "dir/x y.bin", "0x2"}, true},
		{`{"eventType":"Microsoft.Storage.BlobCreated","subject":"/blobServices/default/containers/images/blobs/","data":{}}`, createdBlob{}, false},
		{`{"eventType":"Microsoft.Storage.BlobCreated","data":"not an object"}`, createdBlob{}, false},
		{`{"eventType":"Microsoft.Storage.BlobDeleted","subject":"/blobServices/default/containers/images/blobs/a"}`, createdBlob{}, false},
		{`[]`, createdBlob{}, false},
	} {
		got, ok := parseBlobCreated(json.RawMessage(c.event))
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("parseBlobCreated(%s) = %+v, %v; want %+v, %v", c.event, got, ok, c.want, c.ok)
		}
	}
}
