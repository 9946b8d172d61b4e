package fn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Auth is an HTTP function's authorization level, its function.json
// "authLevel".
type Auth string

// The authorization levels. Keys are checked by the host, not the worker.
const (
	// Anonymous functions need no key.
	Anonymous Auth = "anonymous"
	// Function functions need a function key or a host key (the default).
	Function Auth = "function"
	// Admin functions need the master key.
	Admin Auth = "admin"
)

// Route sets the route template of an HTTP function, the part of the URL
// after the route prefix (by default "/api/"). Templates may hold parameters,
// with constraints and optional or catch-all forms, as in Azure:
// "products/{category:alpha}/{id:int?}", "files/{*path}". Their values
// reach the function as [HTTPRequest.Params] (or [http.Request.PathValue] for
// [App.HTTPHandler]). Without Route the route is the function's name.
func Route(template string) Option {
	return optionFunc(func(f *function) error {
		if !f.http {
			return errors.New("Route applies to HTTP functions only")
		}
		if _, err := parseRoute(template); err != nil {
			return err
		}
		return TriggerProp("route", template).apply(f)
	})
}

// Methods limits an HTTP function to the given HTTP methods (any case). By
// default every method is allowed.
func Methods(methods ...string) Option {
	return optionFunc(func(f *function) error {
		if !f.http {
			return errors.New("Methods applies to HTTP functions only")
		}
		var lower []string
		f.methods = f.methods[:0]
		for _, m := range methods {
			if m == "" || strings.ContainsAny(m, " \t/") {
				return fmt.Errorf("method %q is not valid", m)
			}
			lower = append(lower, strings.ToLower(m))
			f.methods = append(f.methods, strings.ToUpper(m))
		}
		return TriggerProp("methods", lower).apply(f)
	})
}

// AuthLevel sets the key an HTTP function needs: [Anonymous], [Function] or
// [Admin]. The default comes from [DefaultAuthLevel], else [Function].
func AuthLevel(level Auth) Option {
	return optionFunc(func(f *function) error {
		if !f.http {
			return errors.New("AuthLevel applies to HTTP functions only")
		}
		switch level {
		case Anonymous, Function, Admin:
		default:
			return fmt.Errorf("auth level %q is not one of anonymous, function, admin", level)
		}
		return TriggerProp("authLevel", string(level)).apply(f)
	})
}

// RequestName sets the binding name of an HTTP function's trigger, under
// which the host passes the request in the payload's Data. The default is
// "req".
func RequestName(name string) Option {
	return optionFunc(func(f *function) error {
		if !f.http {
			return errors.New("RequestName applies to HTTP functions only")
		}
		if !bindingNameRE.MatchString(name) || name == ReturnName {
			return fmt.Errorf("request binding name %q is not valid", name)
		}
		f.trigger().Name = name
		return nil
	})
}

// ResponseName sets the binding name of an HTTP function's "http" output.
// The default is "res", which the worker returns in the response's Outputs;
// with [ReturnName] ("$return") the HTTP response is the ReturnValue
// instead, as in Python's v2 model.
func ResponseName(name string) Option {
	return optionFunc(func(f *function) error {
		if !f.http {
			return errors.New("ResponseName applies to HTTP functions only")
		}
		if !bindingNameRE.MatchString(name) {
			return fmt.Errorf("response binding name %q is not valid", name)
		}
		f.resName = name
		return nil
	})
}

// HTTPRequest is the request an HTTP function receives.
type HTTPRequest struct {
	// Method is the HTTP method in upper case, such as "GET".
	Method string
	// URL is the request's full URL as the client sent it to the host,
	// for example http://localhost:7071/api/hello?name=Azure.
	URL *url.URL
	// Query holds the query parameters.
	Query url.Values
	// Params holds the route parameters by name, from the route template.
	Params map[string]string
	// Headers holds the request headers, in canonical form.
	Headers http.Header
	// Body is the request body.
	Body []byte
	// Identities is the caller's identities as the host passed them (the
	// payload's "Identities"), or nil.
	Identities json.RawMessage
}

// JSON decodes the request body as JSON into v.
func (r *HTTPRequest) JSON(v any) error {
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return errors.New("fn: request body is empty, want JSON")
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("fn: request body is not the JSON expected: %w", err)
	}
	return nil
}

