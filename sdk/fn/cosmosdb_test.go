package fn

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

// cosmosPayload is what the host sends for a Cosmos DB trigger: the batch
// of changed documents as a JSON array, no trigger metadata.
const cosmosPayload = `{"Data":{"documents":[
	{"id":"1","status":"processed","_rid":"Ep933RuDYJQBAAAAAAAAAA==","_self":"dbs/Ep93/colls/Ep93/docs/Ep93/","_etag":"\"a1\"","_attachments":"attachments/","_ts":1767261600,"_lsn":3},
	{"id":"2","status":"new","_ts":1767261601,"_lsn":4}]},
	"Metadata":{"sys":{"MethodName":"on_order","UtcNow":"2026-01-01T10:00:01Z","RandGuid":"8d3f"}}}`

func TestCosmosDBTrigger(t *testing.T) {
	var mu sync.Mutex
	var got Documents
	app := NewApp()
	app.CosmosDB("on_order", "myappdb", "orders", func(ctx *Context, docs Documents) error {
		mu.Lock()
		got = docs
		mu.Unlock()
		var orders []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			LSN    int64  `json:"_lsn"`
		}
		if err := docs.Decode(&orders); err != nil {
			return err
		}
		for _, o := range orders {
			if o.Status == "fail" {
				return errors.New("failing on purpose")
			}
			ctx.PutDocument("audit", map[string]any{"id": o.ID + "-audit", "lsn": o.LSN})
		}
		return nil
	}, Connection("CosmosDBConnection"), LeaseContainer("leases"), CreateLeaseContainerIfNotExists(),
		StartFromBeginning(), MaxItemsPerInvocation(10), TriggerName("docs"),
		CosmosDBOutput("audit", "myappdb", "audit", Connection("CosmosDBConnection")))
	w := startWorker(t, app)

	a := w.post("on_order", strings.Replace(cosmosPayload, `"documents"`, `"docs"`, 1))
	if a.Status != 200 {
		t.Fatalf("status %d: %s", a.Status, a.raw)
	}
	mu.Lock()
	n := len(got)
	mu.Unlock()
	if n != 2 {
		t.Errorf("documents %d", n)
	}
	if out := string(a.Outputs["audit"]); out != `[{"id":"1-audit","lsn":3},{"id":"2-audit","lsn":4}]` {
		t.Errorf("audit %s", out)
	}

	// A batch serialized as a JSON string is read too; an empty one is no documents.
	a = w.post("on_order", `{"Data":{"docs":"[{\"id\":\"3\"}]"}}`)
	if mu.Lock(); a.Status != 200 || len(got) != 1 {
		t.Errorf("string batch: %d %s", a.Status, a.raw)
	}
	mu.Unlock()
	a = w.post("on_order", `{"Data":{}}`)
	if mu.Lock(); a.Status != 200 || got == nil || len(got) != 0 {
		t.Errorf("no batch: %d %s %v", a.Status, a.raw, got)
	}
	mu.Unlock()

	// A value that is not an array is a bad payload; a failing function fails.
	a = w.post("on_order", `{"Data":{"docs":{"id":"1"}}}`)
	if a.Status != 400 || a.Error.Code != "BadPayload" || !strings.Contains(a.Error.Message, "not a JSON array") {
		t.Errorf("object: %d %s", a.Status, a.raw)
	}
	a = w.post("on_order", `{"Data":{"docs":[{"id":"9","status":"fail"}]}}`)
	if a.Status != 500 || a.Error.Code != "FunctionFailed" {
		t.Errorf("failure: %d %s", a.Status, a.raw)
	}

	// The function.json the host reads.
	var d struct {
		Functions []struct {
			Bindings []map[string]any
		}
	}
	if err := json.Unmarshal(app.FunctionJSON(), &d); err != nil {
		t.Fatal(err)
	}
	b := d.Functions[0].Bindings
	want := map[string]any{"type": "cosmosDBTrigger", "direction": "in", "name": "docs", "connection": "CosmosDBConnection",
		"databaseName": "myappdb", "containerName": "orders", "leaseContainerName": "leases",
		"createLeaseContainerIfNotExists": true, "startFromBeginning": true, "maxItemsPerInvocation": 10.0}
	if !mapsEqual(b[0], want) {
		t.Errorf("trigger %v\nwant %v", b[0], want)
	}
	if want := (map[string]any{"type": "cosmosDB", "direction": "out", "name": "audit", "connection": "CosmosDBConnection",
		"databaseName": "myappdb", "containerName": "audit"}); !mapsEqual(b[1], want) {
		t.Errorf("output %v", b[1])
	}
}

