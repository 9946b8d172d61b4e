package fn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Protocol names: environment variables, headers and paths of the worker
// protocol. See the package documentation.
const (
	// EnvPort is the variable the host sets to the port the worker must
	// listen on, on 127.0.0.1.
	EnvPort = "FUNCTIONS_CUSTOMHANDLER_PORT"
	// EnvListen, if set, is an address to listen on instead (for example
	// "127.0.0.1:8080"), for running a worker without a host.
	EnvListen = "LAPIS_LISTEN"
	// EnvSocket, if set, is the path of a Unix-domain socket to listen on
	// instead of the port. The Lapis host sets it together with the port
	// and talks to the worker over whichever it listens on; a socket saves
	// the cost of loopback TCP on every invocation.
	EnvSocket = "LAPIS_WORKER_SOCKET"
	// EnvDescribe, set to "1" or "true", makes [App.Run] print the app's
	// description (see [App.FunctionJSON]) to standard output and exit.
	EnvDescribe = "LAPIS_DESCRIBE"
	// DescribePath is the worker path that answers GET with the app's
	// description.
	DescribePath = "/.lapis/functions"
	// HeaderFunction, on a request the host forwards as is, names the
	// HTTP function that must serve it.
	HeaderFunction = "X-Lapis-Function"
)

// ServeHTTP serves the worker protocol, so an App can be mounted in any
// [http.Server] (or an httptest server). [App.Run] and [App.Serve] use it.
//
//   - GET / answers 200: the host's readiness probe.
//   - GET /.lapis/functions answers the app's description.
//   - POST /{function} with {"Data":{...},"Metadata":{...}} invokes the
//     function and answers {"Outputs":{...},"Logs":[...],"ReturnValue":...},
//     or a 500 whose body's "error" says what failed.
//   - A request with the X-Lapis-Function header, or whose path matches an
//     HTTP function's route under the route prefix, is an HTTP request the
//     host forwarded as is, and is served by that function directly.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if name := r.Header.Get(HeaderFunction); name != "" {
		f := a.lookup(name)
		if f == nil || f.raw == nil {
			a.notFound(w, name, "no HTTP function named %q in this worker; it has: %s")
			return
		}
		var params map[string]string
		if rest, ok := stripPrefix(r.URL.Path, a.prefix); ok {
			params, _ = f.route.match(rest)
		}
		a.forward(w, r, f, params)
		return
	}
	path := r.URL.Path
	switch {
	case path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "functions": len(a.functions())})
		return
	case path == DescribePath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET "+DescribePath, nil)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(a.FunctionJSON())
		return
	}
	name := strings.TrimPrefix(path, "/")
	if r.Method == http.MethodPost && name != "" && !strings.Contains(name, "/") {
		if f := a.lookup(name); f != nil {
			a.invoke(w, r, f)
			return
		}
	}
	if f, params := a.matchRoute(r); f != nil {
		a.forward(w, r, f, params)
		return
	}
	a.notFound(w, name, "no function named %q in this worker (invoke with POST /{function}); it has: %s")
}

func (a *App) notFound(w http.ResponseWriter, name, format string) {
	writeError(w, http.StatusNotFound, "FunctionNotFound", fmt.Sprintf(format, name, a.names()), nil)
}

