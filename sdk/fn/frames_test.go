package fn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requestFrame encodes a request frame as the host does.
func requestFrame(method, uri, host string, header [][2]string, body []byte) []byte {
	b := make([]byte, framePrefixLen)
	b = appendString(b, method)
	b = appendString(b, uri)
	b = appendString(b, host)
	for _, kv := range header {
		b = appendString(b, kv[0])
		b = appendString(b, kv[1])
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-framePrefixLen))
	binary.BigEndian.PutUint64(b[4:], uint64(len(body)))
	return append(b, body...)
}

// frameAnswer is a decoded response frame.
type frameAnswer struct {
	status int
	header http.Header
	body   []byte
}

// readAnswer reads a response frame as the host does.
func readAnswer(br *bufio.Reader) (*frameAnswer, error) {
	var scratch []byte
	head, body, err := readFrame(br, &scratch, maxFrameHead, maxFrameBody)
	if err != nil {
		return nil, err
	}
	s := string(head)
	status, k := uvarint(s)
	if k == 0 {
		return nil, errFrameHead
	}
	s = s[k:]
	n, ok := countStrings(s)
	if !ok || n%2 != 0 {
		return nil, errFrameHead
	}
	return &frameAnswer{status: int(status), header: parseHeader(s, n), body: body}, nil
}

func TestFrameRequestRoundTrip(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 3<<20) // beyond readN's chunk
	for _, b := range [][]byte{nil, []byte("hi"), body} {
		f := requestFrame("POST", "/api/a?b=c", "example.com", [][2]string{{"x-multi", "1"}, {"X-Multi", "2"}, {"Content-Type", "text/plain"}}, b)
		var scratch []byte
		head, got, err := readFrame(bufio.NewReader(bytes.NewReader(f)), &scratch, maxFrameHead, maxFrameBody)
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseRequestHead(head)
		if err != nil {
			t.Fatal(err)
		}
		if r.method != "POST" || r.uri != "/api/a?b=c" || r.host != "example.com" || !bytes.Equal(got, b) {
			t.Fatalf("%+v body %d bytes", r, len(got))
		}
		if v := r.header["X-Multi"]; len(v) != 2 || v[0] != "1" || v[1] != "2" || r.header.Get("Content-Type") != "text/plain" {
			t.Fatalf("header %v", r.header)
		}
	}
}

func TestFrameBad(t *testing.T) {
	good := requestFrame("GET", "/", "h", [][2]string{{"A", "b"}}, []byte("body"))
	huge := func(hl uint32, bl uint64) []byte {
		b := make([]byte, framePrefixLen)
		binary.BigEndian.PutUint32(b, hl)
		binary.BigEndian.PutUint64(b[4:], bl)
		return b
	}
	cases := map[string][]byte{
		"head too long":     huge(maxFrameHead+1, 0),
		"body too long":     huge(0, maxFrameBody+1),
		"max body, no data": huge(0, maxFrameBody),
		"max head, no data": huge(maxFrameHead, 0),
		"short prefix":      good[:5],
		"garbage":           []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	}
	for i := framePrefixLen; i < len(good); i++ {
		cases[fmt.Sprintf("truncated at %d", i)] = good[:i]
	}
	for name, f := range cases {
		var scratch []byte
		head, _, err := readFrame(bufio.NewReader(bytes.NewReader(f)), &scratch, maxFrameHead, maxFrameBody)
		if err == nil {
			_, err = parseRequestHead(head)
		}
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Heads that are not method, URI, host and pairs of strings.
	for _, head := range [][]byte{{}, {5, 'a'}, {1, 'a', 1, 'b'}, {1, 'a', 1, 'b', 1, 'c', 1, 'd'}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, err := parseRequestHead(head); err == nil {
			t.Errorf("head %q: no error", head)
		}
	}
}

// FuzzFrame feeds arbitrary bytes to the request frame decoder: it returns an error or a request, never panics,
// and allocates in proportion to its input, not to the lengths the input announces.
func FuzzFrame(f *testing.F) {
	f.Add(requestFrame("GET", "/api/hello?name=x", "localhost", [][2]string{{"A", "1"}, {"A", "2"}}, nil))
	f.Add(requestFrame("POST", "/f", "", nil, []byte(`{"Data":{}}`)))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(make([]byte, framePrefixLen))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReader(bytes.NewReader(in))
		var scratch []byte
		for {
			head, body, err := readFrame(br, &scratch, 1<<20, 1<<30)
			if err != nil {
				return
			}
			if cap(scratch) > 2*len(in)+(1<<20) || len(body) > len(in) {
				t.Fatalf("allocated %d+%d bytes for %d bytes of input", cap(scratch), len(body), len(in))
			}
			r, err := parseRequestHead(head)
			if err != nil {
				return
			}
			c := &frameConn{}
			c.request(context.Background(), r) // may fail, must not panic
		}
	})
}

