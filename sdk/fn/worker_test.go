package fn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a goroutine-safe stand-in for standard error.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// worker is a running worker on loopback, driven as the host drives it.
type worker struct {
	t      *testing.T
	url    string
	stderr *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

func startWorker(t *testing.T, a *App) *worker {
	t.Helper()
	stderr := &syncBuffer{}
	a.errOut = stderr
	a.log = slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{t: t, url: "http://" + ln.Addr().String(), stderr: stderr, stop: cancel, done: make(chan error, 1)}
	go func() { w.done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-w.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return w
}

// answer is the worker's JSON answer.
type answer struct {
	Status      int         `json:"-"`
	Header      http.Header `json:"-"`
	Outputs     map[string]json.RawMessage
	Logs        []string
	ReturnValue json.RawMessage
	Error       *errorBody `json:"error"`
	raw         []byte
}

// post invokes a function as the host does (§1.2): POST /{function} with
// the payload and the host's headers.
func (w *worker) post(function, payload string) *answer {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.url+"/"+function, strings.NewReader(payload))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", "0f8fad5b-d9cb-469f-a165-70867728950e")
	req.Header.Set("X-Azure-Functions-HostVersion", "4.0.0")
	req.Header.Set("User-Agent", "Azure-Functions-Host/4.0.0")
	return w.do(req)
}

func (w *worker) do(req *http.Request) *answer {
	w.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	a := &answer{Status: res.StatusCode, Header: res.Header, raw: body}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, a); err != nil {
			w.t.Fatalf("answer is not JSON: %v\n%s", err, body)
		}
	}
	return a
}

// httpOut decodes an "http" output value.
func httpOut(t *testing.T, raw json.RawMessage) httpResponseData {
	t.Helper()
	var d httpResponseData
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("http output %s: %v", raw, err)
	}
	return d
}

// httpPayload builds the host's HTTP trigger payload (§1.2).
func httpPayload(method, url string, query, headers, params map[string]any, body any) string {
	req := map[string]any{"Url": url, "Method": method, "Query": query, "Headers": headers, "Params": params}
	if body != nil {
		req["Body"] = body
	}
	b, _ := json.Marshal(map[string]any{
		"Data":     map[string]any{"req": req},
		"Metadata": map[string]any{"Query": query, "Headers": headers, "sys": map[string]any{"MethodName": "hello", "UtcNow": "2026-01-01T00:00:00Z", "RandGuid": "3c7b"}},
	})
	return string(b)
}

func helloApp() *App {
	app := NewApp()
	app.HTTP("hello", Route("hello"), AuthLevel(Anonymous), Methods("GET", "POST"), func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) {
		name := req.Query.Get("name")
		if name == "" {
			name = "World"
		}
		return JSON(200, map[string]string{"message": "Hello, " + name + "!"}), nil
	})
	return app
}

func TestHTTPHello(t *testing.T) {
	w := startWorker(t, helloApp())
	for _, tc := range []struct {
		name, payload, want string
	}{
		{"query object", httpPayload("GET", "http://localhost:7071/api/hello?name=Azure", map[string]any{"name": "Azure"}, map[string]any{"Accept": []string{"*/*"}}, map[string]any{}, nil), "Hello, Azure!"},
		{"query as JSON string", `{"Data":{"req":{"Url":"http://localhost:7071/api/hello?name=Azure","Method":"GET","Query":"{\"name\":\"Azure\"}","Headers":{},"Params":{},"Body":""}},"Metadata":{}}`, "Hello, Azure!"},
		{"query array values", `{"Data":{"req":{"Url":"http://x/api/hello","Method":"GET","Query":{"name":["Ada","Bob"]}}},"Metadata":{}}`, "Hello, Ada!"},
		{"query only in Url", `{"Data":{"req":{"Url":"http://x/api/hello?name=Url","Method":"GET"}}}`, "Hello, Url!"},
		{"no query", httpPayload("GET", "http://localhost:7071/api/hello", map[string]any{}, map[string]any{}, map[string]any{}, nil), "Hello, World!"},
		{"empty query string", `{"Data":{"req":{"Url":"http://x/api/hello","Method":"GET","Query":"{}"}}}`, "Hello, World!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := w.post("hello", tc.payload)
			if a.Status != 200 {
				t.Fatalf("status %d: %s", a.Status, a.raw)
			}
			res := httpOut(t, a.Outputs["res"])
			if res.StatusCode != 200 || res.Headers["Content-Type"] != "application/json; charset=utf-8" {
				t.Errorf("res = %+v", res)
			}
			var body map[string]string
			if err := json.Unmarshal([]byte(res.Body), &body); err != nil || body["message"] != tc.want {
				t.Errorf("body %q, want message %q (%v)", res.Body, tc.want, err)
			}
			if string(a.ReturnValue) != "null" || a.Logs == nil {
				t.Errorf("ReturnValue %s Logs %v; want null and []", a.ReturnValue, a.Logs)
			}
		})
	}
}

