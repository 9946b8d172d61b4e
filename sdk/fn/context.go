package fn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Invocation is the payload the host sends to invoke a function: the
// trigger and input values by binding name, and the trigger metadata.
type Invocation struct {
	// Data holds the trigger value and input binding values, keyed by
	// binding name, as the host encoded them.
	Data map[string]json.RawMessage `json:"Data"`
	// Metadata holds the trigger metadata (for a queue message, for example,
	// "Id", "DequeueCount", "InsertionTime"), plus "sys" with "MethodName",
	// "UtcNow" and "RandGuid".
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// Decode decodes the value of the binding named name in Data into v, with
// [encoding/json] rules (so into a *string for a queue message sent as a
// string, or a struct for a JSON event).
func (inv *Invocation) Decode(name string, v any) error {
	raw, ok := inv.Data[name]
	if !ok {
		return fmt.Errorf("fn: the invocation has no input named %q (it has: %s)", name, keys(inv.Data))
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("fn: input %q: %w", name, err)
	}
	return nil
}

// DecodeMetadata decodes the trigger metadata value under key into v. The
// key matches ignoring case, since the host writes .NET names such as
// "DequeueCount".
func (inv *Invocation) DecodeMetadata(key string, v any) error {
	raw, ok := inv.Metadata[key]
	if !ok {
		for k, r := range inv.Metadata {
			if strings.EqualFold(k, key) {
				raw, ok = r, true
				break
			}
		}
	}
	if !ok {
		return fmt.Errorf("fn: the invocation has no metadata %q (it has: %s)", key, keys(inv.Metadata))
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("fn: metadata %q: %w", key, err)
	}
	return nil
}

func keys(m map[string]json.RawMessage) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		return "none"
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

// decodeInvocation parses a payload body. An empty body is an invocation
// with no data.
func decodeInvocation(body []byte) (*Invocation, error) {
	inv := &Invocation{}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return inv, nil
	}
	if body[0] != '{' {
		return nil, fmt.Errorf(`the payload is not a JSON object; want {"Data":{...},"Metadata":{...}}`)
	}
	if err := json.Unmarshal(body, inv); err != nil {
		return nil, fmt.Errorf(`the payload is not {"Data":{...},"Metadata":{...}}: %w`, err)
	}
	return inv, nil
}

// Context is what a function receives besides its trigger value: the
// invocation's identity, its [context.Context] (cancelled if the host
// abandons the invocation), a logger whose lines reach the host's
// invocation log, and the output bindings to set.
//
// A Context is a [context.Context], so it can be passed to any API that
// takes one. Its methods are safe for concurrent use, but outputs set and
// lines logged after the function returns are not part of its result.
type Context struct {
	context.Context

	// FunctionName is the function's registered name.
	FunctionName string
	// InvocationID is the host's id for this invocation (the
	// X-Azure-Functions-InvocationId header), or "" if it sent none.
	InvocationID string
	// TraceParent is the W3C traceparent the host sent, or "".
	TraceParent string
	// Invocation is the raw payload: trigger and input values and trigger
	// metadata. It is empty when the host forwarded an HTTP request as is.
	Invocation *Invocation
	// Log is the invocation's logger; see [Context.Logf] for how lines are
	// written and where they go.
	Log *slog.Logger

	fn     *function
	params map[string]string // route values of a forwarded request

	mu      sync.Mutex
	outputs map[string]any
	order   []string
	logs    []string
	sealed  bool // the result was taken: later lines go to stderr
	stderr  bool // mirror lines to stderr
	errOut  io.Writer
}

type ctxKey struct{}

// contextWith returns a context.Context that carries c, for FromRequest.
func contextWith(c *Context) context.Context {
	return context.WithValue(c.Context, ctxKey{}, c)
}

func (a *App) newContext(parent context.Context, f *function, inv *Invocation, h headerGetter, forwarded bool) *Context {
	c := &Context{
		Context:      parent,
		FunctionName: f.name,
		InvocationID: h.Get("X-Azure-Functions-Invocationid"), // canonical, so Get does not allocate
		TraceParent:  h.Get("Traceparent"),
		Invocation:   inv,
		fn:           f,
		stderr:       a.stderr || forwarded,
		errOut:       os.Stderr,
	}
	if a.errOut != nil {
		c.errOut = a.errOut
	}
	c.Log = slog.New(&logHandler{c: c})
	return c
}

type headerGetter interface{ Get(string) string }

