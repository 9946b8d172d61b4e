package binding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/docclient"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/substrate"
)

// Type is a binding type, the "type" of a function.json binding.
type Type interface {
	// Name is the type name as Azure spells it, e.g. "httpTrigger" or "http".
	Name() string
	// Directions lists the directions the type allows (a trigger allows only appconfig.In).
	Directions() []appconfig.Direction
	// Validate checks the binding's type-specific properties (b.Properties, b.Raw). Return a *PropertyError (or
	// several, joined with errors.Join) to name the offending property.
	Validate(b *appconfig.Binding) error
}

// Trigger is a binding type that starts invocations.
type Trigger interface {
	Type
	// Start begins listening for fn's events and fires them through inv until ctx is done or stop is called. It
	// must not block beyond setting up; stop must wait until no more invocations will be started.
	Start(ctx context.Context, fn *Function, inv Invoker) (stop func(), err error)
}

// Addressable is implemented by trigger types whose functions are called by URL (the HTTP trigger, the Event
// Grid trigger's webhook), so that the management API can show each function's invoke_url_template without knowing
// the type.
type Addressable interface {
	Trigger
	// InvokePath is the function's path and query on the app's front door, with route parameters left as
	// templates, e.g. "/api/products/{category:alpha}/{id:int?}".
	InvokePath(fn *Function) string
}

// Webhook is implemented by trigger types whose events arrive by HTTP at an extension webhook of the app's front
// door, /runtime/webhooks/{extension}, as Azure's host serves its extensions' webhooks (the Event Grid trigger's
// is /runtime/webhooks/eventgrid). The host routes a request there to the registered type whose Extension matches
// {extension}, ignoring case, once the request carries the extension's system key (named
// SystemKeyName(Extension())) or the master key, in ?code= or x-functions-key; it answers 401 otherwise, and 404
// for an extension no type registered.
type Webhook interface {
	Trigger
	// Extension is the extension's name in the webhook path, e.g. "eventgrid".
	Extension() string
	// ServeWebhook serves one authorized request. fns returns the app's enabled function called name (ignoring
	// case) if its trigger is this type, else nil; inv invokes functions. The request body is limited to the
	// host's maximum request size (reading past it fails with an *http.MaxBytesError).
	ServeWebhook(w http.ResponseWriter, r *http.Request, fns func(name string) *Function, inv Invoker)
}

// SystemKeyName is the name of the system key that authorizes calls to an extension's webhook,
// "{extension}_extension" in lower case, as Azure names it ("eventgrid_extension").
func SystemKeyName(extension string) string { return strings.ToLower(extension) + "_extension" }

// Output is a binding type that writes a value the worker produced.
type Output interface {
	Type
	// Write stores value, the JSON the worker returned for binding b (in Outputs, or ReturnValue for "$return").
	// inv is the invocation that produced it, whose trigger metadata binding expressions may use.
	Write(ctx context.Context, fn *Function, b *appconfig.Binding, inv *Invocation, value json.RawMessage) error
}

// Input is a binding type that supplies a value to the worker before an invocation (a blob by path, say).
type Input interface {
	Type
	// Read returns the value of in binding b for inv, as the JSON to put in Data[b.Name]. inv carries the trigger
	// value and metadata that binding expressions in b may refer to. An error fails the invocation.
	Read(ctx context.Context, fn *Function, b *appconfig.Binding, inv *Invocation) (json.RawMessage, error)
}