func TestHTTPRequestAndResponse(t *testing.T) {
	app := NewApp()
	var got *HTTPRequest
	app.HTTP("orders", Route("orders/{category:alpha}/{id:int?}"), Methods("post"), func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) {
		got = req
		var order struct {
			Item string `json:"item"`
			Qty  int    `json:"qty"`
		}
		if err := req.JSON(&order); err != nil {
			return Text(400, err.Error()), nil
		}
		res := JSON(201, map[string]any{
			"id": req.Params["id"], "category": req.Params["category"], "tenant": req.Headers.Get("X-Tenant"),
			"item": order.Item, "qty": order.Qty, "invocation": ctx.InvocationID, "path": req.URL.Path,
		}).WithHeader("Location", "/api/orders/books/"+req.Params["id"])
		res.Headers.Add("X-Multi", "a")
		res.Headers.Add("X-Multi", "b")
		return res, nil
	})
	w := startWorker(t, app)

	a := w.post("orders", httpPayload("POST", "http://localhost:7071/api/orders/books/7?debug=1",
		map[string]any{"debug": "1"},
		map[string]any{"Content-Type": []string{"application/json"}, "X-Tenant": []string{"contoso"}},
		map[string]any{"category": "books", "id": "7"},
		`{"item":"lapis","qty":3}`))
	if a.Status != 200 {
		t.Fatalf("status %d: %s", a.Status, a.raw)
	}
	res := httpOut(t, a.Outputs["res"])
	if res.StatusCode != 201 {
		t.Errorf("statusCode %d, want 201", res.StatusCode)
	}
	if res.Headers["Location"] != "/api/orders/books/7" {
		t.Errorf("Location %v", res.Headers["Location"])
	}
	if multi, _ := res.Headers["X-Multi"].([]any); len(multi) != 2 {
		t.Errorf("X-Multi %v, want two values", res.Headers["X-Multi"])
	}
	var body map[string]any
	json.Unmarshal([]byte(res.Body), &body)
	want := map[string]any{"id": "7", "category": "books", "tenant": "contoso", "item": "lapis", "qty": 3.0,
		"invocation": "0f8fad5b-d9cb-469f-a165-70867728950e", "path": "/api/orders/books/7"}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body %v\nwant %v", body, want)
	}
	if got.Method != "POST" || got.Query.Get("debug") != "1" || got.URL.Host != "localhost:7071" {
		t.Errorf("request %+v", got)
	}

	// A body that is not JSON: the function answers 400 in its http output;
	// the invocation itself succeeded.
	a = w.post("orders", httpPayload("POST", "http://x/api/orders/books/7", nil, nil, map[string]any{"id": "7"}, "not json"))
	if res := httpOut(t, a.Outputs["res"]); a.Status != 200 || res.StatusCode != 400 || !strings.Contains(res.Body, "not the JSON expected") {
		t.Errorf("bad body: %d %+v", a.Status, res)
	}
}

func TestHTTPBinaryBodies(t *testing.T) {
	app := NewApp()
	app.HTTP("echo", func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) {
		return Bytes(200, "application/octet-stream", append([]byte{0xff, 0xfe}, req.Body...)), nil
	})
	w := startWorker(t, app)
	in := []byte{0x00, 0x01, 0x80}
	a := w.post("echo", httpPayload("POST", "http://x/api/echo", nil,
		map[string]any{"Content-Type": "application/octet-stream"}, nil, base64.StdEncoding.EncodeToString(in)))
	res := httpOut(t, a.Outputs["res"])
	if res.BodyEncoding != "base64" {
		t.Fatalf("bodyEncoding %q, want base64 (%s)", res.BodyEncoding, a.raw)
	}
	got, _ := base64.StdEncoding.DecodeString(res.Body)
	if want := []byte{0xff, 0xfe, 0x00, 0x01, 0x80}; !bytes.Equal(got, want) {
		t.Errorf("body % x, want % x", got, want)
	}
}

