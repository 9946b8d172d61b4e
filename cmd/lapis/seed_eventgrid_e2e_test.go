package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const eventGridHandlerApp = `package main

import "github.com/lapisdev/lapis/sdk/fn"

func main() {
	app := fn.NewApp()
	app.EventGrid("EventGridHandler", func(ctx *fn.Context, ev fn.EventGridEvent) error {
		ctx.Logf("%s on %s", ev.EventType, ev.Subject)
		ctx.PutQueueMessage("received", map[string]any{"id": ev.ID, "type": ev.EventType, "subject": ev.Subject, "data": ev.Data})
		return nil
	}, fn.QueueOutput("received", "received-events"))
	app.Run()
}
`

// TestSeedEventGridSection runs the seed's Event Grid section with az
// replaced by lapis: a topic, a subscription whose endpoint is the
// function's invokeUrlTemplate (the host answers the validation handshake),
// a curl publish with aeg-sas-key to "$TOPIC_ENDPOINT/api/events", and the
// function receives the event.
func TestSeedEventGridSection(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	s, _ := startFunctionsLapis(t)
	sdk, _ := filepath.Abs(filepath.Join("..", "..", "sdk"))
	dir := t.TempDir()
	for name, content := range map[string]string{
		"main.go":   eventGridHandlerApp,
		"go.mod":    "module example.com/eghandler\n\ngo 1.26\n\nrequire github.com/lapisdev/lapis/sdk v0.0.0\n\nreplace github.com/lapisdev/lapis/sdk => " + sdk + "\n",
		"host.json": `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "app"}}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ok(t, s, "group", "create", "--name", "myapp-rg", "--location", "eastus", "-o", "none")
	ok(t, s, "storage", "account", "create", "--name", "myfuncappstorage", "--resource-group", "myapp-rg", "-o", "none")
	ok(t, s, "storage", "queue", "create", "-n", "received-events", "--account-name", "myfuncappstorage", "-o", "none")
	ok(t, s, "functionapp", "create", "-g", "myapp-rg", "-n", "myapp-functions", "-s", "myfuncappstorage", "-c", "eastus", "-o", "none")
	env := []string{"LAPIS_DATA_DIR=" + s.dataDir, "GOFLAGS=-mod=mod", "GOWORK=off", "GOPROXY=off"}
	if r := lapisEnv(t, env, "func", "publish", "myapp-functions", "--dir", dir); r.code != 0 {
		t.Fatalf("func publish: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// The seed's lines.
	ok(t, s, "eventgrid", "topic", "create", "--resource-group", "myapp-rg", "--name", "myapp-topic", "--location", "eastus", "-o", "none")
	topicID := strings.TrimSpace(ok(t, s, "eventgrid", "topic", "show", "--resource-group", "myapp-rg", "--name", "myapp-topic", "--query", "id", "-o", "tsv"))
	endpoint := strings.TrimSpace(ok(t, s, "functionapp", "function", "show", "--resource-group", "myapp-rg", "--function-app", "myapp-functions",
		"--name", "EventGridHandler", "--query", "invokeUrlTemplate", "-o", "tsv"))
	if !strings.Contains(endpoint, "/runtime/webhooks/eventgrid?functionName=EventGridHandler&code=") {
		t.Fatalf("invokeUrlTemplate %q", endpoint)
	}
	ok(t, s, "eventgrid", "event-subscription", "create", "--name", "myapp-subscription", "--source-resource-id", topicID, "--endpoint", endpoint, "-o", "none")
	topicEndpoint := strings.TrimSpace(ok(t, s, "eventgrid", "topic", "show", "--resource-group", "myapp-rg", "--name", "myapp-topic", "--query", "endpoint", "-o", "tsv"))
	topicKey := strings.TrimSpace(ok(t, s, "eventgrid", "topic", "key", "list", "--resource-group", "myapp-rg", "--name", "myapp-topic", "--query", "key1", "-o", "tsv"))
	event := `[{"id": "order-1", "eventType": "Orders.OrderCreated", "subject": "orders/1", "eventTime": "2026-03-01T12:00:00Z", "data": {"orderId": 1}, "dataVersion": "1.0"}]`
	if st, body := curlPost(t, topicEndpoint+"/api/events", topicKey, event); st != 200 {
		t.Fatalf("curl publish: %d %s", st, body)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		out := ok(t, s, "storage", "message", "peek", "-q", "received-events", "--account-name", "myfuncappstorage", "--query", "[].content", "-o", "tsv")
		if content := strings.TrimSpace(out); content != "" {
			text := content
			if b, err := base64.StdEncoding.DecodeString(content); err == nil {
				text = string(b)
			}
			var got struct {
				ID, Type, Subject string
				Data              map[string]any
			}
			if err := json.Unmarshal([]byte(text), &got); err != nil || got.ID != "order-1" || got.Type != "Orders.OrderCreated" ||
				got.Subject != "orders/1" || got.Data["orderId"] != 1.0 {
				t.Fatalf("the function wrote %q (%v)", text, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the function did not receive the event\nserver log:\n%s", s.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
