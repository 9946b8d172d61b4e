package eventgridbinding_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/binding/eventgridbinding"
	"github.com/lapisdev/lapis/internal/functions/functest"
)

var sdkApp string // the built Go SDK app of testdata/sdkapp

func TestMain(m *testing.M) { os.Exit(functest.MainWithWorker(m, "./testdata/sdkapp", &sdkApp)) }

// call sends a request to url (on the app's {app}.localhost front door) with the output's client, which reaches
// .localhost names.
func call(t *testing.T, method, url string, hdr map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := eventgridbinding.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestEndToEnd deploys a Go SDK app with an Event Grid function to a running platform, takes the function's
// invoke URL from the management API (what `az functionapp function show --query invokeUrlTemplate` prints),
// and delivers events to it as Event Grid does: the function receives them and publishes through its eventGrid
// output to a topic.
func TestEndToEnd(t *testing.T) {
	p := functest.StartWithFunctions(t)
	tp := newTopic(t)
	p.CreateSite(t, "eg-rg", "egapp", map[string]string{"TOPIC_URI": tp.endpoint(), "TOPIC_KEY": "topic-key"})
	dir := functest.CopyApp(t, "testdata/sdkapp", sdkApp, func(dir string) {
		for _, f := range []string{"main.go", "go.mod"} {
			os.Remove(filepath.Join(dir, f))
		}
	})
	site := p.Site("eg-rg", "egapp")
	var dep map[string]any
	if code := p.ARM(t, http.MethodPost, site+"/extensions/zipdeploy", functest.ZipDir(t, dir), &dep); code != 200 {
		t.Fatalf("deploy: %d %v", code, dep)
	}

	// The invoke URL carries the eventgrid_extension system key, which the deployment created.
	var fn struct {
		Properties struct {
			InvokeURLTemplate string `json:"invoke_url_template"`
		}
	}
	if code := p.ARM(t, http.MethodGet, site+"/functions/onevent", nil, &fn); code != 200 {
		t.Fatalf("function show: %d", code)
	}
	var keys struct {
		MasterKey  string            `json:"masterKey"`
		SystemKeys map[string]string `json:"systemKeys"`
	}
	if code := p.ARM(t, http.MethodPost, site+"/host/default/listkeys", nil, &keys); code != 200 {
		t.Fatalf("listkeys: %d", code)
	}
	invoke := fn.Properties.InvokeURLTemplate
	systemKey := keys.SystemKeys["eventgrid_extension"]
	front := strings.Replace(p.Functions, "127.0.0.1", "egapp.localhost", 1)
	if systemKey == "" || invoke != front+"/runtime/webhooks/eventgrid?functionName=onevent&code="+url.QueryEscape(systemKey) {
		t.Fatalf("invoke_url_template = %q (system keys %v)", invoke, keys.SystemKeys)
	}

	// The validation handshakes.
	code, _, body := call(t, "POST", invoke, map[string]string{"aeg-event-type": "SubscriptionValidation"}, validationEvent)
	if code != 200 || body != `{"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}` {
		t.Fatalf("validation: %d %s", code, body)
	}
	code, hdr, _ := call(t, "OPTIONS", invoke, map[string]string{"WebHook-Request-Origin": "eventgrid.azure.net"}, "")
	if code != 200 || hdr.Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" || hdr.Get("Allow") != "POST" {
		t.Fatalf("OPTIONS: %d %v", code, hdr)
	}
	if n := len(tp.published()); n != 0 {
		t.Fatalf("the handshakes invoked the function (%d publishes)", n)
	}

	// A delivery of two events runs the function twice; each run publishes what it got.
	notify := map[string]string{"aeg-event-type": "Notification", "Content-Type": "application/json"}
	if code, _, body := call(t, "POST", invoke, notify, "["+egEvent1+","+egEvent2+"]"); code != http.StatusAccepted {
		t.Fatalf("notification: %d %s", code, body)
	}
	seen := map[string]map[string]any{}
	for _, pub := range tp.published() {
		if pub.key != "topic-key" || pub.query != "api-version=2018-01-01" {
			t.Errorf("publish %+v", pub)
		}
		var events []struct {
			ID, Subject, EventType, EventTime, DataVersion string
			Data                                           map[string]any
		}
		if err := json.Unmarshal(pub.body, &events); err != nil || len(events) != 1 {
			t.Fatalf("published %s: %v", pub.body, err)
		}
		ev := events[0]
		if ev.EventType != "Lapis.Test.Seen" || !uuidRE.MatchString(ev.ID) || ev.DataVersion != "1.0" {
			t.Errorf("published event %+v", ev)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.EventTime); err != nil {
			t.Errorf("eventTime %q: %v", ev.EventTime, err)
		}
		seen[ev.Subject] = ev.Data
	}
	if len(seen) != 2 || seen["a/1"]["id"] != "e1" || seen["a/2"]["id"] != "e2" || seen["a/2"]["type"] != "Contoso.Item" ||
		seen["a/1"]["cloud"] != false || seen["a/2"]["data"].(map[string]any)["n"] != 2.0 {
		t.Fatalf("the function saw %v", seen)
	}

	// A CloudEvent.
	ce := map[string]string{"aeg-event-type": "Notification", "Content-Type": "application/cloudevents+json; charset=utf-8"}
	if code, _, body := call(t, "POST", invoke, ce, ceEvent); code != http.StatusAccepted {
		t.Fatalf("cloud event: %d %s", code, body)
	}
	if pubs := tp.published(); len(pubs) != 3 || !strings.Contains(string(pubs[2].body), `"cloud":true`) {
		t.Fatalf("after the CloudEvent: %d publishes", len(pubs))
	}

	// A failing run fails the delivery, so that Event Grid retries it.
	failing := strings.Replace(egEvent1, `"subject":"a/1"`, `"subject":"fail"`, 1)
	if code, _, body := call(t, "POST", invoke, notify, "["+failing+"]"); code != 500 || !strings.Contains(body, "failing on purpose") {
		t.Fatalf("failure: %d %s", code, body)
	}

	// Keys: the system key (in ?code= or x-functions-key) or the master key; anything else is 401.
	bare := front + "/runtime/webhooks/eventgrid?functionName=onevent"
	for _, c := range []struct {
		name, url string
		hdr       map[string]string
		want      int
	}{
		{"no key", bare, nil, 401},
		{"wrong key", bare + "&code=nope", nil, 401},
		{"a host key", bare + "&code=" + url.QueryEscape(hostKey(t, p, site)), nil, 401},
		{"header", bare, map[string]string{"x-functions-key": systemKey}, 202},
		{"master key", bare + "&code=" + url.QueryEscape(keys.MasterKey), nil, 202},
		{"unknown function", front + "/runtime/webhooks/eventgrid?functionName=nope&code=" + url.QueryEscape(systemKey), nil, 404},
		{"unknown extension", front + "/runtime/webhooks/servicebus?code=" + url.QueryEscape(keys.MasterKey), nil, 404},
	} {
		h := map[string]string{"aeg-event-type": "Notification"}
		for k, v := range c.hdr {
			h[k] = v
		}
		if code, _, body := call(t, "POST", c.url, h, "[]"); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
	}

	// A stopped app refuses deliveries as it refuses HTTP requests.
	if code := p.ARM(t, http.MethodPost, site+"/stop", nil, nil); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, body := call(t, "POST", invoke, notify, "["+egEvent1+"]")
		if code == http.StatusForbidden {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stopped app: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostKey is the site's default host key, which does not open extension webhooks.
func hostKey(t *testing.T, p *functest.Platform, site string) string {
	t.Helper()
	var keys struct {
		FunctionKeys map[string]string `json:"functionKeys"`
	}
	p.ARM(t, http.MethodPost, site+"/host/default/listkeys", nil, &keys)
	if keys.FunctionKeys["default"] == "" {
		t.Fatal("no default host key")
	}
	return keys.FunctionKeys["default"]
}