// Env is what the platform that runs an app gives its binding types. Any field may be nil: an app run without
// the platform has no substrate, for instance, and a binding type that needs one reports it from Start.
type Env struct {
	// Substrate keeps binding state that must outlive a restart and be shared by every instance and node of the
	// app: timer schedule status, blob receipts, retry state.
	Substrate *substrate.Substrate
	// Storage reaches Blob and Queue storage for a connection.
	Storage storageclient.Provider
	// Documents reaches the document store (Cosmos DB) for a connection; nil without the platform.
	Documents docclient.Provider
	// Clock is the time source for schedules and expressions (default time.Now).
	Clock func() time.Time
	// Alarm, when set, returns a channel that receives once Clock reads t or later; a test clock fires it when
	// moved. Nil means a real timer. Binding types wait for a time (a schedule's next occurrence, a retry delay)
	// through Until, which uses it.
	Alarm func(t time.Time) <-chan time.Time
	// Node is the node's name, for state kept per node.
	Node string
	// Logger receives the binding types' own log lines (the app's log).
	Logger *slog.Logger
}

// Now returns the current time from the Env's clock, or time.Now.
func (e *Env) Now() time.Time {
	if e != nil && e.Clock != nil {
		return e.Clock()
	}
	return time.Now()
}

// Until returns a channel that receives once the Env's clock reads t or later: Alarm's when set, else a real
// timer for the time from Now to t (at once if t has passed). A caller that waits long should wake now and then
// and look at Now again, since a real timer does not follow a wall clock that jumps.
func (e *Env) Until(t time.Time) <-chan time.Time {
	if e != nil && e.Alarm != nil {
		return e.Alarm(t)
	}
	return time.After(t.Sub(e.Now()))
}

// Function is what a binding type learns about the function it serves.
type Function struct {
	App       string // the app's name
	Dir       string // the app's root directory
	Host      *appconfig.HostConfig
	Def       *appconfig.Function
	Settings  appconfig.Lookup // app settings (connection names are settings), never nil
	TriggerIx int              // index of the trigger in Def.Bindings
	// Env is what the platform provides; never nil (its fields may be).
	Env *Env
	// HasInputs is set when some in binding other than the trigger has a type that implements Input.
	HasInputs bool
}

// Name returns the function's name.
func (f *Function) Name() string { return f.Def.Name }

// Trigger returns the function's trigger binding.
func (f *Function) Trigger() *appconfig.Binding { return &f.Def.Bindings[f.TriggerIx] }

// Invoker runs a function. The host provides it to triggers.
type Invoker interface {
	Invoke(ctx context.Context, inv *Invocation) (*Result, error)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, inv *Invocation) (*Result, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, inv *Invocation) (*Result, error) {
	return f(ctx, inv)
}

// Invocation is one call of a function, in the shape of the custom-handler payload.
type Invocation struct {
	Function string // the function's name
	ID       string // invocation id; the host makes one when empty
	// Data holds the trigger value under the trigger's binding name, and input values.
	Data map[string]json.RawMessage
	// Metadata holds trigger metadata (the host adds "sys").
	Metadata map[string]json.RawMessage
}