func mapsEqual(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestPutDocument(t *testing.T) {
	app := NewApp()
	app.Queue("q", "in-queue", func(ctx *Context, msg QueueMessage) error {
		switch msg.Text() {
		case "struct":
			ctx.PutDocument("out", struct {
				ID string `json:"id"`
			}{"a"})
		case "many":
			ctx.PutDocument("out", map[string]int{"n": 1})
			ctx.PutDocument("out", `{"n": 2}`)
			ctx.PutDocument("out", []byte(`{"n":3}`))
			ctx.PutDocument("out", json.RawMessage(` {"n": 4} `))
		case "text":
			ctx.PutDocument("out", "not json")
		case "array":
			ctx.PutDocument("out", []int{1})
		case "number":
			ctx.PutDocument("out", 7)
		}
		return nil
	}, CosmosDBOutput("out", "db", "c"))
	checkOutputs(t, startWorker(t, app), "q", []outputCase{
		{"struct", `{"id":"a"}`, ""},
		{"many", `[{"n":1},{"n":2},{"n":3},{"n":4}]`, ""},
		{"text", "", "document 1: the text is not JSON"},
		{"array", "", "document 1: a document must be a JSON object, not [1]"},
		{"number", "", "a document must be a JSON object, not 7"},
	})
}

func TestCosmosDBInput(t *testing.T) {
	app := NewApp()
	app.Queue("lookup", "lookups", func(ctx *Context, msg QueueMessage) error {
		var doc *struct{ Name string }
		if err := ctx.Input("order", &doc); err != nil {
			return err
		}
		var rows []map[string]any
		if err := ctx.Input("rows", &rows); err != nil {
			return err
		}
		if doc == nil {
			ctx.SetOutput("res", "none")
		} else {
			ctx.SetOutput("res", doc.Name)
		}
		return nil
	}, CosmosDBInput("order", "db", "orders", DocumentID("{queueTrigger}"), PartitionKey("{queueTrigger}")),
		CosmosDBInput("rows", "db", "orders", SQLQuery("SELECT * FROM c WHERE c.customer = {queueTrigger}")),
		Output{Type: "queue", Name: "res", Props: map[string]any{"queueName": "results"}})
	w := startWorker(t, app)
	a := w.post("lookup", `{"Data":{"msg":"42","order":{"id":"42","Name":"pens"},"rows":[]}}`)
	if a.Status != 200 || string(a.Outputs["res"]) != `"pens"` {
		t.Errorf("found: %d %s", a.Status, a.raw)
	}
	a = w.post("lookup", `{"Data":{"msg":"43","order":null,"rows":[{"id":"1"}]}}`)
	if a.Status != 200 || string(a.Outputs["res"]) != `"none"` {
		t.Errorf("not found: %d %s", a.Status, a.raw)
	}
	var d struct {
		Functions []struct{ Bindings []map[string]any }
	}
	json.Unmarshal(app.FunctionJSON(), &d)
	if b := d.Functions[0].Bindings; b[1]["id"] != "{queueTrigger}" || b[1]["partitionKey"] != "{queueTrigger}" ||
		b[2]["sqlQuery"] != "SELECT * FROM c WHERE c.customer = {queueTrigger}" || b[2]["direction"] != "in" {
		t.Errorf("bindings %v", b)
	}
}

func TestCosmosDBRegistrationPanics(t *testing.T) {
	h := func(*Context, Documents) error { return nil }
	for name, f := range map[string]func(){
		"no handler":   func() { NewApp().CosmosDB("f", "db", "c", nil) },
		"no container": func() { NewApp().CosmosDB("f", "db", " ", h) },
		"lease on a queue": func() {
			NewApp().Queue("f", "orders", func(*Context, QueueMessage) error { return nil }, LeaseContainer("l"))
		},
		"no items":           func() { NewApp().CosmosDB("f", "db", "c", h, MaxItemsPerInvocation(0)) },
		"output no database": func() { NewApp().CosmosDB("f", "db", "c", h, CosmosDBOutput("o", "", "c")) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