func TestHTTPReturnAndNoContent(t *testing.T) {
	app := NewApp()
	app.HTTP("ret", ResponseName(ReturnName), func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) {
		return Text(202, "accepted"), nil
	})
	app.HTTP("empty", func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) { return nil, nil })
	app.HTTP("badjson", func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) {
		return JSON(200, map[string]any{"c": make(chan int)}), nil
	})
	w := startWorker(t, app)

	a := w.post("ret", httpPayload("GET", "http://x/api/ret", nil, nil, nil, nil))
	if len(a.Outputs) != 0 {
		t.Errorf("Outputs %v, want none", a.Outputs)
	}
	if res := httpOut(t, a.ReturnValue); res.StatusCode != 202 || res.Body != "accepted" || res.Headers["Content-Type"] != "text/plain; charset=utf-8" {
		t.Errorf("ReturnValue %s", a.ReturnValue)
	}
	a = w.post("empty", httpPayload("GET", "http://x/api/empty", nil, nil, nil, nil))
	if res := httpOut(t, a.Outputs["res"]); res.StatusCode != 204 {
		t.Errorf("nil response: %s", a.raw)
	}
	a = w.post("badjson", httpPayload("GET", "http://x/api/badjson", nil, nil, nil, nil))
	if a.Status != 500 || a.Error == nil || !strings.Contains(a.Error.Message, "fn.JSON") {
		t.Errorf("unencodable JSON: %d %s", a.Status, a.raw)
	}
}

func queueApp() *App {
	app := NewApp()
	app.Function("process_order",
		Trigger{Type: "queueTrigger", Name: "msg", Props: map[string]any{"queueName": "orders", "connection": "AzureWebJobsStorage"}},
		func(ctx *Context, inv *Invocation) (any, error) {
			var body string
			if err := inv.Decode("msg", &body); err != nil {
				return nil, err
			}
			var order map[string]any
			if err := json.Unmarshal([]byte(body), &order); err != nil {
				return nil, fmt.Errorf("order is not JSON: %w", err)
			}
			var n int
			if err := inv.DecodeMetadata("dequeuecount", &n); err != nil {
				return nil, err
			}
			ctx.Log.Info("processing order", "id", order["orderId"], "attempt", n)
			ctx.Log.With("queue", "orders").WithGroup("order").Warn("slow", "ms", 1500, "note", "two words")
			ctx.Logf("done with %v", order["orderId"])
			order["status"] = "processed"
			ctx.SetOutput("outputDoc", order)
			ctx.SetOutput("audit", []byte("raw bytes"))
			return map[string]any{"ok": true}, nil
		},
		Output{Type: "cosmosDB", Name: "outputDoc", Props: map[string]any{"databaseName": "myappdb", "containerName": "processed-orders", "connection": "CosmosDBConnection"}},
		Output{Type: "queue", Name: "audit", Props: map[string]any{"queueName": "audit"}},
		Output{Type: "queue", Name: ReturnName, Props: map[string]any{"queueName": "done"}},
	)
	return app
}

// The queue example payload of §1.2.
const queuePayload = `{"Data":{"msg":"{\"orderId\":\"12345\"}"},"Metadata":{"DequeueCount":1,"ExpirationTime":"2026-01-08T00:00:00+00:00","Id":"5f2e","InsertionTime":"2026-01-01T00:00:00+00:00","NextVisibleTime":"2026-01-01T00:10:00+00:00","PopReceipt":"AgAAAAMAAAA","sys":{"MethodName":"process_order","UtcNow":"2026-01-01T00:00:01Z","RandGuid":"8d3f"}}}`

func TestGenericTriggerOutputsAndLogs(t *testing.T) {
	w := startWorker(t, queueApp())
	a := w.post("process_order", queuePayload)
	if a.Status != 200 {
		t.Fatalf("status %d: %s", a.Status, a.raw)
	}
	var doc map[string]any
	json.Unmarshal(a.Outputs["outputDoc"], &doc)
	if doc["orderId"] != "12345" || doc["status"] != "processed" {
		t.Errorf("outputDoc %s", a.Outputs["outputDoc"])
	}
	if got := string(a.Outputs["audit"]); got != `"cmF3IGJ5dGVz"` {
		t.Errorf("audit %s, want base64 of the bytes", got)
	}
	if string(a.ReturnValue) != `{"ok":true}` {
		t.Errorf("ReturnValue %s", a.ReturnValue)
	}
	wantLogs := []string{
		"processing order id=12345 attempt=1",
		`WARN: slow queue=orders order.ms=1500 order.note="two words"`,
		"done with 12345",
	}
	if !reflect.DeepEqual(a.Logs, wantLogs) {
		t.Errorf("Logs %q\nwant %q", a.Logs, wantLogs)
	}
	if s := w.stderr.String(); strings.Contains(s, "processing order") {
		t.Errorf("invocation logs reached stderr by default:\n%s", s)
	}
}

