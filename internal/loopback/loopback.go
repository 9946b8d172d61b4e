// Package loopback makes HTTP clients reach Lapis's own host names: names
// under .localhost ({app}.localhost:7071, {topic}.localhost:7072) go to the
// loopback interface, as RFC 6761 reserves them, whatever the system
// resolver says, and bypass any proxy. Function apps' output bindings and
// Event Grid's deliveries use it.
package loopback

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// IsLocalhost reports whether host is a name under .localhost.
func IsLocalhost(host string) bool { return strings.HasSuffix(strings.ToLower(host), ".localhost") }

// Transport is a clone of http.DefaultTransport that dials names under
// .localhost on 127.0.0.1 and sends them to no proxy.
func Transport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && IsLocalhost(host) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return d.DialContext(ctx, network, addr)
	}
	if proxy := t.Proxy; proxy != nil {
		t.Proxy = func(r *http.Request) (*url.URL, error) {
			if IsLocalhost(r.URL.Hostname()) {
				return nil, nil
			}
			return proxy(r)
		}
	}
	return t
}