// frameWorker serves app as Run does on the host's socket, and dials it.
func frameWorker(t *testing.T, app *App) (dial func() net.Conn) {
	t.Helper()
	stderr := &syncBuffer{}
	app.errOut = stderr
	dir, err := os.MkdirTemp("", "fn-frames")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "w.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.serve(ctx, nil, ln, true) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return func() net.Conn {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
}

type frameClient struct {
	t     *testing.T
	c     net.Conn
	br    *bufio.Reader
	fresh bool
}

func newFrameClient(t *testing.T, c net.Conn) *frameClient {
	return &frameClient{t: t, c: c, br: bufio.NewReader(c), fresh: true}
}

func (fc *frameClient) do(method, uri string, header [][2]string, body []byte) *frameAnswer {
	fc.t.Helper()
	f := requestFrame(method, uri, "localhost:7071", header, body)
	if fc.fresh {
		f = append([]byte(framePreamble), f...)
	}
	if _, err := fc.c.Write(f); err != nil {
		fc.t.Fatal(err)
	}
	if fc.fresh {
		p := make([]byte, len(framePreamble))
		if _, err := io.ReadFull(fc.br, p); err != nil || string(p) != framePreamble {
			fc.t.Fatalf("preamble %q, %v", p, err)
		}
		fc.fresh = false
	}
	a, err := readAnswer(fc.br)
	if err != nil {
		fc.t.Fatal(err)
	}
	return a
}