func TestLogToStderr(t *testing.T) {
	app := NewApp(LogToStderr())
	var late *Context
	app.Function("tick", Trigger{Type: "timerTrigger", Name: "timer", Props: map[string]any{"schedule": "0 */5 * * * *"}},
		func(ctx *Context, inv *Invocation) (any, error) {
			ctx.Logf("tick")
			late = ctx
			return nil, nil
		})
	w := startWorker(t, app)
	a := w.post("tick", `{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"IsPastDue":false}},"Metadata":{}}`)
	if !reflect.DeepEqual(a.Logs, []string{"tick"}) {
		t.Errorf("Logs %q", a.Logs)
	}
	late.Logf("after return")
	late.SetOutput("ignored", 1)
	s := w.stderr.String()
	if !strings.Contains(s, "[tick 0f8fad5b-d9cb-469f-a165-70867728950e] tick\n") || !strings.Contains(s, "] after return\n") {
		t.Errorf("stderr:\n%s", s)
	}
}

func TestFailures(t *testing.T) {
	app := NewApp()
	trig := Trigger{Type: "queueTrigger", Name: "msg", Props: map[string]any{"queueName": "q"}}
	app.Function("boom", trig, func(ctx *Context, inv *Invocation) (any, error) {
		ctx.Logf("about to panic")
		var m map[string]int
		m["x"] = 1 // a runtime panic
		return nil, nil
	})
	app.Function("fails", trig, func(ctx *Context, inv *Invocation) (any, error) {
		ctx.Logf("trying")
		return nil, errors.New("database unavailable")
	})
	app.Function("typo", trig, func(ctx *Context, inv *Invocation) (any, error) {
		ctx.SetOutput("outMsg", "x")
		return nil, nil
	}, Output{Type: "queue", Name: "outMessage", Props: map[string]any{"queueName": "out"}})
	app.HTTP("httpboom", func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) { panic("kaput") })
	w := startWorker(t, app)

	for _, tc := range []struct {
		function, payload string
		status            int
		code, message     string
		logs              []string
	}{
		{"boom", `{"Data":{"msg":"x"}}`, 500, "FunctionPanicked", `function "boom" panicked: assignment to entry in nil map`, []string{"about to panic"}},
		{"httpboom", httpPayload("GET", "http://x/api/httpboom", nil, nil, nil, nil), 500, "FunctionPanicked", "kaput", []string{}},
		{"fails", `{"Data":{"msg":"x"}}`, 500, "FunctionFailed", `function "fails" failed: database unavailable`, []string{"trying"}},
		{"typo", `{"Data":{"msg":"x"}}`, 500, "FunctionFailed", `output "outMsg" is not declared; declared outputs: outMessage`, []string{}},
		{"fails", `[1,2]`, 400, "BadPayload", "not a JSON object", []string{}},
		{"fails", `{"Data":[1]}`, 400, "BadPayload", "is not {", []string{}},
		{"httpboom", `{"Data":{"req":{"Url":"::bad","Method":"GET"}}}`, 400, "BadPayload", "Url", []string{}},
		{"httpboom", `{"Data":{"a":1,"b":2}}`, 400, "BadPayload", `no "req"`, []string{}},
	} {
		t.Run(tc.function+" "+tc.code, func(t *testing.T) {
			a := w.post(tc.function, tc.payload)
			if a.Status != tc.status || a.Error == nil || a.Error.Code != tc.code || !strings.Contains(a.Error.Message, tc.message) {
				t.Fatalf("got %d %s; want %d %s containing %q", a.Status, a.raw, tc.status, tc.code, tc.message)
			}
			if a.Error.Function != tc.function || a.Error.InvocationID == "" {
				t.Errorf("error names function %q invocation %q", a.Error.Function, a.Error.InvocationID)
			}
			if !reflect.DeepEqual(a.Logs, tc.logs) {
				t.Errorf("Logs %q, want %q", a.Logs, tc.logs)
			}
			if tc.code == "FunctionPanicked" && !strings.Contains(a.Error.Stack, "worker_test.go") {
				t.Errorf("panic stack does not show the function:\n%s", a.Error.Stack)
			}
		})
	}
	// The worker survived all of that.
	if a := w.post("fails", `{"Data":{"msg":"x"}}`); a.Status != 500 {
		t.Errorf("after failures: %d", a.Status)
	}
	if !strings.Contains(w.stderr.String(), "assignment to entry in nil map") {
		t.Errorf("panic not on stderr:\n%s", w.stderr.String())
	}
}

func TestRoutingEndpoints(t *testing.T) {
	w := startWorker(t, queueApp())
	// Readiness: the host polls GET /.
	req, _ := http.NewRequest("GET", w.url+"/", nil)
	if a := w.do(req); a.Status != 200 {
		t.Errorf("GET / = %d", a.Status)
	}
	a := w.post("nope", `{"Data":{}}`)
	if a.Status != 404 || a.Error.Code != "FunctionNotFound" || !strings.Contains(a.Error.Message, "process_order") {
		t.Errorf("unknown function: %d %s", a.Status, a.raw)
	}
	// Function names are case-insensitive.
	if a := w.post("PROCESS_ORDER", queuePayload); a.Status != 200 {
		t.Errorf("case-insensitive name: %d %s", a.Status, a.raw)
	}
	req, _ = http.NewRequest("GET", w.url+"/process_order", nil)
	if a := w.do(req); a.Status != 404 {
		t.Errorf("GET /process_order = %d", a.Status)
	}
	req, _ = http.NewRequest("POST", w.url+DescribePath, nil)
	if a := w.do(req); a.Status != 405 {
		t.Errorf("POST describe = %d", a.Status)
	}
}