// Result is a worker's answer: {"Outputs","Logs","ReturnValue"}.
type Result struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// Value returns the value of output binding name: ReturnValue for "$return", else Outputs[name] (matching the
// name case-insensitively).
func (r *Result) Value(name string) (json.RawMessage, bool) {
	if r == nil {
		return nil, false
	}
	if name == appconfig.ReturnBinding {
		if len(r.ReturnValue) == 0 || string(r.ReturnValue) == "null" {
			return nil, false
		}
		return r.ReturnValue, true
	}
	if v, ok := r.Outputs[name]; ok {
		return v, true
	}
	for k, v := range r.Outputs {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// PropertyError is a problem with one type-specific property of a binding.
type PropertyError struct {
	Property string // as Azure spells it, e.g. "authLevel"
	Msg      string // what is wrong and what is allowed
}

func (e *PropertyError) Error() string { return e.Property + ": " + e.Msg }

// OneOf returns a *PropertyError saying that value is not one of allowed.
func OneOf(property, value string, allowed ...string) *PropertyError {
	return &PropertyError{Property: property, Msg: fmt.Sprintf("%q is not one of %s", value, strings.Join(allowed, ", "))}
}

var (
	mu       sync.RWMutex
	types    = map[string]Type{}    // key: lower-case name
	webhooks = map[string]Webhook{} // key: lower-case extension name
)

// Register adds a binding type. It panics if t is nil, has no name, or a type of that name (ignoring case) is
// already registered, or if t is a Webhook whose extension name is empty or already taken.
func Register(t Type) {
	if t == nil || t.Name() == "" {
		panic("binding: Register of a nil or unnamed type")
	}
	key := strings.ToLower(t.Name())
	mu.Lock()
	defer mu.Unlock()
	if _, dup := types[key]; dup {
		panic(fmt.Sprintf("binding: type %q registered twice", t.Name()))
	}
	if wh, ok := t.(Webhook); ok {
		ext := strings.ToLower(wh.Extension())
		if ext == "" || strings.Contains(ext, "/") {
			panic(fmt.Sprintf("binding: type %q has an invalid webhook extension name %q", t.Name(), wh.Extension()))
		}
		if other, dup := webhooks[ext]; dup {
			panic(fmt.Sprintf("binding: types %q and %q both serve the webhook %q", other.Name(), t.Name(), ext))
		}
		webhooks[ext] = wh
	}
	types[key] = t
}

// LookupWebhook returns the registered type that serves the extension webhook called extension, ignoring case.
func LookupWebhook(extension string) (Webhook, bool) {
	mu.RLock()
	defer mu.RUnlock()
	wh, ok := webhooks[strings.ToLower(extension)]
	return wh, ok
}

// Lookup returns the registered type called name, ignoring case.
func Lookup(name string) (Type, bool) {
	mu.RLock()
	defer mu.RUnlock()
	t, ok := types[strings.ToLower(name)]
	return t, ok
}

// Names returns the registered type names, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for _, t := range types {
		out = append(out, t.Name())
	}
	sort.Strings(out)
	return out
}

// ValidateFunction checks every binding of fn against its registered type: the type is known, its direction is
// allowed, and its properties are valid. Every problem is reported, joined; each is an *appconfig.FieldError
// naming "<function>/function.json" and the binding's JSON path.
func ValidateFunction(fn *appconfig.Function) error {
	file := fn.Name + "/" + appconfig.FunctionFile
	if fn.Dir != "" {
		file = fn.Dir + "/" + appconfig.FunctionFile
	}
	var errs []error
	for i := range fn.Bindings {
		b := &fn.Bindings[i]
		p := fmt.Sprintf("bindings[%d]", i)
		t, ok := Lookup(b.Type)
		if !ok {
			errs = append(errs, &appconfig.FieldError{File: file, Path: p + ".type",
				Msg: fmt.Sprintf("%q is not a known binding type; known: %s", b.Type, strings.Join(Names(), ", "))})
			continue
		}
		if dirs := t.Directions(); !slices.Contains(dirs, b.Direction) {
			ds := make([]string, len(dirs))
			for i, d := range dirs {
				ds[i] = string(d)
			}
			errs = append(errs, &appconfig.FieldError{File: file, Path: p + ".direction",
				Msg: fmt.Sprintf("%q is not allowed for type %s; allowed: %s", b.Direction, t.Name(), strings.Join(ds, ", "))})
		}
		if b.IsTrigger() {
			if _, ok := t.(Trigger); !ok {
				errs = append(errs, &appconfig.FieldError{File: file, Path: p + ".type", Msg: fmt.Sprintf("%s cannot start invocations", t.Name())})
			}
		}
		if err := t.Validate(b); err != nil {
			errs = append(errs, fieldErrors(file, p, err)...)
		}
	}
	return errors.Join(errs...)
}

func fieldErrors(file, p string, err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, fieldErrors(file, p, e)...)
		}
		return out
	}
	var pe *PropertyError
	if errors.As(err, &pe) {
		return []error{&appconfig.FieldError{File: file, Path: p + "." + pe.Property, Msg: pe.Msg}}
	}
	return []error{&appconfig.FieldError{File: file, Path: p, Msg: err.Error()}}
}
