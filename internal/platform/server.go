package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/substrate"
	"github.com/lapisdev/lapis/internal/version"
)

// Server is a running Lapis. Create it with Start; stop it by cancelling
// the context given to Start and waiting on Wait.
type Server struct {
	cfg     Config
	log     *slog.Logger
	started time.Time

	release   func()
	sub       *substrate.Substrate
	mgr       *arm.Manager
	metrics   *metrics
	mgmt      *http.Server
	mgmtLn    net.Listener
	running   []*runningService
	info      ServerInfo
	serveErr  chan error
	stopped   chan struct{}
	closeOnce sync.Once
}

// Start brings a server up and returns once every endpoint accepts
// requests. The server stops when ctx is cancelled; Wait returns then.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: cfg.Logger, started: time.Now(), serveErr: make(chan error, 16), stopped: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if s.release, err = lockDir(cfg.DataDir); err != nil {
		return nil, err
	}
	node, err := readOrCreate(cfg.DataDir, nodeFile, newNodeName)
	if err != nil {
		return nil, fmt.Errorf("node name: %w", err)
	}
	s.sub, err = substrate.Open(ctx, substrate.Config{
		DataDir: cfg.DataDir, URL: cfg.NATSURL, Sync: cfg.Sync, SyncInterval: cfg.SyncInterval, Logger: s.log,
		Cluster: cfg.Cluster, NodeName: node, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, err
	}
	id, err := loadIdentity(ctx, s.sub, cfg, s.log)
	if err != nil {
		return nil, err
	}
	token, subID := id.adminKey, id.subscription
	tenant := uuid.NewSHA1(uuid.NameSpaceURL, []byte("lapis-tenant:"+subID)).String()

	// Listen first, so that resource types can show the real ports.
	s.mgmtLn, err = listen(cfg.Listen, cfg.Ports.Management, "management")
	if err != nil {
		return nil, err
	}
	reg := arm.NewRegistry()
	acctType := &account.Type{Endpoints: s.storageEndpoints}
	reg.Register(acctType)
	s.mgr, err = arm.NewManager(ctx, arm.Options{Substrate: s.sub, Registry: reg, Logger: s.log,
		Subscription: arm.Subscription{ID: subID, TenantID: tenant}})
	if err != nil {
		return nil, err
	}

	s.metrics = newMetrics(s.sub)
	// Listen on every service port first: with port 0 the real ports are
	// known only then, and services and endpoints show them.
	lns := make([]net.Listener, len(services))
	defer func() {
		if err != nil {
			for _, ln := range lns {
				if ln != nil {
					ln.Close()
				}
			}
		}
	}()
	for i, spec := range services {
		if *spec.port(&s.cfg.Ports) < 0 {
			continue // disabled
		}
		if lns[i], err = listen(cfg.Listen, *spec.port(&s.cfg.Ports), spec.name); err != nil {
			return nil, err
		}
		*spec.port(&s.cfg.Ports) = lns[i].Addr().(*net.TCPAddr).Port
	}
	env := service.Env{Substrate: s.sub, Manager: s.mgr, Accounts: &account.Directory{Store: s.mgr.Store()},
		Host: publicHost(cfg.Listen), Ports: service.Ports{Blob: s.cfg.Ports.Blob, Queue: s.cfg.Ports.Queue, Functions: s.cfg.Ports.Functions,
			EventGrid: s.cfg.Ports.EventGrid, Cosmos: s.cfg.Ports.Cosmos},
		Logger: s.log, Clock: time.Now, DataDir: cfg.DataDir, Node: node, Metrics: s.metrics.reg,
		Peer: s.peer}
	for i, spec := range services {
		if lns[i] == nil {
			continue
		}
		if err := s.startService(ctx, spec, env, lns[i]); err != nil {
			return nil, err
		}
		lns[i] = nil // owned by the running service now
	}
	// Deleting a storage account deletes its data in every service that
	// keeps some.
	for _, rs := range s.running {
		if d, ok := rs.svc.(interface {
			DeleteAccount(ctx context.Context, account string) error
		}); ok {
			acctType.OnDelete = append(acctType.OnDelete, d.DeleteAccount)
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"version": version.String(), "os": runtime.GOOS, "arch": runtime.GOARCH})
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.Handle("/", s.metrics.instrument("management", arm.NewAPI(s.mgr, token)))
	s.mgmt = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	go func() { s.serveErr <- s.mgmt.Serve(s.mgmtLn) }()

	s.info = ServerInfo{
		PID: os.Getpid(), Version: version.String(), Management: "http://" + s.mgmtLn.Addr().String(),
		Subscription: subID, Tenant: tenant, Started: s.started.UTC(),
		Endpoints: map[string]string{"management": "http://" + s.mgmtLn.Addr().String()},
	}
	for _, rs := range s.running {
		s.info.Endpoints[rs.svc.Name()] = "http://" + rs.ln.Addr().String()
	}
	b, _ := json.MarshalIndent(s.info, "", "  ")
	if err := writeFileAtomic(filepath.Join(cfg.DataDir, serverInfoFile), append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("server info: %w", err)
	}
	s.writePointer()

	go s.run(ctx)
	return s, nil
}

func listen(host string, port int, what string) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("%s port: %w (pass another port or stop what uses it)", what, err)
	}
	return ln, nil
}

