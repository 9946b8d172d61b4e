package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/httpbinding"
	"github.com/lapisdev/lapis/internal/functions/metering"
	"github.com/lapisdev/lapis/internal/functions/route"
)

// HostVersion is what the host reports to workers in X-Azure-Functions-HostVersion.
const HostVersion = "4.0.0-lapis"

// DefaultStartTimeout is how long a worker has to become ready ("The custom handler web server needs to start
// within 60 seconds").
const DefaultStartTimeout = 60 * time.Second

// DefaultFunctionTimeout is the function timeout when host.json does not set one (Consumption's default).
const DefaultFunctionTimeout = 5 * time.Minute

// Keys are an app's access keys. Values are the secrets; the maps are keyed by key name ("default", ...).
type Keys struct {
	Master   string
	Host     map[string]string
	System   map[string]string            // system keys, for extension webhooks ("eventgrid_extension")
	Function map[string]map[string]string // function name (case-insensitive) → key name → value
}

// Options configure a Host.
type Options struct {
	// Dir is the app's root directory (required).
	Dir string
	// Name is the app's name, passed to bindings and as WEBSITE_SITE_NAME.
	Name string
	// Settings are the app settings: worker environment variables and %NAME% values. The process environment
	// stands behind them for %NAME% resolution.
	Settings map[string]string
	// LocalSettings, when true, adds local.settings.json Values under Settings (Settings win), as Core Tools does.
	LocalSettings bool
	// Executable, when set, overrides customHandler.description.defaultExecutablePath (for a Go SDK app without
	// host.json).
	Executable string
	// Keys are the access keys the front door checks. AuthDisabled turns key checks off (local development).
	Keys         Keys
	AuthDisabled bool
	// StartTimeout bounds worker readiness; 0 means DefaultStartTimeout.
	StartTimeout time.Duration
	// DefaultFunctionTimeout applies when host.json has no functionTimeout; 0 means DefaultFunctionTimeout.
	DefaultFunctionTimeout time.Duration
	// MaxRequestBodySize bounds HTTP trigger request bodies; 0 means 100 MB (Azure's limit).
	MaxRequestBodySize int64
	// Logger receives invocation logs and worker output; nil discards them.
	Logger *slog.Logger

	// Env is what binding types get from the platform (substrate, storage, clock); nil gives them an empty one.
	Env *binding.Env

	// Scale is the app's scale policy (from its hosting plan). The zero value is one instance, started by Start
	// and again on demand after a crash, never scaled in (used by `lapis func start`).
	Scale Scale
	// MaxFunctionTimeout is the plan's upper bound for host.json functionTimeout (Consumption: 10 min); 0 means
	// unbounded (and functionTimeout -1, infinite, is allowed). A host.json value above it is a load error naming
	// host.json, the field functionTimeout and the allowed range, as Azure's host does.
	MaxFunctionTimeout time.Duration
	// Meter, when set, receives one record per finished invocation (from any trigger or the HTTP front door) that
	// reached a worker instance. It is called on the invocation's goroutine and must not block.
	Meter func(metering.Execution)
	// Clock, when set, replaces time.Now for scale decisions (idle times and restart back-off).
	Clock func() time.Time
}

// Scale is how many worker instances an app runs. See the package documentation.
type Scale struct {
	// Min is the number of instances always running (Premium always-ready, Dedicated's fixed count), started by
	// Start and restarted when they exit. 0 allows scale to zero.
	Min int
	// Max bounds the instances (--max-instances, the plan's maximum burst); 0 means 1. It is raised to Min if
	// lower.
	Max int
	// Target is the number of in-flight invocations per instance above which another instance is added. host.json
	// extensions.http.maxConcurrentRequests, when set, takes precedence; 0 means DefaultTarget.
	Target int
	// PreWarmed is the number of idle instances kept started beyond the busy ones (Premium's pre-warmed buffer,
	// 1 there; the caller sets it). Always-ready instances that are idle count towards it.
	PreWarmed int
	// IdleTimeout is how long an instance may stay idle before it is stopped, down to Min (and the pre-warmed
	// buffer); with Min 0 this is scale to zero, so the next invocation is a cold start. 0 means never scale in.
	IdleTimeout time.Duration
}

