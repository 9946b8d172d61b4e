// Package functest is test support for the functions packages: a platform on free ports with the storage
// provider its hosts get, and test workers built once per test binary. Only tests import it.
package functest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lapisdev/lapis/internal/docdb"
	docaccount "github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/functions/docclient"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/blob"
	"github.com/lapisdev/lapis/internal/storage/queue"
)

// Platform is a running platform for one test.
type Platform struct {
	Server *platform.Server
	// Conn is the connection string of devstoreaccount1 on it.
	Conn string
	// BlobHost and QueueHost are the host:port of its Blob and Queue endpoints.
	BlobHost, QueueHost string
	// Management is the management API's base URL, and Token the admin key that authorizes calls to it.
	Management, Token string
	// Functions is the base URL of the functions front door ("" when it is off); an app is addressed by the
	// host name {app}.localhost.
	Functions string
	// CosmosHost is the host:port of the document store, and CosmosConn the connection string of its emulator
	// account (AccountEndpoint=http://localhost:{port}/;AccountKey={the emulator key};).
	CosmosHost, CosmosConn string

	stop func()
}

// Start runs a platform in a temporary data directory, its functions front door off, until the test ends. Its
// log goes to stderr at warning level with -v.
func Start(t testing.TB) *Platform {
	t.Helper()
	return start(t, t.TempDir(), platform.Ports{Functions: -1})
}

// StartAt is Start in the data directory dir, for tests that stop a platform (Stop) and start another on the
// same state.
func StartAt(t testing.TB, dir string) *Platform {
	t.Helper()
	return start(t, dir, platform.Ports{Functions: -1})
}

// Stop stops the platform and waits until it has; the test's end does it otherwise.
func (p *Platform) Stop() { p.stop() }

// StartWithFunctions is Start with the functions service's front door on a free port, for tests that deploy
// apps through the management API and call them by URL.
func StartWithFunctions(t testing.TB) *Platform {
	t.Helper()
	return start(t, t.TempDir(), platform.Ports{})
}

func start(t testing.TB, dir string, ports platform.Ports) *Platform {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // keep the CLI pointer out of the user's config
	cfg := platform.Defaults()
	cfg.DataDir = dir
	cfg.Ports = ports
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
	stop := sync.OnceFunc(func() { cancel(); srv.Wait() })
	t.Cleanup(stop)
	token, err := platform.ReadAdminKey(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	info := srv.Info()
	ep := info.Endpoints
	bu, _ := url.Parse(ep["blob"])
	qu, _ := url.Parse(ep["queue"])
	cu, _ := url.Parse(ep[docdb.ServiceName])
	return &Platform{Server: srv, BlobHost: bu.Host, QueueHost: qu.Host, Management: info.Management, Token: token,
		Functions: ep["functions"], CosmosHost: cu.Host, stop: stop,
		CosmosConn: fmt.Sprintf("AccountEndpoint=http://localhost:%s/;AccountKey=%s;", cu.Port(), docaccount.EmulatorKey),
		Conn: fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s/%s;QueueEndpoint=%s/%s;",
			account.DevAccount, account.DevKey, ep["blob"], account.DevAccount, ep["queue"], account.DevAccount)}
}

// ARM calls the management API: method on path (from /subscriptions/...; api-version is added when the path has
// none) with a JSON body or raw bytes (a zip package), decoding a JSON answer into out when it is not nil. It
// returns the status.
func (p *Platform) ARM(t testing.TB, method, path string, body any, out any) int {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	if !strings.Contains(path, "api-version=") {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "api-version=" + APIVersion
	}
	req, err := http.NewRequest(method, p.Management+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.Token)
	if _, ok := body.([]byte); !ok && body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// APIVersion is the api-version ARM adds to management calls that name none (App Service's).
const APIVersion = "2024-11-01"

// Site is the resource path of function app name in resource group group of the platform's subscription.
func (p *Platform) Site(group, name string) string {
	return "/subscriptions/" + p.Server.Info().Subscription + "/resourceGroups/" + group + "/providers/Microsoft.Web/sites/" + name
}

// CreateSite creates resource group group (if needed) and function app name in it, on the Consumption plan, with
// the app settings given, and fails the test if either is refused.
func (p *Platform) CreateSite(t testing.TB, group, name string, settings map[string]string) {
	t.Helper()
	rg := "/subscriptions/" + p.Server.Info().Subscription + "/resourcegroups/" + group + "?api-version=2021-04-01"
	if code := p.ARM(t, http.MethodPut, rg, map[string]any{"location": "westeurope"}, nil); code != 200 && code != 201 {
		t.Fatalf("creating resource group %s: %d", group, code)
	}
	var list []map[string]string
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		list = append(list, map[string]string{"name": k, "value": settings[k]})
	}
	site := map[string]any{"location": "westeurope", "kind": "functionapp,linux",
		"properties": map[string]any{"siteConfig": map[string]any{"appSettings": list}}}
	var out map[string]any
	if code := p.ARM(t, http.MethodPut, p.Site(group, name), site, &out); code != 200 && code != 201 {
		t.Fatalf("creating function app %s: %d %v", name, code, out)
	}
}

// ZipDir returns the files under dir as a zip package (with their modes), for a zip deployment.
func ZipDir(t testing.TB, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Method = zip.Deflate
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
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

// Documents is the document store provider the platform gives its hosts: accounts on its document store served in
// process.
func (p *Platform) Documents(t testing.TB) *docclient.InProcess {
	t.Helper()
	svc := p.Server.Service(docdb.ServiceName).(*docdb.Service)
	prov, err := docclient.NewInProcess(docclient.InProcessOptions{
		Service: func() *docdb.Service { return svc }, Keys: &docaccount.Directory{Store: p.Server.Manager().Store()},
		Endpoint: p.CosmosHost,
	})
	if err != nil {
		t.Fatal(err)
	}
	return prov
}

// Logs collects the log lines of a test's hosts and bindings, and shows them when the test fails.
type Logs struct {
	// Logger writes to the Logs, at every level.
	Logger *slog.Logger

	mu  sync.Mutex
	buf bytes.Buffer
}

// NewLogs returns Logs that t shows if it fails.
func NewLogs(t testing.TB) *Logs {
	l := &Logs{}
	l.Logger = slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", l.String())
		}
	})
	return l
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns the lines so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// MainWithWorker builds the Go package pkg (a test worker, e.g. "./testdata/handler") into a temporary
// directory, sets *path to the executable, runs the tests and removes it: call it from TestMain. A pkg directory
// with a go.mod of its own (a Go SDK app whose go.mod replaces the SDK with the repository's sdk/) is built as
// that module.
func MainWithWorker(m *testing.M, pkg string, path *string) int {
	dir, err := os.MkdirTemp("", "lapis-test-worker")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*path = filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", *path, pkg)
	if _, err := os.Stat(filepath.Join(pkg, "go.mod")); err == nil {
		cmd = exec.Command("go", "build", "-o", *path, ".")
		cmd.Dir = pkg
	}
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
