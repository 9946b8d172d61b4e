package fn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// seedTypedApp is the seed's function_app.py on the typed trigger API, with
// a change-feed function on the container process_order writes.
func seedTypedApp() *App {
	app := NewApp()
	app.HTTP("hello", Route("hello"), AuthLevel(Anonymous), func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) {
		return nil, nil
	})
	app.Timer("cleanup_job", "0 */5 * * * *", func(ctx *Context, t TimerInfo) error { return nil },
		RunOnStartup(), UseMonitor(false))
	app.Blob("process_image", "images/{name}", func(ctx *Context, b BlobInfo) error { return nil },
		Connection("AzureWebJobsStorage"),
		BlobOutput("thumb", "thumbnails/{name}.txt", DataType("string")),
		BlobInput("original", "images/{name}", Connection("OtherStorage")))
	app.Queue("process_order", "orders", func(ctx *Context, m QueueMessage) error { return nil },
		Connection("AzureWebJobsStorage"),
		CosmosDBOutput("outputDoc", "myappdb", "processed-orders", Connection("CosmosDBConnection"), CreateIfNotExists(), PartitionKey("/id")),
		QueueOutput("out", "processed-orders"),
		BlobOutput("archive", "processed/{orderId}.json", DataType("")))
	app.CosmosDB("on_processed_order", "myappdb", "processed-orders", func(ctx *Context, docs Documents) error { return nil },
		Connection("CosmosDBConnection"), CreateLeaseContainerIfNotExists())
	return app
}

