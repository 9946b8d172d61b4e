package host_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/host"
)

// copyApp copies testdata/<name> (without Go sources) into a temporary directory.
func copyApp(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("testdata", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if rel == "handler" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "go.mod") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o755)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func goBuild(t *testing.T, dir, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

func startHost(t *testing.T, opts host.Options) (*host.Host, *httptest.Server) {
	t.Helper()
	h, err := host.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func do(t *testing.T, method, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func wantJSON(t *testing.T, body string, want map[string]string) {
	t.Helper()
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("body %q: %s = %q, want %q", body, k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("body %q, want %v", body, want)
	}
}

var keys = host.Keys{
	Master:   "master-key",
	Host:     map[string]string{"default": "host-key"},
	Function: map[string]map[string]string{"secret": {"default": "fn-key"}},
}

func TestCustomHandler(t *testing.T) {
	dir := copyApp(t, "customhandler")
	goBuild(t, ".", filepath.Join(dir, "handler"), "./testdata/customhandler/handler")
	l := &logs{}
	_, srv := startHost(t, host.Options{Dir: dir, Keys: keys, Logger: slog.New(l)})
	if l.count("via tcp") != 1 {
		t.Error("the custom handler is not reached over TCP")
	}

	t.Run("hello", func(t *testing.T) {
		code, body := do(t, "GET", srv.URL+"/api/hello?name=Azure", nil)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		wantJSON(t, body, map[string]string{"message": "Hello, Azure!"})
		if code, _ := do(t, "DELETE", srv.URL+"/api/hello", nil); code != 405 {
			t.Fatalf("DELETE: %d, want 405", code)
		}
		if code, _ := do(t, "GET", srv.URL+"/hello", nil); code != 404 {
			t.Fatalf("no prefix: %d, want 404", code)
		}
	})
	t.Run("routes", func(t *testing.T) {
		code, body := do(t, "GET", srv.URL+"/api/products/books/12", nil)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		wantJSON(t, body, map[string]string{"category": "books", "id": "12"})
		code, body = do(t, "GET", srv.URL+"/api/products/books", nil)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		wantJSON(t, body, map[string]string{"category": "books"})
		for _, p := range []string{"/api/products/123/12", "/api/products/books/abc"} {
			if code, _ := do(t, "GET", srv.URL+p, nil); code != 404 {
				t.Fatalf("%s: %d, want 404", p, code)
			}
		}
	})
	t.Run("keys", func(t *testing.T) {
		if code, _ := do(t, "GET", srv.URL+"/api/secret", nil); code != 401 {
			t.Fatalf("no key: %d", code)
		}
		if code, _ := do(t, "GET", srv.URL+"/api/secret?code=wrong", nil); code != 401 {
			t.Fatalf("wrong key: %d", code)
		}
		for _, c := range []struct {
			url string
			hdr map[string]string
		}{
			{srv.URL + "/api/secret?code=fn-key", nil},
			{srv.URL + "/api/secret", map[string]string{"x-functions-key": "fn-key"}},
			{srv.URL + "/api/secret?code=host-key", nil},
			{srv.URL + "/api/secret?code=master-key", nil},
		} {
			if code, body := do(t, "GET", c.url, c.hdr); code != 200 {
				t.Fatalf("%s %v: %d %s", c.url, c.hdr, code, body)
			}
		}
		if code, _ := do(t, "GET", srv.URL+"/api/admin?code=host-key", nil); code != 401 {
			t.Fatalf("admin level with host key: %d", code)
		}
		if code, _ := do(t, "GET", srv.URL+"/api/admin?code=master-key", nil); code != 200 {
			t.Fatalf("admin level with master key: %d", code)
		}
	})
	t.Run("admin endpoint", func(t *testing.T) {
		post := func(key string) int {
			req, _ := http.NewRequest("POST", srv.URL+"/admin/functions/admin", strings.NewReader(`{"input":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			if key != "" {
				req.Header.Set("x-functions-key", key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if c := post(""); c != 401 {
			t.Fatalf("no key: %d", c)
		}
		if c := post("host-key"); c != 401 {
			t.Fatalf("host key: %d", c)
		}
		if c := post("master-key"); c != 202 {
			t.Fatalf("master key: %d", c)
		}
	})
	t.Run("crash", func(t *testing.T) {
		code, body := do(t, "GET", srv.URL+"/api/crash", nil)
		if code != 500 || !strings.Contains(body, "worker process exited (exit status 3)") || !strings.Contains(body, "crashing on purpose") {
			t.Fatalf("%d %q", code, body)
		}
		code, body = do(t, "GET", srv.URL+"/api/hello?name=again", nil)
		if code != 200 {
			t.Fatalf("after restart: %d %s", code, body)
		}
		wantJSON(t, body, map[string]string{"message": "Hello, again!"})
	})
	t.Run("timeout", func(t *testing.T) {
		code, body := do(t, "GET", srv.URL+"/api/slow", nil)
		if code != 500 || !strings.Contains(body, "Timeout value of 00:00:01 was exceeded by function: Functions.slow") {
			t.Fatalf("%d %q", code, body)
		}
		if code, body := do(t, "GET", srv.URL+"/api/hello", nil); code != 200 {
			t.Fatalf("after recycle: %d %s", code, body)
		}
	})
}

func TestGoSDKApp(t *testing.T) {
	dir := copyApp(t, "sdkapp")
	src, _ := filepath.Abs(filepath.Join("testdata", "sdkapp"))
	goBuild(t, src, filepath.Join(dir, "app"), ".")
	l := &logs{}
	h, srv := startHost(t, host.Options{Dir: dir, Keys: keys, Logger: slog.New(l)})
	if l.count("via unix") != 1 {
		t.Error("the Go SDK worker does not listen on its socket")
	}
	if n := len(h.Functions()); n != 6 {
		t.Fatalf("%d functions described, want 6", n)
	}
	code, body := do(t, "GET", srv.URL+"/api/hello?name=Azure", nil)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	wantJSON(t, body, map[string]string{"message": "Hello, Azure!"})
	if code, _ := do(t, "GET", srv.URL+"/api/items/7", nil); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	code, body = do(t, "GET", srv.URL+"/api/items/7", map[string]string{"x-functions-key": "host-key"})
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	wantJSON(t, body, map[string]string{"id": "7"})
	if code, _ := do(t, "GET", srv.URL+"/api/items/x?code=host-key", nil); code != 404 {
		t.Fatalf("constraint: %d", code)
	}
}

// TestGoSDKAppSocket exercises the host's client for Go SDK workers on their Unix-domain socket, with the frame
// protocol, and with HTTP/1.1 as SDKs that predate frames speak it (LAPIS_WORKER_PROTOCOL=http makes the worker
// refuse frames, and the host falls back).
func TestGoSDKAppSocket(t *testing.T) {
	dir := copyApp(t, "sdkapp")
	src, _ := filepath.Abs(filepath.Join("testdata", "sdkapp"))
	goBuild(t, src, filepath.Join(dir, "app"), ".")
	t.Run("frames", func(t *testing.T) { testSocket(t, dir, nil, "frames") })
	t.Run("http", func(t *testing.T) { testSocket(t, dir, map[string]string{"LAPIS_WORKER_PROTOCOL": "http"}, "http") })
}

func testSocket(t *testing.T, dir string, settings map[string]string, protocol string) {
	l := &logs{}
	rec := &records{}
	h, srv := startHost(t, host.Options{Dir: dir, Logger: slog.New(l), Meter: rec.add, Settings: settings})
	if l.count("via unix") != 1 {
		t.Fatal("the Go SDK worker does not listen on its socket")
	}
	if l.count("protocol "+protocol) != 1 {
		t.Fatalf("the host does not talk %s to the worker", protocol)
	}

	t.Run("payload", func(t *testing.T) {
		res, err := h.Invoke(context.Background(), &binding.Invocation{Function: "hello", Data: map[string]json.RawMessage{
			"req": json.RawMessage(`{"Url":"http://localhost/api/hello?name=Payload","Method":"GET","Query":{"name":"Payload"}}`)}})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := res.Value("res"); !strings.Contains(string(v), `Hello, Payload!`) {
			t.Fatalf("res = %s", v)
		}
	})

	t.Run("forwarding", func(t *testing.T) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/echo?x=1&y=%2F", strings.NewReader("hello"))
		req.Header.Set("X-Test", "yes")
		req.Header.Set("Te", "trailers")
		req.Header.Set("X-Azure-Functions-InvocationId", "forged")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || string(b) != "POST /api/echo?x=1&y=%2F hello" {
			t.Fatalf("%d %q", resp.StatusCode, b)
		}
		host := strings.TrimPrefix(srv.URL, "http://")
		if g := resp.Header; g.Get("X-Got") != "yes" || g.Get("X-Te") != "" || g.Get("X-Host") != host ||
			g.Get("X-Invocation") == "" || g.Get("X-Invocation") == "forged" {
			t.Fatalf("headers %v", g)
		}
		req, _ = http.NewRequest("HEAD", srv.URL+"/api/echo", nil)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("HEAD: %d", resp.StatusCode)
		}
		if code, body := do(t, "GET", srv.URL+"/api/stream", nil); code != 200 || body != "part0;part1;part2;" {
			t.Fatalf("stream: %d %q", code, body)
		}
		if code, body := do(t, "GET", srv.URL+"/api/hello?name=again", nil); code != 200 {
			t.Fatalf("after HEAD and stream: %d %s", code, body)
		}
	})
	t.Run("crash", func(t *testing.T) {
		code, body := do(t, "GET", srv.URL+"/api/crash", nil)
		if code != 500 || !strings.Contains(body, "exit status 3") || !strings.Contains(body, "crashing on purpose") {
			t.Fatalf("%d %q", code, body)
		}
		if code, body := do(t, "GET", srv.URL+"/api/hello", nil); code != 200 {
			t.Fatalf("after the crash: %d %s", code, body)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		code, body := do(t, "GET", srv.URL+"/api/slow", nil)
		if code != 500 || !strings.Contains(body, "Timeout value of 00:00:02 was exceeded by function: Functions.slow") {
			t.Fatalf("%d %q", code, body)
		}
		if code, body := do(t, "GET", srv.URL+"/api/hello", nil); code != 200 {
			t.Fatalf("after recycle: %d %s", code, body)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		n := len(rec.get())
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/slow", nil)
		if _, err := http.DefaultClient.Do(req); err == nil {
			t.Fatal("no error")
		}
		// The host stops waiting for the worker when its client goes away, well before the function timeout.
		waitFor(t, "the cancelled invocation to end", func() bool { return len(rec.get()) > n })
		if e := rec.get()[n]; e.Succeeded || time.Since(start) > 1800*time.Millisecond {
			t.Fatalf("cancelled invocation: %+v after %v", e, time.Since(start))
		}
		if code, body := do(t, "GET", srv.URL+"/api/hello", nil); code != 200 {
			t.Fatalf("after a cancel: %d %s", code, body)
		}
	})
}

func TestPythonApp(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH")
	}
	// The repository's Python example, as users run it.
	_, srv := startHost(t, host.Options{Dir: filepath.Join("..", "..", "..", "examples", "python")})
	code, body := do(t, "GET", srv.URL+"/api/hello?name=Azure", nil)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	wantJSON(t, body, map[string]string{"message": "Hello, Azure!"})
}

func TestInvalidFunctionJSON(t *testing.T) {
	_, err := host.New(host.Options{Dir: filepath.Join("testdata", "invalid")})
	want := `bad/function.json: bindings[0].authLevel: "public" is not one of anonymous, function, admin`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestWorkerThatNeverStarts(t *testing.T) {
	dir := copyApp(t, "customhandler")
	script := "#!/bin/sh\necho 'boom: no config' >&2\nexit 2\n"
	if err := os.WriteFile(filepath.Join(dir, "handler"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := host.New(host.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	err = h.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "boom: no config") || !strings.Contains(err.Error(), "before it was ready") {
		t.Fatalf("err = %v", err)
	}
}