// writePointer records this data dir as the current one for the CLI. It is
// best effort: the CLI also looks in ./.lapis and takes --data-dir.
func (s *Server) writePointer() {
	p, err := CurrentPointer()
	if err != nil {
		return
	}
	abs, err := filepath.Abs(s.cfg.DataDir)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err == nil {
		_ = writeFileAtomic(p, []byte(abs+"\n"), 0o600)
	}
}

// publicHost is the host to put in URLs for clients on this machine.
func publicHost(listen string) string {
	if listen == "" || listen == "0.0.0.0" || listen == "::" {
		return "127.0.0.1"
	}
	return listen
}

func (s *Server) storageEndpoints(name string) map[string]string {
	host := publicHost(s.cfg.Listen)
	url := func(port int) string {
		return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/" + name + "/"
	}
	return map[string]string{"blob": url(s.cfg.Ports.Blob), "queue": url(s.cfg.Ports.Queue)}
}

// Service returns a running service by name ("blob", "queue", "functions"), or nil; for tests and tools.
func (s *Server) Service(name string) service.Service { return s.peer(name) }

// peer returns a running service by name, for services that use another (functions use blob and queue).
func (s *Server) peer(name string) service.Service {
	for _, rs := range s.running {
		if rs.svc.Name() == name {
			return rs.svc
		}
	}
	return nil
}

// DataDir is the server's data directory.
func (s *Server) DataDir() string { return s.cfg.DataDir }

// Info describes the running server: its endpoints and subscription.
func (s *Server) Info() ServerInfo { return s.info }

// Manager is the resource manager, for services and tests.
func (s *Server) Manager() *arm.Manager { return s.mgr }

// Ready is the time Start took.
func (s *Server) Ready() time.Duration { return time.Since(s.started) }

// Substrate describes where the state lives.
func (s *Server) Substrate() *substrate.Substrate { return s.sub }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"substrate": "ok", "management": "ok"}
	for _, rs := range s.running {
		checks[rs.svc.Name()] = "ok"
		if err := rs.svc.Ready(ctx); err != nil {
			checks[rs.svc.Name()] = err.Error()
		}
	}
	status := http.StatusOK
	for _, v := range checks {
		if v != "ok" {
			status = http.StatusServiceUnavailable
		}
	}
	if err := s.sub.Check(ctx); err != nil {
		checks["substrate"] = err.Error()
		status = http.StatusServiceUnavailable
	}
	if _, err := s.mgr.Store().Get(ctx, arm.ID{Subscription: s.info.Subscription, ResourceGroup: "readyz"}); err != nil {
		checks["management"] = err.Error()
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": http.StatusText(status), "services": checks})
}

func (s *Server) run(ctx context.Context) {
	defer close(s.stopped)
	select {
	case <-ctx.Done():
	case err := <-s.serveErr:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("management server failed", "err", err)
		}
	}
	s.close()
}

// Wait blocks until the server has stopped.
func (s *Server) Wait() { <-s.stopped }

// close drains in-flight requests, then closes the substrate and releases
// the data dir. It runs once.
func (s *Server) close() { s.closeOnce.Do(s.doClose) }

func (s *Server) doClose() {
	// Services first, newest first: drain their requests, then stop their work.
	for i := len(s.running) - 1; i >= 0; i-- {
		s.running[i].stop(s.shutdownTimeout(), s.log)
	}
	if s.mgmt != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout())
		if err := s.mgmt.Shutdown(ctx); err != nil {
			s.log.Warn("requests still in flight at shutdown", "err", err)
		}
		cancel()
	} else if s.mgmtLn != nil {
		s.mgmtLn.Close()
	}
	if s.sub != nil {
		if err := s.sub.Close(); err != nil {
			s.log.Warn("substrate close", "err", err)
		}
	}
	if s.release != nil {
		_ = os.Remove(filepath.Join(s.cfg.DataDir, serverInfoFile))
		s.release()
	}
}

func (s *Server) shutdownTimeout() time.Duration {
	if s.cfg.ShutdownTimeout > 0 {
		return s.cfg.ShutdownTimeout
	}
	return 30 * time.Second
}

// runningService is a started service and its listener.
type runningService struct {
	svc  service.Service
	ln   net.Listener
	http *http.Server
}

func (s *Server) startService(ctx context.Context, spec serviceSpec, env service.Env, ln net.Listener) error {
	env.Logger = s.log.With("service", spec.name)
	svc, err := spec.new(env)
	if err != nil {
		return fmt.Errorf("%s: %w", spec.name, err)
	}
	h, err := svc.Start(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", spec.name, err)
	}
	rs := &runningService{svc: svc, ln: ln, http: &http.Server{Handler: s.metrics.instrument(spec.name, h),
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}}
	s.running = append(s.running, rs)
	go func() { s.serveErr <- rs.http.Serve(ln) }()
	return nil
}

func (rs *runningService) stop(timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := rs.http.Shutdown(ctx); err != nil {
		log.Warn("requests still in flight at shutdown", "service", rs.svc.Name(), "err", err)
	}
	if err := rs.svc.Stop(ctx); err != nil {
		log.Warn("service stop", "service", rs.svc.Name(), "err", err)
	}
}
