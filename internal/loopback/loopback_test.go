package loopback_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lapisdev/lapis/internal/loopback"
)

func TestLocalhostNamesReachLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1") // a proxy that would fail
	c := &http.Client{Transport: loopback.Transport()}
	resp, err := c.Get("http://my-app.localhost:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "my-app.localhost:"+port {
		t.Fatalf("host seen %q", b)
	}
	if !loopback.IsLocalhost("A.LOCALHOST") || loopback.IsLocalhost("localhost") || loopback.IsLocalhost("example.com") {
		t.Fatal("IsLocalhost")
	}
}
