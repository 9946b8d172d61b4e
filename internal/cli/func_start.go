package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding/httpbinding"
	"github.com/lapisdev/lapis/internal/functions/host"
)

// defaultFuncPort is Core Tools' port.
const defaultFuncPort = 7071

func newFuncStartCmd(g *globals) *cobra.Command {
	var (
		port             int
		dir              string
		logLevel, logFmt string
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Build and run the function app in the current directory on localhost:7071",
		Long: `Run a function app locally, as "func start" does: a Go app (one with go.mod) is built
first with "go build -o <executable> ." (the executable named in host.json), then the
Functions host loads the app, starts its worker and serves its HTTP functions on
http://localhost:<port>/api/... with keys not checked. local.settings.json Values are
the app settings, and its Host.LocalHttpPort the default port. Ctrl-C stops it.

Not yet: the platform is not embedded (bindings to Lapis storage need a separate
"lapis start"), and source changes are not reloaded (restart func start).`,
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
			return runFuncStart(cmd.Context(), g, root, port, cmd.Flags().Changed("port"), log)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&port, "port", "p", defaultFuncPort, "port to serve the app on (0 picks a free one)")
	f.StringVar(&dir, "dir", ".", "the app's directory")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&logFmt, "log-format", "text", "log format: text or json")
	return cmd
}

func runFuncStart(parent context.Context, g *globals, root string, port int, portSet bool, log *slog.Logger) error {
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

	if isGoApp(root) {
		exe, fromHost, err := goExecutable(root, opts.Settings)
		if err != nil {
			return err
		}
		if !fromHost {
			opts.Executable = exe
		}
		fmt.Fprintf(g.stdout, "Building %s: go build -o %s .\n", root, exe)
		build := exec.CommandContext(ctx, "go", "build", "-o", exe, ".")
		build.Dir = root
		out, err := build.CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build failed in %s: %v\n%s", root, err, strings.TrimSpace(string(out)))
		}
	}

	h, err := host.New(opts)
	if h == nil {
		return err
	}
	defer h.Close()
	if err != nil {
		fmt.Fprintf(g.stderr, "Some functions are broken and will not run:\n%s\n", err)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d is unavailable (use --port): %w", port, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer srv.Close()

	if err := h.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	printFunctions(g, h, base)
	fmt.Fprintf(g.stdout, "\nHost started. Listening on %s. Press Ctrl-C to stop.\n", base)

	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	fmt.Fprintln(g.stdout, "Stopping the host.")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return h.Close()
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
