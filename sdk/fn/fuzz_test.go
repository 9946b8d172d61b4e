package fn

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

var fuzzSeeds = []string{
	queuePayload,
	`{"Data":{"req":{"Url":"http://localhost:7071/api/hello?name=Azure","Method":"GET","Query":{"name":"Azure"},"Headers":{"Content-Type":["application/json"]},"Params":{},"Identities":[],"Body":""}},"Metadata":{}}`,
	`{"Data":{"req":{"Url":"http://x/api/hello","Method":"POST","Query":"{\"name\":[\"a\",\"b\"]}","Headers":{"Content-Type":"application/octet-stream"},"Body":"AAEC"}}}`,
	`{"Data":{"req":{"Url":"http://x/","Method":"post","Body":{"parsed":true},"Params":{"id":7,"x":null}}}}`,
	`{"Data":{"req":{"Query":"\"nested\""}}}`,
	`{"Data":null,"Metadata":null}`,
	`{}`, ``, `[]`, `{"Data":{"req":1}}`, `{"data":{"REQ":{"url":"http://x/?a=1"}}}`,
}

// FuzzDecodePayload feeds arbitrary bodies to the payload and HTTP request
// decoders: they must never panic, and a decoded request must be usable.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := decodeInvocation(body)
		if err != nil {
			return
		}
		for name, raw := range inv.Data {
			req, err := decodeHTTPRequest(raw)
			if err != nil {
				continue
			}
			if req.URL == nil || req.Query == nil || req.Headers == nil || req.Params == nil || req.Method == "" {
				t.Fatalf("%s: incomplete request %+v", name, req)
			}
			if req.Method != strings.ToUpper(req.Method) {
				t.Fatalf("method %q not upper case", req.Method)
			}
			ctx := NewApp().newContext(t.Context(), &function{name: "f"}, inv, http.Header{}, false)
			req.toHTTP(ctx) // may fail on odd methods or URLs, must not panic
		}
	})
}

// FuzzWorker posts arbitrary payloads to a worker's HTTP and generic
// functions: every answer is 200, 400 or 500 JSON, and never a crash.
func FuzzWorker(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add("hello", []byte(s))
		f.Add("process_order", []byte(s))
	}
	app := helloApp()
	app.Function("process_order", Trigger{Type: "queueTrigger", Name: "msg"}, func(ctx *Context, inv *Invocation) (any, error) {
		var s string
		if err := inv.Decode("msg", &s); err != nil {
			return nil, err
		}
		var n int
		inv.DecodeMetadata("DequeueCount", &n)
		ctx.Log.Info(s, "n", n)
		return s, nil
	})
	app.errOut = io.Discard
	f.Fuzz(func(t *testing.T, function string, body []byte) {
		if function != "hello" {
			function = "process_order"
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest("POST", "/"+function, bytes.NewReader(body)))
		switch rec.Code {
		case 200, 400, 500:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		var res invokeResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("answer is not JSON: %v\n%s", err, rec.Body.Bytes())
		}
		if (rec.Code == 200) != (res.Error == nil) {
			t.Fatalf("status %d with error %+v", rec.Code, res.Error)
		}
	})
}

// FuzzRoute parses and matches arbitrary templates and paths.
func FuzzRoute(f *testing.F) {
	f.Add("products/{category:alpha}/{id:int?}", "products/books/7")
	f.Add("files/{*path}", "files/a/b")
	f.Add("n/{v:regex(^(a|b)$):length(1,3)}", "n/a")
	f.Fuzz(func(t *testing.T, tmpl, path string) {
		rt, err := parseRoute(tmpl)
		if err != nil {
			return
		}
		rt.match(path)
	})
}
