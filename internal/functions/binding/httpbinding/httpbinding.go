package httpbinding

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/route"
)

// Type names.
const (
	TriggerType = "httpTrigger"
	OutputType  = "http"
)

// Auth levels.
const (
	Anonymous = "anonymous"
	Function  = "function"
	Admin     = "admin"
)

func init() {
	binding.Register(Trigger{})
	binding.Register(Output{})
}

// Config is an httpTrigger's parsed properties.
type Config struct {
	AuthLevel string   // lower case; default "function"
	Methods   []string // upper case; nil means every method
	Route     string   // as written; "" means the function name
}

var knownMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT"}

// ParseConfig reads and validates an httpTrigger binding's properties.
func ParseConfig(b *appconfig.Binding) (Config, error) {
	c := Config{AuthLevel: Function}
	var errs []error
	if raw, ok := b.Property("authLevel"); ok && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			errs = append(errs, &binding.PropertyError{Property: "authLevel", Msg: fmt.Sprintf("%s is not a string; allowed: anonymous, function, admin", raw)})
		} else {
			switch l := strings.ToLower(s); l {
			case Anonymous, Function, Admin:
				c.AuthLevel = l
			default:
				errs = append(errs, binding.OneOf("authLevel", s, Anonymous, Function, Admin))
			}
		}
	}
	if raw, ok := b.Property("methods"); ok && string(raw) != "null" {
		var ms []string
		if json.Unmarshal(raw, &ms) != nil {
			errs = append(errs, &binding.PropertyError{Property: "methods", Msg: fmt.Sprintf("%s is not an array of strings such as [\"get\", \"post\"]", raw)})
		} else {
			for _, m := range ms {
				u := strings.ToUpper(strings.TrimSpace(m))
				if !validToken(u) {
					errs = append(errs, &binding.PropertyError{Property: "methods", Msg: fmt.Sprintf("%q is not an HTTP method; use e.g. %s", m, strings.ToLower(strings.Join(knownMethods, ", ")))})
					continue
				}
				c.Methods = append(c.Methods, u)
			}
		}
	}
	if raw, ok := b.Property("route"); ok && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			errs = append(errs, &binding.PropertyError{Property: "route", Msg: fmt.Sprintf("%s is not a string (a route template such as \"products/{id:int}\")", raw)})
		} else if _, err := route.Parse(s); err != nil {
			errs = append(errs, &binding.PropertyError{Property: "route", Msg: err.Error()})
		} else {
			c.Route = s
		}
	}
	return c, errors.Join(errs...)
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// Trigger is the httpTrigger binding type.
type Trigger struct{}

// Name implements binding.Type.
func (Trigger) Name() string { return TriggerType }

// Directions implements binding.Type.
func (Trigger) Directions() []appconfig.Direction { return []appconfig.Direction{appconfig.In} }

// Validate implements binding.Type.
func (Trigger) Validate(b *appconfig.Binding) error { _, err := ParseConfig(b); return err }

// Start implements binding.Trigger. HTTP invocations arrive through the host's front door, so there is nothing
// to listen to.
// InvokePath implements binding.Addressable: the routePrefix and the function's route (default its name).
func (Trigger) InvokePath(fn *binding.Function) string {
	cfg, _ := ParseConfig(fn.Trigger())
	route := cfg.Route
	if route == "" {
		route = fn.Name()
	}
	p := "/"
	if fn.Host != nil && fn.Host.HTTP.RoutePrefix != "" {
		p += fn.Host.HTTP.RoutePrefix + "/"
	}
	return p + strings.TrimPrefix(route, "/")
}

func (Trigger) Start(context.Context, *binding.Function, binding.Invoker) (func(), error) {
	return func() {}, nil
}

// Output is the http output binding type.
type Output struct{}

// Name implements binding.Type.
func (Output) Name() string { return OutputType }

// Directions implements binding.Type.
func (Output) Directions() []appconfig.Direction { return []appconfig.Direction{appconfig.Out} }

// Validate implements binding.Type. The http output has no properties.
func (Output) Validate(*appconfig.Binding) error { return nil }

// Write implements binding.Output. The front door reads the value from the result itself.
func (Output) Write(context.Context, *binding.Function, *appconfig.Binding, *binding.Invocation, json.RawMessage) error {
	return nil
}

// ResponseBinding returns the name of fn's http output binding ("res", "$return", ...), or "" if it has none.
func ResponseBinding(fn *appconfig.Function) string {
	for _, b := range fn.Bindings {
		if b.Direction == appconfig.Out && strings.EqualFold(b.Type, OutputType) {
			return b.Name
		}
	}
	return ""
}

