package eventgrid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/eventgrid"
	"github.com/lapisdev/lapis/internal/loopback"
	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/substrate"
)

// lapis is a platform on free ports for one test.
type lapis struct {
	srv    *platform.Server
	dir    string
	mgmt   string
	token  string
	sub    string
	port   int // Event Grid's
	client *http.Client
	stop   func()
}

// localhostClient dials 127.0.0.1 for every *.localhost host name, as a
// browser or curl would.
func localhostClient() *http.Client {
	return &http.Client{Transport: loopback.Transport(), Timeout: 30 * time.Second}
}

func start(t *testing.T, dir string) *lapis {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cfg := platform.Defaults()
	cfg.DataDir = dir
	cfg.Ports = platform.Ports{Functions: -1}
	cfg.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := platform.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			srv.Wait()
		}
	}
	t.Cleanup(stop)
	token, err := platform.ReadAdminKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.Info().Endpoints["eventgrid"])
	_, p, _ := net.SplitHostPort(u.Host)
	var port int
	fmt.Sscan(p, &port)
	return &lapis{srv: srv, dir: dir, mgmt: srv.Info().Management, token: token, sub: srv.Info().Subscription,
		port: port, client: localhostClient(), stop: stop}
}

// arm sends a management request; path is below /subscriptions/{sub}.
func (l *lapis) arm(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	api := "2025-02-15"
	if strings.Contains(strings.ToLower(path), "resourcegroups/") && !strings.Contains(path, "/providers/") {
		api = "2024-11-01"
	}
	target := l.mgmt + "/subscriptions/" + l.sub + path
	if !strings.Contains(path, "api-version=") {
		target += sep + "api-version=" + api
	}
	req, _ := http.NewRequest(method, target, rd)
	req.Header.Set("Authorization", "Bearer "+l.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func topicPath(group, name string) string {
	return "/resourceGroups/" + group + "/providers/Microsoft.EventGrid/topics/" + name
}

// topic creates a group and a topic and returns its endpoint and keys.
func (l *lapis) topic(t *testing.T, group, name, inputSchema string) (endpoint, key1, key2 string) {
	t.Helper()
	if st, out := l.arm(t, "PUT", "/resourcegroups/"+group, map[string]any{"location": "eastus"}); st >= 300 {
		t.Fatalf("group: %d %v", st, out)
	}
	props := map[string]any{}
	if inputSchema != "" {
		props["inputSchema"] = inputSchema
	}
	st, out := l.arm(t, "PUT", topicPath(group, name), map[string]any{"location": "eastus", "properties": props})
	if st != http.StatusCreated {
		t.Fatalf("create topic: %d %v", st, out)
	}
	endpoint, _ = out["properties"].(map[string]any)["endpoint"].(string)
	st, keys := l.arm(t, "POST", topicPath(group, name)+"/listKeys", nil)
	if st != 200 {
		t.Fatalf("listKeys: %d %v", st, keys)
	}
	return endpoint, keys["key1"].(string), keys["key2"].(string)
}

// storedEvents reads a topic's events back from JetStream.
func storedEvents(t *testing.T, sub *substrate.Substrate, topic string) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	st, err := sub.JetStream().Stream(ctx, substrate.StreamName(eventgrid.ServiceName, eventgrid.StreamShortName))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject == eventgrid.TopicSubject(topic) {
			out = append(out, m)
		}
	}
	return out
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

// post sends a raw publish request, curl-shaped.
func (l *lapis) post(t *testing.T, target string, header map[string]string, body string) (int, errorBody, string) {
	t.Helper()
	req, err := http.NewRequest("POST", target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e errorBody
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e, string(b)
}

func egEvent(id string) string {
	return fmt.Sprintf(`{"id":%q,"eventType":"Orders.Created","subject":"orders/%s","eventTime":"2026-03-01T12:00:00Z","data":{"n":1},"dataVersion":"1.0"}`, id, id)
}

func TestTopicResource(t *testing.T) {
	l := start(t, t.TempDir())
	endpoint, key1, key2 := l.topic(t, "rg", "Orders-1", "")
	if want := fmt.Sprintf("http://orders-1.localhost:%d/api/events", l.port); endpoint != want {
		t.Fatalf("endpoint %q, want %q", endpoint, want)
	}
	if key1 == "" || key2 == "" || key1 == key2 {
		t.Fatalf("keys %q %q", key1, key2)
	}
	st, got := l.arm(t, "GET", topicPath("rg", "Orders-1"), nil)
	p, _ := got["properties"].(map[string]any)
	if st != 200 || p["inputSchema"] != "EventGridSchema" || p["provisioningState"] != "Succeeded" ||
		p["publicNetworkAccess"] != "Enabled" || p["endpoint"] != endpoint || got["type"] != "Microsoft.EventGrid/topics" {
		t.Fatalf("GET: %d %v", st, got)
	}
	if b, _ := json.Marshal(got); strings.Contains(string(b), key1) {
		t.Fatal("GET shows a key")
	}
	_, _, _ = l.topic(t, "rg", "ce-topic", "CloudEventSchemaV1_0")
	if _, got := l.arm(t, "GET", topicPath("rg", "ce-topic"), nil); got["properties"].(map[string]any)["inputSchema"] != "CloudEventSchemaV1_0" {
		t.Fatalf("ce topic: %v", got)
	}

	for _, tc := range []struct {
		name, path string
		body       map[string]any
		status     int
		code, msg  string
	}{
		{"custom schema", topicPath("rg", "custom"), map[string]any{"location": "eastus", "properties": map[string]any{"inputSchema": "CustomEventSchema"}},
			400, "InvalidRequest", "CustomEventSchema"},
		{"unknown schema", topicPath("rg", "nosuch"), map[string]any{"location": "eastus", "properties": map[string]any{"inputSchema": "Avro"}},
			400, "InvalidRequest", "Avro"},
		{"no location", topicPath("rg", "noloc"), map[string]any{}, 400, "", "location"},
		{"short name", topicPath("rg", "ab"), map[string]any{"location": "eastus"}, 400, "InvalidTopicName", "3 to 50"},
		{"underscore", topicPath("rg", "my_topic"), map[string]any{"location": "eastus"}, 400, "InvalidTopicName", "letters, digits and hyphens"},
		{"schema change", topicPath("rg", "Orders-1"), map[string]any{"location": "eastus", "properties": map[string]any{"inputSchema": "CloudEventSchemaV1_0"}},
			400, "InvalidRequest", "cannot be changed"},
		{"name taken elsewhere", topicPath("other-rg", "orders-1"), map[string]any{"location": "eastus"}, 409, "TopicNameAlreadyExists", "already exists"},
	} {
		if tc.name == "name taken elsewhere" {
			l.arm(t, "PUT", "/resourcegroups/other-rg", map[string]any{"location": "eastus"})
		}
		st, out := l.arm(t, "PUT", tc.path, tc.body)
		e, _ := out["error"].(map[string]any)
		if st != tc.status || tc.code != "" && e["code"] != tc.code || !strings.Contains(fmt.Sprint(e["message"]), tc.msg) {
			t.Errorf("%s: %d %v", tc.name, st, out)
		}
	}

	// regenerateKey changes only the key asked for.
	st, keys := l.arm(t, "POST", topicPath("rg", "Orders-1")+"/regenerateKey", map[string]string{"keyName": "key1"})
	if st != 200 || keys["key1"] == key1 || keys["key2"] != key2 || keys["key1"] == "" {
		t.Fatalf("regenerateKey: %d %v", st, keys)
	}
	if st, out := l.arm(t, "POST", topicPath("rg", "Orders-1")+"/regenerateKey", map[string]string{"keyName": "key3"}); st != 400 {
		t.Fatalf("regenerateKey key3: %d %v", st, out)
	}
	// The old key1 is refused; the new one and key2 work.
	ev := "[" + egEvent("a") + "]"
	if st, e, _ := l.post(t, endpoint, map[string]string{"aeg-sas-key": key1}, ev); st != 401 || e.Error.Code != "Unauthorized" {
		t.Fatalf("old key1: %d %+v", st, e)
	}
	for _, k := range []string{keys["key1"].(string), key2} {
		if st, _, body := l.post(t, endpoint, map[string]string{"aeg-sas-key": k}, ev); st != 200 {
			t.Fatalf("key: %d %s", st, body)
		}
	}

	// A topic and its events go when it is deleted, and its name is free again.
	if n := len(storedEvents(t, l.srv.Substrate(), "orders-1")); n != 1 {
		t.Fatalf("%d events stored, want 1 (the second publish has the same id)", n)
	}
	if st, out := l.arm(t, "DELETE", topicPath("rg", "Orders-1"), nil); st != 200 {
		t.Fatalf("delete: %d %v", st, out)
	}
	if n := len(storedEvents(t, l.srv.Substrate(), "orders-1")); n != 0 {
		t.Fatalf("%d events after delete", n)
	}
	if st, e, _ := l.post(t, endpoint, map[string]string{"aeg-sas-key": key2}, ev); st != 404 || e.Error.Code != "NotFound" {
		t.Fatalf("deleted topic: %d %+v", st, e)
	}
	l.topic(t, "other-rg", "orders-1", "")
}

// plainHTTP sends the SDK's https requests over plain http: azeventgrid
// v1.0.0 refuses to send a key or SAS credential to an http endpoint and
// has no option to allow it, and Lapis serves plain http on loopback.
type plainHTTP struct{ c *http.Client }

func (p plainHTTP) Do(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme = "http"
	return p.c.Do(r)
}

func sdkOptions(l *lapis) *azeventgrid.ClientOptions {
	return &azeventgrid.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: plainHTTP{l.client},
		Retry: policy.RetryOptions{MaxRetries: -1}}}
}