// DefaultTarget is the in-flight invocations per instance above which the host scales out when neither
// host.json nor Scale.Target sets it (Azure's default http.maxConcurrentRequests on Consumption).
const DefaultTarget = 100

// Host runs one function app.
type Host struct {
	opts     Options
	keys     atomic.Pointer[Keys] // the keys the front door checks; SetKeys replaces them
	broken   map[string]error     // functions whose trigger did not start (guarded by mu)
	root     string
	cfg      *appconfig.HostConfig
	fns      []*binding.Function
	byName   map[string]*binding.Function // lower-case name
	routes   *route.Table[*httpRoute]
	settings map[string]string
	lookup   appconfig.Lookup
	log      *slog.Logger
	timeout  time.Duration // 0: none
	forward  bool          // forward HTTP-only functions as raw HTTP

	exe     string
	args    []string
	workDir string

	scale Scale // effective policy: defaults applied, Target resolved
	now   func() time.Time

	// ctx is cancelled by Close: it aborts worker starts and stops the scale controller.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // background goroutines: starts, exit watchers, the controller, stops

	mu       sync.Mutex
	pool     []*worker     // started instances (one may have exited and not yet been removed)
	starting int           // instance starts in progress
	waiting  int           // invocations waiting for an instance (cold start)
	inflight int           // invocations holding an instance
	busy     int           // instances with invocations in flight
	active   int           // invocations between acquiring an instance (or waiting) and finishing
	wake     chan struct{} // closed and replaced when instances come or go, or a start fails
	failGen  uint64        // counts failed starts
	startErr error         // the last failed start's error
	failures int           // recent failed starts and early exits, for back-off
	lastFail time.Time
	retryAt  time.Time // no start for scale-out or the minimum before then
	closed   bool
	draining bool
	drained  chan struct{} // set by Shutdown; closed when active drops to 0
	ctlOn    bool
	stops    []func()
}

type httpRoute struct {
	fn  *binding.Function
	cfg httpbinding.Config
	res string // http output binding name
	// forward: the request goes to the worker as is
	forward bool
}