func TestForwardedHTTP(t *testing.T) {
	app := helloApp()
	app.HTTPHandler("product", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := FromRequest(r)
		ctx.Logf("forwarded lookup")
		w.Header().Set("X-Function", ctx.FunctionName)
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprintf(w, "%s product %s/%s", r.Method, r.PathValue("category"), r.PathValue("id"))
	}), Route("products/{category:alpha}/{id:int?}"), Methods("GET"))
	app.HTTPHandler("panics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("raw kaput") }))
	w := startWorker(t, app)

	get := func(path string, header map[string]string) *answer {
		req, _ := http.NewRequest("GET", w.url+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		return w.do(req)
	}
	for _, tc := range []struct {
		path   string
		header map[string]string
		status int
		body   string
	}{
		{"/api/products/books/7", map[string]string{HeaderFunction: "product"}, 418, "GET product books/7"},
		{"/api/products/books/7", nil, 418, "GET product books/7"},
		{"/api/products/books", nil, 418, "GET product books/"},
		{"/api/products/7/books", nil, 404, ""},                        // constraints
		{"/api/hello?name=Raw", nil, 200, `{"message":"Hello, Raw!"}`}, // typed function, forwarded
		{"/api/hello?name=Hdr", map[string]string{HeaderFunction: "hello"}, 200, `{"message":"Hello, Hdr!"}`},
		{"/api/anything", map[string]string{HeaderFunction: "process_order"}, 404, ""},
		{"/api/panics", nil, 500, `"code":"FunctionPanicked"`},
	} {
		a := get(tc.path, tc.header)
		if a.Status != tc.status || !strings.Contains(string(a.raw), tc.body) {
			t.Errorf("GET %s %v = %d %s; want %d %s", tc.path, tc.header, a.Status, a.raw, tc.status, tc.body)
		}
	}
	if !strings.Contains(w.stderr.String(), "] forwarded lookup\n") {
		t.Errorf("forwarded logs not on stderr:\n%s", w.stderr.String())
	}
	// Methods are enforced for requests matched by route.
	req, _ := http.NewRequest("DELETE", w.url+"/api/products/books/7", nil)
	if a := w.do(req); a.Status != 404 {
		t.Errorf("DELETE = %d", a.Status)
	}
}

func TestHTTPHandlerPayloadMode(t *testing.T) {
	app := NewApp()
	app.HTTPHandler("upload", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{
			"len": len(b), "name": r.PathValue("name"), "ct": r.Header.Get("Content-Type"),
			"q": r.URL.Query().Get("q"), "host": r.Host, "uri": r.RequestURI,
		})
	}), Route("upload/{name}"))
	w := startWorker(t, app)
	a := w.post("upload", httpPayload("PUT", "http://localhost:7071/api/upload/cat.png?q=1", map[string]any{"q": "1"},
		map[string]any{"Content-Type": []string{"text/plain"}}, map[string]any{"name": "cat.png"}, "meow"))
	res := httpOut(t, a.Outputs["res"])
	var body map[string]any
	json.Unmarshal([]byte(res.Body), &body)
	want := map[string]any{"len": 4.0, "name": "cat.png", "ct": "text/plain", "q": "1", "host": "localhost:7071", "uri": "/api/upload/cat.png?q=1"}
	if res.StatusCode != 201 || !reflect.DeepEqual(body, want) {
		t.Errorf("res %+v\nbody %v\nwant %v", res, body, want)
	}
}

func TestGracefulShutdown(t *testing.T) {
	app := NewApp()
	started, release := make(chan struct{}), make(chan struct{})
	app.Function("slow", Trigger{Type: "queueTrigger", Name: "msg"}, func(ctx *Context, inv *Invocation) (any, error) {
		close(started)
		<-release
		return "finished", ctx.Err()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app.errOut = io.Discard
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, ln) }()

	answered := make(chan string, 1)
	go func() {
		res, err := http.Post("http://"+ln.Addr().String()+"/slow", "application/json", strings.NewReader(`{"Data":{"msg":"x"}}`))
		if err != nil {
			answered <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		answered <- fmt.Sprintf("%d %s", res.StatusCode, b)
	}()
	<-started
	cancel() // SIGTERM
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with an invocation in flight", err)
	default:
	}
	close(release)
	if got := <-answered; !strings.HasPrefix(got, "200 ") || !strings.Contains(got, `"ReturnValue":"finished"`) {
		t.Errorf("in-flight invocation got %s", got)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("still listening after shutdown")
	}
}

