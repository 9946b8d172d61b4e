package fn

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// App is a function app: the set of functions a worker serves. Create one with
// [NewApp], register functions with [App.HTTP], [App.HTTPHandler] and
// [App.Function], then call [App.Run].
//
// Register every function before the app starts serving; registering while
// it serves panics. Registration methods panic on programmer errors (a
// duplicate name, a missing handler, an invalid binding), in the way
// [http.HandleFunc] does, so such mistakes surface at start, including when the
// host asks the app to describe itself (see [App.FunctionJSON]).
type App struct {
	mu       sync.RWMutex
	funcs    []*function // in registration order
	byName   map[string]*function
	serving  bool
	auth     Auth
	stderr   bool
	shutdown time.Duration
	log      *slog.Logger // worker-level messages, to stderr
	errOut   io.Writer    // standard error; tests replace it

	inflight atomic.Int64
	prefix   string // HTTP route prefix, for forwarded requests
}

// AppOption configures an [App]; pass it to [NewApp].
type AppOption func(*App)

// DefaultAuthLevel sets the authLevel of HTTP functions registered without an
// [AuthLevel] option. Without it the default is [Function], as in Azure. It is
// the counterpart of Python's FunctionApp(http_auth_level=...).
func DefaultAuthLevel(a Auth) AppOption {
	return func(app *App) { app.auth = a }
}

// LogToStderr makes the worker also write every invocation log line to
// standard error. By default lines logged during an invocation go only into
// the invocation's response (its Logs array), which the host writes to the
// invocation log, so that the host does not see them twice. Lines that cannot
// reach a response (logged after the function returned, or during a raw
// forwarded HTTP request) always go to standard error.
func LogToStderr() AppOption {
	return func(app *App) { app.stderr = true }
}

// ShutdownTimeout bounds how long [App.Run] and [App.Serve] wait for
// in-flight invocations after a shutdown signal before they stop waiting and
// close every connection. Zero, the default, waits until all of them finish
// (the host enforces the function timeout and kills a worker that overruns).
func ShutdownTimeout(d time.Duration) AppOption {
	return func(app *App) { app.shutdown = d }
}

// NewApp returns an empty function app.
func NewApp(opts ...AppOption) *App {
	a := &App{
		byName: make(map[string]*function),
		auth:   Function,
		errOut: os.Stderr,
		prefix: routePrefix(),
	}
	for _, o := range opts {
		o(a)
	}
	a.log = slog.New(slog.NewTextHandler(a.errOut, nil))
	return a
}

// Handler is the generic function signature. It receives the invocation's
// raw payload: the trigger and input values in inv.Data, keyed by binding
// name, and the trigger metadata in inv.Metadata. Output bindings are set with
// [Context.SetOutput]; the returned value goes to the "$return" binding (the
// response's ReturnValue). A non-nil error fails the invocation.
type Handler func(ctx *Context, inv *Invocation) (any, error)

// Binding is one entry of a function.json "bindings" array: a type, a
// direction ("in", "out" or "inout"), a name, and the type's properties.
// [Trigger], [Input] and [Output] build bindings; FunctionJSON and the
// discovery protocol report them in this shape.
type Binding struct {
	Type      string
	Direction string
	Name      string
	// Props are the type's other function.json properties, such as
	// "queueName", "connection" or "route". Keys "type", "direction" and
	// "name" are not allowed here.
	Props map[string]any
}

// MarshalJSON writes the binding as function.json does: "type",
// "direction" and "name" first, then the properties in key order.
func (b Binding) MarshalJSON() ([]byte, error) {
	var sb strings.Builder
	sb.WriteByte('{')
	write := func(k string, v any) error {
		if sb.Len() > 1 {
			sb.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("binding %q property %q: %w", b.Name, k, err)
		}
		sb.Write(kb)
		sb.WriteByte(':')
		sb.Write(vb)
		return nil
	}
	write("type", b.Type)
	write("direction", b.Direction)
	write("name", b.Name)
	keys := make([]string, 0, len(b.Props))
	for k := range b.Props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := write(k, b.Props[k]); err != nil {
			return nil, err
		}
	}
	sb.WriteByte('}')
	return []byte(sb.String()), nil
}

// UnmarshalJSON reads a function.json binding object.
func (b *Binding) UnmarshalJSON(data []byte) error {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*b = Binding{}
	b.Type, _ = m["type"].(string)
	b.Direction, _ = m["direction"].(string)
	b.Name, _ = m["name"].(string)
	delete(m, "type")
	delete(m, "direction")
	delete(m, "name")
	if len(m) > 0 {
		b.Props = m
	}
	return nil
}