func TestFrameServer(t *testing.T) {
	app := helloApp()
	app.HTTPHandler("echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header()["X-Values"] = r.Header["X-Multi"]
		w.Header().Add("X-Multi-Out", "a")
		w.Header().Add("X-Multi-Out", "b")
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("X-Length", fmt.Sprint(r.ContentLength))
		w.WriteHeader(201)
		w.Header().Set("X-Late", "ignored")
		fmt.Fprintf(w, "%s %s ", r.Method, r.RequestURI)
		w.(http.Flusher).Flush()
		w.Write(b)
	}), Route("echo"), AuthLevel(Anonymous))
	cancelled := make(chan struct{})
	app.HTTPHandler("wait", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(cancelled)
	}), Route("wait"), AuthLevel(Anonymous))
	app.HTTPHandler("panic", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}), Route("panic"), AuthLevel(Anonymous))
	app.HTTPHandler("nocontent", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
			t.Errorf("write after 204: %v", err)
		}
	}), Route("nocontent"), AuthLevel(Anonymous))
	dial := frameWorker(t, app)
	fc := newFrameClient(t, dial())

	// Readiness, describe, payload and forwarded requests on one connection.
	if a := fc.do("GET", "/", nil, nil); a.status != 200 || !strings.Contains(string(a.body), `"ready"`) {
		t.Fatalf("GET /: %d %s", a.status, a.body)
	}
	if a := fc.do("GET", DescribePath, nil, nil); a.status != 200 || !strings.Contains(string(a.body), `"hello"`) {
		t.Fatalf("describe: %d %s", a.status, a.body)
	}
	payload := httpPayload("GET", "http://localhost:7071/api/hello?name=Frames", map[string]any{"name": "Frames"}, nil, nil, nil)
	a := fc.do("POST", "/hello", [][2]string{{"Content-Type", "application/json"}, {"X-Azure-Functions-InvocationId", "id-1"}}, []byte(payload))
	if a.status != 200 || !strings.Contains(string(a.body), `Hello, Frames!`) {
		t.Fatalf("payload: %d %s", a.status, a.body)
	}
	a = fc.do("GET", "/api/hello?name=Fwd", [][2]string{{HeaderFunction, "hello"}}, nil)
	if a.status != 200 || string(a.body) != `{"message":"Hello, Fwd!"}` || a.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("forwarded: %d %v %s", a.status, a.header, a.body)
	}
	big := bytes.Repeat([]byte("0123456789"), 300_000)
	a = fc.do("POST", "/api/echo?x=1", [][2]string{{HeaderFunction, "echo"}, {"X-Multi", "1"}, {"X-Multi", "2"}}, big)
	if a.status != 201 || !bytes.Equal(a.body, append([]byte("POST /api/echo?x=1 "), big...)) {
		t.Fatalf("echo: %d %d bytes", a.status, len(a.body))
	}
	if h := a.header; strings.Join(h["X-Values"], ",") != "1,2" || strings.Join(h["X-Multi-Out"], ",") != "a,b" ||
		h.Get("X-Host") != "localhost:7071" || h.Get("X-Length") != "3000000" || h.Get("X-Late") != "" {
		t.Fatalf("echo headers %v", h)
	}
	a = fc.do("HEAD", "/api/echo", [][2]string{{HeaderFunction, "echo"}}, nil)
	if a.status != 201 || len(a.body) != 0 || a.header.Get("X-Length") != "0" {
		t.Fatalf("HEAD: %d %v %q", a.status, a.header, a.body)
	}
	if a = fc.do("GET", "/api/nocontent", [][2]string{{HeaderFunction, "nocontent"}}, nil); a.status != 204 || len(a.body) != 0 {
		t.Fatalf("204: %d %q", a.status, a.body)
	}
	if a = fc.do("GET", "no-slash", nil, nil); a.status != 400 {
		t.Fatalf("bad URI: %d %s", a.status, a.body)
	}

	// HTTP/1.1 on the same socket still works.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return dial(), nil }}}
	res, err := hc.Get("http://worker/api/hello?name=HTTP")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "Hello, HTTP!") {
		t.Fatalf("HTTP: %d %s", res.StatusCode, b)
	}

	// A panic answers 500, as over HTTP.
	if a = fc.do("GET", "/api/panic", [][2]string{{HeaderFunction, "panic"}}, nil); a.status != 500 {
		t.Fatalf("panic: %d %s", a.status, a.body)
	}

	// Closing the connection cancels the request in flight.
	wc := newFrameClient(t, dial())
	wc.c.Write(append([]byte(framePreamble), requestFrame("GET", "/api/wait", "", [][2]string{{HeaderFunction, "wait"}}, nil)...))
	time.Sleep(20 * time.Millisecond)
	wc.c.Close()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the request was not cancelled when the host closed its connection")
	}

	// Several connections at once, and the first one still works.
	done := make(chan *frameAnswer)
	for i := range 4 {
		go func() {
			c := newFrameClient(t, dial())
			done <- c.do("GET", fmt.Sprintf("/api/hello?name=%d", i), [][2]string{{HeaderFunction, "hello"}}, nil)
		}()
	}
	for range 4 {
		if a := <-done; a.status != 200 {
			t.Fatalf("concurrent: %d %s", a.status, a.body)
		}
	}
	if a := fc.do("GET", "/api/hello", [][2]string{{HeaderFunction, "hello"}}, nil); a.status != 200 {
		t.Fatalf("again: %d", a.status)
	}
}

// TestFrameShutdown: a request in flight on a frame connection finishes before serve returns.
func TestFrameShutdown(t *testing.T) {
	app := NewApp()
	app.errOut = io.Discard
	app.log = slog.New(slog.DiscardHandler)
	started, release := make(chan struct{}), make(chan struct{})
	app.Function("slow", Trigger{Type: "queueTrigger", Name: "msg"}, func(ctx *Context, inv *Invocation) (any, error) {
		close(started)
		<-release
		return "finished", nil
	})
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "w.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.serve(ctx, nil, ln, true) }()
	c, err := net.Dial("unix", filepath.Join(dir, "w.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	idle, err := net.Dial("unix", filepath.Join(dir, "w.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fc := newFrameClient(t, c)
	answered := make(chan *frameAnswer, 1)
	go func() { answered <- fc.do("POST", "/slow", nil, []byte(`{"Data":{"msg":"x"}}`)) }()
	<-started
	cancel()
	select {
	case err := <-served:
		t.Fatalf("serve returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if a := <-answered; a.status != 200 || !strings.Contains(string(a.body), `"ReturnValue":"finished"`) {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
