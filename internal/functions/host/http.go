package host

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/httpbinding"
	"github.com/lapisdev/lapis/internal/functions/route"
)

const (
	adminFunctionsPrefix = "/admin/functions/"
	webhooksPrefix       = "/runtime/webhooks/"
)

// ServeHTTP is the HTTP trigger front door of the app; see the package documentation.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if rest, ok := cutPrefixFold(p, adminFunctionsPrefix); ok {
		h.serveAdmin(w, r, rest)
		return
	}
	if rest, ok := cutPrefixFold(p, webhooksPrefix); ok {
		h.serveWebhook(w, r, rest)
		return
	}
	rest, ok := stripPrefix(p, h.cfg.HTTP.RoutePrefix)
	if !ok {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	res := h.routes.Lookup(r.Method, rest)
	switch res.Outcome {
	case route.NotFound:
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	case route.MethodNotAllowed:
		w.Header().Set("Allow", strings.Join(res.Allowed, ", "))
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rt := res.Value
	if !h.authorized(r, rt.fn.Name(), rt.cfg.AuthLevel) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rt.forward {
		h.forwardHTTP(w, r, rt.fn)
		return
	}
	body, err := httpbinding.ReadBody(r, h.opts.MaxRequestBodySize)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	hreq := httpbinding.NewRequest(r, body, res.Params)
	reqJSON, err := json.Marshal(hreq)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	meta := map[string]json.RawMessage{}
	for k, v := range res.Params {
		b, _ := json.Marshal(v)
		meta[k] = b
	}
	meta["Query"], _ = json.Marshal(hreq.Query)
	meta["Headers"], _ = json.Marshal(hreq.Headers)
	inv := &binding.Invocation{
		Function: rt.fn.Name(),
		Data:     map[string]json.RawMessage{rt.fn.Trigger().Name: reqJSON},
		Metadata: meta,
	}
	result, err := h.Invoke(r.Context(), inv)
	if err != nil {
		writeInvocationError(w, err)
		return
	}
	if rt.res == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	v, ok := result.Value(rt.res)
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	hres, err := httpbinding.ParseResponse(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("function %s: %v", rt.fn.Name(), err), http.StatusInternalServerError)
		return
	}
	httpbinding.WriteResponse(w, hres)
}

func writeInvocationError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var ie *InvocationError
	if errors.As(err, &ie) && ie.Kind == NotFound {
		status = http.StatusNotFound
	}
	http.Error(w, err.Error(), status)
}

// cutPrefixFold returns what follows prefix in p, when p starts with prefix (ignoring case) and has more.
func cutPrefixFold(p, prefix string) (string, bool) {
	if len(p) > len(prefix) && strings.EqualFold(p[:len(prefix)], prefix) {
		return p[len(prefix):], true
	}
	return "", false
}

// serveWebhook serves /runtime/webhooks/{extension}[/...]: the binding type registered for the extension serves
// the request once it carries the extension's system key or the master key.
func (h *Host) serveWebhook(w http.ResponseWriter, r *http.Request, rest string) {
	ext, _, _ := strings.Cut(rest, "/")
	wh, ok := binding.LookupWebhook(ext)
	if !ok {
		http.Error(w, fmt.Sprintf("no extension webhook %q in app %s", ext, h.opts.Name), http.StatusNotFound)
		return
	}
	if !h.systemAuthorized(r, binding.SystemKeyName(wh.Extension())) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fns := func(name string) *binding.Function {
		fn := h.Function(name)
		if fn == nil || fn.Def.Disabled || !strings.EqualFold(fn.Trigger().Type, wh.Name()) {
			return nil
		}
		return fn
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxRequestBodySize)
	}
	wh.ServeWebhook(w, r, fns, h)
}

// systemAuthorized checks the request's key for an extension webhook: the system key called name, or the master
// key (Azure's "system" authorization level).
func (h *Host) systemAuthorized(r *http.Request, name string) bool {
	if h.opts.AuthDisabled {
		return true
	}
	key := requestKey(r)
	if key == "" {
		return false
	}
	if h.isMaster(key) {
		return true
	}
	for n, v := range h.keys.Load().System {
		if strings.EqualFold(n, name) && v != "" && subtle.ConstantTimeCompare([]byte(key), []byte(v)) == 1 {
			return true
		}
	}
	return false
}