// HTTPResponse is what an HTTP function answers. Build one with [JSON],
// [Text] or [Bytes], or as a literal.
type HTTPResponse struct {
	// Status is the HTTP status code; 0 means 200.
	Status int
	// Headers are the response headers.
	Headers http.Header
	// Body is the response body.
	Body []byte

	err error // set by JSON when v cannot be encoded
}

// JSON returns a response with the given status whose body is v encoded as
// JSON, with Content-Type application/json. If v cannot be encoded the
// invocation fails with the encoding error.
func JSON(status int, v any) *HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		err = fmt.Errorf("fn.JSON: %w", err)
	}
	return &HTTPResponse{
		Status:  status,
		Headers: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body:    b,
		err:     err,
	}
}

// Text returns a response with the given status and a text/plain body.
func Text(status int, body string) *HTTPResponse {
	return &HTTPResponse{
		Status:  status,
		Headers: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		Body:    []byte(body),
	}
}

// Bytes returns a response with the given status, content type and body.
func Bytes(status int, contentType string, body []byte) *HTTPResponse {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &HTTPResponse{Status: status, Headers: h, Body: body}
}

// WithHeader sets a response header and returns the response, for chaining:
//
//	return fn.JSON(201, order).WithHeader("Location", "/api/orders/"+id), nil
func (r *HTTPResponse) WithHeader(key, value string) *HTTPResponse {
	if r.Headers == nil {
		r.Headers = http.Header{}
	}
	r.Headers.Set(key, value)
	return r
}

// HTTPFunc is the signature of an HTTP function. A nil response with a nil
// error answers 204 No Content; a non-nil error fails the invocation, which
// the host answers with 500.
type HTTPFunc func(ctx *Context, req *HTTPRequest) (*HTTPResponse, error)

const httpFuncSig = "func(*fn.Context, *fn.HTTPRequest) (*fn.HTTPResponse, error)"

// HTTP registers an HTTP-triggered function. Its arguments are options
// ([Route], [Methods], [AuthLevel], [Input], [Output], ...) and exactly one
// handler of type [HTTPFunc], in any order, so that the options can come
// first like Python's decorators:
//
//	app.HTTP("hello", fn.Route("hello"), fn.AuthLevel(fn.Anonymous),
//		func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
//			return fn.Text(200, "hello"), nil
//		})
//
// The function's bindings are an "httpTrigger" named "req" and an "http"
// output named "res" (see [RequestName], [ResponseName]). It panics on a
// missing handler, an argument of another type, or an invalid option.
func (a *App) HTTP(name string, args ...any) {
	h, opts := splitArgs("HTTP", name, args, func(v any) bool {
		switch v.(type) {
		case HTTPFunc, func(*Context, *HTTPRequest) (*HTTPResponse, error):
			return true
		}
		return false
	}, httpFuncSig)
	var hf HTTPFunc
	switch h := h.(type) {
	case HTTPFunc:
		hf = h
	case func(*Context, *HTTPRequest) (*HTTPResponse, error):
		hf = h
	}
	if hf == nil {
		panic(fmt.Sprintf("fn: HTTP(%q): nil handler", name))
	}
	f := &function{name: name, http: true, resName: "res"}
	f.handler = func(ctx *Context, inv *Invocation) (any, error) {
		req, err := inv.httpRequest(f.trigger().Name)
		if err != nil {
			return nil, &payloadError{err}
		}
		res, err := hf(ctx, req)
		if err != nil {
			return nil, err
		}
		return ctx.setHTTPResponse(f, res)
	}
	f.raw = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := FromRequest(r)
		req, err := requestFromHTTP(r, ctx.params)
		if err != nil {
			writeError(w, http.StatusBadRequest, "BadRequest", err.Error(), ctx)
			return
		}
		res, err := hf(ctx, req)
		if err == nil && res != nil {
			err = res.err
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, "FunctionFailed", err.Error(), ctx)
			return
		}
		if res == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		for k, vs := range res.Headers {
			w.Header()[http.CanonicalHeaderKey(k)] = vs
		}
		w.WriteHeader(statusOr200(res.Status))
		w.Write(res.Body)
	})
	a.mustRegister("HTTP", f, a.httpTrigger(), opts)
}

