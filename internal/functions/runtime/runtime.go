package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	_ "github.com/lapisdev/lapis/internal/functions/binding/all" // every binding type
	"github.com/lapisdev/lapis/internal/functions/docclient"
	"github.com/lapisdev/lapis/internal/functions/host"
	"github.com/lapisdev/lapis/internal/functions/metering"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/functions/webapp"
	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/storage/connstr"
)

// DefaultIdleTimeout is how long an instance may sit idle before it is stopped (down to the plan's minimum).
const DefaultIdleTimeout = 5 * time.Minute

// IdleTimeoutSetting is the app setting that overrides DefaultIdleTimeout.
const IdleTimeoutSetting = "LAPIS_SCALE_IDLE_TIMEOUT"

// flushInterval is how often meters are merged into the stored usage.
const flushInterval = 5 * time.Second

// Runtime is the functions service. Create it with New.
type Runtime struct {
	env      service.Env
	log      *slog.Logger
	root     string // DataDir/functions
	store    *webapp.Store
	siteType *webapp.SiteType
	metrics  *metrics
	// bindingEnv is what binding types of every app get: the substrate, storage in process, the clock.
	bindingEnv *binding.Env

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // app loops, drains, watch and flush loops

	mu       sync.Mutex
	apps     map[string]*app        // by site key
	sites    map[string]*arm.Record // latest site records, by site key
	plans    map[string]*arm.Record // latest plan records, by lower-case id
	status   map[string]activation  // last activation per site key
	changed  chan struct{}          // closed and replaced when status changes
	synced   int                    // watches that delivered their initial values
	extractM sync.Mutex             // serialises unpacking
}

// activation is the outcome of the last attempt to serve a deployment.
type activation struct {
	dep string
	err error
}

// app is one site this node knows.
type app struct {
	key   string
	kick  chan struct{} // capacity 1: "look at the record again"
	cur   atomic.Pointer[running]
	state atomic.Value // string: the site's state, for the front door
	// starting is set while a host starts for a site that has none serving, so that the front door holds
	// requests (as a cold start) instead of refusing them.
	starting atomic.Bool
	meter    metering.Meter

	pendingMu sync.Mutex
	pending   map[string]metering.FunctionUsage // not yet stored
}

// running is one host serving one version of a site.
type running struct {
	host *host.Host
	site *webapp.Site
	dep  string
	dir  string
	fp   string
}