func TestDescribeTypedTriggers(t *testing.T) {
	app := seedTypedApp()
	got := app.FunctionJSON()
	golden := filepath.Join("testdata", "describe_triggers.golden.json")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("FunctionJSON differs from %s (UPDATE_GOLDEN=1 to rewrite):\n%s", golden, got)
	}

	// Each function.json holds exactly Azure's binding objects.
	want2 := map[string][]map[string]any{
		"cleanup_job": {
			{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 */5 * * * *", "runOnStartup": true, "useMonitor": false},
		},
		"process_image": {
			{"type": "blobTrigger", "direction": "in", "name": "blob", "path": "images/{name}", "connection": "AzureWebJobsStorage", "dataType": "binary"},
			{"type": "blob", "direction": "out", "name": "thumb", "path": "thumbnails/{name}.txt", "dataType": "string"},
			{"type": "blob", "direction": "in", "name": "original", "path": "images/{name}", "connection": "OtherStorage", "dataType": "binary"},
		},
		"process_order": {
			{"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "orders", "connection": "AzureWebJobsStorage"},
			{"type": "cosmosDB", "direction": "out", "name": "outputDoc", "databaseName": "myappdb", "containerName": "processed-orders",
				"connection": "CosmosDBConnection", "createIfNotExists": true, "partitionKey": "/id"},
			{"type": "queue", "direction": "out", "name": "out", "queueName": "processed-orders"},
			{"type": "blob", "direction": "out", "name": "archive", "path": "processed/{orderId}.json"},
		},
		"on_processed_order": {
			{"type": "cosmosDBTrigger", "direction": "in", "name": "documents", "databaseName": "myappdb", "containerName": "processed-orders",
				"connection": "CosmosDBConnection", "createLeaseContainerIfNotExists": true},
		},
	}
	var d struct {
		Functions []struct {
			Name     string
			Bindings []map[string]any
		}
	}
	if err := json.Unmarshal(got, &d); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range d.Functions {
		w, ok := want2[f.Name]
		if !ok {
			continue
		}
		seen++
		if !reflect.DeepEqual(f.Bindings, w) {
			t.Errorf("%s bindings:\n%v\nwant\n%v", f.Name, f.Bindings, w)
		}
	}
	if seen != len(want2) {
		t.Errorf("found %d of %d functions", seen, len(want2))
	}
}

// captured records what typed handlers received.
type captured struct {
	mu    sync.Mutex
	timer TimerInfo
	msg   QueueMessage
	blob  BlobInfo
}

func TestTimerTrigger(t *testing.T) {
	var got captured
	app := NewApp()
	app.Timer("cleanup_job", "0 */5 * * * *", func(ctx *Context, ti TimerInfo) error {
		got.mu.Lock()
		got.timer = ti
		got.mu.Unlock()
		ctx.Logf("Running cleanup job (past due: %v)", ti.IsPastDue)
		ctx.PutQueueMessage("audit", "cleanup ran")
		return nil
	}, QueueOutput("audit", "audit"), TriggerName("myTimer"))
	w := startWorker(t, app)

	last := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, data string
		want       TimerInfo
	}{
		{"Azure shape",
			`{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-01-01T10:00:00+00:00","Next":"2026-01-01T11:05:00.0000000+01:00","LastUpdated":"2026-01-01T10:00:00.1234567Z"},"IsPastDue":true}`,
			TimerInfo{Schedule: TimerSchedule{AdjustForDST: true}, IsPastDue: true,
				ScheduleStatus: &ScheduleStatus{Last: last, Next: last.Add(5 * time.Minute), LastUpdated: last.Add(123456700)}}},
		{"camelCase, .NET DateTime without offset",
			`{"schedule":{"adjustForDST":false},"scheduleStatus":{"last":"2026-01-01T10:00:00","next":"2026-01-01T10:05:00","lastUpdated":"0001-01-01T00:00:00"},"isPastDue":false}`,
			TimerInfo{ScheduleStatus: &ScheduleStatus{Last: last, Next: last.Add(5 * time.Minute),
				LastUpdated: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{"no status", `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}`,
			TimerInfo{Schedule: TimerSchedule{AdjustForDST: true}}},
		{"serialized twice", `"{\"Schedule\":{\"AdjustForDST\":true},\"IsPastDue\":true}"`,
			TimerInfo{Schedule: TimerSchedule{AdjustForDST: true}, IsPastDue: true}},
		{"manual run", `"run now"`, TimerInfo{}},
		{"null", `null`, TimerInfo{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := w.post("cleanup_job", `{"Data":{"myTimer":`+tc.data+`},"Metadata":{"sys":{"MethodName":"cleanup_job","UtcNow":"2026-01-01T10:00:00Z"}}}`)
			if a.Status != 200 {
				t.Fatalf("status %d: %s", a.Status, a.raw)
			}
			got.mu.Lock()
			ti := got.timer
			got.mu.Unlock()
			if !reflect.DeepEqual(ti, tc.want) {
				t.Errorf("TimerInfo %+v %+v\nwant %+v %+v", ti, ti.ScheduleStatus, tc.want, tc.want.ScheduleStatus)
			}
			if string(a.Outputs["audit"]) != `"cleanup ran"` || string(a.ReturnValue) != "null" {
				t.Errorf("Outputs %s ReturnValue %s", a.Outputs, a.ReturnValue)
			}
			if len(a.Logs) != 1 || !strings.HasPrefix(a.Logs[0], "Running cleanup job") {
				t.Errorf("Logs %q", a.Logs)
			}
		})
	}

	// No timer value at all still runs the function.
	if a := w.post("cleanup_job", `{"Data":{},"Metadata":{}}`); a.Status != 200 {
		t.Errorf("empty Data: %d %s", a.Status, a.raw)
	}
	for _, bad := range []string{`[1]`, `{"IsPastDue":"yes"}`, `{"ScheduleStatus":{"Last":"yesterday"}}`} {
		a := w.post("cleanup_job", `{"Data":{"myTimer":`+bad+`}}`)
		if a.Status != 400 || a.Error == nil || a.Error.Code != "BadPayload" || !strings.Contains(a.Error.Message, `timer "myTimer"`) {
			t.Errorf("%s: %d %s", bad, a.Status, a.raw)
		}
	}
}

func TestTimerFailure(t *testing.T) {
	app := NewApp()
	app.Timer("t", "0 0 * * * *", func(ctx *Context, ti TimerInfo) error { return errors.New("disk full") })
	w := startWorker(t, app)
	a := w.post("t", `{"Data":{"timer":{"IsPastDue":false}}}`)
	if a.Status != 500 || a.Error.Code != "FunctionFailed" || !strings.Contains(a.Error.Message, "disk full") {
		t.Errorf("%d %s", a.Status, a.raw)
	}
}

type order struct {
	OrderID string  `json:"orderId"`
	Amount  float64 `json:"amount"`
	Status  string  `json:"status,omitempty"`
}

func TestQueueTrigger(t *testing.T) {
	var got captured
	app := NewApp()
	app.Queue("process_order", "orders", func(ctx *Context, msg QueueMessage) error {
		got.mu.Lock()
		got.msg = msg
		got.mu.Unlock()
		var o order
		if err := msg.JSON(&o); err != nil {
			return err
		}
		ctx.Log.Info("processing order", "id", o.OrderID, "attempt", msg.DequeueCount)
		o.Status = "processed"
		ctx.PutQueueMessage("out", o)
		ctx.PutQueueMessage("out", "second for "+o.OrderID)
		raw, _ := json.Marshal(o)
		ctx.SetBlob("archive", raw)
		return nil
	}, Connection("AzureWebJobsStorage"),
		QueueOutput("out", "processed-orders"),
		BlobOutput("archive", "processed/{orderId}.json"))
	app.Queue("raw", "raw-in", func(ctx *Context, msg QueueMessage) error {
		got.mu.Lock()
		got.msg = msg
		got.mu.Unlock()
		return nil
	}, DataType("binary"))
	w := startWorker(t, app)

	// The queue example payload of §1.2: the message as a string.
	a := w.post("process_order", queuePayload)
	if a.Status != 200 {
		t.Fatalf("status %d: %s", a.Status, a.raw)
	}
	got.mu.Lock()
	m := got.msg
	got.mu.Unlock()
	want := QueueMessage{
		ID: "5f2e", Body: []byte(`{"orderId":"12345"}`), DequeueCount: 1, PopReceipt: "AgAAAAMAAAA",
		InsertionTime:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		ExpirationTime:  time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC),
		NextVisibleTime: time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC),
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("QueueMessage %+v\nwant %+v", m, want)
	}
	if m.Text() != `{"orderId":"12345"}` {
		t.Errorf("Text %q", m.Text())
	}
	if got := string(a.Outputs["out"]); got != `[{"orderId":"12345","amount":0,"status":"processed"},"second for 12345"]` {
		t.Errorf("out %s", got)
	}
	var archive string
	json.Unmarshal(a.Outputs["archive"], &archive)
	if b, _ := base64.StdEncoding.DecodeString(archive); string(b) != `{"orderId":"12345","amount":0,"status":"processed"}` {
		t.Errorf("archive %s (%s)", a.Outputs["archive"], b)
	}
	if !reflect.DeepEqual(a.Logs, []string{"processing order id=12345 attempt=1"}) {
		t.Errorf("Logs %q", a.Logs)
	}

	// Tolerated forms: the message as a JSON object, metadata in other
	// cases, a count as a string, RFC 1123 times.
	a = w.post("process_order", `{"Data":{"msg":{"orderId":"7","amount":9.5}},"Metadata":{"id":"x1","dequeueCount":"3","insertionTime":"Thu, 01 Jan 2026 00:00:00 GMT"}}`)
	got.mu.Lock()
	m = got.msg
	got.mu.Unlock()
	if a.Status != 200 || m.ID != "x1" || m.DequeueCount != 3 || string(m.Body) != `{"orderId":"7","amount":9.5}` ||
		!m.InsertionTime.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("%d %s: %+v", a.Status, a.raw, m)
	}

	// A body that is not JSON fails the function, not the payload.
	a = w.post("process_order", `{"Data":{"msg":"not json"},"Metadata":{"Id":"x2"}}`)
	if a.Status != 500 || a.Error.Code != "FunctionFailed" || !strings.Contains(a.Error.Message, "queue message x2") {
		t.Errorf("not JSON: %d %s", a.Status, a.raw)
	}
	a = w.post("process_order", `{"Data":{"msg":""},"Metadata":{"DequeueCount":"many"}}`)
	if a.Status != 400 || a.Error.Code != "BadPayload" || !strings.Contains(a.Error.Message, "DequeueCount") {
		t.Errorf("bad count: %d %s", a.Status, a.raw)
	}

	// dataType binary: the body arrives in base64; text that is not base64
	// is taken as is.
	for data, body := range map[string]string{`"AAEC/w=="`: "\x00\x01\x02\xff", `"plain text!"`: "plain text!"} {
		a = w.post("raw", `{"Data":{"msg":`+data+`},"Metadata":{}}`)
		got.mu.Lock()
		m = got.msg
		got.mu.Unlock()
		if a.Status != 200 || string(m.Body) != body {
			t.Errorf("binary %s: %d %q", data, a.Status, m.Body)
		}
	}
}

