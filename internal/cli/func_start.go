package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lapisdev/lapis/internal/docdb"
	docaccount "github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	_ "github.com/lapisdev/lapis/internal/functions/binding/all" // every binding type
	"github.com/lapisdev/lapis/internal/functions/binding/httpbinding"
	"github.com/lapisdev/lapis/internal/functions/docclient"
	"github.com/lapisdev/lapis/internal/functions/host"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/blob"
	"github.com/lapisdev/lapis/internal/storage/connstr"
	"github.com/lapisdev/lapis/internal/storage/queue"
	"github.com/lapisdev/lapis/internal/substrate"
)

// defaultFuncPort is Core Tools' port.
const defaultFuncPort = 7071

func newFuncStartCmd(g *globals) *cobra.Command {
	var (
		port             int
		dir              string
		logLevel, logFmt string
		noPlatform       bool
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Build and run the function app in the current directory on localhost:7071",
		Long: `Run a function app locally, as "func start" does: a Go app (one with go.mod) is built
first with "go build -o <executable> ." (the executable named in host.json), then the
Functions host loads the app, starts its worker and serves its HTTP functions on
http://localhost:<port>/api/... with keys not checked. local.settings.json Values are
the app settings, and its Host.LocalHttpPort the default port. A change to a .go file,
go.mod, host.json, function.json or local.settings.json rebuilds and reloads the app on
the same port; a change that does not build keeps the last good build serving. Ctrl-C
stops it.

Unless a Lapis is already running (found as other commands find it) or --no-platform
is given, the platform starts embedded, with its data in <dir>/.lapis (or --data-dir)
on the default ports (free ones with --port 0), so that bindings to Lapis storage
(AzureWebJobsStorage=UseDevelopmentStorage=true) and the other lapis commands work;
it stops with the app.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			log, err := newLogger(g, logLevel, logFmt)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("port") {
				port = defaultFuncPort
			}
			return runFuncStart(cmd.Context(), g, root, port, cmd.Flags().Changed("port"), !noPlatform, log)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&port, "port", "p", defaultFuncPort, "port to serve the app on (0 picks a free one)")
	f.StringVar(&dir, "dir", ".", "the app's directory")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&logFmt, "log-format", "text", "log format: text or json")
	f.BoolVar(&noPlatform, "no-platform", false, "do not start the platform embedded")
	return cmd
}

func runFuncStart(parent context.Context, g *globals, root string, port int, portSet, embed bool, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if _, err := os.Stat(filepath.Join(root, "host.json")); err != nil && !isGoApp(root) {
		return fmt.Errorf("%s is not a function app (no host.json or go.mod); create one with lapis func init", root)
	}
	ls, err := appconfig.LoadLocalSettings(os.DirFS(root))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	opts := host.Options{Dir: root, AuthDisabled: true, Logger: log}
	if ls != nil {
		opts.Settings = ls.Values
		if !portSet && ls.Host.LocalHTTPPort != 0 {
			port = ls.Host.LocalHTTPPort
		}
	}

	if embed {
		env, stopPlatform := embedPlatform(ctx, g, root, port == 0, log)
		defer stopPlatform()
		opts.Env = env
	}

	// build makes a host from the app as it is now: a Go app is built first.
	build := func() (*host.Host, error) {
		if isGoApp(root) {
			exe, fromHost, err := goExecutable(root, opts.Settings)
			if err != nil {
				return nil, err
			}
			if !fromHost {
				opts.Executable = exe
			}
			fmt.Fprintf(g.stdout, "Building %s: go build -o %s .\n", root, exe)
			cmd := exec.CommandContext(ctx, "go", "build", "-o", exe, ".")
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("go build failed in %s: %v\n%s", root, err, strings.TrimSpace(string(out)))
			}
		}
		h, err := host.New(opts)
		if h == nil {
			return nil, err
		}
		if err != nil {
			fmt.Fprintf(g.stderr, "Some functions are broken and will not run:\n%s\n", err)
		}
		if err := h.Start(ctx); err != nil {
			h.Close()
			return nil, err
		}
		for name, err := range h.Broken() {
			fmt.Fprintf(g.stderr, "Function %s is in error and will not run: %v\n", name, err)
		}
		return h, nil
	}

	h, err := build()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	var current atomic.Pointer[host.Host]
	current.Store(h)
	var drains sync.WaitGroup
	defer drains.Wait()
	defer func() { current.Load().Close() }()

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d is unavailable (use --port): %w", port, err)
	}
	srv := &http.Server{ReadHeaderTimeout: 30 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { current.Load().ServeHTTP(w, r) })}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer srv.Close()

	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	printFunctions(g, h, base)
	fmt.Fprintf(g.stdout, "\nHost started. Listening on %s. Press Ctrl-C to stop.\n", base)

	// Reload on change, as Core Tools does: rebuild and swap hosts; a
	// failed build keeps the running one.
	changes := watchApp(ctx, root, reloadPoll)
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(g.stdout, "Stopping the host.")
			shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil {
				log.Warn("shutdown", "err", err)
			}
			return nil
		case err := <-served:
			return err
		case <-changes:
			fmt.Fprintln(g.stdout, "\nChange detected; reloading.")
			nh, err := build()
			if err != nil {
				if ctx.Err() == nil {
					fmt.Fprintf(g.stderr, "Reload failed; still serving the previous build:\n%s\n", err)
				}
				continue
			}
			old := current.Swap(nh)
			drains.Add(1)
			go func() { // requests in flight finish on the old build
				defer drains.Done()
				dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = old.Shutdown(dctx)
			}()
			printFunctions(g, nh, base)
			fmt.Fprintf(g.stdout, "\nHost reloaded. Listening on %s.\n", base)
		}
	}
}

// reloadPoll is how often func start looks for changed app files.
const reloadPoll = 500 * time.Millisecond

// watchApp reports (at most one pending signal) when a source or config file
// of the app changes: *.go, go.mod, go.sum, host.json, function.json and
// local.settings.json, by polling their modification times. It needs no
// platform support and no dependency; the poll is cheap for app-sized trees.
func watchApp(ctx context.Context, root string, every time.Duration) <-chan struct{} {
	out := make(chan struct{}, 1)
	snapshot := func() map[string]time.Time {
		m := map[string]time.Time{}
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "vendor") {
					return filepath.SkipDir
				}
				return nil
			}
			switch n := d.Name(); {
			case strings.HasSuffix(n, ".go"), n == "go.mod", n == "go.sum", n == "host.json", n == "function.json", n == "local.settings.json":
				if fi, err := d.Info(); err == nil {
					m[p] = fi.ModTime()
				}
			}
			return nil
		})
		return m
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		last := snapshot()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				now := snapshot()
				if !maps.Equal(now, last) {
					last = now
					select {
					case out <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return out
}

// goExecutable is the path (relative to root) a Go app is built to: host.json's defaultExecutablePath when set
// (fromHost), else "app" (app.exe on Windows).
func goExecutable(root string, settings map[string]string) (exe string, fromHost bool, err error) {
	data, err := os.ReadFile(filepath.Join(root, "host.json"))
	if errors.Is(err, os.ErrNotExist) {
		return exeName("app"), false, nil
	} else if err != nil {
		return "", false, err
	}
	lookup := func(name string) (string, bool) {
		if v, ok := settings[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	}
	cfg, err := appconfig.ParseHost(data, lookup)
	if err != nil {
		return "", false, err
	}
	if cfg.CustomHandler == nil || cfg.CustomHandler.Description.DefaultExecutablePath == "" {
		return exeName("app"), false, nil
	}
	p := cfg.CustomHandler.Description.DefaultExecutablePath
	if filepath.IsAbs(p) {
		return p, true, nil
	}
	return exeName(filepath.FromSlash(p)), true, nil
}

// printFunctions lists the functions as Core Tools does: "        hello: [GET,POST] http://localhost:7071/api/hello".
func printFunctions(g *globals, h *host.Host, base string) {
	prefix := h.Config().HTTP.RoutePrefix
	fmt.Fprintf(g.stdout, "\nFunctions:\n\n")
	if len(h.Functions()) == 0 {
		fmt.Fprintf(g.stdout, "        (none)\n")
	}
	for _, fn := range h.Functions() {
		trig := fn.Trigger()
		if !strings.EqualFold(trig.Type, httpbinding.TriggerType) {
			fmt.Fprintf(g.stdout, "        %s: %s\n", fn.Name(), trig.Type)
			continue
		}
		cfg, _ := httpbinding.ParseConfig(trig)
		route := cfg.Route
		if route == "" {
			route = fn.Name()
		}
		path := strings.Trim(prefix+"/"+strings.TrimPrefix(route, "/"), "/")
		methods := ""
		if len(cfg.Methods) > 0 {
			methods = "[" + strings.Join(cfg.Methods, ",") + "] "
		}
		fmt.Fprintf(g.stdout, "        %s: %s%s/%s\n", fn.Name(), methods, base, path)
	}
}

// embedPlatform starts the platform for func start unless one is already running, and returns what the app's
// bindings get from it and what stops it. With the embedded platform, storage and the document store on its
// endpoints are served in process (the Cosmos DB emulator's connection string, localhost:8081, standing for its
// emulator account, as UseDevelopmentStorage=true stands for its storage) and the substrate keeps timer and
// blob-trigger state; with another running Lapis (or none), bindings reach storage and the document store over
// REST (the Cosmos DB trigger polling the change feed) and the triggers keep their state in a substrate of the
// app's own. A platform that cannot start (a port in use, say) is a warning, not an error: the app still runs.
func embedPlatform(ctx context.Context, g *globals, root string, freePorts bool, log *slog.Logger) (*binding.Env, func()) {
	env := &binding.Env{Storage: storageclient.NewREST(storageclient.RESTOptions{}), Documents: docclient.NewREST(docclient.RESTOptions{}), Logger: log}
	if c, err := newClient(g); err == nil && c.reachable(ctx) {
		fmt.Fprintf(g.stdout, "Using the running Lapis platform at %s.\n", c.endpoint)
		// That platform's substrate is not reachable from here; the timer and blob triggers keep their state
		// (claims, schedule status, receipts) in a substrate of the app's own, so they still fire once and
		// survive a restart of func start.
		sub, err := substrate.Open(ctx, substrate.Config{DataDir: filepath.Join(root, ".lapis", "func-state"),
			Sync: substrate.SyncInterval, NodeName: "func-start", Logger: log.With("component", "substrate")})
		if err != nil {
			fmt.Fprintf(g.stderr, "Warning: no local state for triggers (%v); timer and blob triggers keep it in memory.\n", err)
			return env, func() {}
		}
		env.Substrate = sub
		return env, func() { sub.Close() }
	}
	cfg := platform.Defaults()
	cfg.DataDir = g.dataDir
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(root, ".lapis")
	}
	if freePorts {
		cfg.Ports = platform.Ports{}
	}
	cfg.Ports.Functions = -1 // func start serves the app itself
	cfg.Logger = log.With("component", "platform")
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	srv, err := platform.Start(pctx, cfg)
	if err != nil {
		cancel()
		fmt.Fprintf(g.stderr, "Warning: the Lapis platform did not start (%v); the app runs without Lapis storage.\n", err)
		return env, func() {}
	}
	info := srv.Info()
	fmt.Fprintf(g.stdout, "Lapis platform (data in %s): management %s, blob %s, queue %s, cosmos %s\n", cfg.DataDir,
		info.Management, info.Endpoints["blob"], info.Endpoints["queue"], info.Endpoints[docdb.ServiceName])
	env.Substrate = srv.Substrate()
	pinfo := srv.Info()
	blobPort, queuePort := portOf(pinfo.Endpoints["blob"]), portOf(pinfo.Endpoints["queue"])
	q, _ := srv.Service("queue").(*queue.Service)
	b, _ := srv.Service("blob").(*blob.Service)
	if q != nil {
		provider, err := storageclient.NewInProcess(storageclient.InProcessOptions{Queue: q, Blob: b, Substrate: srv.Substrate(),
			Accounts:     &account.Directory{Store: srv.Manager().Store()},
			BlobEndpoint: hostPort(pinfo.Endpoints["blob"]), QueueEndpoint: hostPort(pinfo.Endpoints["queue"]),
			REST:   storageclient.RESTOptions{Development: connstr.Dev{Host: "127.0.0.1", BlobPort: blobPort, QueuePort: queuePort}},
			Logger: log})
		if err == nil {
			env.Storage = provider
		}
	}
	if d, ok := srv.Service(docdb.ServiceName).(*docdb.Service); ok {
		docs, err := docclient.NewInProcess(docclient.InProcessOptions{Service: func() *docdb.Service { return d },
			Keys: &docaccount.Directory{Store: srv.Manager().Store()}, Endpoint: hostPort(pinfo.Endpoints[docdb.ServiceName]),
			Emulator: true})
		if err == nil {
			env.Documents = docs
		}
	}
	return env, func() {
		cancel()
		srv.Wait()
	}
}

// portOf is the port of an endpoint URL (0 if it has none).
func portOf(u string) int {
	_, p, _ := net.SplitHostPort(hostPort(u))
	n, _ := strconv.Atoi(p)
	return n
}

// hostPort is the host:port of an endpoint URL.
func hostPort(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
}