// New returns the functions service.
func New(env service.Env) (*Runtime, error) {
	if env.Substrate == nil || env.Manager == nil {
		return nil, errors.New("functions: no substrate or manager")
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dataDir := env.DataDir
	if dataDir == "" {
		dataDir = os.TempDir()
	}
	return &Runtime{env: env, log: log.With("service", "functions"), root: filepath.Join(dataDir, "functions"),
		apps: map[string]*app{}, sites: map[string]*arm.Record{}, plans: map[string]*arm.Record{},
		status: map[string]activation{}, changed: make(chan struct{})}, nil
}

// Name implements service.Service.
func (*Runtime) Name() string { return "functions" }

// FrontDoor is the base URL of an app's HTTP functions.
func (rt *Runtime) FrontDoor(app string) string {
	return fmt.Sprintf("http://%s.localhost:%d", strings.ToLower(app), rt.env.Ports.Functions)
}

// Start implements service.Service: it registers the resource types, opens the stores, and starts watching
// sites and plans.
func (rt *Runtime) Start(ctx context.Context) (http.Handler, error) {
	store, err := webapp.OpenStore(ctx, rt.env.Substrate)
	if err != nil {
		return nil, err
	}
	rt.store = store
	if err := os.RemoveAll(filepath.Join(rt.root, "apps")); err != nil {
		return nil, fmt.Errorf("functions: clearing unpacked apps: %w", err)
	}
	reg := rt.env.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if rt.metrics, err = newMetrics(reg, rt); err != nil {
		return nil, err
	}
	rt.bindingEnv = &binding.Env{Substrate: rt.env.Substrate, Clock: rt.env.Clock, Node: rt.env.Node, Logger: rt.log}
	// Storage on this platform's own endpoints is served in process (pushed queue receives, blob events from
	// the substrate); UseDevelopmentStorage=true means this platform, whatever its ports.
	devHost := rt.env.Host
	if devHost == "" {
		devHost = "127.0.0.1"
	}
	if rt.bindingEnv.Storage, err = storageclient.FromServiceEnv(rt.env, storageclient.RESTOptions{
		Development: connstr.Dev{Host: devHost, BlobPort: rt.env.Ports.Blob, QueuePort: rt.env.Ports.Queue}}); err != nil {
		return nil, err
	}
	// The document store (which starts after this service) is looked up when a binding opens an account; the
	// emulator's connection string (localhost:8081) means this platform's emulator account, whatever its port.
	if rt.bindingEnv.Documents, err = docclient.FromServiceEnv(rt.env, true); err != nil {
		return nil, err
	}
	armStore := rt.env.Manager.Store()
	rt.siteType = &webapp.SiteType{Store: armStore, Data: store, Runtime: rt, FrontDoor: rt.FrontDoor, Now: rt.env.Clock}
	rt.env.Manager.Registry().Register(&webapp.PlanType{Store: armStore})
	rt.env.Manager.Registry().Register(rt.siteType)

	rt.ctx, rt.cancel = context.WithCancel(context.WithoutCancel(ctx))
	sites, err := armStore.Watch(rt.ctx, webapp.Namespace, "sites")
	if err != nil {
		rt.cancel()
		return nil, err
	}
	plans, err := armStore.Watch(rt.ctx, webapp.Namespace, "serverfarms")
	if err != nil {
		rt.cancel()
		return nil, err
	}
	rt.wg.Add(3)
	go rt.watch(plans, rt.planChanged)
	go rt.watch(sites, rt.siteChanged)
	go rt.flushLoop()
	return http.HandlerFunc(rt.serveFrontDoor), nil
}

// Ready implements service.Service: ready once both watches delivered the current records.
func (rt *Runtime) Ready(context.Context) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.synced < 2 {
		return errors.New("functions: loading sites and plans")
	}
	return nil
}

// Stop implements service.Service: every host drains (briefly) and stops, and meters are flushed.
func (rt *Runtime) Stop(ctx context.Context) error {
	if rt.cancel == nil {
		return nil
	}
	rt.cancel()
	rt.wg.Wait()
	var wg sync.WaitGroup
	rt.mu.Lock()
	apps := slices.Collect(maps.Values(rt.apps))
	rt.mu.Unlock()
	for _, a := range apps {
		if r := a.cur.Swap(nil); r != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rt.drain(ctx, r)
			}()
		}
	}
	wg.Wait()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	rt.flush(fctx)
	return nil
}

// watch feeds one arm.Store.Watch to f until the runtime stops.
func (rt *Runtime) watch(ch <-chan *arm.Change, f func(*arm.Change)) {
	defer rt.wg.Done()
	for c := range ch {
		if c == nil {
			rt.mu.Lock()
			rt.synced++
			rt.mu.Unlock()
			continue
		}
		f(c)
	}
	if rt.ctx.Err() == nil {
		rt.log.Error("functions: resource watch ended; apps no longer follow their records")
	}
}

func (rt *Runtime) planChanged(c *arm.Change) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var id string
	if c.Record != nil {
		id = strings.ToLower(c.Record.ID)
		rt.plans[id] = c.Record
	} else {
		for k, p := range rt.plans {
			if planKey(p) == c.Key {
				id = k
				delete(rt.plans, k)
			}
		}
	}
	for key, rec := range rt.sites {
		if farm, _ := rec.Properties["serverFarmId"].(string); id != "" && strings.EqualFold(farm, id) {
			rt.kickLocked(key)
		}
	}
}

// planKey recovers the store key of a plan record (the watch reports deletes by key).
func planKey(rec *arm.Record) string {
	id, err := arm.ParseID(rec.ID)
	if err != nil {
		return ""
	}
	return storeKey(id)
}

func storeKey(id arm.ID) string {
	tok := func(s string) string { return tokenLower(s) }
	k := "r." + tok(id.Subscription) + "." + tok(id.ResourceGroup) + "." + tok(id.Namespace)
	for i := range id.Types {
		k += "." + tok(id.Types[i]) + "." + tok(id.Names[i])
	}
	return k
}

