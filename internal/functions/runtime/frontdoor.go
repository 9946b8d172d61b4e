package runtime

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/functions/webapp"
)

// appName is the app a request is for: the first label of its host name ("myapp" in myapp.localhost:7071).
func appName(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	name, rest, ok := strings.Cut(h, ".")
	if !ok || rest == "" || net.ParseIP(h) != nil {
		return ""
	}
	return strings.ToLower(name)
}

// serveFrontDoor routes a request to its app's host by host name.
func (rt *Runtime) serveFrontDoor(w http.ResponseWriter, r *http.Request) {
	name := appName(r.Host)
	if name == "" {
		http.Error(w, fmt.Sprintf("Lapis serves function apps by host name: call http://{app}.localhost:%d/api/... (this request was for %q).",
			rt.env.Ports.Functions, r.Host), http.StatusNotFound)
		return
	}
	rt.mu.Lock()
	a := rt.apps[webapp.SiteKey(name)]
	rt.mu.Unlock()
	if a == nil {
		http.Error(w, fmt.Sprintf("Function app %q was not found on this server.", name), http.StatusNotFound)
		return
	}
	if cur := rt.awaitHost(r, a); cur != nil {
		cur.host.ServeHTTP(w, r)
		return
	}
	if st, _ := a.state.Load().(string); st == webapp.Stopped {
		http.Error(w, "Error 403 - This function app is stopped.", http.StatusForbidden)
		return
	}
	http.Error(w, fmt.Sprintf("Function app %q has no running deployment: deploy it with `lapis functionapp deployment source config-zip` or `lapis func publish`.", name),
		http.StatusServiceUnavailable)
}

// startWait bounds how long a request waits for an app's host to start (Azure's worker start limit).
const startWait = 60 * time.Second

// awaitHost returns the app's serving host, waiting while one starts (after a start, a restart or a server
// restart) as a cold start would; nil when none serves and none is starting.
func (rt *Runtime) awaitHost(r *http.Request, a *app) *running {
	timer := time.NewTimer(startWait)
	defer timer.Stop()
	refreshed := false // one look at the store per request: a start that fails is not retried for it
	for {
		if cur := a.cur.Load(); cur != nil {
			return cur
		}
		rt.mu.Lock()
		ch := rt.changed
		rt.mu.Unlock()
		if !a.starting.Load() {
			if refreshed || !rt.refresh(r.Context(), a) {
				return a.cur.Load()
			}
			refreshed = true
		}
		select {
		case <-ch:
		case <-r.Context().Done():
			return nil
		case <-timer.C:
			return nil
		}
	}
}