func TestListenAddr(t *testing.T) {
	t.Setenv(EnvListen, "")
	t.Setenv(EnvSocket, "")
	t.Setenv(EnvPort, "")
	t.Setenv("FUNCTIONS_HTTPWORKER_PORT", "")
	if _, _, err := listenAddr(); err == nil || !strings.Contains(err.Error(), "FUNCTIONS_CUSTOMHANDLER_PORT is not set") {
		t.Errorf("unset: %v", err)
	}
	t.Setenv(EnvPort, "80x")
	if _, _, err := listenAddr(); err == nil || !strings.Contains(err.Error(), "not a port") {
		t.Errorf("bad port: %v", err)
	}
	t.Setenv(EnvPort, "7123")
	if network, addr, err := listenAddr(); network != "tcp" || addr != "127.0.0.1:7123" || err != nil {
		t.Errorf("port: %s %q %v", network, addr, err)
	}
	t.Setenv(EnvSocket, "/tmp/w.sock")
	if network, addr, err := listenAddr(); network != "unix" || addr != "/tmp/w.sock" || err != nil {
		t.Errorf("socket: %s %q %v", network, addr, err)
	}
	t.Setenv(EnvListen, "127.0.0.1:9000")
	if network, addr, _ := listenAddr(); network != "tcp" || addr != "127.0.0.1:9000" {
		t.Errorf("LAPIS_LISTEN: %s %q", network, addr)
	}
}

// seedApp is the seed's function_app.py in Go, used for the golden
// description.
func seedApp() *App {
	app := NewApp()
	nop := func(ctx *Context, inv *Invocation) (any, error) { return nil, nil }
	app.HTTP("hello", Route("hello"), AuthLevel(Anonymous), Methods("GET", "POST"), func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) {
		return nil, nil
	})
	app.Function("cleanup_job", Trigger{Type: "timerTrigger", Name: "timer", Props: map[string]any{"schedule": "0 */5 * * * *", "runOnStartup": false}}, nop)
	app.Function("process_image", Trigger{Type: "blobTrigger", Name: "blob", Props: map[string]any{"path": "images/{name}", "connection": "AzureWebJobsStorage"}}, nop)
	app.Function("process_order", Trigger{Type: "queueTrigger", Name: "msg", Props: map[string]any{"queueName": "orders", "connection": "AzureWebJobsStorage"}}, nop,
		Output{Type: "cosmosDB", Name: "outputDoc", Props: map[string]any{"databaseName": "myappdb", "containerName": "processed-orders", "connection": "CosmosDBConnection"}})
	app.HTTPHandler("files", http.NotFoundHandler(), Route("files/{*path}"), ResponseName(ReturnName), RequestName("request"),
		Input{Type: "blob", Name: "index", Props: map[string]any{"path": "files/index.json", "dataType": "binary"}})
	return app
}

func TestDescribeGolden(t *testing.T) {
	app := seedApp()
	got := app.FunctionJSON()
	golden := filepath.Join("testdata", "describe.golden.json")
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
	// The running worker answers the same document.
	w := startWorker(t, app)
	req, _ := http.NewRequest("GET", w.url+DescribePath, nil)
	if a := w.do(req); a.Status != 200 || !bytes.Equal(a.raw, want) {
		t.Errorf("GET %s = %d\n%s", DescribePath, a.Status, a.raw)
	}
}

// TestDescribeEnv runs this test binary as a worker with LAPIS_DESCRIBE=1,
// as the host will run a Go SDK app.
func TestDescribeEnv(t *testing.T) {
	if os.Getenv("FN_TEST_WORKER") == "1" {
		seedApp().Run()
		t.Fatal("Run returned in describe mode")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDescribeEnv$")
	cmd.Env = append(os.Environ(), "FN_TEST_WORKER=1", EnvDescribe+"=1", EnvPort+"=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("worker: %v\n%s", err, out)
	}
	want, _ := os.ReadFile(filepath.Join("testdata", "describe.golden.json"))
	if !bytes.Equal(out, want) {
		t.Errorf("LAPIS_DESCRIBE output:\n%s", out)
	}

	// Without a port, Run says what to set and exits 1.
	cmd = exec.Command(os.Args[0], "-test.run=^TestDescribeEnv$")
	cmd.Env = append(os.Environ(), "FN_TEST_WORKER=1", EnvDescribe+"=", EnvPort+"=", EnvListen+"=", EnvSocket+"=", "FUNCTIONS_HTTPWORKER_PORT=")
	out, err = cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "LAPIS_LISTEN=127.0.0.1:8080") {
		t.Errorf("no port: %v\n%s", err, out)
	}
}