func TestPutQueueMessage(t *testing.T) {
	app := NewApp()
	app.Queue("q", "in-queue", func(ctx *Context, msg QueueMessage) error {
		switch msg.Text() {
		case "one":
			ctx.PutQueueMessage("out", map[string]int{"n": 1})
		case "array":
			ctx.PutQueueMessage("out", []int{1, 2})
		case "bytes":
			ctx.PutQueueMessage("out", []byte("text"))
			ctx.PutQueueMessage("out", []byte{0xff, 0x00})
			ctx.PutQueueMessage("out", json.RawMessage(` {"raw": true} `))
		case "set then put":
			ctx.SetOutput("out", "first")
			ctx.PutQueueMessage("out", "second")
		case "put then set":
			ctx.PutQueueMessage("out", "dropped")
			ctx.SetOutput("out", "only")
		case "bad":
			ctx.PutQueueMessage("out", "fine")
			ctx.PutQueueMessage("out", make(chan int))
		case "bad raw":
			ctx.PutQueueMessage("out", json.RawMessage(`{`))
		case "nil":
			ctx.PutQueueMessage("out", nil)
		case "undeclared":
			ctx.PutQueueMessage("outt", "x")
		case "concurrent":
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() { ctx.PutQueueMessage("out", "m") })
			}
			wg.Wait()
		}
		return nil
	}, QueueOutput("out", "out-queue"))
	checkOutputs(t, startWorker(t, app), "q", []outputCase{
		{"one", `{"n":1}`, ""},
		{"array", `[[1,2]]`, ""},
		{"bytes", `["text","/wA=",{"raw":true}]`, ""},
		{"set then put", `["first","second"]`, ""},
		{"put then set", `"only"`, ""},
		{"bad", "", "message 2: json: unsupported type: chan int"},
		{"bad raw", "", "not valid JSON"},
		{"nil", "", "message 1: the message is nil"},
		{"undeclared", "", `output "outt" is not declared`},
		{"concurrent", `[` + strings.Repeat(`"m",`, 49) + `"m"]`, ""},
	})
}