// HTTPHandler registers an HTTP-triggered function served by a standard
// [http.Handler]. When the host forwards the client's HTTP request as is,
// the handler serves it directly; otherwise the worker rebuilds the request
// from the invocation payload and turns what the handler writes into the
// "http" output. Either way route parameters are available through
// [http.Request.PathValue], and [FromRequest] returns the invocation's
// [Context]. Options are as for [App.HTTP].
func (a *App) HTTPHandler(name string, h http.Handler, opts ...Option) {
	if h == nil {
		panic(fmt.Sprintf("fn: HTTPHandler(%q): nil handler", name))
	}
	f := &function{name: name, http: true, resName: "res", raw: h}
	f.handler = func(ctx *Context, inv *Invocation) (any, error) {
		req, err := inv.httpRequest(f.trigger().Name)
		if err != nil {
			return nil, &payloadError{err}
		}
		r, err := req.toHTTP(ctx)
		if err != nil {
			return nil, &payloadError{err}
		}
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		return ctx.setHTTPResponse(f, &HTTPResponse{Status: rec.status, Headers: rec.header, Body: rec.body.Bytes()})
	}
	a.mustRegister("HTTPHandler", f, a.httpTrigger(), opts)
}

func (a *App) httpTrigger() Binding {
	return Binding{Type: "httpTrigger", Direction: "in", Name: "req", Props: map[string]any{"authLevel": string(a.auth)}}
}

// finishHTTP adds the http output binding and compiles the route once all
// options have been applied.
func (f *function) finishHTTP() error {
	if err := f.addBinding(Binding{Type: "http", Direction: "out", Name: f.resName}); err != nil {
		return err
	}
	tmpl, _ := f.trigger().Props["route"].(string)
	if tmpl == "" {
		tmpl = f.name
	}
	r, err := parseRoute(tmpl)
	if err != nil {
		return err
	}
	f.route = r
	return nil
}

func statusOr200(s int) int {
	if s == 0 {
		return http.StatusOK
	}
	return s
}

// FromRequest returns the invocation [Context] of a request served by a
// function registered with [App.HTTPHandler], or nil for other requests.
func FromRequest(r *http.Request) *Context {
	c, _ := r.Context().Value(ctxKey{}).(*Context)
	return c
}

// httpData is the HTTP trigger value in the payload's Data, Azure's
// GetRequestAsJObject shape. Field names match case-insensitively.
type httpData struct {
	URL        string          `json:"Url"`
	Method     string          `json:"Method"`
	Query      json.RawMessage `json:"Query"`
	Headers    json.RawMessage `json:"Headers"`
	Params     json.RawMessage `json:"Params"`
	Identities json.RawMessage `json:"Identities"`
	Body       json.RawMessage `json:"Body"`
}

// httpResponseData is the "http" output value: Azure's
// HttpOutputBindingResponse with camelCase names. A body that is not valid
// UTF-8 is sent in base64 with "bodyEncoding":"base64" (a Lapis extension).
type httpResponseData struct {
	StatusCode   int            `json:"statusCode"`
	Headers      map[string]any `json:"headers,omitempty"`
	Body         string         `json:"body"`
	BodyEncoding string         `json:"bodyEncoding,omitempty"`
}

// httpRequest decodes the HTTP trigger value named name from Data.
func (inv *Invocation) httpRequest(name string) (*HTTPRequest, error) {
	raw, ok := inv.Data[name]
	if !ok {
		// The host may name the trigger differently (a hand-written
		// function.json); accept the one value if there is just one.
		if len(inv.Data) != 1 {
			return nil, fmt.Errorf("payload Data has no %q (the HTTP request)", name)
		}
		for _, v := range inv.Data {
			raw = v
		}
	}
	return decodeHTTPRequest(raw)
}

func decodeHTTPRequest(raw json.RawMessage) (*HTTPRequest, error) {
	var d httpData
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("HTTP request in payload: %w", err)
	}
	req := &HTTPRequest{
		Method:  strings.ToUpper(d.Method),
		Query:   url.Values{},
		Params:  map[string]string{},
		Headers: http.Header{},
	}
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		return nil, fmt.Errorf("HTTP request in payload: Url: %w", err)
	}
	req.URL = u
	if err := decodeMulti(d.Headers, func(k, v string) { req.Headers.Add(k, v) }); err != nil {
		return nil, fmt.Errorf("HTTP request in payload: Headers: %w", err)
	}
	if err := decodeMulti(d.Query, func(k, v string) { req.Query.Add(k, v) }); err != nil {
		return nil, fmt.Errorf("HTTP request in payload: Query: %w", err)
	}
	if len(req.Query) == 0 {
		req.Query = u.Query()
	}
	if err := decodeMulti(d.Params, func(k, v string) { req.Params[k] = v }); err != nil {
		return nil, fmt.Errorf("HTTP request in payload: Params: %w", err)
	}
	if len(d.Identities) > 0 && !bytes.Equal(d.Identities, []byte("null")) {
		req.Identities = d.Identities
	}
	req.Body, err = decodeBody(d.Body, req.Headers.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("HTTP request in payload: Body: %w", err)
	}
	return req, nil
}