func TestWriteFunctionJSON(t *testing.T) {
	app := seedApp()
	dir := t.TempDir()
	if err := app.WriteFunctionJSON(dir); err != nil {
		t.Fatal(err)
	}
	d := app.Describe()
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(d.Functions) {
		t.Fatalf("%d folders, want %d", len(entries), len(d.Functions))
	}
	for _, f := range d.Functions {
		b, err := os.ReadFile(filepath.Join(dir, f.Name, "function.json"))
		if err != nil {
			t.Fatal(err)
		}
		// Parse it as a host would: plain JSON, no SDK types.
		var fj struct {
			Bindings []map[string]any `json:"bindings"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fj); err != nil {
			t.Fatalf("%s/function.json: %v", f.Name, err)
		}
		if len(fj.Bindings) != len(f.Bindings) {
			t.Fatalf("%s: %d bindings, want %d", f.Name, len(fj.Bindings), len(f.Bindings))
		}
		for i, b := range fj.Bindings {
			want, _ := json.Marshal(f.Bindings[i])
			var wm map[string]any
			json.Unmarshal(want, &wm)
			if !reflect.DeepEqual(b, wm) {
				t.Errorf("%s binding %d: %v, want %v", f.Name, i, b, wm)
			}
			for _, k := range []string{"type", "direction", "name"} {
				if s, _ := b[k].(string); s == "" {
					t.Errorf("%s binding %d has no %s", f.Name, i, k)
				}
			}
		}
		// And back into the SDK's Binding type.
		var back struct{ Bindings []Binding }
		json.Unmarshal(b, &back)
		if !reflect.DeepEqual(normalize(t, back.Bindings), normalize(t, f.Bindings)) {
			t.Errorf("%s: bindings do not round-trip", f.Name)
		}
	}
	hello, _ := os.ReadFile(filepath.Join(dir, "hello", "function.json"))
	if !strings.Contains(string(hello), `"methods": [`) || !strings.Contains(string(hello), `"authLevel": "anonymous"`) {
		t.Errorf("hello/function.json:\n%s", hello)
	}
}

func normalize(t *testing.T, bs []Binding) any {
	b, err := json.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	json.Unmarshal(b, &v)
	return v
}

func TestRegistrationPanics(t *testing.T) {
	handler := func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error) { return nil, nil }
	nop := func(ctx *Context, inv *Invocation) (any, error) { return nil, nil }
	q := Trigger{Type: "queueTrigger", Name: "msg"}
	for _, tc := range []struct {
		name string
		reg  func(a *App)
		want string
	}{
		{"duplicate", func(a *App) { a.HTTP("x", handler); a.HTTP("X", handler) }, "already registered"},
		{"bad name", func(a *App) { a.HTTP("my func", handler) }, "not valid"},
		{"no handler", func(a *App) { a.HTTP("x", Route("x")) }, "no handler given"},
		{"two handlers", func(a *App) { a.HTTP("x", handler, handler) }, "two handlers"},
		{"wrong handler type", func(a *App) { a.HTTP("x", func(req *HTTPRequest) *HTTPResponse { return nil }) }, "argument 2 has type func(*fn.HTTPRequest) *fn.HTTPResponse"},
		{"nil arg", func(a *App) { a.HTTP("x", nil, handler) }, "argument 2 is nil"},
		{"bad auth", func(a *App) { a.HTTP("x", AuthLevel("public"), handler) }, "not one of anonymous"},
		{"bad route", func(a *App) { a.HTTP("x", Route("a/{*rest}/b"), handler) }, "must be the last"},
		{"route on queue", func(a *App) { a.Function("x", q, nop, Route("x")) }, "HTTP functions only"},
		{"not a trigger", func(a *App) { a.Function("x", Trigger{Type: "queue", Name: "m"}, nop) }, `does not end in "Trigger"`},
		{"two triggers", func(a *App) { a.Function("x", q, nop, Input{Type: "blobTrigger", Name: "b"}) }, "one trigger"},
		{"binding name clash", func(a *App) { a.Function("x", q, nop, Output{Type: "queue", Name: "MSG"}) }, "two bindings"},
		{"bad binding name", func(a *App) { a.Function("x", q, nop, Output{Type: "queue", Name: "out-msg"}) }, "not valid"},
		{"$return input", func(a *App) { a.Function("x", q, nop, Input{Type: "blob", Name: "$return"}) }, "only allowed for an output"},
		{"reserved prop", func(a *App) {
			a.Function("x", q, nop, Output{Type: "queue", Name: "o", Props: map[string]any{"Name": "y"}})
		}, "set by the binding"},
		{"unencodable prop", func(a *App) {
			a.Function("x", q, nop, Output{Type: "queue", Name: "o", Props: map[string]any{"c": make(chan int)}})
		}, "json"},
		{"nil generic handler", func(a *App) { a.Function("x", q, nil) }, "nil handler"},
		{"after serving", func(a *App) { a.serving = true; a.HTTP("x", handler) }, "already serving"},
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
}

func TestShutdownTimeout(t *testing.T) {
	app := NewApp(ShutdownTimeout(time.Millisecond))
	app.errOut = io.Discard
	app.log = slog.New(slog.DiscardHandler)
	started := make(chan struct{})
	app.Function("stuck", Trigger{Type: "queueTrigger", Name: "msg"}, func(ctx *Context, inv *Invocation) (any, error) {
		close(started)
		<-ctx.Done() // cancelled when the worker gives up waiting
		return nil, ctx.Err()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, ln) }()
	go http.Post("http://"+ln.Addr().String()+"/stuck", "application/json", strings.NewReader(`{}`))
	<-started
	cancel()
	if err := <-served; err == nil || !strings.Contains(err.Error(), "stopped waiting for 1 in-flight invocation") {
		t.Errorf("Serve: %v", err)
	}
}

// TestRunSocket runs this test binary as a worker process listening on the
// Unix-domain socket LAPIS_WORKER_SOCKET names, as the Lapis host starts Go
// workers, and invokes a function over it.
func TestRunSocket(t *testing.T) {
	if os.Getenv("FN_TEST_RUN_SOCKET") == "1" {
		helloApp().Run()
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "fn-sock")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "w.sock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunSocket$")
	cmd.Env = append(os.Environ(), "FN_TEST_RUN_SOCKET=1", EnvSocket+"="+path, EnvPort+"=1", EnvListen+"=", EnvDescribe+"=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if res, err := client.Get("http://worker/"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("worker never became ready on its socket")
		}
	}
	res, err := client.Post("http://worker/hello", "application/json", strings.NewReader(
		`{"Data":{"req":{"Url":"http://localhost/api/hello?name=Socket","Method":"GET","Query":{"name":"Socket"}}},"Metadata":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "Hello, Socket!") {
		t.Fatalf("%d %s", res.StatusCode, b)
	}
}

// TestRunProcess runs this test binary as a worker process the way the host
// will: FUNCTIONS_CUSTOMHANDLER_PORT set, readiness polled on GET /, an
// invocation, and SIGTERM while another invocation is in flight.
func TestRunProcess(t *testing.T) {
	if os.Getenv("FN_TEST_RUN_WORKER") == "1" {
		app := helloApp()
		app.Function("slow", Trigger{Type: "queueTrigger", Name: "msg"}, func(ctx *Context, inv *Invocation) (any, error) {
			fmt.Fprintln(os.Stderr, "SLOW STARTED")
			time.Sleep(300 * time.Millisecond) // long enough for the test to send SIGTERM
			return "slow done", nil
		})
		app.Run()
		os.Exit(0)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunProcess$")
	cmd.Env = append(os.Environ(), "FN_TEST_RUN_WORKER=1", EnvPort+"="+port, EnvListen+"=", EnvSocket+"=", EnvDescribe+"=")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	url := "http://127.0.0.1:" + port
	// Readiness, as the host polls it: any answer counts.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if res, err := http.Get(url + "/"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("worker never became ready")
		}
	}
	w := &worker{t: t, url: url}
	a := w.post("hello", httpPayload("GET", "http://localhost:7071/api/hello?name=Process", map[string]any{"name": "Process"}, nil, nil, nil))
	if res := httpOut(t, a.Outputs["res"]); !strings.Contains(res.Body, "Hello, Process!") {
		t.Fatalf("hello: %s", a.raw)
	}

	slow := make(chan *answer, 1)
	go func() {
		res, err := http.Post(url+"/slow", "application/json", strings.NewReader(`{"Data":{"msg":"x"}}`))
		if err != nil {
			slow <- &answer{raw: []byte(err.Error())}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slow <- &answer{Status: res.StatusCode, raw: b}
	}()
	for line := range lines {
		if line == "SLOW STARTED" {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if a := <-slow; a.Status != 200 || !strings.Contains(string(a.raw), `"ReturnValue":"slow done"`) {
		t.Errorf("in-flight invocation during SIGTERM: %d %s", a.Status, a.raw)
	}
	var rest []string
	for line := range lines {
		rest = append(rest, line)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("worker exit: %v\n%s", err, strings.Join(rest, "\n"))
	}
	if !strings.Contains(strings.Join(rest, "\n"), "worker stopping") {
		t.Errorf("stderr after SIGTERM:\n%s", strings.Join(rest, "\n"))
	}
}