// Option configures a function at registration. Options are the route and
// HTTP settings ([Route], [Methods], [AuthLevel], ...), extra bindings
// ([Input], [Output]) and trigger properties ([TriggerProp]).
type Option interface {
	apply(*function) error
}

type optionFunc func(*function) error

func (o optionFunc) apply(f *function) error { return o(f) }

// Trigger declares what starts a function: its function.json type (for
// example "queueTrigger", "blobTrigger", "timerTrigger", "eventGridTrigger"),
// the binding name under which the host passes the trigger value in the
// payload's Data, and the type's properties. Pass it to [App.Function].
type Trigger struct {
	Type  string
	Name  string
	Props map[string]any
}

// Input declares an input binding (direction "in"), such as a blob read next
// to the trigger. The host passes its value in the payload's Data under Name;
// read it with [Invocation.Decode]. An Input is an [Option].
type Input struct {
	Type  string
	Name  string
	Props map[string]any
}

func (in Input) apply(f *function) error {
	return f.addBinding(Binding{Type: in.Type, Direction: "in", Name: in.Name, Props: in.Props})
}

// Output declares an output binding (direction "out"), such as a queue
// message or a document to write. The function sets its value with
// [Context.SetOutput]; an Output named "$return" takes the function's return
// value instead. An Output is an [Option].
type Output struct {
	Type  string
	Name  string
	Props map[string]any
}

func (out Output) apply(f *function) error {
	return f.addBinding(Binding{Type: out.Type, Direction: "out", Name: out.Name, Props: out.Props})
}

// TriggerProp sets one property of the function's trigger binding, for
// properties that have no option of their own (for example "dataType").
func TriggerProp(key string, value any) Option {
	return optionFunc(func(f *function) error {
		if err := checkPropKey(key); err != nil {
			return err
		}
		t := &f.bindings[0]
		if t.Props == nil {
			t.Props = map[string]any{}
		}
		t.Props[key] = value
		return nil
	})
}

// ReturnName is the binding name whose value a worker returns as the
// response's ReturnValue rather than in Outputs.
const ReturnName = "$return"

// function is one registered function.
type function struct {
	name     string
	bindings []Binding // bindings[0] is the trigger
	handler  Handler
	// For HTTP functions: the route (trigger "route", or the name), the
	// allowed methods (upper case, empty for all), and the raw handler
	// used when the host forwards the HTTP request itself.
	http    bool
	methods []string
	raw     http.Handler
	route   *routeTemplate
	resName string
	// retry is the function's retry policy ([Retry]), or nil.
	retry *RetryPolicy
}

func (f *function) trigger() *Binding { return &f.bindings[0] }

func (f *function) output(name string) *Binding {
	for i := range f.bindings {
		b := &f.bindings[i]
		if b.Direction != "in" && b.Name == name {
			return b
		}
	}
	return nil
}

func (f *function) outputNames() []string {
	var names []string
	for _, b := range f.bindings {
		if b.Direction != "in" {
			names = append(names, b.Name)
		}
	}
	return names
}

var (
	funcNameRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,127}$`)
	bindingNameRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*|\$return)$`)
)

func checkPropKey(k string) error {
	switch strings.ToLower(k) {
	case "type", "direction", "name":
		return fmt.Errorf("property %q is set by the binding itself; use the Type, Name fields", k)
	case "":
		return fmt.Errorf("empty property name")
	}
	return nil
}

func (f *function) addBinding(b Binding) error {
	if b.Type == "" {
		return fmt.Errorf("%s binding %q has no Type", b.Direction, b.Name)
	}
	if !bindingNameRE.MatchString(b.Name) {
		return fmt.Errorf("%s binding name %q is not valid: use letters, digits and _, starting with a letter or _, or %q for an output",
			b.Direction, b.Name, ReturnName)
	}
	if b.Name == ReturnName && b.Direction == "in" {
		return fmt.Errorf("binding name %q is only allowed for an output", ReturnName)
	}
	for _, o := range f.bindings {
		if strings.EqualFold(o.Name, b.Name) {
			return fmt.Errorf("two bindings are named %q", b.Name)
		}
	}
	props := make(map[string]any, len(b.Props))
	for k, v := range b.Props {
		if err := checkPropKey(k); err != nil {
			return fmt.Errorf("binding %q: %w", b.Name, err)
		}
		props[k] = v
	}
	if len(props) == 0 {
		props = nil
	}
	b.Props = props
	if _, err := json.Marshal(b); err != nil {
		return err
	}
	f.bindings = append(f.bindings, b)
	return nil
}

