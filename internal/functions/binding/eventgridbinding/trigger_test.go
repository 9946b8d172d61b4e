package eventgridbinding_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/eventgridbinding"
)

// An Event Grid schema event and a CloudEvent, as Event Grid delivers them.
const (
	egEvent1 = `{"topic":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t","subject":"a/1","eventType":"Contoso.Item","eventTime":"2026-01-01T00:00:00Z","id":"e1","data":{"n":1},"dataVersion":"1.0","metadataVersion":"1"}`
	egEvent2 = `{"topic":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t","subject":"a/2","eventType":"Contoso.Item","eventTime":"2026-01-01T00:00:01Z","id":"e2","data":{"n":2},"dataVersion":"1.0","metadataVersion":"1"}`
	ceEvent  = `{"specversion":"1.0","id":"c1","source":"/my/source","type":"com.example.t","subject":"fail-not","data":{"n":3}}`
	// validationEvent is reference §2.5's handshake event.
	validationEvent = `[{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/s","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-01-01T00:00:00Z","metadataVersion":"1","dataVersion":"1","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6","validationUrl":"https://rp-westeurope.eventgrid.azure.net:553/eventsubscriptions/sub/validate?id=x"}}]`
)

// testFunction is function "onevent" with the given bindings (its trigger first).
func testFunction(t *testing.T, bindings string, settings map[string]string) *binding.Function {
	t.Helper()
	def, err := appconfig.ParseFunction("onevent", []byte(`{"bindings":`+bindings+`}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := binding.ValidateFunction(def); err != nil {
		t.Fatal(err)
	}
	return &binding.Function{App: "app", Def: def, TriggerIx: 0, Env: &binding.Env{},
		Settings: func(name string) (string, bool) { v, ok := settings[name]; return v, ok }}
}

// recorder is an Invoker that records invocations and fails those whose event's subject is "fail".
type recorder struct {
	mu   sync.Mutex
	invs []*binding.Invocation
}

func (r *recorder) Invoke(_ context.Context, inv *binding.Invocation) (*binding.Result, error) {
	r.mu.Lock()
	r.invs = append(r.invs, inv)
	r.mu.Unlock()
	var ev struct{ Subject string }
	_ = json.Unmarshal(inv.Data["event"], &ev)
	if ev.Subject == "fail" {
		return nil, errors.New("function onevent (invocation x): the worker answered 500 Internal Server Error: failing on purpose")
	}
	return &binding.Result{}, nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.invs)
}

// serve sends one request to the webhook of fn.
func serve(fn *binding.Function, inv binding.Invoker, method, eventType, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/runtime/webhooks/eventgrid?functionName="+fn.Name()+"&code=k", strings.NewReader(body))
	if eventType != "" {
		req.Header.Set("aeg-event-type", eventType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	fns := func(name string) *binding.Function {
		if strings.EqualFold(name, fn.Name()) {
			return fn
		}
		return nil
	}
	eventgridbinding.Trigger{}.ServeWebhook(rec, req, fns, inv)
	return rec
}

const triggerOnly = `[{"type":"eventGridTrigger","direction":"in","name":"event"}]`

func TestRegistered(t *testing.T) {
	wh, ok := binding.LookupWebhook("EventGrid")
	if !ok || wh.Name() != eventgridbinding.TriggerType {
		t.Fatalf("LookupWebhook(EventGrid) = %v, %v", wh, ok)
	}
	if got := binding.SystemKeyName(wh.Extension()); got != "eventgrid_extension" {
		t.Errorf("system key %q", got)
	}
	fn := testFunction(t, triggerOnly, nil)
	if got := (eventgridbinding.Trigger{}).InvokePath(fn); got != "/runtime/webhooks/eventgrid?functionName=onevent" {
		t.Errorf("InvokePath = %q", got)
	}
}

func TestValidationHandshake(t *testing.T) {
	fn := testFunction(t, triggerOnly, nil)
	rec := &recorder{}
	ceValidation := `{"specversion":"1.0","id":"v","source":"/s","type":"Microsoft.EventGrid.SubscriptionValidationEvent","data":"{\"validationCode\":\"ce-code\"}"}`
	for _, c := range []struct{ name, eventType, body, code string }{
		{"event grid schema", "SubscriptionValidation", validationEvent, "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
		{"header in another case", "subscriptionvalidation", validationEvent, "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
		{"no header", "", validationEvent, "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
		{"cloud event, data encoded twice", "SubscriptionValidation", ceValidation, "ce-code"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := serve(fn, rec, http.MethodPost, c.eventType, c.body)
			if w.Code != 200 || w.Body.String() != `{"validationResponse":"`+c.code+`"}` || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Fatalf("%d %s %v", w.Code, w.Body, w.Header())
			}
		})
	}
	if w := serve(fn, rec, http.MethodPost, "SubscriptionValidation", `[{"id":"x","data":{}}]`); w.Code != 400 || !strings.Contains(w.Body.String(), "validationCode") {
		t.Errorf("no code: %d %s", w.Code, w.Body)
	}
	if n := rec.count(); n != 0 {
		t.Errorf("the handshake invoked the function %d times", n)
	}
}

func TestCloudEventsOptions(t *testing.T) {
	fn := testFunction(t, triggerOnly, nil)
	rec := &recorder{}
	w := serve(fn, rec, http.MethodOptions, "", "", "WebHook-Request-Origin", "eventgrid.azure.net", "WebHook-Request-Rate", "120")
	if w.Code != 200 || w.Header().Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" || w.Header().Get("Allow") != "POST" ||
		w.Header().Get("WebHook-Allowed-Rate") != "*" {
		t.Errorf("%d %v", w.Code, w.Header())
	}
	w = serve(fn, rec, http.MethodOptions, "", "", "WebHook-Request-Origin", "lapis.localhost")
	if w.Code != 200 || w.Header().Get("WebHook-Allowed-Origin") != "lapis.localhost" || w.Header().Get("WebHook-Allowed-Rate") != "" {
		t.Errorf("%d %v", w.Code, w.Header())
	}
	if w = serve(fn, rec, http.MethodOptions, "", ""); w.Header().Get("WebHook-Allowed-Origin") != eventgridbinding.DefaultOrigin {
		t.Errorf("no origin: %v", w.Header())
	}
	if rec.count() != 0 {
		t.Error("OPTIONS invoked the function")
	}
}

func TestNotificationInvokesOncePerEvent(t *testing.T) {
	fn := testFunction(t, triggerOnly, nil)
	for _, c := range []struct {
		name, body, ctype string
		want              []string
	}{
		{"event grid schema", "[" + egEvent1 + ",\n " + egEvent2 + "]", "application/json", []string{egEvent1, egEvent2}},
		{"cloud event", ceEvent, "application/cloudevents+json; charset=utf-8", []string{ceEvent}},
		{"cloud events batch", "[" + ceEvent + "," + ceEvent + "]", "application/cloudevents-batch+json", []string{ceEvent, ceEvent}},
		{"no events", "[]", "application/json", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			w := serve(fn, rec, http.MethodPost, "Notification", c.body, "Content-Type", c.ctype)
			if w.Code != http.StatusAccepted {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if len(rec.invs) != len(c.want) {
				t.Fatalf("%d invocations, want %d", len(rec.invs), len(c.want))
			}
			got := map[string]int{}
			for _, inv := range rec.invs {
				if inv.Function != "onevent" || len(inv.Data) != 1 {
					t.Errorf("invocation %+v", inv)
				}
				got[string(inv.Data["event"])]++
				var ev struct{ Data json.RawMessage }
				json.Unmarshal(inv.Data["event"], &ev)
				if string(inv.Metadata["data"]) != string(ev.Data) {
					t.Errorf("metadata data %s, event data %s", inv.Metadata["data"], ev.Data)
				}
			}
			for _, ev := range c.want {
				if got[ev] == 0 {
					t.Errorf("no invocation with %s (got %v)", ev, got)
				}
				got[ev]--
			}
		})
	}
}

func TestFailedInvocationFailsTheDelivery(t *testing.T) {
	fn := testFunction(t, triggerOnly, nil)
	rec := &recorder{}
	failing := strings.Replace(egEvent2, `"subject":"a/2"`, `"subject":"fail"`, 1)
	w := serve(fn, rec, http.MethodPost, "Notification", "["+egEvent1+","+failing+","+egEvent2+"]")
	if w.Code != 500 || !strings.Contains(w.Body.String(), "failing on purpose") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if n := rec.count(); n != 3 {
		t.Errorf("%d invocations, want every event's 3", n)
	}
}

func TestBadRequests(t *testing.T) {
	fn := testFunction(t, triggerOnly, nil)
	rec := &recorder{}
	for _, c := range []struct {
		name, method, eventType, body string
		status                        int
		want                          string
	}{
		{"bad JSON", "POST", "Notification", `[{"id":`, 400, "not valid JSON"},
		{"not an object", "POST", "Notification", `[{"id":"1"},42]`, 400, "event 1 is not a JSON object"},
		{"a number", "POST", "Notification", `42`, 400, "JSON array of events or a CloudEvent object"},
		{"empty", "POST", "Notification", ``, 400, "the body is empty"},
		{"no header", "POST", "", "[" + egEvent1 + "]", 400, "no aeg-event-type header"},
		{"unknown header", "POST", "Gossip", "[" + egEvent1 + "]", 400, `aeg-event-type "Gossip"`},
		{"GET", "GET", "Notification", "", 405, "POST"},
		{"unsubscribe", "POST", "Unsubscribe", "", 202, ""},
		{"subscription deleted", "POST", "SubscriptionDeletion", "[" + egEvent1 + "]", 202, ""},
	} {
		w := serve(fn, rec, c.method, c.eventType, c.body)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%s: %d %q, want %d %q", c.name, w.Code, w.Body, c.status, c.want)
		}
	}
	if n := rec.count(); n != 0 {
		t.Errorf("%d invocations", n)
	}

	// An unknown function: Azure's answer.
	req := httptest.NewRequest("POST", "/runtime/webhooks/eventgrid?functionName=nope", strings.NewReader("[]"))
	w := httptest.NewRecorder()
	eventgridbinding.Trigger{}.ServeWebhook(w, req, func(string) *binding.Function { return nil }, rec)
	if w.Code != 404 || strings.TrimSpace(w.Body.String()) != "cannot find function: 'nope'" {
		t.Errorf("unknown function: %d %q", w.Code, w.Body)
	}

	// A body past the host's limit.
	req = httptest.NewRequest("POST", "/runtime/webhooks/eventgrid?functionName=onevent", strings.NewReader("["+egEvent1+"]"))
	req.Header.Set("aeg-event-type", "Notification")
	w = httptest.NewRecorder()
	req.Body = http.MaxBytesReader(w, req.Body, 10)
	eventgridbinding.Trigger{}.ServeWebhook(w, req, func(string) *binding.Function { return fn }, rec)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: %d %s", w.Code, w.Body)
	}
}