// outputCase is a run of a queue function that sets its output "out": the message text that says what to set,
// and the output's value, or the failure, expected.
type outputCase struct{ msg, out, fail string }

// checkOutputs runs the queue function fn once for each case.
func checkOutputs(t *testing.T, w *worker, fn string, cases []outputCase) {
	t.Helper()
	for _, tc := range cases {
		a := w.post(fn, `{"Data":{"msg":"`+tc.msg+`"}}`)
		if tc.fail != "" {
			if a.Status != 500 || !strings.Contains(a.Error.Message, tc.fail) {
				t.Errorf("%s: %d %s; want failure %q", tc.msg, a.Status, a.raw, tc.fail)
			}
			continue
		}
		if a.Status != 200 || string(a.Outputs["out"]) != tc.out {
			t.Errorf("%s: %d out %s; want %s", tc.msg, a.Status, a.Outputs["out"], tc.out)
		}
	}
}

// blobPayload is the payload Azure's host sends for a blob trigger on
// images/{name} (with dataType binary): the content in base64, and the
// metadata without BlobTrigger, which ends in "trigger".
const blobPayload = `{"Data":{"blob":"aGVsbG8gaW1hZ2U="},"Metadata":{
	"Uri":"http://127.0.0.1:10000/devstoreaccount1/images/cats/cat%201.png",
	"Properties":{"ContentLength":11,"ContentType":"image/png","ETag":"\"0x8DC1\"","LastModified":"2026-01-01T09:30:00+00:00","ContentEncoding":null},
	"Metadata":{"camera":"x100","shots":3},
	"name":"cats/cat 1.png",
	"sys":{"MethodName":"process_image","UtcNow":"2026-01-01T09:30:01Z","RandGuid":"8d3f"}}}`