// Function registers a function with any trigger. The handler receives the
// raw payload; see [Handler]. Options add bindings ([Input], [Output]) and
// trigger properties ([TriggerProp]).
//
//	app.Function("process_order",
//		fn.Trigger{Type: "queueTrigger", Name: "msg", Props: map[string]any{"queueName": "orders", "connection": "AzureWebJobsStorage"}},
//		func(ctx *fn.Context, inv *fn.Invocation) (any, error) { ... },
//		fn.Output{Type: "cosmosDB", Name: "outputDoc", Props: map[string]any{"databaseName": "myappdb"}})
//
// It panics if the name is not a valid function name (a letter, then up to
// 127 letters, digits, _ or -), is already registered, or a binding is
// invalid.
func (a *App) Function(name string, trigger Trigger, h Handler, opts ...Option) {
	if h == nil {
		panic(fmt.Sprintf("fn: Function(%q): nil handler", name))
	}
	f := &function{name: name, handler: h}
	a.mustRegister("Function", f, Binding{Type: trigger.Type, Direction: "in", Name: trigger.Name, Props: trigger.Props}, opts)
}

// mustRegister validates f with its trigger and options and adds it to the
// app, panicking with a message naming the method and function on error.
// Typed trigger helpers (HTTP now; timer, blob, queue later) build the
// trigger binding and handler and call it.
func (a *App) mustRegister(method string, f *function, trigger Binding, opts []Option) {
	if err := a.register(f, trigger, opts); err != nil {
		panic(fmt.Sprintf("fn: %s(%q): %v", method, f.name, err))
	}
}

func (a *App) register(f *function, trigger Binding, opts []Option) error {
	if !funcNameRE.MatchString(f.name) {
		return fmt.Errorf("function name is not valid: use a letter, then up to 127 letters, digits, _ or -")
	}
	if trigger.Name == ReturnName {
		return fmt.Errorf("trigger binding cannot be named %q", ReturnName)
	}
	if !strings.HasSuffix(strings.ToLower(trigger.Type), "trigger") {
		return fmt.Errorf("trigger type %q does not end in \"Trigger\" (e.g. queueTrigger)", trigger.Type)
	}
	trigger.Direction = "in"
	if err := f.addBinding(trigger); err != nil {
		return err
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(f); err != nil {
			return err
		}
	}
	for _, b := range f.bindings[1:] {
		if b.Direction == "in" && strings.HasSuffix(strings.ToLower(b.Type), "trigger") {
			return fmt.Errorf("a function has one trigger; %q is a second one", b.Name)
		}
	}
	if f.http {
		if err := f.finishHTTP(); err != nil {
			return err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.serving {
		return fmt.Errorf("the app is already serving; register functions before Run or Serve")
	}
	for _, g := range a.funcs {
		if strings.EqualFold(g.name, f.name) {
			return fmt.Errorf("a function with this name is already registered")
		}
	}
	a.funcs = append(a.funcs, f)
	a.byName[f.name] = f
	return nil
}

// lookup finds a function by name, exactly or else ignoring case (Azure
// function names are case-insensitive).
func (a *App) lookup(name string) *function {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if f := a.byName[name]; f != nil {
		return f
	}
	for _, f := range a.funcs {
		if strings.EqualFold(f.name, name) {
			return f
		}
	}
	return nil
}

func (a *App) functions() []*function {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return slices.Clone(a.funcs)
}

func (a *App) names() string {
	var names []string
	for _, f := range a.functions() {
		names = append(names, f.name)
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// splitArgs separates the handler from the options in the arguments of a
// typed registration method such as [App.HTTP]. isHandler reports whether an
// argument is the handler; want describes its signature for the panic
// message.
func splitArgs(method, name string, args []any, isHandler func(any) bool, want string) (any, []Option) {
	var h any
	var opts []Option
	for i, arg := range args {
		switch {
		case arg == nil:
			panic(fmt.Sprintf("fn: %s(%q): argument %d is nil", method, name, i+2))
		case isHandler(arg):
			if h != nil {
				panic(fmt.Sprintf("fn: %s(%q): two handlers given", method, name))
			}
			h = arg
		default:
			o, ok := arg.(Option)
			if !ok {
				panic(fmt.Sprintf("fn: %s(%q): argument %d has type %T; want an fn option or a handler %s",
					method, name, i+2, arg, want))
			}
			opts = append(opts, o)
		}
	}
	if h == nil {
		panic(fmt.Sprintf("fn: %s(%q): no handler given; want a %s", method, name, want))
	}
	return h, opts
}
