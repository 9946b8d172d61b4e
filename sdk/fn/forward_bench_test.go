package fn

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkForward measures the worker's side of a forwarded HTTP request (the host's fast path), without the
// network.
func BenchmarkForward(b *testing.B) {
	app := helloApp()
	req := httptest.NewRequest("GET", "http://localhost/api/hello?name=Azure", nil)
	req.Header.Set(HeaderFunction, "hello")
	req.Header.Set("X-Azure-Functions-InvocationId", "0b7d4d6e-1a7c-4c1e-9f1b-2d9a8c3e5f60")
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		app.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