func TestBlobTrigger(t *testing.T) {
	var got captured
	app := NewApp()
	app.Blob("process_image", "images/{name}", func(ctx *Context, b BlobInfo) error {
		got.mu.Lock()
		got.blob = b
		got.mu.Unlock()
		ctx.Logf("Processing blob: %s, size: %d bytes", b.Name, b.Properties.Length)
		ctx.SetBlob("thumb", []byte("size="+string(rune('0'+len(b.Content)%10))))
		ctx.SetBlob("copy", b.Content)
		return nil
	}, Connection("AzureWebJobsStorage"),
		BlobOutput("thumb", "thumbnails/{name}.txt", DataType("string")),
		BlobOutput("copy", "copies/{name}"))
	app.Blob("split", "input/{name}.{ext}", func(ctx *Context, b BlobInfo) error {
		got.mu.Lock()
		got.blob = b
		got.mu.Unlock()
		return nil
	}, DataType("string"))
	w := startWorker(t, app)

	a := w.post("process_image", blobPayload)
	if a.Status != 200 {
		t.Fatalf("status %d: %s", a.Status, a.raw)
	}
	got.mu.Lock()
	b := got.blob
	got.mu.Unlock()
	want := BlobInfo{
		Name:    "images/cats/cat 1.png",
		URI:     "http://127.0.0.1:10000/devstoreaccount1/images/cats/cat%201.png",
		Content: []byte("hello image"),
		Properties: BlobProperties{Length: 11, ContentType: "image/png", ETag: `"0x8DC1"`,
			LastModified: time.Date(2026, 1, 1, 9, 30, 0, 0, time.UTC)},
		Metadata: map[string]string{"camera": "x100", "shots": "3"},
		Params:   map[string]string{"name": "cats/cat 1.png"},
	}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("BlobInfo\n%+v\nwant\n%+v", b, want)
	}
	if string(a.Outputs["thumb"]) != `"size=1"` {
		t.Errorf("thumb (dataType string) %s", a.Outputs["thumb"])
	}
	if string(a.Outputs["copy"]) != `"aGVsbG8gaW1hZ2U="` {
		t.Errorf("copy (dataType binary) %s", a.Outputs["copy"])
	}
	if !reflect.DeepEqual(a.Logs, []string{"Processing blob: images/cats/cat 1.png, size: 11 bytes"}) {
		t.Errorf("Logs %q", a.Logs)
	}

	for _, tc := range []struct {
		name, payload string
		want          BlobInfo
	}{
		{"BlobTrigger in metadata, old property names, text content",
			`{"Data":{"blob":"a,b\n1,2"},"Metadata":{"BlobTrigger":"input/report.v2.csv","ext":"csv","Properties":{"Length":"7","ETag":{}}}}`,
			BlobInfo{Name: "input/report.v2.csv", Content: []byte("a,b\n1,2"), Properties: BlobProperties{Length: 7},
				Params: map[string]string{"ext": "csv", "name": "report.v2"}}},
		{"only the URI, path style",
			`{"Data":{"blob":"x"},"Metadata":{"Uri":"http://localhost:10000/acct/input/a.b.c"}}`,
			BlobInfo{Name: "input/a.b.c", URI: "http://localhost:10000/acct/input/a.b.c", Content: []byte("x"),
				Properties: BlobProperties{Length: 1}, Params: map[string]string{"name": "a.b", "ext": "c"}}},
		{"only the URI, virtual host style",
			`{"Data":{"blob":null},"Metadata":{"Uri":"https://acct.blob.core.windows.net/input/z.json"}}`,
			BlobInfo{Name: "input/z.json", URI: "https://acct.blob.core.windows.net/input/z.json",
				Params: map[string]string{"name": "z", "ext": "json"}}},
		{"JSON content parsed by the host, properties serialized twice",
			`{"Data":{"blob":{"k":[1,2]}},"Metadata":{"name":"n","ext":"json","Properties":"{\"ContentLength\":12,\"LastModified\":\"Thu, 01 Jan 2026 09:30:00 GMT\"}"}}`,
			BlobInfo{Name: "input/n.json", Content: []byte(`{"k":[1,2]}`),
				Properties: BlobProperties{Length: 12, LastModified: time.Date(2026, 1, 1, 9, 30, 0, 0, time.UTC)},
				Params:     map[string]string{"name": "n", "ext": "json"}}},
	} {
		a := w.post("split", tc.payload)
		got.mu.Lock()
		b := got.blob
		got.mu.Unlock()
		if a.Status != 200 || !reflect.DeepEqual(b, tc.want) {
			t.Errorf("%s: %d %s\n%+v\nwant\n%+v", tc.name, a.Status, a.raw, b, tc.want)
		}
	}

	// Base64 that is not valid is taken as the content itself.
	a = w.post("process_image", `{"Data":{"blob":"not base64!"},"Metadata":{"name":"x"}}`)
	got.mu.Lock()
	b = got.blob
	got.mu.Unlock()
	if a.Status != 200 || string(b.Content) != "not base64!" || b.Name != "images/x" {
		t.Errorf("raw content: %d %+v", a.Status, b)
	}
	a = w.post("process_image", `{"Data":{"blob":"x"},"Metadata":{"Properties":{"LastModified":"soon"}}}`)
	if a.Status != 400 || a.Error.Code != "BadPayload" || !strings.Contains(a.Error.Message, "LastModified") {
		t.Errorf("bad properties: %d %s", a.Status, a.raw)
	}
}

