package substrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SyncMode says when JetStream fsyncs what it has acknowledged.
type SyncMode string

const (
	// SyncInterval fsyncs every Config.SyncInterval; a process crash loses
	// nothing, a power cut loses at most the interval.
	SyncInterval SyncMode = "interval"
	// SyncAlways fsyncs before every acknowledgement.
	SyncAlways SyncMode = "always"
)

// ParseSyncMode accepts "interval" and "always".
func ParseSyncMode(s string) (SyncMode, error) {
	switch m := SyncMode(strings.ToLower(s)); m {
	case SyncInterval, SyncAlways:
		return m, nil
	}
	return "", fmt.Errorf("invalid sync mode %q: use interval or always", s)
}

// Config configures a Substrate. The zero value of every field but DataDir is
// a sensible default.
type Config struct {
	// DataDir holds the embedded server's store (DataDir/jetstream).
	// Required unless URL is set.
	DataDir string
	// URL, when set, connects to an external NATS server or cluster instead
	// of embedding one.
	URL string
	// Sync is the durability mode of the embedded server.
	Sync SyncMode
	// SyncInterval is the fsync interval in SyncInterval mode (default 1s).
	SyncInterval time.Duration
	// Replicas for streams and buckets (default 1, or up to 3 in a cluster).
	Replicas int
	// Cluster, when set, makes the embedded server a node of a NATS cluster
	// of Lapis nodes instead of a process-private server.
	Cluster *Cluster
	// NodeName names this node's embedded server (default "lapis"); it must
	// be unique within a cluster.
	NodeName string
	// MaxMemory and MaxStore bound JetStream's memory and disk (defaults 1 GiB and 64 GiB).
	MaxMemory, MaxStore int64
	// Logger receives the embedded server's log lines (default slog.Default()).
	Logger *slog.Logger
}

// Cluster configures the embedded server as a cluster node. Clustering
// needs listening ports: the route port for the other nodes and a client
// port (NATS starts routes only once its client listener runs).
type Cluster struct {
	// Name is the cluster's name, the same on every node (default "lapis").
	Name string
	// Listen is this node's route address, host:port.
	Listen string
	// Routes are the other nodes' route addresses (nats-route://host:port
	// or host:port); listing this node too is harmless.
	Routes []string
	// ClientListen is the client address other NATS clients may use
	// (default 127.0.0.1 on a free port).
	ClientListen string
}

// Substrate is the connection to JetStream that every service shares. It is
// safe for concurrent use.
type Substrate struct {
	cfg    Config
	log    *slog.Logger
	ns     *server.Server // nil when external
	nc     *nats.Conn
	js     jetstream.JetStream
	closed chan struct{} // closed when nc has closed
	// replicasSet is true when replicas were asked for; otherwise existing
	// streams keep theirs, so that one node's default does not reset what
	// the cluster runs with.
	replicasSet bool
}

// Size counts the distinct nodes a cluster config names: the routes and
// this node's own address.
func (c *Cluster) Size() int {
	seen := map[string]bool{strings.TrimPrefix(c.Listen, "nats-route://"): true}
	for _, r := range c.Routes {
		seen[strings.TrimPrefix(r, "nats-route://")] = true
	}
	return len(seen)
}

// keepReplicas returns the replica count to create or update the stream
// name with: the configured one, or the stream's own if it exists and none
// was asked for.
func (s *Substrate) keepReplicas(ctx context.Context, name string) int {
	if s.replicasSet {
		return s.cfg.Replicas
	}
	st, err := s.js.Stream(ctx, name)
	if err != nil { // missing, or not answering yet: the create will tell
		return s.cfg.Replicas
	}
	return st.CachedInfo().Config.Replicas
}

