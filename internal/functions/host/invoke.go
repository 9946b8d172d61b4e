package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/metering"
)

// ErrorKind classifies a failed invocation.
type ErrorKind int

const (
	// Failed: the worker answered with a non-2xx status or an unreadable body, or an output could not be written.
	Failed ErrorKind = iota
	// Crashed: the worker process exited while the invocation was in flight (or could not be started).
	Crashed
	// TimedOut: the invocation ran past the function timeout; its instance was recycled.
	TimedOut
	// NotFound: the app has no such function.
	NotFound
)

// InvocationError is a failed invocation.
type InvocationError struct {
	Kind     ErrorKind
	Function string
	ID       string
	Msg      string
	Err      error
}

func (e *InvocationError) Error() string {
	return fmt.Sprintf("function %s (invocation %s): %s", e.Function, e.ID, e.Msg)
}

func (e *InvocationError) Unwrap() error { return e.Err }

var errTimeout = errors.New("function timeout")

// run is one invocation's passage through the host, for metering.
type run struct {
	fn      *binding.Function
	id      string
	arrived time.Time
	w       *worker       // the instance it got; nil if none
	cold    time.Duration // how long it waited for an instance to start
	began   time.Time     // when it got the instance
}

// done ends an invocation that got an instance: it reports it to Options.Meter and frees its slot on the instance.
func (h *Host) done(r *run, ok bool) {
	if r.w == nil {
		return
	}
	if h.opts.Meter != nil {
		h.opts.Meter(metering.Execution{App: h.opts.Name, Function: r.fn.Name(), InvocationID: r.id, Start: r.arrived,
			Duration: time.Since(r.began), Succeeded: ok, MemoryBytes: r.w.memory(), ColdStart: r.cold, Trigger: r.fn.Trigger().Type})
	}
	h.leave(r.w)
}

// call sends o to a worker instance, failing fast if the instance dies and recycling it when the function timeout
// passes. It returns the worker's status, headers and whole body. Once it has an instance (r.w), the caller must
// call h.done(r, ...).
func (h *Host) call(ctx context.Context, r *run, o *outbound) (int, http.Header, []byte, error) {
	fn, id := r.fn.Name(), r.id
	w, cold, err := h.acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, &InvocationError{Kind: Failed, Function: fn, ID: id, Err: ctx.Err(), Msg: "cancelled: " + ctx.Err().Error()}
		}
		return 0, nil, nil, &InvocationError{Kind: Crashed, Function: fn, ID: id, Msg: err.Error(), Err: err}
	}
	r.w, r.cold, r.began = w, cold, time.Now()
	o.id = id
	var (
		status   int
		hdr      http.Header
		body     []byte
		timedOut func() bool
		gone     func() bool
	)
	if w.sc != nil {
		// Over the socket: the deadline stops the connection's I/O, and a worker that exits closes it.
		var deadline time.Time
		if h.timeout > 0 {
			deadline = r.began.Add(h.timeout)
		}
		status, hdr, body, err = w.sc.do(ctx, o, deadline)
		timedOut = func() bool { return h.timeout > 0 && ctx.Err() == nil && !time.Now().Before(deadline) }
		gone = w.exited
	} else {
		cctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		if h.timeout > 0 {
			var c2 context.CancelFunc
			cctx, c2 = context.WithTimeoutCause(cctx, h.timeout, errTimeout)
			defer c2()
		}
		defer context.AfterFunc(w.gone, func() { cancel(errWorkerGone) })()
		var req *http.Request
		req, err = o.httpRequest(cctx, w.base)
		if err != nil {
			return 0, nil, nil, &InvocationError{Kind: Failed, Function: fn, ID: id, Msg: err.Error(), Err: err}
		}
		var resp *http.Response
		resp, err = w.tr.RoundTrip(req)
		if err == nil {
			status, hdr = resp.StatusCode, resp.Header
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		timedOut = func() bool { return errors.Is(context.Cause(cctx), errTimeout) }
		gone = func() bool { return errors.Is(context.Cause(cctx), errWorkerGone) }
	}
	if err != nil {
		switch {
		case timedOut():
			h.recycle(w)
			h.log.Error("function timed out; instance recycled", "app", h.opts.Name, "function", fn, "invocationId", id, "timeout", h.timeout)
			return 0, nil, nil, &InvocationError{Kind: TimedOut, Function: fn, ID: id, Err: errTimeout,
				Msg: fmt.Sprintf("Timeout value of %s was exceeded by function: Functions.%s; the instance was recycled", appconfig.FormatTimeSpan(h.timeout), fn)}
		case gone() || (ctx.Err() == nil && exitedSoon(w)):
			return 0, nil, nil, &InvocationError{Kind: Crashed, Function: fn, ID: id, Err: errWorkerGone,
				Msg: fmt.Sprintf("the worker process %s while running the function (it will be restarted); stderr: %s", w.exitReason(), w.stderrTail())}
		case ctx.Err() != nil:
			return 0, nil, nil, &InvocationError{Kind: Failed, Function: fn, ID: id, Err: ctx.Err(), Msg: "cancelled: " + ctx.Err().Error()}
		}
		return 0, nil, nil, &InvocationError{Kind: Failed, Function: fn, ID: id, Err: err, Msg: "calling the worker: " + err.Error()}
	}
	return status, hdr, body, nil
}