func TestBlobInput(t *testing.T) {
	app := NewApp()
	type result struct {
		content []byte
		err     error
		text    string
	}
	var mu sync.Mutex
	var res result
	app.Queue("resize", "resize-requests", func(ctx *Context, msg QueueMessage) error {
		var r result
		r.content, r.err = ctx.BlobInput("src")
		if b, err := ctx.BlobInput("notes"); err == nil {
			r.text = string(b)
		}
		var body string
		if err := ctx.Input("msg", &body); err == nil {
			r.text += "|" + body
		}
		mu.Lock()
		res = r
		mu.Unlock()
		return nil
	}, BlobInput("src", "images/{Name}"), BlobInput("notes", "notes/{Name}.txt", DataType("string")))
	w := startWorker(t, app)

	get := func(payload string) result {
		t.Helper()
		if a := w.post("resize", payload); a.Status != 200 {
			t.Fatalf("%d %s", a.Status, a.raw)
		}
		mu.Lock()
		defer mu.Unlock()
		return res
	}
	r := get(`{"Data":{"msg":"{\"Name\":\"a.png\"}","src":"iVBORw0KGgo=","notes":"dGV4dA=="}}`)
	if r.err != nil || !bytes.Equal(r.content, []byte("\x89PNG\r\n\x1a\n")) || r.text != `dGV4dA==|{"Name":"a.png"}` {
		t.Errorf("binary input: %+v", r)
	}
	r = get(`{"Data":{"msg":"{}","src":null,"notes":null}}`)
	if !errors.Is(r.err, ErrBlobNotFound) || !strings.Contains(r.err.Error(), `blob input "src"`) || r.text != "|{}" {
		t.Errorf("missing blob: %+v", r)
	}
	r = get(`{"Data":{"msg":"{}"}}`)
	if !errors.Is(r.err, ErrBlobNotFound) {
		t.Errorf("input left out: %+v", r)
	}

	ctx := &Context{Invocation: &Invocation{Data: map[string]json.RawMessage{}}}
	if _, err := ctx.BlobInput("nope"); err == nil || errors.Is(err, ErrBlobNotFound) || !strings.Contains(err.Error(), "no input named") {
		t.Errorf("undeclared input: %v", err)
	}
	if err := (&Context{}).Input("x", new(string)); err == nil {
		t.Error("Input on an empty context")
	}
}