func https(endpoint string) string { return strings.Replace(endpoint, "http://", "https://", 1) }

func TestPublishWithAzEventGrid(t *testing.T) {
	l := start(t, t.TempDir())
	egEndpoint, key, _ := l.topic(t, "rg", "orders", "")
	ceEndpoint, ceKey, ceKey2 := l.topic(t, "rg", "ce-orders", "cloudeventschemav1_0")
	egEndpoint, ceEndpoint = https(egEndpoint), https(ceEndpoint)
	ctx := context.Background()

	c, err := azeventgrid.NewClientWithSharedKeyCredential(egEndpoint, azcore.NewKeyCredential(key), sdkOptions(l))
	if err != nil {
		t.Fatal(err)
	}
	var events []azeventgrid.Event
	for i := range 3 {
		events = append(events, azeventgrid.Event{ID: to.Ptr(fmt.Sprint("eg-", i)), EventType: to.Ptr("Orders.Created"),
			Subject: to.Ptr("orders/1"), EventTime: to.Ptr(time.Now()), DataVersion: to.Ptr("1.0"), Data: map[string]any{"i": i}})
	}
	if _, err := c.PublishEvents(ctx, events, nil); err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	got := storedEvents(t, l.srv.Substrate(), "orders")
	if len(got) != 3 {
		t.Fatalf("%d events stored", len(got))
	}
	var ev map[string]any
	if err := json.Unmarshal(got[0].Data, &ev); err != nil {
		t.Fatal(err)
	}
	topicID := "/subscriptions/" + l.sub + topicPath("rg", "orders")
	if ev["id"] != "eg-0" || !strings.EqualFold(fmt.Sprint(ev["topic"]), topicID) || ev["metadataVersion"] != "1" ||
		got[0].Header.Get(eventgrid.HeaderSchema) != "EventGridSchema" || got[0].Header.Get(eventgrid.HeaderType) != "Orders.Created" {
		t.Fatalf("stored %s %v", got[0].Data, got[0].Header)
	}

	// CloudEvents with a SAS token (key2).
	sas, err := eventgrid.GenerateSAS(ceEndpoint, time.Now().Add(time.Hour), ceKey2)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := azeventgrid.NewClientWithSAS(ceEndpoint, azcore.NewSASCredential(sas), sdkOptions(l))
	if err != nil {
		t.Fatal(err)
	}
	ce, err := messaging.NewCloudEvent("/orders/app", "Orders.Shipped", map[string]any{"order": 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ce2, _ := messaging.NewCloudEvent("/orders/app", "Orders.Shipped", []byte("binary"), &messaging.CloudEventOptions{DataContentType: to.Ptr("application/octet-stream")})
	if _, err := cc.PublishCloudEvents(ctx, []messaging.CloudEvent{ce, ce2}, nil); err != nil {
		t.Fatalf("PublishCloudEvents: %v", err)
	}
	got = storedEvents(t, l.srv.Substrate(), "ce-orders")
	if len(got) != 2 || got[0].Header.Get(eventgrid.HeaderSchema) != "CloudEventSchemaV1_0" || !bytes.Contains(got[0].Data, []byte(ce.ID)) {
		t.Fatalf("stored %d: %v", len(got), got)
	}

	// The SDK reports Azure's errors: Event Grid events to a CloudEvents topic, and a wrong key.
	wrong, _ := azeventgrid.NewClientWithSharedKeyCredential(ceEndpoint, azcore.NewKeyCredential(ceKey), sdkOptions(l))
	var re *azcore.ResponseError
	if _, err := wrong.PublishEvents(ctx, events, nil); !errors.As(err, &re) || re.StatusCode != 400 || re.ErrorCode != "BadRequest" {
		t.Fatalf("Event Grid events to a CloudEvents topic: %v", err)
	}
	bad, _ := azeventgrid.NewClientWithSharedKeyCredential(egEndpoint, azcore.NewKeyCredential(ceKey), sdkOptions(l))
	if _, err := bad.PublishEvents(ctx, events, nil); !errors.As(err, &re) || re.StatusCode != 401 || re.ErrorCode != "Unauthorized" {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestPublishRequests(t *testing.T) {
	l := start(t, t.TempDir())
	endpoint, key, key2 := l.topic(t, "rg", "orders", "")
	ceEndpoint, ceKey, _ := l.topic(t, "rg", "ce-orders", "CloudEventSchemaV1_0")
	_, otherKey, _ := l.topic(t, "rg", "billing", "")
	pathStyle := fmt.Sprintf("http://127.0.0.1:%d/orders/api/events", l.port)
	now := time.Now()
	sas := func(res string, exp time.Time, k string) string {
		s, err := eventgrid.GenerateSAS(res, exp, k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	one := "[" + egEvent("1") + "]"
	big := `[{"id":"big","eventType":"t","subject":"s","eventTime":"2026-03-01T12:00:00Z","data":"` + strings.Repeat("x", 1<<20) + `"}]`
	ce := `{"specversion":"1.0","id":"c1","source":"/app","type":"Orders.Created","data":{}}`

	for _, tc := range []struct {
		name      string
		target    string
		header    map[string]string
		body      string
		status    int
		code, msg string
	}{
		{"curl with aeg-sas-key", endpoint, map[string]string{"aeg-sas-key": key}, one, 200, "", ""},
		{"key2", endpoint, map[string]string{"aeg-sas-key": key2}, "[" + egEvent("2") + "]", 200, "", ""},
		{"path style", pathStyle, map[string]string{"aeg-sas-key": key}, "[" + egEvent("3") + "]", 200, "", ""},
		{"host header", fmt.Sprintf("http://127.0.0.1:%d/api/events", l.port), map[string]string{"Host": fmt.Sprintf("orders.localhost:%d", l.port), "aeg-sas-key": key},
			"[" + egEvent("4") + "]", 200, "", ""},
		{"key in query", endpoint + "?aeg-sas-key=" + url.QueryEscape(key), nil, "[" + egEvent("5") + "]", 200, "", ""},
		{"api-version", endpoint + "?api-version=2018-01-01", map[string]string{"aeg-sas-key": key}, "[" + egEvent("6") + "]", 200, "", ""},
		{"sas token", endpoint, map[string]string{"aeg-sas-token": sas(endpoint, now.Add(time.Hour), key)}, "[" + egEvent("7") + "]", 200, "", ""},
		{"sas for path style", pathStyle, map[string]string{"aeg-sas-token": sas(pathStyle, now.Add(time.Hour), key2)}, "[" + egEvent("8") + "]", 200, "", ""},
		{"Authorization SharedAccessSignature", endpoint, map[string]string{"Authorization": "SharedAccessSignature " + sas(endpoint, now.Add(time.Hour), key)},
			"[" + egEvent("9") + "]", 200, "", ""},
		{"cloudevent", ceEndpoint, map[string]string{"aeg-sas-key": ceKey, "Content-Type": "application/cloudevents+json; charset=utf-8"}, ce, 200, "", ""},

		{"no key", endpoint, nil, one, 401, "Unauthorized", "Request must contain one of the following authorization signature: aeg-sas-token, aeg-sas-key."},
		{"wrong key", endpoint, map[string]string{"aeg-sas-key": otherKey}, one, 401, "Unauthorized", "is not authorized for ORDERS.LOCALHOST"},
		{"wrong key in query", endpoint + "?aeg-sas-key=" + url.QueryEscape(otherKey), nil, one, 401, "Unauthorized", "aeg-sas-key does not match"},
		{"expired token", endpoint, map[string]string{"aeg-sas-token": sas(endpoint, now.Add(-time.Minute), key)}, one, 401, "Unauthorized", "expired"},
		{"token signed by another key", endpoint, map[string]string{"aeg-sas-token": sas(endpoint, now.Add(time.Hour), otherKey)}, one, 401, "Unauthorized", "signature does not match"},
		{"token for another topic", endpoint, map[string]string{"aeg-sas-token": sas(strings.Replace(endpoint, "orders", "billing", 1), now.Add(time.Hour), key)},
			one, 401, "Unauthorized", "was issued for the resource"},
		{"malformed token", endpoint, map[string]string{"aeg-sas-token": key}, one, 400, "BadRequest", "Invalid key in aeg-sas-token."},
		{"bearer", endpoint, map[string]string{"Authorization": "Bearer abc"}, one, 401, "Unauthorized", "not supported"},
		{"other api-version", endpoint + "?api-version=2020-01-01", map[string]string{"aeg-sas-key": key}, one, 400, "BadRequest", "api-version '2020-01-01'"},
		{"cloudevent to event grid topic", endpoint, map[string]string{"aeg-sas-key": key, "Content-Type": "application/cloudevents+json"}, ce, 400, "BadRequest", ""},
		{"event grid array to cloudevents topic", ceEndpoint, map[string]string{"aeg-sas-key": ceKey}, one, 400, "BadRequest", "CloudEventV10"},
		{"missing id", endpoint, map[string]string{"aeg-sas-key": key}, `[{"eventType":"t","subject":"s","eventTime":"2026-03-01T12:00:00Z","data":{}}]`, 400, "BadRequest", "'id'"},
		{"oversized body", endpoint, map[string]string{"aeg-sas-key": key}, big, 413, "RequestEntityTooLarge", "maximum size"},
		{"unknown topic", strings.Replace(endpoint, "orders", "nosuch", 1), map[string]string{"aeg-sas-key": key}, one, 404, "NotFound", "'nosuch' does not exist"},
		{"unknown path-style topic", strings.Replace(pathStyle, "orders", "nosuch", 1), map[string]string{"aeg-sas-key": key}, one, 404, "NotFound", "does not exist"},
		{"no topic in host", fmt.Sprintf("http://127.0.0.1:%d/api/events", l.port), map[string]string{"aeg-sas-key": key}, one, 404, "NotFound", "names no topic"},
	} {
		st, e, raw := l.post(t, tc.target, tc.header, tc.body)
		if st != tc.status {
			t.Errorf("%s: status %d, want %d: %.300s", tc.name, st, tc.status, raw)
			continue
		}
		if tc.status == 200 {
			if raw != "" {
				t.Errorf("%s: body %q on 200", tc.name, raw)
			}
			continue
		}
		if e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.msg) {
			t.Errorf("%s: error %+v, want code %s and message containing %q", tc.name, e.Error, tc.code, tc.msg)
		}
	}
	if n := len(storedEvents(t, l.srv.Substrate(), "orders")); n != 9 {
		t.Errorf("%d events stored for orders, want 9", n)
	}

	req, _ := http.NewRequest("GET", endpoint, nil)
	resp, err := l.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestEventsSurviveRestart: a 200 means the events are in JetStream, and
// they are still there after the server restarts.
func TestEventsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	l := start(t, dir)
	endpoint, key, _ := l.topic(t, "rg", "durable", "")
	var evs []string
	for i := range 100 {
		evs = append(evs, egEvent(fmt.Sprint("ev-", i)))
	}
	if st, _, raw := l.post(t, endpoint, map[string]string{"aeg-sas-key": key}, "["+strings.Join(evs, ",")+"]"); st != 200 {
		t.Fatalf("publish: %d %s", st, raw)
	}
	l.stop()

	l2 := start(t, dir)
	got := storedEvents(t, l2.srv.Substrate(), "durable")
	if len(got) != 100 {
		t.Fatalf("%d events after restart, want 100", len(got))
	}
	for i, m := range got {
		var ev struct{ ID string }
		_ = json.Unmarshal(m.Data, &ev)
		if ev.ID != fmt.Sprint("ev-", i) {
			t.Fatalf("event %d is %s", i, m.Data)
		}
	}
	// The topic and its keys are there too, on the new port.
	_, keys := l2.arm(t, "POST", topicPath("rg", "durable")+"/listKeys", nil)
	_, got2 := l2.arm(t, "GET", topicPath("rg", "durable"), nil)
	ep2 := got2["properties"].(map[string]any)["endpoint"].(string)
	if st, _, raw := l2.post(t, ep2, map[string]string{"aeg-sas-key": keys["key1"].(string)}, "["+egEvent("after")+"]"); st != 200 || keys["key1"] != key {
		t.Fatalf("publish after restart: %d %s", st, raw)
	}
}