// stripPrefix removes "/prefix" from p, case-insensitively.
func stripPrefix(p, prefix string) (string, bool) {
	if prefix == "" {
		return p, true
	}
	want := "/" + prefix
	if len(p) < len(want) || !strings.EqualFold(p[:len(want)], want) {
		return "", false
	}
	rest := p[len(want):]
	if rest != "" && rest[0] != '/' {
		return "", false
	}
	return rest, true
}

func requestKey(r *http.Request) string {
	if k := r.URL.Query().Get("code"); k != "" {
		return k
	}
	return r.Header.Get("x-functions-key")
}

func matchAny(key string, keys map[string]string) bool {
	for _, v := range keys {
		if v != "" && subtle.ConstantTimeCompare([]byte(key), []byte(v)) == 1 {
			return true
		}
	}
	return false
}

func (h *Host) isMaster(key string) bool {
	m := h.keys.Load().Master
	return m != "" && subtle.ConstantTimeCompare([]byte(key), []byte(m)) == 1
}

// authorized checks the request's key against the function's authLevel.
func (h *Host) authorized(r *http.Request, fn, level string) bool {
	if h.opts.AuthDisabled || level == httpbinding.Anonymous {
		return true
	}
	key := requestKey(r)
	if key == "" {
		return false
	}
	if h.isMaster(key) {
		return true
	}
	if level == httpbinding.Admin {
		return false
	}
	keys := h.keys.Load()
	if matchAny(key, keys.Host) {
		return true
	}
	for name, keys := range keys.Function {
		if strings.EqualFold(name, fn) && matchAny(key, keys) {
			return true
		}
	}
	return false
}

// serveAdmin runs a function by hand: POST /admin/functions/{name} {"input": ...} with the master key.
func (h *Host) serveAdmin(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !h.opts.AuthDisabled && !h.isMaster(requestKey(r)) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fn := h.Function(name)
	if fn == nil {
		http.Error(w, fmt.Sprintf("function %q not found in app %s", name, h.opts.Name), http.StatusNotFound)
		return
	}
	body, err := httpbinding.ReadBody(r, h.opts.MaxRequestBodySize)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var in struct {
		Input json.RawMessage `json:"input"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, `body must be {"input": <string|number|bool>}: `+err.Error(), http.StatusBadRequest)
			return
		}
	}
	if len(in.Input) == 0 {
		in.Input = json.RawMessage(`""`)
	}
	inv := &binding.Invocation{Function: fn.Name(), Data: map[string]json.RawMessage{fn.Trigger().Name: in.Input}}
	// Azure answers 202 and runs the function in the background; Lapis waits, so that a failure can be reported.
	if _, err := h.Invoke(r.Context(), inv); err != nil {
		writeInvocationError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// forwardHTTP sends the original request to the worker as is, naming the function in X-Lapis-Function, and
// copies the worker's answer back.
func (h *Host) forwardHTTP(w http.ResponseWriter, r *http.Request, fn *binding.Function) {
	var body []byte
	if r.Body != http.NoBody {
		var err error
		if body, err = httpbinding.ReadBody(r, h.opts.MaxRequestBodySize); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
	}
	name := fn.Name()
	id := newID()
	run := &run{fn: fn, id: id, arrived: time.Now()}
	o := &outbound{method: r.Method, uri: r.URL.RequestURI(), host: r.Host, header: r.Header, fn: name, body: body,
		into: w.Header()}
	logged := h.log.Enabled(r.Context(), slog.LevelInfo) // the log line costs more than the hop when nobody reads it
	if logged {
		h.log.Info("Executing 'Functions."+name+"'", "app", h.opts.Name, "function", name, "invocationId", id)
	}
	status, hdr, rbody, err := h.call(r.Context(), run, o)
	// A forwarded request succeeded when the worker answered below 500.
	h.done(run, err == nil && status < 500)
	if err != nil {
		h.log.Error("Executed 'Functions."+name+"' (Failed)", "app", h.opts.Name, "function", name, "invocationId", id,
			"error", err, "duration", time.Since(run.arrived))
		writeInvocationError(w, err)
		return
	}
	if logged {
		outcome := "Succeeded"
		if status >= 500 {
			outcome = "Failed"
		}
		h.log.Info("Executed 'Functions."+name+"' ("+outcome+")", "app", h.opts.Name, "function", name, "invocationId", id,
			"status", status, "duration", time.Since(run.arrived))
	}
	if !o.intoDone {
		for k, v := range hdr {
			if !hopByHop[http.CanonicalHeaderKey(k)] {
				w.Header()[k] = v
			}
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(rbody)
}