func TestTriggerRegistrationPanics(t *testing.T) {
	timer := func(ctx *Context, ti TimerInfo) error { return nil }
	queue := func(ctx *Context, m QueueMessage) error { return nil }
	blob := func(ctx *Context, b BlobInfo) error { return nil }
	for _, tc := range []struct {
		name string
		reg  func(a *App)
		want string
	}{
		{"empty schedule", func(a *App) { a.Timer("t", " ", timer) }, "empty schedule"},
		{"nil timer handler", func(a *App) { a.Timer("t", "0 * * * * *", nil) }, "nil handler"},
		{"RunOnStartup on a queue", func(a *App) { a.Queue("q", "orders", queue, RunOnStartup()) }, "RunOnStartup applies to timer functions only"},
		{"UseMonitor on a blob", func(a *App) { a.Blob("b", "c/{n}", blob, UseMonitor(true)) }, "UseMonitor applies to timer"},
		{"upper-case queue", func(a *App) { a.Queue("q", "Orders", queue) }, "not valid"},
		{"short queue", func(a *App) { a.Queue("q", "ab", queue) }, "not valid"},
		{"double hyphen", func(a *App) { a.Queue("q", "a--b", queue) }, "not valid"},
		{"nil queue handler", func(a *App) { a.Queue("q", "orders", nil) }, "nil handler"},
		{"bad output queue", func(a *App) { a.Queue("q", "orders", queue, QueueOutput("out", "Out_Q")) }, `output "out": queue name`},
		{"empty blob path", func(a *App) { a.Blob("b", "", blob) }, "no blob path"},
		{"rooted blob path", func(a *App) { a.Blob("b", "/images/{name}", blob) }, "starts with /"},
		{"nil blob handler", func(a *App) { a.Blob("b", "c/{n}", nil) }, "nil handler"},
		{"bad input path", func(a *App) { a.Blob("b", "c/{n}", blob, BlobInput("in", "")) }, `input "in": no blob path`},
		{"bad dataType", func(a *App) { a.Blob("b", "c/{n}", blob, DataType("bytes")) }, "not one of binary, string, stream"},
		{"bad output dataType", func(a *App) { a.Blob("b", "c/{n}", blob, BlobOutput("o", "d/{n}", DataType("text"))) }, `out binding "o": dataType`},
		{"reserved prop", func(a *App) { a.Blob("b", "c/{n}", blob, Prop{Key: "name", Value: "x"}) }, "set by the binding"},
		{"trigger name clash", func(a *App) {
			a.Queue("q", "orders", queue, QueueOutput("out", "o-q"), TriggerName("out"))
		}, "two bindings"},
		{"output clashes with renamed trigger", func(a *App) {
			a.Queue("q", "orders", queue, TriggerName("order"), QueueOutput("order", "o-q"))
		}, "two bindings"},
		{"bad trigger name", func(a *App) { a.Timer("t", "0 * * * * *", timer, TriggerName("my-timer")) }, "not valid"},
		{"$return trigger name", func(a *App) { a.Timer("t", "0 * * * * *", timer, TriggerName(ReturnName)) }, "not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				p := recover()
				if s, _ := p.(string); !strings.HasPrefix(s, "fn: ") || !strings.Contains(s, tc.want) {
					t.Errorf("panic %v; want one containing %q", p, tc.want)
				}
			}()
			tc.reg(NewApp())
		})
	}
	// Expressions are left to the host.
	NewApp().Queue("q", "%OrdersQueue%", queue, QueueOutput("out", "{queueName}-done"))
}

