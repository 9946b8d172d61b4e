package platform_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/substrate"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	srv := startServer(t, t.TempDir())
	base := srv.Info().Management
	if status, body := get(t, base+"/healthz"); status != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", status, body)
	}
	status, body := get(t, base+"/readyz")
	var ready struct {
		Status   string
		Services map[string]string
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || status != 200 || ready.Services["substrate"] != "ok" || ready.Services["management"] != "ok" {
		t.Fatalf("/readyz = %d %s", status, body)
	}
	// One management request so the request counter has a sample.
	get(t, base+"/subscriptions")
	status, body = get(t, base+"/metrics")
	for _, want := range []string{"lapis_build_info", "lapis_jetstream_up 1", "lapis_jetstream_streams", "lapis_http_requests_total{code=\"401\",endpoint=\"management\",method=\"GET\"} 1",
		"lapis_http_request_duration_seconds_bucket", "go_goroutines", "process_resident_memory_bytes"} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestExternalNATS runs Lapis against a NATS server it does not own, as
// --nats does, and checks that resources live there.
func TestExternalNATS(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}

	start := func(dir string) (*platform.Server, context.CancelFunc) {
		cfg := platform.Defaults()
		cfg.DataDir, cfg.Ports, cfg.NATSURL = dir, platform.Ports{}, ns.ClientURL()
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		ctx, cancel := context.WithCancel(context.Background())
		srv, err := platform.Start(ctx, cfg)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		return srv, cancel
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dirA, dirB := t.TempDir(), t.TempDir()
	a, cancelA := start(dirA)
	if strings.Contains(a.Substrate().Describe(), "embedded") {
		t.Fatalf("substrate = %s", a.Substrate().Describe())
	}
	ca := newSDK(t, dirA, a.Info())
	if _, err := ca.groups.CreateOrUpdate(context.Background(), "shared-rg", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
		t.Fatal(err)
	}
	stop(t, a, cancelA)

	// A second node with its own data dir sees the same resource through NATS.
	b, cancelB := start(dirB)
	defer stop(t, b, cancelB)
	// The nodes share the subscription and the admin key through NATS.
	keyA, _ := platform.ReadAdminKey(dirA)
	keyB, _ := platform.ReadAdminKey(dirB)
	if b.Info().Subscription != a.Info().Subscription || keyA != keyB || keyA == "" {
		t.Fatalf("nodes disagree: subscriptions %s / %s, keys equal %v", a.Info().Subscription, b.Info().Subscription, keyA == keyB)
	}
	cb := newSDK(t, dirB, b.Info())
	if _, err := cb.groups.Get(context.Background(), "shared-rg", nil); err != nil {
		t.Fatalf("second node does not see the group: %v", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestEmbeddedCluster runs three Lapis nodes whose embedded NATS servers
// form one cluster (R3 state): a write on one node is read on another, and
// the cluster keeps serving writes after a node stops.
func TestEmbeddedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster needs a RAFT election of several seconds")
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var routes []string
	for range 3 {
		routes = append(routes, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	}
	type node struct {
		srv    *platform.Server
		dir    string
		cancel context.CancelFunc
	}
	nodes := make([]node, 3)
	errs := make(chan error, 3)
	for i := range nodes {
		go func() {
			cfg := platform.Defaults()
			cfg.DataDir, cfg.Ports = t.TempDir(), platform.Ports{}
			cfg.Cluster = &substrate.Cluster{Listen: routes[i], Routes: routes}
			cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			srv, err := platform.Start(ctx, cfg)
			if err != nil {
				cancel()
				errs <- fmt.Errorf("node %d: %w", i, err)
				return
			}
			// The server stops when its context ends; give it one without a deadline.
			nodes[i] = node{srv: srv, dir: cfg.DataDir, cancel: cancel}
			errs <- nil
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		t.Cleanup(func() { n.cancel(); n.srv.Wait() })
	}
	if !strings.Contains(nodes[0].srv.Substrate().Describe(), "replicas 3") {
		t.Fatalf("substrate = %s", nodes[0].srv.Substrate().Describe())
	}
	ctx := context.Background()
	c0 := newSDK(t, nodes[0].dir, nodes[0].srv.Info())
	if _, err := c0.groups.CreateOrUpdate(ctx, "cluster-rg", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
		t.Fatal(err)
	}
	c2 := newSDK(t, nodes[2].dir, nodes[2].srv.Info())
	// Reads are served by any replica, which may lag the leader a moment.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := c2.groups.Get(ctx, "cluster-rg", nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 2 does not see node 0's write: %v", err)
		}
	}

	nodes[0].cancel()
	nodes[0].srv.Wait()
	c1 := newSDK(t, nodes[1].dir, nodes[1].srv.Info())
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c1.groups.CreateOrUpdate(ctx, "after-rg", armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write accepted within 30s of a node stopping: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := c2.groups.Get(ctx, "cluster-rg", nil); err != nil {
		t.Fatalf("write lost after a node stopped: %v", err)
	}
}