// IsHTTPOnly reports whether fn is exactly an HTTP trigger plus one http output, the only shape Azure forwards as
// raw HTTP.
func IsHTTPOnly(fn *appconfig.Function) bool {
	if len(fn.Bindings) != 2 {
		return false
	}
	return strings.EqualFold(fn.Trigger().Type, TriggerType) && ResponseBinding(fn) != ""
}

// Request is the HTTP trigger value in the payload's Data (Azure's GetRequestAsJObject shape).
type Request struct {
	URL        string              `json:"Url"`
	Method     string              `json:"Method"`
	Query      map[string]string   `json:"Query"`
	Headers    map[string][]string `json:"Headers"`
	Params     map[string]string   `json:"Params"`
	Identities []any               `json:"Identities"`
	Body       any                 `json:"Body"`
}

// NewRequest builds the trigger value for r (its body already read) with route values params. Query is a JSON
// object (the newer host form); Body is a string, or base64 bytes for application/octet-stream and multipart/*.
func NewRequest(r *http.Request, body []byte, params map[string]string) *Request {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		q[k] = strings.Join(v, ",")
	}
	if params == nil {
		params = map[string]string{}
	}
	req := &Request{
		URL:        scheme + "://" + r.Host + r.URL.RequestURI(),
		Method:     r.Method,
		Query:      q,
		Headers:    map[string][]string(r.Header.Clone()),
		Params:     params,
		Identities: []any{},
	}
	if req.Headers == nil {
		req.Headers = map[string][]string{}
	}
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if strings.HasPrefix(ct, "application/octet-stream") || strings.HasPrefix(ct, "multipart/") {
		req.Body = body // encoding/json writes base64
	} else {
		req.Body = string(body)
	}
	return req
}

// Response is a decoded http output value (HttpOutputBindingResponse, names matched case-insensitively).
type Response struct {
	StatusCode int
	Headers    http.Header
	Body       []byte
}

// ParseResponse decodes an http output value: {"statusCode"|"status", "headers", "body", "bodyEncoding"}. A body
// that is a JSON string is sent as is (decoded from base64 when bodyEncoding is "base64"); any other JSON body
// is sent as JSON. A value that is not an object is an error with Azure's message.
func ParseResponse(raw json.RawMessage) (*Response, error) {
	var v struct {
		StatusCode   json.RawMessage            `json:"statusCode"`
		Status       json.RawMessage            `json:"status"`
		Headers      map[string]json.RawMessage `json:"headers"`
		Body         json.RawMessage            `json:"body"`
		BodyEncoding string                     `json:"bodyEncoding"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, errors.New("output body should have 'StatusCode', 'Status', 'Body', and 'Headers'")
	}
	res := &Response{StatusCode: http.StatusOK, Headers: http.Header{}}
	for _, sc := range []json.RawMessage{v.Status, v.StatusCode} {
		if len(sc) == 0 || string(sc) == "null" {
			continue
		}
		var n int
		var s string
		if json.Unmarshal(sc, &n) == nil {
		} else if json.Unmarshal(sc, &s) == nil {
			if _, err := fmt.Sscan(s, &n); err != nil {
				return nil, fmt.Errorf("http output: statusCode %q is not a number", s)
			}
		} else {
			return nil, fmt.Errorf("http output: statusCode %s is not a number", sc)
		}
		if n < 100 || n > 999 {
			return nil, fmt.Errorf("http output: statusCode %d is out of range", n)
		}
		res.StatusCode = n
	}
	for k, hv := range v.Headers {
		var s string
		var list []string
		switch {
		case json.Unmarshal(hv, &s) == nil:
			res.Headers.Add(k, s)
		case json.Unmarshal(hv, &list) == nil:
			for _, s := range list {
				res.Headers.Add(k, s)
			}
		default:
			res.Headers.Add(k, string(hv))
		}
	}
	if len(v.Body) > 0 && string(v.Body) != "null" {
		var s string
		if json.Unmarshal(v.Body, &s) == nil {
			if strings.EqualFold(v.BodyEncoding, "base64") {
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return nil, fmt.Errorf("http output: body is not base64: %v", err)
				}
				res.Body = b
			} else {
				res.Body = []byte(s)
			}
		} else {
			res.Body = v.Body
			if res.Headers.Get("Content-Type") == "" {
				res.Headers.Set("Content-Type", "application/json; charset=utf-8")
			}
		}
	}
	return res, nil
}

// WriteResponse writes res to w.
func WriteResponse(w http.ResponseWriter, res *Response) {
	for k, v := range res.Headers {
		w.Header()[http.CanonicalHeaderKey(k)] = v
	}
	if w.Header().Get("Content-Type") == "" && len(res.Body) > 0 {
		if utf8.Valid(res.Body) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/octet-stream")
		}
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(res.Body)
}

// ReadBody reads r's body up to limit bytes; more is an error.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("request body is larger than %d bytes", limit)
	}
	return b, nil
}