func TestPayloadHelpers(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-03-29T01:30:00+02:00":     time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC),
		"2026-03-29T01:30:00.5Z":        time.Date(2026, 3, 29, 1, 30, 0, 5e8, time.UTC),
		"2026-03-29T01:30:00.1234567":   time.Date(2026, 3, 29, 1, 30, 0, 123456700, time.UTC),
		"Sun, 29 Mar 2026 01:30:00 GMT": time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC),
		"":                              {},
	} {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseTime("tomorrow"); err == nil {
		t.Error("parseTime(tomorrow) succeeded")
	}

	for _, tc := range []struct {
		pattern, path string
		want          map[string]string
	}{
		{"images/{name}", "images/a/b.png", map[string]string{"name": "a/b.png"}},
		{"input/{name}.{ext}", "input/a.b.c", map[string]string{"name": "a.b", "ext": "c"}},
		{"{container}/{blob}", "c1/x/y", map[string]string{"container": "c1/x", "blob": "y"}},
		{"images/{name}", "thumbs/a.png", nil},
		{"a+b/{n}", "a+b/1", map[string]string{"n": "1"}},
	} {
		if got := matchPath(tc.pattern, tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("matchPath(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
	if got := fillPath("input/{name}.{ext}", map[string]string{"name": "a", "ext": "b"}); got != "input/a.b" {
		t.Errorf("fillPath = %q", got)
	}

	for _, tc := range []struct {
		raw, dataType string
		want          string
		found         bool
	}{
		{`"aGk="`, "binary", "hi", true},
		{`"aGk"`, "binary", "aGk", true}, // not padded: not base64
		{`"aGk="`, "stream", "hi", true},
		{`"aGk="`, "string", "aGk=", true},
		{`"aGk="`, "", "aGk=", true},
		{`"not base64"`, "binary", "not base64", true},
		{`{"a": 1}`, "binary", `{"a": 1}`, true},
		{`12`, "string", `12`, true},
		{`null`, "binary", "", false},
		{``, "binary", "", false},
	} {
		got, found, err := decodeContent(json.RawMessage(tc.raw), tc.dataType)
		if err != nil || string(got) != tc.want || found != tc.found {
			t.Errorf("decodeContent(%s, %q) = %q, %v, %v", tc.raw, tc.dataType, got, found, err)
		}
	}
	if _, _, err := decodeContent(json.RawMessage(`{bad`), ""); err == nil {
		t.Error("decodeContent of bad JSON succeeded")
	}
}

// FuzzTriggerPayloads feeds arbitrary payloads to the timer, queue, blob
// and Event Grid decoders: they must never panic, times come out in UTC, a
// blob with content has a length, and an event survives a round trip
// through its JSON.
func FuzzTriggerPayloads(f *testing.F) {
	for _, s := range []string{
		queuePayload, blobPayload, cosmosPayload, `{"Data":{"documents":"[{\"id\":1},null]"}}`,
		`{"Data":{"t":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-01-01T10:00:00+00:00"},"IsPastDue":true}}}`,
		`{"Data":{"t":"{\"IsPastDue\":true}","msg":{"a":1},"blob":null},"Metadata":{"BlobTrigger":"images/a.b","Properties":"{}"}}`,
		`{"Data":{"msg":"AAEC"},"Metadata":{"DequeueCount":"2","InsertionTime":"Thu, 01 Jan 2026 00:00:00 GMT","name":{"x":1}}}`,
		`{"Data":{"event":{"id":"1","topic":"/t","subject":"s","eventType":"T","eventTime":"2026-01-01T00:00:00+01:00","data":{"a":[1]},"dataVersion":"","metadataVersion":"1"}}}`,
		`{"Data":{"event":"{\"specversion\":\"1.0\",\"id\":\"c\",\"source\":\"/s\",\"type\":\"t\",\"time\":\"2026-01-01T00:00:00Z\",\"data\":\"x\"}"}}`,
	} {
		f.Add([]byte(s), "images/{name}.{ext}", "binary")
	}
	f.Fuzz(func(t *testing.T, body []byte, pattern, dataType string) {
		inv, err := decodeInvocation(body)
		if err != nil {
			return
		}
		if ti, err := decodeTimer(inv.Data["t"]); err == nil && ti.ScheduleStatus != nil {
			for _, tm := range []time.Time{ti.ScheduleStatus.Last, ti.ScheduleStatus.Next, ti.ScheduleStatus.LastUpdated} {
				if tm.Location() != time.UTC {
					t.Fatalf("time %v not in UTC", tm)
				}
			}
		}
		trigger := &Binding{Name: "msg", Props: map[string]any{"dataType": dataType}}
		if m, err := decodeQueueMessage(inv, trigger); err == nil {
			m.JSON(new(any))
		}
		if ev, err := decodeEventGridEvent(inv, &Binding{Name: "event"}); err == nil {
			if ev.EventTime.Location() != time.UTC {
				t.Fatalf("EventTime %v not in UTC", ev.EventTime)
			}
			if b, err := json.Marshal(ev); err == nil {
				var back EventGridEvent
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatalf("%s does not read back: %v", b, err)
				}
				if back.ID != ev.ID || back.Topic != ev.Topic || back.EventType != ev.EventType || !back.EventTime.Equal(ev.EventTime) {
					t.Fatalf("round trip of %+v gave %+v", ev, back)
				}
			}
		}
		if docs, err := decodeDocuments(inv, &Binding{Name: "documents"}); err == nil {
			if err := docs.Decode(new([]any)); err != nil {
				t.Fatalf("documents %s do not decode: %v", docs, err)
			}
		}
		trigger = &Binding{Name: "blob", Props: map[string]any{"path": pattern, "dataType": dataType}}
		b, err := decodeBlob(inv, trigger)
		if err != nil {
			return
		}
		if b.Properties.LastModified.Location() != time.UTC {
			t.Fatalf("LastModified %v not in UTC", b.Properties.LastModified)
		}
		if len(b.Content) > 0 && b.Properties.Length == 0 {
			t.Fatalf("content of %d bytes with no length", len(b.Content))
		}
	})
}