// matchRoute finds the HTTP function whose route and methods match a
// forwarded request.
func (a *App) matchRoute(r *http.Request) (*function, map[string]string) {
	rest, ok := stripPrefix(r.URL.Path, a.prefix)
	if !ok {
		return nil, nil
	}
	for _, f := range a.functions() {
		if f.raw == nil {
			continue
		}
		if len(f.methods) > 0 && !containsFold(f.methods, r.Method) {
			continue
		}
		if params, ok := f.route.match(rest); ok {
			return f, params
		}
	}
	return nil, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// payloadError marks an invocation that failed because its payload could
// not be read, not because the function failed.
type payloadError struct{ err error }

func (e *payloadError) Error() string { return e.err.Error() }
func (e *payloadError) Unwrap() error { return e.err }

// panicError is a recovered panic.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// call runs a handler, turning a panic into an error.
func call[T any](run func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return run()
}

// invoke serves POST /{function} in payload mode.
func (a *App) invoke(w http.ResponseWriter, r *http.Request, f *function) {
	a.inflight.Add(1)
	defer a.inflight.Add(-1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "reading the payload: "+err.Error(), nil)
		return
	}
	inv, err := decodeInvocation(body)
	if err != nil {
		ctx := a.newContext(r.Context(), f, &Invocation{}, r.Header, false)
		a.fail(w, ctx, &payloadError{err}, nil)
		return
	}
	ctx := a.newContext(r.Context(), f, inv, r.Header, false)
	ret, err := call(func() (any, error) { return f.handler(ctx, inv) })
	if err != nil {
		a.fail(w, ctx, err, nil)
		return
	}
	res, err := ctx.result(ret)
	if err != nil {
		a.fail(w, ctx, err, res.Logs)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// fail answers a failed invocation: 400 for a payload the worker could not
// read, else 500, with the logs so far and an "error" saying what failed.
func (a *App) fail(w http.ResponseWriter, ctx *Context, err error, logs []string) {
	if logs == nil {
		logs = ctx.seal()
	}
	status, e := errorFor(ctx, err)
	if e.Stack != "" {
		fmt.Fprintf(a.errOut, "[%s %s] %s\n%s", ctx.FunctionName, ctx.InvocationID, e.Message, e.Stack)
	} else {
		fmt.Fprintf(a.errOut, "[%s %s] failed: %s\n", ctx.FunctionName, ctx.InvocationID, e.Message)
	}
	writeJSON(w, status, &invokeResponse{
		Outputs:     map[string]json.RawMessage{},
		Logs:        logs,
		ReturnValue: json.RawMessage("null"),
		Error:       e,
	})
}

func errorFor(ctx *Context, err error) (int, *errorBody) {
	e := &errorBody{Code: "FunctionFailed", Message: err.Error(), Function: ctx.FunctionName, InvocationID: ctx.InvocationID}
	status := http.StatusInternalServerError
	var pe *panicError
	var bad *payloadError
	switch {
	case errors.As(err, &pe):
		e.Code = "FunctionPanicked"
		e.Message = fmt.Sprintf("function %q panicked: %v", ctx.FunctionName, pe.value)
		e.Stack = string(pe.stack)
	case errors.As(err, &bad):
		e.Code = "BadPayload"
		e.Message = fmt.Sprintf("function %q: %v", ctx.FunctionName, err)
		status = http.StatusBadRequest
	default:
		e.Message = fmt.Sprintf("function %q failed: %v", ctx.FunctionName, err)
	}
	return status, e
}

// forward serves an HTTP request the host forwarded as is.
func (a *App) forward(w http.ResponseWriter, r *http.Request, f *function, params map[string]string) {
	a.inflight.Add(1)
	defer a.inflight.Add(-1)
	ctx := a.newContext(r.Context(), f, &Invocation{}, r.Header, true)
	ctx.params = params
	defer ctx.seal()
	r = r.WithContext(contextWith(ctx))
	for k, v := range params {
		r.SetPathValue(k, v)
	}
	tw := &trackingWriter{ResponseWriter: w}
	_, err := call(func() (struct{}, error) {
		f.raw.ServeHTTP(tw, r)
		return struct{}{}, nil
	})
	if err != nil {
		_, e := errorFor(ctx, err)
		fmt.Fprintf(a.errOut, "[%s %s] %s\n%s", ctx.FunctionName, ctx.InvocationID, e.Message, e.Stack)
		if !tw.wrote {
			e.Stack = ""
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": e})
		}
	}
}

type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(s int) { t.wrote = true; t.ResponseWriter.WriteHeader(s) }
func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// Flush sends buffered data to the client, for streaming responses.
func (t *trackingWriter) Flush() {
	t.wrote = true
	http.NewResponseController(t.ResponseWriter).Flush()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]any{"error": errorBody{Code: "InternalError", Message: err.Error()}})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// writeError answers {"error":{...}}, adding the function and invocation
// when ctx is not nil.
func writeError(w http.ResponseWriter, status int, code, msg string, ctx *Context) {
	e := errorBody{Code: code, Message: msg}
	if ctx != nil {
		e.Function, e.InvocationID = ctx.FunctionName, ctx.InvocationID
		ctx.addLog("ERROR: " + msg)
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// Serve serves the worker protocol on ln until ctx is done, then shuts down
// gracefully: it stops accepting connections and waits for in-flight
// invocations to finish (at most the [ShutdownTimeout], if one was set). It
// returns nil after a graceful shutdown.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	return a.serve(ctx, nil, ln, false)
}

// serve serves on ln. hostOnly says that only the host can connect (its Unix-domain socket), so the server does
// not need to guard against slow clients.
func (a *App) serve(ctx context.Context, force <-chan struct{}, ln net.Listener, hostOnly bool) error {
	a.mu.Lock()
	a.serving = true
	a.mu.Unlock()
	srv := &http.Server{
		Handler:           a,
		ReadHeaderTimeout: time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if hostOnly {
		srv.ReadHeaderTimeout = 0 // saves setting a read deadline twice per request
	}
	var frames *frameServer
	httpLn := ln
	if hostOnly && !strings.EqualFold(os.Getenv(EnvWorkerProtocol), "http") {
		// The host's connections that start with the frame preamble are served as frames, others as HTTP.
		frames = newFrameServer(a, context.WithoutCancel(ctx))
		httpLn = newSniffListener(ln, frames)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(httpLn) }()
	select {
	case err := <-errc:
		return fmt.Errorf("fn: serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if a.shutdown > 0 {
		sctx, cancel = context.WithTimeout(sctx, a.shutdown)
		defer cancel()
	}
	if force != nil {
		go func() {
			select {
			case <-force:
				cancel()
			case <-sctx.Done():
			}
		}()
	}
	if n := a.inflight.Load(); n > 0 {
		a.log.Info("shutting down: waiting for in-flight invocations", "count", n)
	}
	err := srv.Shutdown(sctx)
	if err == nil && frames != nil {
		err = frames.shutdown(sctx)
	}
	if err != nil {
		n := a.inflight.Load()
		srv.Close()
		if frames != nil {
			frames.close()
		}
		err = fmt.Errorf("fn: shutdown: stopped waiting for %d in-flight invocation(s): %w", n, err)
	}
	<-errc
	return err
}

// Run serves the worker protocol as the host expects and returns after a
// graceful shutdown. It is the usual last line of main.
//
//   - With LAPIS_DESCRIBE=1 it writes the app's description (as
//     [App.FunctionJSON]) to standard output and exits with status 0,
//     without serving.
//   - Otherwise it listens on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT (or
//     the legacy FUNCTIONS_HTTPWORKER_PORT), or on the Unix-domain socket
//     $LAPIS_WORKER_SOCKET if set, or on $LAPIS_LISTEN if set, and
//     serves until SIGTERM or SIGINT; then it stops accepting requests and
//     waits for in-flight invocations to finish. A second signal stops it
//     at once.
//
// If it cannot start (no port set, the port is taken), it prints why to
// standard error and exits with status 1.
func (a *App) Run() {
	if v := os.Getenv(EnvDescribe); v == "1" || strings.EqualFold(v, "true") {
		os.Stdout.Write(a.FunctionJSON())
		os.Exit(0)
	}
	if err := a.run(); err != nil {
		fmt.Fprintln(a.errOut, err)
		os.Exit(1)
	}
}

func (a *App) run() error {
	network, addr, err := listenAddr()
	if err != nil {
		return err
	}
	if network == "unix" {
		_ = os.Remove(addr) // a stale socket of an earlier run
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return fmt.Errorf("fn: cannot listen on %s: %w", addr, err)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sigs)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	force := make(chan struct{})
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case s := <-sigs:
			a.log.Info("worker stopping", "signal", s.String())
			stop()
		case <-done:
			return
		}
		select {
		case <-sigs:
			a.log.Info("worker stopping now (second signal)")
			close(force)
		case <-done:
		}
	}()
	a.log.Info("worker listening", "addr", ln.Addr().String(), "functions", len(a.functions()))
	return a.serve(ctx, force, ln, network == "unix")
}

// listenAddr is the network ("tcp" or "unix") and address Run listens on.
func listenAddr() (network, addr string, err error) {
	if addr := os.Getenv(EnvListen); addr != "" {
		return "tcp", addr, nil
	}
	if path := os.Getenv(EnvSocket); path != "" {
		return "unix", path, nil
	}
	name := EnvPort
	port := os.Getenv(name)
	if port == "" {
		name = "FUNCTIONS_HTTPWORKER_PORT"
		port = os.Getenv(name)
	}
	if port == "" {
		return "", "", errors.New("fn: FUNCTIONS_CUSTOMHANDLER_PORT is not set. This program is a function app worker, " +
			"which the Functions host starts with that variable (run it with `lapis func start`). " +
			"To run it by hand, set FUNCTIONS_CUSTOMHANDLER_PORT=8080 or LAPIS_LISTEN=127.0.0.1:8080; " +
			"to list its functions, set LAPIS_DESCRIBE=1")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("fn: %s=%q is not a port number (1-65535)", name, port)
	}
	return "tcp", net.JoinHostPort("127.0.0.1", port), nil
}