// Logf logs a line at Info level, formatted as by [fmt.Sprintf].
//
// Lines logged through Logf or [Context.Log] while the function runs are
// returned to the host in the invocation response's "Logs" array, which the
// host writes to the invocation log; they are not written to standard error
// unless the app was made with [LogToStderr]. Lines at levels other than Info
// start with the level, such as "WARN: " or "ERROR: ", since the protocol
// carries plain strings; attributes follow the message as key=value.
// When the host forwarded an HTTP request as is, there is no Logs array, and
// lines go to standard error.
func (c *Context) Logf(format string, args ...any) {
	c.addLog(fmt.Sprintf(format, args...))
}

func (c *Context) addLog(line string) {
	c.mu.Lock()
	toStderr := c.sealed || c.stderr
	if !c.sealed {
		c.logs = append(c.logs, line)
	}
	c.mu.Unlock()
	if toStderr {
		id := c.InvocationID
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(c.errOut, "[%s %s] %s\n", c.FunctionName, id, line)
	}
}

// SetOutput sets the value of the output binding named name, declared with
// [Output] at registration. The worker encodes value as JSON in the
// response's Outputs ([]byte values in base64, which the host decodes).
// Setting "$return" is the same as returning the value. A name that was not
// declared fails the invocation, to catch typos.
func (c *Context) SetOutput(name string, value any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sealed {
		return
	}
	if c.outputs == nil {
		c.outputs = map[string]any{}
	}
	if _, ok := c.outputs[name]; !ok {
		c.order = append(c.order, name)
	}
	c.outputs[name] = value
}

// invokeResponse is the worker's answer in payload mode.
type invokeResponse struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
	Error       *errorBody                 `json:"error,omitempty"`
}

// errorBody says what failed, in Azure's {"error":{"code","message"}} shape
// with the function and invocation added.
type errorBody struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	Function     string `json:"function,omitempty"`
	InvocationID string `json:"invocationId,omitempty"`
	Stack        string `json:"stack,omitempty"`
}

// result seals the context and builds the response from the outputs set,
// the return value ret and the logs.
func (c *Context) result(ret any) (*invokeResponse, error) {
	c.mu.Lock()
	c.sealed = true
	outputs, order, logs := c.outputs, c.order, c.logs
	c.mu.Unlock()

	res := &invokeResponse{Outputs: map[string]json.RawMessage{}, Logs: logs, ReturnValue: json.RawMessage("null")}
	if res.Logs == nil {
		res.Logs = []string{}
	}
	if v, ok := outputs[ReturnName]; ok && ret == nil {
		ret = v
	}
	for _, name := range order {
		if name == ReturnName {
			continue
		}
		if c.fn.output(name) == nil {
			return res, fmt.Errorf("output %q is not declared; declared outputs: %s (declare it with fn.Output)",
				name, strings.Join(c.fn.outputNames(), ", "))
		}
		b, err := json.Marshal(outputs[name])
		if err != nil {
			return res, fmt.Errorf("output %q: %w", name, err)
		}
		res.Outputs[name] = b
	}
	if ret != nil {
		b, err := json.Marshal(ret)
		if err != nil {
			return res, fmt.Errorf("return value: %w", err)
		}
		res.ReturnValue = b
	}
	return res, nil
}

// seal ends the invocation for logging and returns the lines logged.
func (c *Context) seal() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sealed = true
	if c.logs == nil {
		return []string{}
	}
	return c.logs
}

// logHandler is the slog.Handler behind Context.Log.
type logHandler struct {
	c      *Context
	attrs  string // preformatted " k=v" pairs from WithAttrs
	prefix string // group prefix, "g1.g2."
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if r.Level != slog.LevelInfo {
		b.WriteString(r.Level.String() + ": ")
	}
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.prefix, a)
		return true
	})
	h.c.addLog(b.String())
	return nil
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range attrs {
		writeAttr(&b, h.prefix, a)
	}
	return &logHandler{c: h.c, attrs: h.attrs + b.String(), prefix: h.prefix}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &logHandler{c: h.c, attrs: h.attrs, prefix: h.prefix + name + "."}
}

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			writeAttr(b, p, g)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix + a.Key)
	b.WriteByte('=')
	b.WriteString(quoteIfNeeded(a.Value.String()))
}

func quoteIfNeeded(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r == '=' || r == '"' || unicode.IsSpace(r) || !unicode.IsPrint(r) || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}