func (rt *Runtime) siteChanged(c *arm.Change) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var key string
	if c.Record != nil {
		key = webapp.SiteKey(c.Record.Name)
		if old := rt.sites[key]; old != nil && old.ID == c.Record.ID && old.Revision > c.Record.Revision {
			return // the front door already read a newer one
		}
		rt.sites[key] = c.Record
	} else {
		for k, rec := range rt.sites {
			if id, err := arm.ParseID(rec.ID); err == nil && storeKey(id) == c.Key {
				key = k
				delete(rt.sites, k)
			}
		}
	}
	if key != "" {
		rt.kickLocked(key)
	}
}

// kickLocked wakes a site's loop, starting it if needed. rt.mu is held.
func (rt *Runtime) kickLocked(key string) {
	a := rt.apps[key]
	if a == nil {
		if rt.sites[key] == nil {
			return
		}
		a = &app{key: key, kick: make(chan struct{}, 1)}
		a.state.Store(webapp.Running)
		rt.apps[key] = a
		rt.wg.Add(1)
		go rt.loop(a)
	}
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// loop keeps one site's host in line with its record until the site is deleted or the runtime stops.
func (rt *Runtime) loop(a *app) {
	defer rt.wg.Done()
	for {
		select {
		case <-rt.ctx.Done():
			return
		case <-a.kick:
		}
		rt.mu.Lock()
		rec := rt.sites[a.key]
		var plan *arm.Record
		if rec != nil {
			if farm, _ := rec.Properties["serverFarmId"].(string); farm != "" {
				plan = rt.plans[strings.ToLower(farm)]
			}
		}
		if rec == nil {
			delete(rt.apps, a.key)
		}
		rt.mu.Unlock()
		if rec == nil {
			if r := a.cur.Swap(nil); r != nil {
				rt.log.Info("function app deleted; stopping it", "app", r.site.Name)
				rt.drainAsync(r)
			}
			rt.flushApp(rt.ctx, a)
			return
		}
		site, err := webapp.SiteFromRecord(rec, plan)
		if err != nil {
			rt.log.Error("functions: bad site record", "site", rec.ID, "err", err)
			continue
		}
		rt.apply(a, site)
	}
}

// apply makes the site's running host match its record.
func (rt *Runtime) apply(a *app, site *webapp.Site) {
	a.state.Store(site.State)
	if site.State != webapp.Running || site.Deployment == "" {
		if r := a.cur.Swap(nil); r != nil {
			rt.log.Info("function app stopped", "app", site.Name)
			rt.drainAsync(r)
		}
		// A newer record may be waiting (a start the front door saw first): then the waiters keep waiting.
		if len(a.kick) == 0 && a.starting.Swap(false) {
			rt.notify()
		}
		return
	}
	fp := fingerprint(site)
	if r := a.cur.Load(); r != nil && r.fp == fp {
		r.host.SetKeys(hostKeys(site)) // keys change in place, without a restart
		return
	}
	if a.cur.Load() == nil {
		a.starting.Store(true)
	}
	r, err := rt.startHost(a, site, fp)
	if err != nil {
		a.starting.Store(false)
		rt.setStatus(site.Key, activation{dep: site.Deployment, err: err})
		rt.log.Error("function app did not start; the previous version (if any) keeps serving", "app", site.Name,
			"deployment", site.Deployment, "err", err)
		return
	}
	old := a.cur.Swap(r)
	a.starting.Store(false)
	rt.setStatus(site.Key, activation{dep: site.Deployment})
	rt.log.Info("function app serving", "app", site.Name, "deployment", site.Deployment, "plan", site.SKU,
		"instances", r.host.Instances())
	if old != nil {
		rt.drainAsync(old)
	}
}

// fingerprint changes whenever the host must be replaced (keys are not among those things).
func fingerprint(s *webapp.Site) string {
	b, _ := json.Marshal([]any{s.Deployment, s.Restart, s.Settings, s.Scale, s.Family})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// startHost unpacks the site's deployment if needed and starts a host on it.
func (rt *Runtime) startHost(a *app, site *webapp.Site, fp string) (*running, error) {
	dir, err := rt.unpack(rt.ctx, site.Key, site.Deployment)
	if err != nil {
		return nil, err
	}
	h, err := host.New(rt.hostOptions(a, site, dir))
	if h == nil {
		return nil, err
	}
	if err != nil {
		rt.log.Warn("some functions are broken and will not run", "app", site.Name, "err", err)
	}
	if err := h.Start(rt.ctx); err != nil {
		h.Close()
		return nil, err
	}
	return &running{host: h, site: site, dep: site.Deployment, dir: dir, fp: fp}, nil
}

// hostOptions are the host options for a site: its settings, keys and plan.
func (rt *Runtime) hostOptions(a *app, site *webapp.Site, dir string) host.Options {
	keys := hostKeys(site)
	settings := maps.Clone(site.Settings)
	settings["WEBSITE_SKU"] = string(site.Family)
	settings["WEBSITE_HOSTNAME"] = strings.TrimPrefix(rt.FrontDoor(site.Name), "http://")
	settings["WEBSITE_RESOURCE_GROUP"] = site.ID.ResourceGroup
	settings["WEBSITE_OWNER_NAME"] = site.ID.Subscription + "+" + site.ID.ResourceGroup
	idle := DefaultIdleTimeout
	if v, ok := site.Settings[IdleTimeoutSetting]; ok {
		if d, err := parseDuration(v); err == nil && d > 0 {
			idle = d
		} else {
			rt.log.Warn("ignoring a bad "+IdleTimeoutSetting, "app", site.Name, "value", v)
		}
	}
	scale := host.Scale{Min: site.Scale.Min, Max: site.Scale.Max, PreWarmed: site.Scale.PreWarmed,
		Target: site.Scale.PerInstanceConcurrency, IdleTimeout: idle}
	if site.Family == webapp.Dedicated {
		scale.IdleTimeout = 0
	}
	var meter func(metering.Execution)
	if a != nil {
		meter = func(e metering.Execution) {
			a.meter.Add(e)
			rt.metrics.observe(site.Name, e)
		}
	}
	return host.Options{
		Dir: dir, Name: site.Name, Settings: settings, Keys: keys, Env: rt.bindingEnv,
		DefaultFunctionTimeout: site.DefaultTimeout(), MaxFunctionTimeout: site.MaxTimeout(),
		Scale: scale, Meter: meter,
		Logger: slog.New(newLogHandler(rt.log.Handler(), rt.env.Substrate.Conn(), webapp.LogSubject(site.Key), rt.env.Node)),
	}
}

// hostKeys are the keys the front door checks for a site.
func hostKeys(site *webapp.Site) host.Keys {
	return host.Keys{Master: site.Keys.Master, Host: maps.Clone(site.Keys.Host), System: maps.Clone(site.Keys.System),
		Function: site.Keys.Function}
}

func parseDuration(s string) (time.Duration, error) {
	if d, err := appconfig.ParseTimeSpan(s); err == nil {
		return d, nil
	}
	return time.ParseDuration(s)
}

// drainAsync lets r's in-flight invocations finish, then stops it and removes its files if no other version
// uses them.
func (rt *Runtime) drainAsync(r *running) {
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		grace := r.site.DefaultTimeout()
		if t := r.host.FunctionTimeout(); t > 0 {
			grace = t
		}
		ctx, cancel := context.WithTimeout(context.Background(), grace+5*time.Second)
		defer cancel()
		stop := context.AfterFunc(rt.ctx, cancel) // the server is stopping: do not wait the whole grace
		defer stop()
		rt.drain(ctx, r)
	}()
}

func (rt *Runtime) drain(ctx context.Context, r *running) {
	if err := r.host.Shutdown(ctx); err != nil {
		rt.log.Warn("function app version stopped before its invocations finished", "app", r.site.Name, "deployment", r.dep, "err", err)
	}
	// The files go only when no host serves them and the site's record no longer names this deployment: a
	// stopped site that starts again, or a restart, starts its next host on the same directory.
	rt.extractM.Lock() // no unpack (and so no new host on the directory) meanwhile
	defer rt.extractM.Unlock()
	rt.mu.Lock()
	inUse := false
	for _, a := range rt.apps {
		if c := a.cur.Load(); c != nil && c.dir == r.dir {
			inUse = true
		}
	}
	if rec := rt.sites[r.site.Key]; rec != nil {
		if site, err := webapp.SiteFromRecord(rec, nil); err == nil && site.Deployment == r.dep {
			inUse = true
		}
	}
	rt.mu.Unlock()
	if !inUse {
		_ = os.RemoveAll(r.dir)
	}
}

func (rt *Runtime) setStatus(key string, a activation) {
	rt.mu.Lock()
	rt.status[key] = a
	rt.mu.Unlock()
	rt.notify()
}

// notify wakes everyone waiting for an app's host to change.
func (rt *Runtime) notify() {
	rt.mu.Lock()
	close(rt.changed)
	rt.changed = make(chan struct{})
	rt.mu.Unlock()
}

// refresh reads a site's record from the store when the front door finds no host: the watch may not have
// delivered a start yet, or its loop not have begun the start. If the app should run, its loop is woken and the
// front door waits for it.
func (rt *Runtime) refresh(ctx context.Context, a *app) bool {
	rt.mu.Lock()
	rec := rt.sites[a.key]
	rt.mu.Unlock()
	if rec == nil {
		return false
	}
	id, err := arm.ParseID(rec.ID)
	if err != nil {
		return false
	}
	fresh, err := rt.env.Manager.Store().Get(ctx, id)
	if err != nil || fresh == nil || fresh.Revision < rec.Revision {
		return false
	}
	site, err := webapp.SiteFromRecord(fresh, nil)
	if err != nil || site.State != webapp.Running || site.Deployment == "" {
		return false
	}
	a.starting.Store(true)
	rt.siteChanged(&arm.Change{Record: fresh})
	return true
}

// Instances implements webapp.Runtime.
func (rt *Runtime) Instances(site string) int {
	rt.mu.Lock()
	a := rt.apps[site]
	rt.mu.Unlock()
	if a == nil {
		return 0
	}
	if r := a.cur.Load(); r != nil {
		return r.host.Instances()
	}
	return 0
}

// WaitActive implements webapp.Runtime.
func (rt *Runtime) WaitActive(ctx context.Context, site, dep string) error {
	for {
		rt.mu.Lock()
		st, ch := rt.status[site], rt.changed
		rt.mu.Unlock()
		if st.dep == dep {
			return st.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the new version was not serving after %s", webapp.ActivateTimeout)
		case <-ch:
		}
	}
}

// Prepare implements webapp.Runtime: it unpacks the deployment and loads it (for a Go SDK app that runs its
// worker with LAPIS_DESCRIBE=1), without starting it.
func (rt *Runtime) Prepare(ctx context.Context, site *webapp.Site, dep *webapp.Deployment) ([]webapp.Function, error) {
	dir, err := rt.unpack(ctx, site.Key, dep.ID)
	if err != nil {
		return nil, err
	}
	opts := rt.hostOptions(nil, site, dir)
	opts.Logger = rt.log.With("app", site.Name, "deployment", dep.ID)
	h, err := host.New(opts)
	if err != nil {
		if h != nil {
			h.Close()
		}
		_ = os.RemoveAll(dir)
		return nil, err
	}
	defer h.Close()
	var out []webapp.Function
	for _, fn := range h.Functions() {
		f := webapp.Function{Name: fn.Name(), Disabled: fn.Def.Disabled, Trigger: fn.Trigger().Type}
		for _, b := range fn.Def.Bindings {
			f.Bindings = append(f.Bindings, b.Raw)
		}
		if p, key, ok := address(fn); ok {
			f.InvokePath, f.SystemKey = p, key
			if level, ok := fn.Trigger().Property("authLevel"); ok {
				_ = json.Unmarshal(level, &f.AuthLevel)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// EventGridWebhook gives the Event Grid webhook URL, key included, of the eventGridTrigger function with this
// resource id: the Event Grid service delivers to AzureFunction destinations through it.
func (rt *Runtime) EventGridWebhook(ctx context.Context, functionID string) (string, error) {
	if rt.siteType == nil {
		return "", errors.New("functions: not started")
	}
	u, err := rt.siteType.InvokeURL(ctx, functionID)
	if err != nil {
		return "", err
	}
	if !strings.Contains(strings.ToLower(u), "/runtime/webhooks/eventgrid?") {
		return "", fmt.Errorf("function %s has no Event Grid trigger", functionID)
	}
	return u, nil
}