// New loads and validates the app in opts.Dir. For an app without function folders it runs the worker executable
// with LAPIS_DESCRIBE=1 to learn its functions (a Go SDK app). It returns an error listing every problem; when only
// some functions are broken, it returns both that error and a Host that serves the others, as Azure does.
func New(opts Options) (*Host, error) {
	if opts.Dir == "" {
		return nil, errors.New("functions host: no app directory")
	}
	root, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("functions host: %w", err)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.DefaultFunctionTimeout == 0 {
		opts.DefaultFunctionTimeout = DefaultFunctionTimeout
	}
	if opts.MaxRequestBodySize <= 0 {
		opts.MaxRequestBodySize = 100 << 20
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(root)
	}
	h := &Host{opts: opts, root: root, log: opts.Logger, byName: map[string]*binding.Function{}, routes: &route.Table[*httpRoute]{},
		now: opts.Clock, wake: make(chan struct{})}
	keys := opts.Keys
	h.keys.Store(&keys)
	if h.now == nil {
		h.now = time.Now
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.settings = map[string]string{}
	if opts.LocalSettings {
		ls, err := appconfig.LoadLocalSettings(os.DirFS(root))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("functions host: %w", err)
		}
		if ls != nil {
			maps.Copy(h.settings, ls.Values)
		}
	}
	maps.Copy(h.settings, opts.Settings)
	h.lookup = func(name string) (string, bool) {
		if v, ok := h.settings[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	}

	app, loadErr := appconfig.Load(os.DirFS(root), appconfig.Options{Lookup: h.lookup})
	if app == nil {
		return nil, fmt.Errorf("functions host: app %s: %w", root, loadErr)
	}
	h.cfg = app.Host
	if err := h.checkTimeout(); err != nil {
		return nil, fmt.Errorf("functions host: app %s: %w", root, err)
	}
	h.scale = effectiveScale(opts.Scale, h.cfg)
	var errs []error
	if loadErr != nil {
		errs = append(errs, loadErr)
	}

	exePath := opts.Executable
	var desc *appconfig.HandlerDescription
	if h.cfg.CustomHandler != nil {
		desc = &h.cfg.CustomHandler.Description
		h.forward = h.cfg.CustomHandler.ForwardHTTP()
		if exePath == "" {
			exePath = desc.DefaultExecutablePath
		}
	}
	if exePath == "" {
		return nil, fmt.Errorf("functions host: app %s: host.json: customHandler.description.defaultExecutablePath: not set; a custom-handler app needs the worker executable to run", root)
	}
	if h.exe, err = resolveExecutable(root, exePath); err != nil {
		return nil, err
	}
	h.workDir = root
	if desc != nil {
		h.args = slices.Clone(desc.Arguments)
		if desc.DefaultWorkerPath != "" {
			h.args = append(h.args, desc.DefaultWorkerPath)
		}
		h.args = append(h.args, desc.WorkerArguments...)
		if desc.WorkingDirectory != "" {
			h.workDir = filepath.Join(root, filepath.FromSlash(desc.WorkingDirectory))
		}
	}

	defs := app.Functions
	if len(defs) == 0 && loadErr == nil {
		d, fwd, err := h.describe()
		if err != nil {
			return nil, err
		}
		defs = d
		h.forward = h.forward || fwd
	}

	switch t := h.cfg.FunctionTimeout; {
	case t == appconfig.Infinite:
		h.timeout = 0
	case t > 0:
		h.timeout = t
	case opts.DefaultFunctionTimeout > 0:
		h.timeout = opts.DefaultFunctionTimeout
	}
	if m := opts.MaxFunctionTimeout; m > 0 && (h.timeout <= 0 || h.timeout > m) {
		h.timeout = m // a default above the plan's maximum
	}

	for _, def := range defs {
		if err := binding.ValidateFunction(def); err != nil {
			errs = append(errs, err)
			continue
		}
		ti := slices.IndexFunc(def.Bindings, func(b appconfig.Binding) bool { return b.IsTrigger() })
		env := opts.Env
		if env == nil {
			env = &binding.Env{}
		}
		fn := &binding.Function{App: opts.Name, Dir: root, Host: h.cfg, Def: def, Settings: h.lookup, TriggerIx: ti, Env: env}
		for i, b := range def.Bindings {
			if t, ok := binding.Lookup(b.Type); ok && i != ti && b.Direction == appconfig.In {
				if _, ok := t.(binding.Input); ok {
					fn.HasInputs = true
				}
			}
		}
		if strings.EqualFold(fn.Trigger().Type, httpbinding.TriggerType) && !def.Disabled {
			cfg, _ := httpbinding.ParseConfig(fn.Trigger())
			tmpl := cfg.Route
			if tmpl == "" {
				tmpl = def.Name
			}
			rt := &httpRoute{fn: fn, cfg: cfg, res: httpbinding.ResponseBinding(def)}
			rt.forward = h.forward && rt.res != "" && httpbinding.IsHTTPOnly(def)
			if err := h.routes.Add(tmpl, cfg.Methods, rt); err != nil {
				errs = append(errs, &appconfig.FieldError{File: def.Name + "/" + appconfig.FunctionFile,
					Path: fmt.Sprintf("bindings[%d].route", ti), Msg: err.Error()})
				continue
			}
		}
		h.fns = append(h.fns, fn)
		h.byName[strings.ToLower(def.Name)] = fn
	}
	return h, errors.Join(errs...)
}

// describe runs the worker with LAPIS_DESCRIBE=1 and parses the functions it declares.
func (h *Host) describe() ([]*appconfig.Function, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.StartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.exe, h.args...)
	cmd.Dir = h.workDir
	cmd.Env = append(h.env(), "LAPIS_DESCRIBE=1")
	stderr := &tail{n: 4096}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, false, fmt.Errorf("functions host: the app has no function folders, and asking its worker %s for its functions (LAPIS_DESCRIBE=1) failed: %v; stderr: %s", h.exe, err, stderr.String())
	}
	var d struct {
		HTTPForwarding bool `json:"httpForwarding"`
		Functions      []struct {
			Name     string            `json:"name"`
			Bindings []json.RawMessage `json:"bindings"`
			Retry    json.RawMessage   `json:"retry"` // function.json "retry", parsed by appconfig
		} `json:"functions"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		return nil, false, fmt.Errorf("functions host: the app has no function folders, and its worker %s did not describe its functions (LAPIS_DESCRIBE=1 printed no valid description: %v)", h.exe, err)
	}
	var fns []*appconfig.Function
	var errs []error
	for _, f := range d.Functions {
		// The function's function.json: its bindings and, when it declares one, its retry policy.
		doc := map[string]any{"bindings": f.Bindings}
		if len(f.Retry) > 0 && string(f.Retry) != "null" {
			doc["retry"] = f.Retry
		}
		data, _ := json.Marshal(doc)
		def, err := appconfig.ParseFunction(f.Name, data, h.lookup)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fns = append(fns, def)
	}
	if len(errs) > 0 {
		return nil, false, fmt.Errorf("functions host: worker %s described invalid functions: %w", h.exe, errors.Join(errs...))
	}
	return fns, d.HTTPForwarding, nil
}

// env is the worker's environment without the per-instance variables.
func (h *Host) env() []string {
	env := os.Environ()
	for _, k := range slices.Sorted(maps.Keys(h.settings)) {
		env = append(env, k+"="+h.settings[k])
	}
	return append(env,
		"FUNCTIONS_WORKER_RUNTIME=custom",
		"AzureWebJobsScriptRoot="+h.root,
		"FUNCTIONS_APP_ROOT_PATH="+h.root,
		"WEBSITE_SITE_NAME="+h.opts.Name,
	)
}

func (h *Host) workerOutput(stream string, p []byte) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		if line = strings.TrimRight(line, "\r"); line != "" {
			h.log.Info(line, "app", h.opts.Name, "source", "worker", "stream", stream)
		}
	}
}

// SetKeys replaces the keys the front door checks, at once and without a restart (a key set or deleted through
// the management API).
func (h *Host) SetKeys(k Keys) { h.keys.Store(&k) }

// Config returns the app's host.json.
func (h *Host) Config() *appconfig.HostConfig { return h.cfg }

// Functions returns the app's valid functions, sorted by name.
func (h *Host) Functions() []*binding.Function { return slices.Clone(h.fns) }

// Function returns the function called name (ignoring case), or nil.
func (h *Host) Function(name string) *binding.Function { return h.byName[strings.ToLower(name)] }

// FunctionTimeout returns the timeout applied to each invocation (0: none).
func (h *Host) FunctionTimeout() time.Duration { return h.timeout }

// checkTimeout rejects a host.json functionTimeout beyond Options.MaxFunctionTimeout.
func (h *Host) checkTimeout() error {
	m, t := h.opts.MaxFunctionTimeout, h.cfg.FunctionTimeout
	if m <= 0 || (t != appconfig.Infinite && t <= m) {
		return nil
	}
	v := appconfig.FormatTimeSpan(t)
	if t == appconfig.Infinite {
		v = "-1 (no limit)"
	}
	return &appconfig.FieldError{File: appconfig.HostFile, Path: "functionTimeout",
		Msg: fmt.Sprintf("%s is not allowed on this plan; must be between %s and %s", v,
			appconfig.FormatTimeSpan(appconfig.MinFunctionTimeout), appconfig.FormatTimeSpan(m))}
}

// effectiveScale applies the defaults to s; host.json extensions.http.maxConcurrentRequests sets Target.
func effectiveScale(s Scale, cfg *appconfig.HostConfig) Scale {
	s.Min = max(s.Min, 0)
	s.Max = max(s.Max, s.Min, 1)
	s.PreWarmed = min(max(s.PreWarmed, 0), s.Max)
	s.IdleTimeout = max(s.IdleTimeout, 0)
	switch {
	case cfg.HTTP.MaxConcurrentRequests > 0:
		s.Target = cfg.HTTP.MaxConcurrentRequests
	case s.Target <= 0:
		s.Target = DefaultTarget
	}
	return s
}
