// Package functest is test support for the functions packages: a platform on free ports with the storage
// provider its hosts get, and test workers built once per test binary. Only tests import it.
package functest

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/blob"
	"github.com/lapisdev/lapis/internal/storage/queue"
)

// Platform is a running platform (its functions front door off) for one test.
type Platform struct {
	Server *platform.Server
	// Conn is the connection string of devstoreaccount1 on it.
	Conn string
	// BlobHost and QueueHost are the host:port of its Blob and Queue endpoints.
	BlobHost, QueueHost string
}

// Start runs a platform in a temporary data directory until the test ends. Its log goes to stderr at warning
// level with -v.
func Start(t testing.TB) *Platform {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // keep the CLI pointer out of the user's config
	cfg := platform.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Ports = platform.Ports{Functions: -1}
	cfg.Logger = slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := platform.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { cancel(); srv.Wait() })
	ep := srv.Info().Endpoints
	bu, _ := url.Parse(ep["blob"])
	qu, _ := url.Parse(ep["queue"])
	return &Platform{Server: srv, BlobHost: bu.Host, QueueHost: qu.Host,
		Conn: fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s/%s;QueueEndpoint=%s/%s;",
			account.DevAccount, account.DevKey, ep["blob"], account.DevAccount, ep["queue"], account.DevAccount)}
}

// InProcess is the provider the platform gives its hosts: accounts on its endpoints served in process.
func (p *Platform) InProcess(t testing.TB) *storageclient.InProcess {
	t.Helper()
	prov, err := storageclient.NewInProcess(storageclient.InProcessOptions{
		Queue:         p.Server.Service("queue").(*queue.Service),
		Blob:          p.Server.Service("blob").(*blob.Service),
		Substrate:     p.Server.Substrate(),
		Accounts:      &account.Directory{Store: p.Server.Manager().Store()},
		BlobEndpoint:  p.BlobHost,
		QueueEndpoint: p.QueueHost,
	})
	if err != nil {
		t.Fatal(err)
	}
	return prov
}

// MainWithWorker builds the Go package pkg (a test worker, e.g. "./testdata/handler") into a temporary
// directory, sets *path to the executable, runs the tests and removes it: call it from TestMain.
func MainWithWorker(m *testing.M, pkg string, path *string) int {
	dir, err := os.MkdirTemp("", "lapis-test-worker")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*path = filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", *path, pkg)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, b)
		return 1
	}
	return m.Run()
}

// CopyApp copies the app directory src (testdata/app, say) into a new temporary directory with the worker
// executable at worker copied in as "handler", then lets edit change it, and returns the directory.
func CopyApp(t testing.TB, src, worker string, edit func(dir string)) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "app")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(worker)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "handler"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(dst)
	}
	return dst
}
