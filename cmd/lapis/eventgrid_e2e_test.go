package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// curlPost publishes like the seed's curl command, dialling 127.0.0.1 for
// {topic}.localhost as curl does.
func curlPost(t *testing.T, endpoint, key, body string) (int, string) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(host, ".localhost") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("aeg-sas-key", key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEventGridTopicCommands(t *testing.T) {
	s := startLapis(t, t.TempDir())
	ok(t, s, "group", "create", "-n", "events-rg", "-l", "eastus")

	var created map[string]any
	if err := json.Unmarshal([]byte(ok(t, s, "eventgrid", "topic", "create", "-g", "events-rg", "-n", "orders-topic", "-l", "eastus")), &created); err != nil {
		t.Fatal(err)
	}
	if created["inputSchema"] != "EventGridSchema" || created["resourceGroup"] != "events-rg" || created["provisioningState"] != "Succeeded" ||
		created["location"] != "eastus" || created["name"] != "orders-topic" {
		t.Fatalf("create printed %v", created)
	}
	// As the seed's script does: ENDPOINT=$(az eventgrid topic show ... --query endpoint -o tsv).
	endpoint := strings.TrimSpace(ok(t, s, "eventgrid", "topic", "show", "-g", "events-rg", "-n", "orders-topic", "--query", "endpoint", "-o", "tsv"))
	if !regexp.MustCompile(`^http://orders-topic\.localhost:\d+/api/events$`).MatchString(endpoint) || endpoint != created["endpoint"] {
		t.Fatalf("endpoint %q", endpoint)
	}
	ce := ok(t, s, "eventgrid", "topic", "create", "-g", "events-rg", "-n", "ce-topic", "--input-schema", "cloudeventschemav1_0", "--query", "inputSchema", "-o", "tsv")
	if strings.TrimSpace(ce) != "CloudEventSchemaV1_0" {
		t.Fatalf("ce topic: %q", ce)
	}
	fails(t, s, 2, "invalid choice", "eventgrid", "topic", "create", "-g", "events-rg", "-n", "x-topic", "--input-schema", "avro")
	fails(t, s, 1, "CustomEventSchema", "eventgrid", "topic", "create", "-g", "events-rg", "-n", "x-topic", "--input-schema", "customeventschema")
	if got := ok(t, s, "eventgrid", "topic", "list", "-g", "events-rg", "--query", "[].name", "-o", "tsv"); got != "ce-topic\norders-topic\n" && got != "orders-topic\nce-topic\n" {
		t.Fatalf("list: %q", got)
	}

	var keys map[string]string
	if err := json.Unmarshal([]byte(ok(t, s, "eventgrid", "topic", "key", "list", "-g", "events-rg", "-n", "orders-topic")), &keys); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(ok(t, s, "eventgrid", "topic", "key", "list", "-g", "events-rg", "-n", "orders-topic", "--query", "key1", "-o", "tsv"))
	if key == "" || key != keys["key1"] || keys["key2"] == "" {
		t.Fatalf("keys %v, key1 %q", keys, key)
	}

	event := `[{"id": "1", "eventType": "Orders.OrderCreated", "subject": "orders/1", "eventTime": "2026-03-01T12:00:00Z", "data": {"orderId": 1}, "dataVersion": "1.0"}]`
	if st, body := curlPost(t, endpoint, key, event); st != 200 || body != "" {
		t.Fatalf("publish: %d %q", st, body)
	}
	if st, body := curlPost(t, endpoint, "wrong", event); st != 401 || !strings.Contains(body, `"code":"Unauthorized"`) {
		t.Fatalf("wrong key: %d %s", st, body)
	}

	var regen map[string]string
	if err := json.Unmarshal([]byte(ok(t, s, "eventgrid", "topic", "key", "regenerate", "-g", "events-rg", "-n", "orders-topic", "--key-name", "key1")), &regen); err != nil {
		t.Fatal(err)
	}
	if regen["key1"] == key || regen["key2"] != keys["key2"] {
		t.Fatalf("regenerate: %v", regen)
	}
	if st, _ := curlPost(t, endpoint, key, event); st != 401 {
		t.Fatalf("old key1 after regenerate: %d", st)
	}
	if st, body := curlPost(t, endpoint, regen["key1"], event); st != 200 {
		t.Fatalf("new key1: %d %s", st, body)
	}
	fails(t, s, 2, "invalid choice", "eventgrid", "topic", "key", "regenerate", "-g", "events-rg", "-n", "orders-topic", "--key-name", "key3")

	ok(t, s, "eventgrid", "topic", "delete", "-g", "events-rg", "-n", "orders-topic")
	fails(t, s, 3, "ResourceNotFound", "eventgrid", "topic", "show", "-g", "events-rg", "-n", "orders-topic")
	if st, body := curlPost(t, endpoint, regen["key1"], event); st != 404 || !strings.Contains(body, fmt.Sprintf("%q", "NotFound")) {
		t.Fatalf("deleted topic: %d %s", st, body)
	}
}

// TestEventGridKillKeepsPendingDeliveries publishes events that a webhook
// refuses once each, kills lapis with SIGKILL while their retries wait,
// and expects every acknowledged event to be delivered after the restart.
func TestEventGridKillKeepsPendingDeliveries(t *testing.T) {
	dir := t.TempDir()
	s := startLapis(t, dir)
	var mu sync.Mutex
	attempts := map[string]int{}
	delivered := map[string]bool{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var evs []map[string]any
		_ = json.Unmarshal(b, &evs)
		if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
			_ = json.NewEncoder(w).Encode(map[string]any{"validationResponse": evs[0]["data"].(map[string]any)["validationCode"]})
			return
		}
		mu.Lock()
		defer mu.Unlock()
		id, _ := evs[0]["id"].(string)
		attempts[id]++
		if attempts[id] == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		delivered[id] = true
	}))
	defer hook.Close()

	ok(t, s, "group", "create", "-n", "kill-rg", "-l", "eastus", "-o", "none")
	ok(t, s, "eventgrid", "topic", "create", "-g", "kill-rg", "-n", "kill-topic", "-o", "none")
	topicID := strings.TrimSpace(ok(t, s, "eventgrid", "topic", "show", "-g", "kill-rg", "-n", "kill-topic", "--query", "id", "-o", "tsv"))
	ok(t, s, "eventgrid", "event-subscription", "create", "-n", "flaky", "--source-resource-id", topicID, "--endpoint", hook.URL, "-o", "none")
	endpoint := strings.TrimSpace(ok(t, s, "eventgrid", "topic", "show", "-g", "kill-rg", "-n", "kill-topic", "--query", "endpoint", "-o", "tsv"))
	key := strings.TrimSpace(ok(t, s, "eventgrid", "topic", "key", "list", "-g", "kill-rg", "-n", "kill-topic", "--query", "key1", "-o", "tsv"))
	const n = 30
	var evs []string
	for i := range n {
		evs = append(evs, fmt.Sprintf(`{"id":"k%d","eventType":"Kill.Test","subject":"k/%d","eventTime":"2026-03-01T12:00:00Z","data":{},"dataVersion":"1"}`, i, i))
	}
	if st, body := curlPost(t, endpoint, key, "["+strings.Join(evs, ",")+"]"); st != 200 {
		t.Fatalf("publish: %d %s", st, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		first := len(attempts)
		mu.Unlock()
		if first == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d events attempted", first, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the retry records are written before the events are acknowledged
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done

	startLapis(t, dir) // the retries are due 10 s after the first attempts
	deadline = time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		got := len(delivered)
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered after the restart", got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
