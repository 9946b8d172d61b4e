package platform_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/lapisdev/lapis/internal/platform"
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
		cfg.DataDir, cfg.Ports.Management, cfg.NATSURL = dir, 0, ns.ClientURL()
		cfg.SubscriptionID = "11111111-2222-3333-4444-555555555555"
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
	cb := newSDK(t, dirB, b.Info())
	if _, err := cb.groups.Get(context.Background(), "shared-rg", nil); err != nil {
		t.Fatalf("second node does not see the group: %v", err)
	}
}
