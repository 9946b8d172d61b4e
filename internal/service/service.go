package service

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/substrate"
)

// Service is a data-plane service with a port of its own (Blob on 10000,
// Queue on 10001, ...).
type Service interface {
	// Name names the service in the banner, /readyz and metrics ("blob").
	Name() string
	// Start creates what the service keeps in the substrate and starts its
	// background work, which the service owns until Stop. It returns the
	// handler the platform serves on the service's port.
	Start(ctx context.Context) (http.Handler, error)
	// Ready reports whether the service can serve.
	Ready(ctx context.Context) error
	// Stop ends the background work. The platform calls it after the
	// service's listener has drained its requests.
	Stop(ctx context.Context) error
}

// Env is what services are built with.
type Env struct {
	Substrate *substrate.Substrate
	Manager   *arm.Manager
	Accounts  *account.Directory
	// Host is the host name services put in URLs they show (event urls,
	// copy sources): the listen address, or 127.0.0.1 for a wildcard.
	Host   string
	Ports  Ports
	Logger *slog.Logger
	Clock  func() time.Time
	// DataDir is the server's data directory; services may keep node-local files (caches, unpacked apps)
	// below DataDir/<service name>, never state that other nodes need.
	DataDir string
	// Node is this node's name.
	Node string
	// Metrics registers the service's Prometheus collectors (served on /metrics).
	Metrics prometheus.Registerer
	// Peer returns another running service by name ("blob", "queue"), started before this one, or nil.
	Peer func(name string) Service
}

// Ports are the data-plane ports services show in URLs.
type Ports struct {
	Blob      int
	Queue     int
	Functions int
	EventGrid int
	Cosmos    int
}