// decodeMulti reads a JSON object of string or string-array values (or such
// an object encoded as a JSON string, as some host versions send Query),
// calling add for each value. Scalars that are not strings are added in
// their JSON form. null and "" are empty.
func decodeMulti(raw json.RawMessage, add func(k, v string)) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if strings.TrimSpace(s) == "" {
			return nil
		}
		if raw = json.RawMessage(s); len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] == '"' {
			return errors.New("want an object")
		}
		return decodeMulti(raw, add)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for k, v := range m {
		var list []json.RawMessage
		if len(v) > 0 && v[0] == '[' {
			if err := json.Unmarshal(v, &list); err != nil {
				return err
			}
		} else {
			list = []json.RawMessage{v}
		}
		for _, item := range list {
			var s string
			if err := json.Unmarshal(item, &s); err != nil {
				if bytes.Equal(item, []byte("null")) {
					continue
				}
				s = string(item)
			}
			add(k, s)
		}
	}
	return nil
}

// decodeBody turns the payload's Body into bytes: a JSON string is the
// body, except for application/octet-stream and multipart/* content, which
// the host sends in base64; any other JSON value (a host may pass a parsed
// JSON body) is the body as JSON.
func decodeBody(raw json.RawMessage, contentType string) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] != '"' {
		return []byte(raw), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/") {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return []byte(s), nil
}

// toHTTP builds a standard request from a payload request, for
// HTTPHandler functions invoked in payload mode.
func (r *HTTPRequest) toHTTP(ctx *Context) (*http.Request, error) {
	u := *r.URL
	if len(r.Query) > 0 && u.RawQuery == "" {
		u.RawQuery = r.Query.Encode()
	}
	hr, err := http.NewRequestWithContext(contextWith(ctx), r.Method, u.String(), bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	hr.Header = r.Headers.Clone()
	hr.RequestURI = u.RequestURI()
	if u.Host == "" {
		hr.Host = r.Headers.Get("Host")
	}
	for k, v := range r.Params {
		hr.SetPathValue(k, v)
	}
	return hr, nil
}

// requestFromHTTP builds an HTTPRequest from a request the host forwarded.
func requestFromHTTP(r *http.Request, params map[string]string) (*HTTPRequest, error) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
	}
	u := *r.URL
	if u.Host == "" {
		u.Host = r.Host
	}
	if u.Scheme == "" {
		u.Scheme = "http"
		if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || r.TLS != nil {
			u.Scheme = "https"
		}
	}
	if params == nil {
		params = map[string]string{}
	}
	return &HTTPRequest{
		Method:  r.Method,
		URL:     &u,
		Query:   r.URL.Query(),
		Params:  params,
		Headers: r.Header,
		Body:    body,
	}, nil
}

// setHTTPResponse records res as the function's http output (or return
// value) and returns the value for the ReturnValue.
func (c *Context) setHTTPResponse(f *function, res *HTTPResponse) (any, error) {
	if res == nil {
		res = &HTTPResponse{Status: http.StatusNoContent}
	}
	if res.err != nil {
		return nil, res.err
	}
	d := httpResponseData{StatusCode: statusOr200(res.Status)}
	if len(res.Headers) > 0 {
		d.Headers = make(map[string]any, len(res.Headers))
		for k, vs := range res.Headers {
			switch len(vs) {
			case 0:
			case 1:
				d.Headers[k] = vs[0]
			default:
				d.Headers[k] = vs
			}
		}
	}
	if utf8.Valid(res.Body) {
		d.Body = string(res.Body)
	} else {
		d.Body = base64.StdEncoding.EncodeToString(res.Body)
		d.BodyEncoding = "base64"
	}
	if f.resName == ReturnName {
		return d, nil
	}
	c.SetOutput(f.resName, d)
	return nil, nil
}

// recorder is the ResponseWriter given to HTTPHandler functions in payload
// mode.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.header.Get("Content-Type") == "" && r.body.Len() == 0 {
		r.header.Set("Content-Type", http.DetectContentType(b))
	}
	return r.body.Write(b)
}

// Flush is a no-op: a payload-mode response is sent whole.
func (r *recorder) Flush() {}