// exitedSoon reports whether w exits shortly after a connection error: a dying process closes its connections
// (EOF, reset) a moment before the host observes its exit.
func exitedSoon(w *worker) bool {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-w.done:
		return true
	case <-t.C:
		return false
	}
}

// Invoke runs a function with the custom-handler payload protocol: POST /{function} {"Data","Metadata"}, reading
// {"Outputs","Logs","ReturnValue"}. Logs go to the logger; outputs are written through their binding types (the
// "$return" binding gets ReturnValue). It implements binding.Invoker, for triggers. Errors are *InvocationError.
func (h *Host) Invoke(ctx context.Context, inv *binding.Invocation) (*binding.Result, error) {
	fn := h.Function(inv.Function)
	id := inv.ID
	if id == "" {
		id = newID()
	}
	if fn == nil {
		return nil, &InvocationError{Kind: NotFound, Function: inv.Function, ID: id, Msg: "no such function in app " + h.opts.Name}
	}
	name := fn.Name()
	// sys is in the metadata that input and output bindings see too, so that {sys.RandGuid} in a blob path is
	// the value the worker got.
	sys, _ := json.Marshal(map[string]any{"MethodName": name, "UtcNow": time.Now().UTC().Format(time.RFC3339Nano), "RandGuid": newID()})
	meta := make(map[string]json.RawMessage, len(inv.Metadata)+1)
	for k, v := range inv.Metadata {
		meta[k] = v
	}
	meta["sys"] = sys
	binv := *inv
	binv.Metadata = meta
	inv = &binv
	data := inv.Data
	if data == nil {
		data = map[string]json.RawMessage{}
	}
	if fn.HasInputs {
		var err error
		if data, err = h.readInputs(ctx, fn, inv, data); err != nil {
			return nil, &InvocationError{Kind: Failed, Function: name, ID: id, Msg: err.Error(), Err: err}
		}
	}
	payload, err := json.Marshal(map[string]any{"Data": data, "Metadata": meta})
	if err != nil {
		return nil, &InvocationError{Kind: Failed, Function: name, ID: id, Msg: "encoding the payload: " + err.Error(), Err: err}
	}
	h.log.Info("Executing 'Functions."+name+"'", "app", h.opts.Name, "function", name, "invocationId", id)
	start := time.Now()
	r := &run{fn: fn, id: id, arrived: start}
	ok := false
	defer func() { h.done(r, ok) }()
	status, _, body, err := h.call(ctx, r, &outbound{method: http.MethodPost, uri: "/" + name, ctype: "application/json", body: payload})
	if err != nil {
		h.log.Error("Executed 'Functions."+name+"' (Failed)", "app", h.opts.Name, "function", name, "invocationId", id, "error", err, "duration", time.Since(start))
		return nil, err
	}
	var res binding.Result
	decodeErr := json.Unmarshal(body, &res)
	for _, line := range res.Logs {
		h.log.Info(line, "app", h.opts.Name, "function", name, "invocationId", id)
	}
	if status < 200 || status > 299 {
		msg := fmt.Sprintf("the worker answered %d %s", status, http.StatusText(status))
		if b := strings.TrimSpace(string(body)); b != "" {
			msg += ": " + truncate(b, 2048)
		}
		h.log.Error("Executed 'Functions."+name+"' (Failed)", "app", h.opts.Name, "function", name, "invocationId", id, "error", msg, "duration", time.Since(start))
		return nil, &InvocationError{Kind: Failed, Function: name, ID: id, Msg: msg}
	}
	if decodeErr != nil {
		return nil, &InvocationError{Kind: Failed, Function: name, ID: id, Err: decodeErr,
			Msg: fmt.Sprintf("the worker's answer is not {\"Outputs\",\"Logs\",\"ReturnValue\"} JSON: %v: %s", decodeErr, truncate(string(body), 512))}
	}
	for i := range fn.Def.Bindings {
		b := &fn.Def.Bindings[i]
		if b.Direction != appconfig.Out && b.Direction != appconfig.InOut {
			continue
		}
		v, ok := res.Value(b.Name)
		if !ok {
			continue
		}
		t, _ := binding.Lookup(b.Type)
		if out, ok := t.(binding.Output); ok {
			if err := out.Write(ctx, fn, b, inv, v); err != nil {
				return &res, &InvocationError{Kind: Failed, Function: name, ID: id, Err: err, Msg: fmt.Sprintf("writing output %s (%s): %v", b.Name, b.Type, err)}
			}
		}
	}
	h.log.Info("Executed 'Functions."+name+"' (Succeeded)", "app", h.opts.Name, "function", name, "invocationId", id, "duration", time.Since(start))
	ok = true
	return &res, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// readInputs adds the value of every input binding (one whose type implements binding.Input) to a copy of data.
func (h *Host) readInputs(ctx context.Context, fn *binding.Function, inv *binding.Invocation, data map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(data)+1)
	for k, v := range data {
		out[k] = v
	}
	for i := range fn.Def.Bindings {
		b := &fn.Def.Bindings[i]
		if i == fn.TriggerIx || b.Direction != appconfig.In {
			continue
		}
		t, _ := binding.Lookup(b.Type)
		in, ok := t.(binding.Input)
		if !ok {
			continue
		}
		v, err := in.Read(ctx, fn, b, inv)
		if err != nil {
			return nil, fmt.Errorf("reading input %s (%s): %w", b.Name, b.Type, err)
		}
		out[b.Name] = v
	}
	return out, nil
}
