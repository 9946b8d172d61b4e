package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/substrate"
	"github.com/lapisdev/lapis/internal/version"
)

func newStartCmd(g *globals) *cobra.Command {
	d := platform.Defaults()
	var (
		sync, logLevel, logFormat string
		cluster                   substrate.Cluster
		cfg                       = d
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run Lapis: every service on loopback, state in the data directory",
		Long: `Run the Lapis server in the foreground. It prints one line per endpoint when ready
and stops cleanly on Ctrl-C or SIGTERM, draining requests in flight. Every flag
can also be set as LAPIS_<FLAG>, for example LAPIS_SYNC=always.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			var err error
			if cfg.Sync, err = substrate.ParseSyncMode(sync); err != nil {
				return &usageError{err.Error()}
			}
			log, err := newLogger(g, logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg.Logger = log
			if cluster.Listen != "" {
				if len(cluster.Routes) == 0 || cluster.Size() < 2 {
					return usagef("--cluster-listen needs --routes naming the cluster's nodes (a cluster of one is just lapis start)")
				}
				if cfg.NATSURL != "" {
					return usagef("--cluster-listen and --nats exclude each other: a node either runs NATS or uses an external one")
				}
				cfg.Cluster = &cluster
			} else if len(cluster.Routes) > 0 {
				return usagef("--routes needs --cluster-listen")
			}
			cfg.DataDir = g.dataDir
			if cfg.DataDir == "" {
				cfg.DataDir = d.DataDir
			}
			return runServer(cmd.Context(), g, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", d.Listen, "address every endpoint listens on")
	f.StringVar(&sync, "sync", string(d.Sync), "fsync mode: interval (every --sync-interval) or always (before every acknowledgement)")
	f.DurationVar(&cfg.SyncInterval, "sync-interval", d.SyncInterval, "fsync interval in --sync interval mode")
	f.StringVar(&cfg.NATSURL, "nats", "", "use this NATS server or cluster (nats://host:4222) instead of the embedded one")
	f.StringVar(&cluster.Listen, "cluster-listen", "", "make the embedded NATS a cluster node with its route port on host:port (e.g. 127.0.0.1:6222)")
	f.StringVar(&cluster.Name, "cluster-name", "lapis", "NATS cluster name, the same on every node")
	f.StringSliceVar(&cluster.Routes, "routes", nil, "route addresses of the other nodes, comma-separated (host:port or nats-route://host:port)")
	f.StringVar(&cluster.ClientListen, "cluster-client-listen", "", "client address of a cluster node for other NATS clients (default 127.0.0.1 on a free port)")
	f.IntVar(&cfg.Replicas, "replicas", 0, "replicas of every stream and bucket (default 1, or up to 3 in a cluster)")
	f.StringVar(&cfg.SubscriptionID, "subscription-id", "", "serve this subscription id instead of the generated one")
	f.IntVar(&cfg.Ports.Management, "management-port", d.Ports.Management, "management API, /metrics and health port (0 picks a free one)")
	f.IntVar(&cfg.Ports.Blob, "blob-port", d.Ports.Blob, "Blob service port")
	f.IntVar(&cfg.Ports.Queue, "queue-port", d.Ports.Queue, "Queue service port")
	f.IntVar(&cfg.Ports.Functions, "functions-port", d.Ports.Functions, "function apps' HTTP front door ({app}.localhost:<port>)")
	f.IntVar(&cfg.Ports.EventGrid, "eventgrid-port", d.Ports.EventGrid, "Event Grid topics' publish endpoints ({topic}.localhost:<port>/api/events); negative turns it off")
	f.IntVar(&cfg.Ports.Cosmos, "cosmos-port", d.Ports.Cosmos, "Cosmos DB (NoSQL API) data plane ({account}.localhost:<port>; plain localhost is the emulator account); negative turns it off")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "how long in-flight work may take to drain on stop")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

func newLogger(g *globals, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("invalid --log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	}
	return nil, usagef("invalid --log-format %q: use text or json", format)
}

func runServer(parent context.Context, g *globals, cfg platform.Config) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	// A signal while starting (a cluster node may wait for its quorum)
	// stops the start.
	starting := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			cfg.Logger.Info("stopping before ready", "signal", sig.String())
			cancel()
		case <-starting:
		}
	}()
	srv, err := platform.Start(ctx, cfg)
	close(starting)
	if err != nil {
		if ctx.Err() != nil && parent.Err() == nil {
			return fmt.Errorf("stopped while starting: %w", err)
		}
		return err
	}
	info := srv.Info()
	w := g.stdout
	fmt.Fprintf(w, "Lapis %s\n", version.String())
	fmt.Fprintf(w, "  %-13s %s\n", "data", srv.Substrate().Describe())
	fmt.Fprintf(w, "  %-13s %s\n", "subscription", info.Subscription)
	fmt.Fprintf(w, "  %-13s %s\n", "management", info.Management)
	var names []string
	for name := range info.Endpoints {
		if name != "management" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-13s %s\n", name, info.Endpoints[name])
	}
	fmt.Fprintf(w, "Ready in %s. Press Ctrl-C to stop.\n", srv.Ready().Round(time.Millisecond))

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		srv.Wait()
	}()
	select {
	case sig := <-sigs:
		cfg.Logger.Info("stopping: draining in-flight work", "signal", sig.String())
		cancel()
	case <-stopped:
	case <-parent.Done():
		cancel()
	}
	select {
	case <-stopped:
	case sig := <-sigs:
		return fmt.Errorf("stopped by a second %s before in-flight work drained", sig)
	}
	cfg.Logger.Info("stopped")
	return nil
}