// Open starts the embedded server (or connects to cfg.URL) and waits until
// JetStream answers.
func Open(ctx context.Context, cfg Config) (*Substrate, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Sync == "" {
		cfg.Sync = SyncInterval
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = time.Second
	}
	s0 := &Substrate{replicasSet: cfg.Replicas > 0}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
		if cfg.Cluster != nil {
			cfg.Replicas = min(3, cfg.Cluster.Size())
		}
	}
	if cfg.NodeName == "" {
		cfg.NodeName = "lapis"
	}
	if cfg.MaxMemory == 0 {
		cfg.MaxMemory = 1 << 30
	}
	if cfg.MaxStore == 0 {
		cfg.MaxStore = 64 << 30
	}
	s := s0
	s.cfg, s.log, s.closed = cfg, cfg.Logger.With("component", "nats"), make(chan struct{})

	var err error
	if cfg.URL != "" {
		s.nc, err = nats.Connect(cfg.URL, nats.Name("lapis"), nats.MaxReconnects(-1), s.onClosed(),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					s.log.Warn("disconnected from NATS", "err", err)
				}
			}),
			nats.ReconnectHandler(func(c *nats.Conn) { s.log.Info("reconnected to NATS", "url", c.ConnectedUrl()) }))
		if err != nil {
			return nil, fmt.Errorf("substrate: connect to %s: %w", cfg.URL, err)
		}
	} else {
		if cfg.DataDir == "" {
			return nil, errors.New("substrate: a data dir is required for the embedded server")
		}
		if err := s.startEmbedded(); err != nil {
			return nil, err
		}
	}
	s.js, err = jetstream.New(s.nc)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("substrate: jetstream: %w", err)
	}
	// In a cluster JetStream needs a meta leader before it answers; wait for it.
	// Each try has its own short deadline: a request made before the
	// cluster has a leader may go unanswered.
	start, lastLog := time.Now(), time.Now()
	for {
		tryCtx, cancel := context.WithTimeout(ctx, time.Second)
		_, err = s.js.AccountInfo(tryCtx)
		cancel()
		if err == nil {
			break
		}
		if time.Since(lastLog) > 5*time.Second {
			s.log.Warn("waiting for JetStream (a cluster needs a quorum of its nodes)", "waited", time.Since(start).Round(time.Second), "err", err)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			s.Close()
			return nil, fmt.Errorf("substrate: JetStream not available: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if _, err := s.createStream(ctx, jetstream.StreamConfig{
		Name:     EventsStream,
		Subjects: []string{eventsPrefix + ".>"},
		MaxAge:   7 * 24 * time.Hour,
	}); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Substrate) startEmbedded() error {
	opts := &server.Options{
		ServerName:             s.cfg.NodeName,
		DontListen:             s.cfg.Cluster == nil,
		JetStream:              true,
		StoreDir:               filepath.Join(s.cfg.DataDir, "nats"),
		JetStreamMaxMemory:     s.cfg.MaxMemory,
		JetStreamMaxStore:      s.cfg.MaxStore,
		SyncInterval:           s.cfg.SyncInterval,
		SyncAlways:             s.cfg.Sync == SyncAlways,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
		MaxPayload:             8 << 20,
	}
	if c := s.cfg.Cluster; c != nil {
		if err := clusterOptions(opts, c); err != nil {
			return err
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("substrate: embedded NATS server: %w", err)
	}
	ns.SetLoggerV2(&natsLogger{log: s.log}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return errors.New("substrate: embedded NATS server did not become ready in 30s")
	}
	s.ns = ns
	s.nc, err = nats.Connect("", nats.InProcessServer(ns), nats.Name("lapis"), s.onClosed())
	if err != nil {
		ns.Shutdown()
		return fmt.Errorf("substrate: in-process connection: %w", err)
	}
	return nil
}

func clusterOptions(opts *server.Options, c *Cluster) error {
	host, port, err := splitHostPort(c.Listen, "cluster listen")
	if err != nil {
		return err
	}
	name := c.Name
	if name == "" {
		name = "lapis"
	}
	opts.Cluster = server.ClusterOpts{Name: name, Host: host, Port: port}
	for _, r := range c.Routes {
		if !strings.Contains(r, "://") {
			r = "nats-route://" + r
		}
		u, err := url.Parse(r)
		if err != nil || u.Host == "" {
			return fmt.Errorf("substrate: invalid route %q: use nats-route://host:port", r)
		}
		opts.Routes = append(opts.Routes, u)
	}
	opts.Host, opts.Port = "127.0.0.1", -1
	if c.ClientListen != "" {
		if opts.Host, opts.Port, err = splitHostPort(c.ClientListen, "client listen"); err != nil {
			return err
		}
	}
	return nil
}

func splitHostPort(hp, what string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("substrate: %s address %q: %w", what, hp, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("substrate: %s address %q: invalid port", what, hp)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

// ClientURL is the embedded server's client URL in cluster mode, for other
// NATS clients; it is empty when the server does not listen.
func (s *Substrate) ClientURL() string {
	if s.ns == nil || s.cfg.Cluster == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// Close drains the connection and, when embedded, shuts the server down and
// waits for it to finish writing.
func (s *Substrate) Close() error {
	var err error
	if s.nc != nil {
		if s.nc.IsConnected() {
			// Drain is asynchronous: it flushes what is pending, then closes.
			if err = s.nc.Drain(); err == nil {
				select {
				case <-s.closed:
				case <-time.After(10 * time.Second):
					err = errors.New("substrate: NATS connection did not drain in 10s")
				}
			}
		}
		s.nc.Close()
	}
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	return err
}

// Retry runs a JetStream call that is safe to repeat. Alone it runs once; in a
// cluster a call made while the cluster settles (a new leader, peers not yet
// known) can time out or be refused for a while, so it is tried again, each
// try with a short deadline, until ctx ends.
func (s *Substrate) Retry(ctx context.Context, f func(context.Context) error) error {
	if s.cfg.Cluster == nil && s.cfg.URL == "" {
		return f(ctx)
	}
	// The calls are idempotent. Tries start short, because a request that
	// collides with another node's identical one can go unanswered, and
	// grow, because a replicated stream's first leader election takes a few
	// seconds.
	for wait := 2 * time.Second; ; wait = min(2*wait, 16*time.Second) {
		tryCtx, cancel := context.WithTimeout(ctx, wait)
		err := f(tryCtx)
		cancel()
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		s.log.Debug("JetStream not ready, retrying", "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ErrNotYetVisible is for a caller of Retry to return when a write it
// knows happened is not yet visible to a read: in a cluster, reads are
// served by any replica, and a replica may lag the leader for a moment.
var ErrNotYetVisible = errors.New("substrate: write not yet visible on this replica")

// transient tells errors worth retrying while a cluster settles.
func transient(err error) bool {
	if errors.Is(err, ErrNotYetVisible) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 10008: cluster not available; 10023: insufficient resources (peers not yet known).
		return apiErr.Code == 503 || apiErr.ErrorCode == 10008 || apiErr.ErrorCode == 10023
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

func (s *Substrate) onClosed() nats.Option {
	return nats.ClosedHandler(func(*nats.Conn) { close(s.closed) })
}

// Embedded reports whether the substrate runs its own NATS server.
func (s *Substrate) Embedded() bool { return s.ns != nil }

// Conn is the NATS connection, for core publish/subscribe.
func (s *Substrate) Conn() *nats.Conn { return s.nc }

// JetStream is the JetStream context.
func (s *Substrate) JetStream() jetstream.JetStream { return s.js }

// Check reports whether JetStream answers; it is the substrate's readiness check.
func (s *Substrate) Check(ctx context.Context) error {
	if !s.nc.IsConnected() {
		return errors.New("not connected to NATS")
	}
	if _, err := s.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	return nil
}

// Describe says where the substrate lives, for the start banner.
func (s *Substrate) Describe() string {
	if s.ns == nil {
		return "external NATS " + s.nc.ConnectedUrlRedacted()
	}
	d := fmt.Sprintf("embedded NATS %s, JetStream in %s, sync %s", server.VERSION,
		filepath.Join(s.cfg.DataDir, "nats"), s.cfg.Sync)
	if s.cfg.Cluster != nil {
		d += fmt.Sprintf(", cluster node %s (routes %s, clients %s, replicas %d)", s.cfg.NodeName, s.ns.ClusterAddr(), s.ns.ClientURL(), s.cfg.Replicas)
	}
	return d
}

// StreamSpec describes a service stream. Subjects are relative to the
// service's namespace: "orders.>" becomes "lapis.<service>.orders.>".
type StreamSpec struct {
	Name      string
	Subjects  []string
	Retention jetstream.RetentionPolicy
	MaxAge    time.Duration
	// MaxMsgsPerSubject > 0 keeps only the newest N messages per subject.
	MaxMsgsPerSubject int64
	AllowMsgTTL       bool
	AllowSchedules    bool
	Duplicates        time.Duration
}

// Stream creates or updates the stream a service asks for and returns it.
func (s *Substrate) Stream(ctx context.Context, service string, spec StreamSpec) (jetstream.Stream, error) {
	if spec.Name == "" {
		return nil, errors.New("substrate: stream spec needs a name")
	}
	cfg := jetstream.StreamConfig{
		Name:              StreamName(service, spec.Name),
		Retention:         spec.Retention,
		MaxAge:            spec.MaxAge,
		MaxMsgsPerSubject: spec.MaxMsgsPerSubject,
		AllowMsgTTL:       spec.AllowMsgTTL,
		AllowMsgSchedules: spec.AllowSchedules,
		Duplicates:        spec.Duplicates,
	}
	for _, subj := range spec.Subjects {
		cfg.Subjects = append(cfg.Subjects, "lapis."+service+"."+subj)
	}
	return s.createStream(ctx, cfg)
}

func (s *Substrate) createStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	cfg.Storage = jetstream.FileStorage
	cfg.AllowDirect = true
	if cfg.Duplicates == 0 {
		cfg.Duplicates = 2 * time.Minute
	}
	if cfg.MaxAge > 0 && cfg.Duplicates > cfg.MaxAge {
		cfg.Duplicates = cfg.MaxAge
	}
	var st jetstream.Stream
	err := s.Retry(ctx, func(ctx context.Context) (err error) {
		cfg.Replicas = s.keepReplicas(ctx, cfg.Name)
		st, err = s.js.CreateOrUpdateStream(ctx, cfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("substrate: stream %s: %w", cfg.Name, err)
	}
	return st, nil
}

// Consumer creates or updates a durable consumer on one of a service's
// streams (the short name given to Stream). cfg.Durable must be set.
func (s *Substrate) Consumer(ctx context.Context, service, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return s.consumer(ctx, StreamName(service, stream), cfg)
}

// EventsConsumer creates or updates a durable consumer on [EventsStream].
func (s *Substrate) EventsConsumer(ctx context.Context, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	return s.consumer(ctx, EventsStream, cfg)
}

func (s *Substrate) consumer(ctx context.Context, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	if cfg.Durable == "" {
		return nil, errors.New("substrate: consumer needs a durable name")
	}
	if cfg.Replicas == 0 && s.cfg.Replicas > 1 {
		cfg.Replicas = s.cfg.Replicas
	}
	var c jetstream.Consumer
	err := s.Retry(ctx, func(ctx context.Context) (err error) {
		c, err = s.js.CreateOrUpdateConsumer(ctx, stream, cfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("substrate: consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}

// PublishEvent publishes a system event of the given kind raised on the
// topic resource topicID (see [EventSubject]). msgID, when set, makes
// retried publishes of the same event count once.
func (s *Substrate) PublishEvent(ctx context.Context, kind, topicID string, data []byte, msgID string) error {
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	_, err := s.Publish(ctx, &nats.Msg{Subject: EventSubject(kind, topicID), Data: data}, opts...)
	return err
}

// KVSpec describes a service's key-value bucket.
type KVSpec struct {
	Name    string
	History uint8
	TTL     time.Duration
}

// KeyValue creates (or opens) a service's key-value bucket.
func (s *Substrate) KeyValue(ctx context.Context, service string, spec KVSpec) (jetstream.KeyValue, error) {
	cfg := jetstream.KeyValueConfig{
		Bucket:  BucketName(service, spec.Name),
		History: spec.History,
		TTL:     spec.TTL,
		Storage: jetstream.FileStorage,
	}
	var kv jetstream.KeyValue
	err := s.Retry(ctx, func(ctx context.Context) (err error) {
		cfg.Replicas = s.keepReplicas(ctx, "KV_"+cfg.Bucket)
		kv, err = s.js.CreateOrUpdateKeyValue(ctx, cfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("substrate: bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// ObjectStore creates (or opens) a service's object store.
func (s *Substrate) ObjectStore(ctx context.Context, service, name string) (jetstream.ObjectStore, error) {
	cfg := jetstream.ObjectStoreConfig{
		Bucket:  BucketName(service, name),
		Storage: jetstream.FileStorage,
	}
	var os jetstream.ObjectStore
	err := s.Retry(ctx, func(ctx context.Context) (err error) {
		cfg.Replicas = s.keepReplicas(ctx, "OBJ_"+cfg.Bucket)
		os, err = s.js.CreateOrUpdateObjectStore(ctx, cfg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("substrate: object store %s: %w", cfg.Bucket, err)
	}
	return os, nil
}

// Publish publishes to JetStream and waits for the acknowledgement.
func (s *Substrate) Publish(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	ack, err := s.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return nil, fmt.Errorf("substrate: publish %s: %w", msg.Subject, err)
	}
	return ack, nil
}

// Usage is a snapshot of JetStream's resource use, for metrics.
type Usage struct {
	Streams, Consumers int
	Messages, Bytes    uint64
	Memory, Store      uint64
}

// Usage reports JetStream's account usage.
func (s *Substrate) Usage(ctx context.Context) (Usage, error) {
	info, err := s.js.AccountInfo(ctx)
	if err != nil {
		return Usage{}, err
	}
	u := Usage{Streams: info.Streams, Consumers: info.Consumers, Memory: info.Memory, Store: info.Store}
	names := s.js.StreamNames(ctx)
	for n := range names.Name() {
		st, err := s.js.Stream(ctx, n)
		if err != nil {
			continue
		}
		ci := st.CachedInfo()
		u.Messages += ci.State.Msgs
		u.Bytes += ci.State.Bytes
	}
	return u, names.Err()
}

// natsLogger forwards the embedded server's log lines to slog.
type natsLogger struct{ log *slog.Logger }

func (l *natsLogger) Noticef(f string, v ...any) { l.log.Debug(fmt.Sprintf(f, v...)) }
func (l *natsLogger) Warnf(f string, v ...any)   { l.log.Warn(fmt.Sprintf(f, v...)) }
func (l *natsLogger) Fatalf(f string, v ...any)  { l.log.Error(fmt.Sprintf(f, v...)) }
func (l *natsLogger) Errorf(f string, v ...any) {
	msg := fmt.Sprintf(f, v...)
	if strings.Contains(msg, "Error trying to connect to route") {
		// Expected while the other cluster nodes start; NATS keeps retrying.
		l.log.Debug(msg)
		return
	}
	l.log.Error(msg)
}
func (l *natsLogger) Debugf(f string, v ...any) { l.log.Debug(fmt.Sprintf(f, v...)) }
func (l *natsLogger) Tracef(f string, v ...any) { l.log.Debug(fmt.Sprintf(f, v...)) }
