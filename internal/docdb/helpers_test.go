package docdb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/loopback"
	"github.com/lapisdev/lapis/internal/platform"
)

var bg = context.Background()

// lapis is a platform on free ports for one test.
type lapis struct {
	srv   *platform.Server
	dir   string
	port  int // the document store's
	mgmt  string
	token string
	sub   string
	svc   *docdb.Service
	stop  func()
	http  *http.Client

	clockMu sync.Mutex
	offset  time.Duration
}

// localhostClient dials 127.0.0.1 for every *.localhost host name, as a
// browser or curl would.
func localhostClient() *http.Client {
	return &http.Client{Transport: loopback.Transport(), Timeout: 30 * time.Second}
}

func start(t *testing.T, dir string) *lapis {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cfg := platform.Defaults()
	cfg.DataDir = dir
	cfg.Ports = platform.Ports{Functions: -1}
	cfg.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := platform.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			srv.Wait()
		}
	}
	t.Cleanup(stop)
	token, err := platform.ReadAdminKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.Info().Endpoints["cosmos"])
	_, p, _ := net.SplitHostPort(u.Host)
	var port int
	fmt.Sscan(p, &port)
	l := &lapis{srv: srv, dir: dir, port: port, mgmt: srv.Info().Management, token: token, sub: srv.Info().Subscription,
		svc: srv.Service("cosmos").(*docdb.Service), stop: stop, http: localhostClient()}
	l.svc.SetClock(func() time.Time {
		l.clockMu.Lock()
		defer l.clockMu.Unlock()
		return time.Now().Add(l.offset)
	})
	return l
}

// advance moves the document store's clock forward.
func (l *lapis) advance(d time.Duration) {
	l.clockMu.Lock()
	l.offset += d
	l.clockMu.Unlock()
}

// endpoint is the emulator account's endpoint.
func (l *lapis) endpoint() string { return fmt.Sprintf("http://localhost:%d/", l.port) }

// connString is the emulator connection string, on the test's port.
func (l *lapis) connString() string {
	return "AccountEndpoint=" + l.endpoint() + ";AccountKey=" + account.EmulatorKey + ";"
}

// client is an azcosmos client for the emulator account.
func (l *lapis) client(t *testing.T) *azcosmos.Client {
	t.Helper()
	c, err := azcosmos.NewClientFromConnectionString(l.connString(), clientOptions(l))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func clientOptions(l *lapis) *azcosmos.ClientOptions {
	return &azcosmos.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: l.http, Retry: policy.RetryOptions{MaxRetries: -1}}}
}

// container makes a database and a container with the partition key path.
func (l *lapis) container(t *testing.T, c *azcosmos.Client, db, name string, props *azcosmos.ContainerProperties) *azcosmos.ContainerClient {
	t.Helper()
	if _, err := c.CreateDatabase(bg, azcosmos.DatabaseProperties{ID: db}, nil); err != nil && statusOf(err) != http.StatusConflict {
		t.Fatalf("create database %s: %v", db, err)
	}
	d, err := c.NewDatabase(db)
	if err != nil {
		t.Fatal(err)
	}
	if props == nil {
		props = &azcosmos.ContainerProperties{PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/pk"}}}
	}
	props.ID = name
	if _, err := d.CreateContainer(bg, *props, nil); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	cc, err := d.NewContainer(name)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// statusOf is the HTTP status of an SDK error, 0 if it has none.
func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	if got := statusOf(err); got != status {
		t.Fatalf("got %v (status %d), want status %d", err, got, status)
	}
}

func doc(kv ...any) []byte {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// raw sends a data-plane request signed with key to host (the emulator's
// localhost when empty). path is the URL path; the resource type and link
// of the signature are derived from it as Cosmos DB does.
func (l *lapis) raw(t *testing.T, key, host, method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	if host == "" {
		host = "localhost"
	}
	u := fmt.Sprintf("http://%s:%d%s", host, l.port, path)
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	date := time.Now().UTC().Format(http.TimeFormat)
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if path == "/" {
		segs = nil
	}
	rt, link := "", ""
	switch n := len(segs); {
	case n == 0:
	case n%2 == 1:
		rt, link = segs[n-1], strings.Join(segs[:n-1], "/")
	default:
		rt, link = segs[n-2], strings.Join(segs, "/")
	}
	link, _ = url.PathUnescape(link)
	auth, err := docdb.AuthHeader(key, method, rt, link, date)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-ms-date", date)
	req.Header.Set("x-ms-version", "2020-11-05")
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := l.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// arm sends a management request; path is below /subscriptions/{sub}.
func (l *lapis) arm(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	api := "2024-11-15"
	if strings.Contains(strings.ToLower(path), "resourcegroups/") && !strings.Contains(path, "/providers/") {
		api = "2024-11-01"
	}
	req, _ := http.NewRequest(method, l.mgmt+"/subscriptions/"+l.sub+path+sep+"api-version="+api, rd)
	req.Header.Set("Authorization", "Bearer "+l.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func itoa(n int) string { return fmt.Sprint(n) }
