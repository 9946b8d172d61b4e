package runtime_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v5"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/lapisdev/lapis/internal/functions/functest"
	"github.com/lapisdev/lapis/internal/platform"
)

const apiVersion = "2024-11-01"

// server is a running platform with clients for the tests.
type server struct {
	srv    *platform.Server
	info   platform.ServerInfo
	token  string
	sub    string
	apps   *armappservice.WebAppsClient
	plans  *armappservice.PlansClient
	groups *armresources.ResourceGroupsClient
	front  string // http://127.0.0.1:port of the functions front door
}

type tokenCredential string

func (c tokenCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(c), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func start(t *testing.T, dir string) (*server, context.CancelFunc) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cfg := platform.Defaults()
	cfg.DataDir = dir
	cfg.Ports = platform.Ports{}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := platform.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	stop := func() { cancel(); srv.Wait() }
	t.Cleanup(stop)
	token, err := platform.ReadAdminKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	info := srv.Info()
	opts := &azarm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: "http://127.0.0.1/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: info.Management, Audience: "https://management.core.windows.net/"}}},
		InsecureAllowCredentialWithHTTP: true, Retry: policy.RetryOptions{MaxRetries: -1},
	}, DisableRPRegistration: true}
	s := &server{srv: srv, info: info, token: token, sub: info.Subscription, front: info.Endpoints["functions"]}
	cred := tokenCredential(token)
	if s.apps, err = armappservice.NewWebAppsClient(s.sub, cred, opts); err != nil {
		t.Fatal(err)
	}
	if s.plans, err = armappservice.NewPlansClient(s.sub, cred, opts); err != nil {
		t.Fatal(err)
	}
	if s.groups, err = armresources.NewResourceGroupsClient(s.sub, cred, opts); err != nil {
		t.Fatal(err)
	}
	waitReady(t, info.Management)
	return s, func() { stop() }
}

func waitReady(t *testing.T, mgmt string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(mgmt + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server not ready")
}

// buildApp copies testdata/app to a new directory with the worker built and version.txt written, and returns
// it zipped.
func buildApp(t *testing.T, version string, edit func(dir string)) []byte {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir("testdata/app", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/app", p)
		if d.IsDir() {
			if rel == "worker" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	workerBin(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "version.txt"), []byte(version), 0o644); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(dir)
	}
	return functest.ZipDir(t, dir)
}

var (
	workerOnce sync.Once
	workerPath string
	workerErr  error
)

// workerBin puts the test worker, built once per test binary, into dir.
func workerBin(t *testing.T, dir string) {
	t.Helper()
	workerOnce.Do(func() {
		out, err := os.MkdirTemp("", "lapis-runtime-worker")
		if err != nil {
			workerErr = err
			return
		}
		workerPath = filepath.Join(out, "worker")
		cmd := exec.Command("go", "build", "-o", workerPath, "./testdata/app/worker")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			workerErr = fmt.Errorf("go build: %v\n%s", err, b)
		}
	})
	if workerErr != nil {
		t.Fatal(workerErr)
	}
	b, err := os.ReadFile(workerPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "worker"), b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// mgmt sends a request to the management API and decodes a JSON answer into out (when not nil).
func (s *server) mgmt(t *testing.T, method, path string, body io.Reader, out any) int {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	req, _ := http.NewRequest(method, s.info.Management+path+sep+"api-version="+apiVersion, body)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func (s *server) site(group, name string) string {
	return "/subscriptions/" + s.sub + "/resourceGroups/" + group + "/providers/Microsoft.Web/sites/" + name
}

// deploy zip-deploys pkg and returns the status and body.
func (s *server) deploy(t *testing.T, group, name string, pkg []byte) (int, map[string]any) {
	t.Helper()
	var out map[string]any
	code := s.mgmt(t, http.MethodPost, s.site(group, name)+"/extensions/zipdeploy", bytes.NewReader(pkg), &out)
	return code, out
}

// call sends a request to an app through the front door.
func (s *server) call(t *testing.T, app, method, path string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.front+path, nil)
	req.Host = app + ".localhost"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func version(t *testing.T, body string) string {
	t.Helper()
	var v struct{ Version string }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not a worker answer: %q", body)
	}
	return v.Version
}

func createGroup(t *testing.T, s *server, name string) {
	t.Helper()
	if _, err := s.groups.CreateOrUpdate(context.Background(), name, armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
}

func createSite(t *testing.T, s *server, group, name string, props *armappservice.SiteProperties) armappservice.Site {
	t.Helper()
	if props == nil {
		props = &armappservice.SiteProperties{}
	}
	poller, err := s.apps.BeginCreateOrUpdate(context.Background(), group, name, armappservice.Site{
		Location: to.Ptr("westeurope"), Kind: to.Ptr("functionapp,linux"), Properties: props}, nil)
	if err != nil {
		t.Fatalf("create site: %v", err)
	}
	res, err := poller.PollUntilDone(context.Background(), nil)
	if err != nil {
		t.Fatalf("create site: %v", err)
	}
	return res.Site
}

func TestFunctionAppWithAzureSDK(t *testing.T) {
	s, _ := start(t, t.TempDir())
	ctx := context.Background()
	createGroup(t, s, "rg")
	site := createSite(t, s, "rg", "myapp", &armappservice.SiteProperties{SiteConfig: &armappservice.SiteConfig{
		AppSettings: []*armappservice.NameValuePair{{Name: to.Ptr("GREETING"), Value: to.Ptr("hi")}}}})
	if got := *site.Properties.State; got != "Running" {
		t.Errorf("state = %q", got)
	}
	if site.Properties.SiteConfig != nil && len(site.Properties.SiteConfig.AppSettings) > 0 {
		t.Errorf("GET shows app settings: %v", site.Properties.SiteConfig.AppSettings)
	}
	if !strings.HasPrefix(*site.Properties.DefaultHostName, "myapp.localhost:") {
		t.Errorf("defaultHostName = %q", *site.Properties.DefaultHostName)
	}

	// App settings round trip through the SDK.
	settings, err := s.apps.ListApplicationSettings(ctx, "rg", "myapp", nil)
	if err != nil || settings.Properties["GREETING"] == nil || *settings.Properties["GREETING"] != "hi" {
		t.Fatalf("settings = %v, %v", settings.Properties, err)
	}
	// Before a deployment the front door says so.
	if code, body := s.call(t, "myapp", "GET", "/api/hello", nil); code != http.StatusServiceUnavailable {
		t.Errorf("before deploy: %d %s", code, body)
	}

	code, dep := s.deploy(t, "rg", "myapp", buildApp(t, "v1", nil))
	if code != 200 {
		t.Fatalf("deploy: %d %v", code, dep)
	}
	if props := dep["properties"].(map[string]any); props["status"].(float64) != 4 || props["active"] != true {
		t.Errorf("deployment = %v", dep)
	}
	code, body := s.call(t, "myapp", "GET", "/api/hello", nil)
	if code != 200 || version(t, body) != "v1" || !strings.Contains(body, `"greeting":"hi"`) {
		t.Fatalf("hello: %d %s", code, body)
	}

	// Functions with their invoke URLs, through the SDK.
	var names []string
	pager := s.apps.NewListFunctionsPager("rg", "myapp", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Value {
			names = append(names, *f.Name)
			if *f.Name == "myapp/wait" {
				want := strings.Replace(s.front, "127.0.0.1", "myapp.localhost", 1) + "/api/wait/{ms:int}"
				if got := *f.Properties.InvokeURLTemplate; got != want {
					t.Errorf("invoke_url_template = %q, want %q", got, want)
				}
			}
		}
	}
	if strings.Join(names, ",") != "myapp/admin,myapp/hello,myapp/secret,myapp/wait" {
		t.Errorf("functions = %v", names)
	}

	// Keys per authLevel.
	hostKeys, err := s.apps.ListHostKeys(ctx, "rg", "myapp", nil)
	if err != nil {
		t.Fatal(err)
	}
	fnKeys, err := s.apps.ListFunctionKeys(ctx, "rg", "myapp", "secret", nil)
	if err != nil || fnKeys.Properties["default"] == nil {
		t.Fatalf("function keys = %v, %v", fnKeys.Properties, err)
	}
	master, hostKey, fnKey := *hostKeys.MasterKey, *hostKeys.FunctionKeys["default"], *fnKeys.Properties["default"]
	for _, c := range []struct {
		path, key string
		want      int
	}{
		{"/api/secret", "", 401}, {"/api/secret?code=wrong", "", 401},
		{"/api/secret?code=" + fnKey, "", 200}, {"/api/secret", fnKey, 200},
		{"/api/secret?code=" + hostKey, "", 200}, {"/api/secret?code=" + master, "", 200},
		{"/api/admin?code=" + fnKey, "", 401}, {"/api/admin?code=" + hostKey, "", 401}, {"/api/admin?code=" + master, "", 200},
	} {
		hdr := map[string]string{}
		if c.key != "" {
			hdr["x-functions-key"] = c.key
		}
		if code, body := s.call(t, "myapp", "POST", c.path, hdr); code != c.want {
			t.Errorf("POST %s (x-functions-key %v): %d %s, want %d", c.path, c.key != "", code, body, c.want)
		}
	}
	// A key set through the SDK works at once.
	if _, err := s.apps.CreateOrUpdateFunctionSecret(ctx, "rg", "myapp", "secret", "ci", armappservice.KeyInfo{
		Name: to.Ptr("ci"), Value: to.Ptr("ci-key-0123456789abcdef")}, nil); err != nil {
		t.Fatal(err)
	}
	pid := func() string {
		_, body := s.call(t, "myapp", "GET", "/api/hello", nil)
		var v struct{ PID string }
		json.Unmarshal([]byte(body), &v)
		return v.PID
	}
	before := pid()
	waitFor(t, "the new function key", func() bool {
		code, _ := s.call(t, "myapp", "POST", "/api/secret?code=ci-key-0123456789abcdef", nil)
		return code == 200
	})
	if after := pid(); after != before {
		t.Errorf("a key change restarted the worker (pid %s, then %s)", before, after)
	}

	// A settings change restarts the app with the new values.
	if _, err := s.apps.UpdateApplicationSettings(ctx, "rg", "myapp", armappservice.StringDictionary{
		Properties: map[string]*string{"GREETING": to.Ptr("hello again")}}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new setting", func() bool {
		_, body := s.call(t, "myapp", "GET", "/api/hello", nil)
		return strings.Contains(body, "hello again")
	})

	// Stop answers 403, start serves again.
	if _, err := s.apps.Stop(ctx, "rg", "myapp", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the app to stop", func() bool { code, _ := s.call(t, "myapp", "GET", "/api/hello", nil); return code == 403 })
	if _, err := s.apps.Start(ctx, "rg", "myapp", nil); err != nil {
		t.Fatal(err)
	}
	// Requests right after a start wait for the host, as a cold start, rather than failing.
	if code, body := s.call(t, "myapp", "GET", "/api/hello", nil); code != 200 {
		t.Errorf("right after start: %d %s", code, body)
	}

	// Usage is metered and stored.
	waitFor(t, "usage", func() bool {
		var u struct {
			Functions []struct {
				Name               string
				Executions         int
				ExecutionUnitsMBms int64
			}
		}
		s.mgmt(t, "GET", s.site("rg", "myapp")+"/usage", nil, &u)
		for _, f := range u.Functions {
			if f.Name == "hello" && f.Executions >= 2 && f.ExecutionUnitsMBms >= 2*100*128 {
				return true
			}
		}
		return false
	})

	// Deleting the app removes it from the front door.
	poller, err := s.apps.Delete(ctx, "rg", "myapp", nil)
	_ = poller
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the app to go", func() bool { code, _ := s.call(t, "myapp", "GET", "/api/hello", nil); return code == 404 })
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRedeployWhileRequestsInFlightLosesNone(t *testing.T) {
	s, _ := start(t, t.TempDir())
	createGroup(t, s, "rg")
	createSite(t, s, "rg", "busy", nil)
	if code, dep := s.deploy(t, "rg", "busy", buildApp(t, "v1", nil)); code != 200 {
		t.Fatalf("deploy v1: %d %v", code, dep)
	}
	type result struct {
		code    int
		version string
	}
	results := make(chan result, 64)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := s.call(t, "busy", "GET", "/api/wait/700", nil)
			v := ""
			if code == 200 {
				v = version(t, body)
			}
			results <- result{code, v}
		}()
	}
	time.Sleep(150 * time.Millisecond) // let them reach the worker
	if code, dep := s.deploy(t, "rg", "busy", buildApp(t, "v2", nil)); code != 200 {
		t.Fatalf("deploy v2: %d %v", code, dep)
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.code != 200 || r.version != "v1" {
			t.Errorf("in-flight request: %d version %q (want 200 from v1)", r.code, r.version)
		}
	}
	if code, body := s.call(t, "busy", "GET", "/api/hello", nil); code != 200 || version(t, body) != "v2" {
		t.Errorf("after redeploy: %d %s", code, body)
	}
	var list struct{ Value []map[string]any }
	s.mgmt(t, "GET", s.site("rg", "busy")+"/deployments", nil, &list)
	if len(list.Value) != 2 || list.Value[0]["properties"].(map[string]any)["active"] != true {
		t.Errorf("deployments = %v", list.Value)
	}
}

func TestBadDeploymentsKeepTheOldVersion(t *testing.T) {
	s, _ := start(t, t.TempDir())
	createGroup(t, s, "rg")
	createSite(t, s, "rg", "app1", nil)
	if code, dep := s.deploy(t, "rg", "app1", buildApp(t, "good", nil)); code != 200 {
		t.Fatalf("deploy: %d %v", code, dep)
	}
	bad := []struct {
		name string
		pkg  []byte
		want string
	}{
		{"not a zip", []byte("hello"), "not a zip archive"},
		{"empty", nil, "body is empty"},
		{"bad function.json", buildApp(t, "bad", func(dir string) {
			os.WriteFile(filepath.Join(dir, "hello", "function.json"), []byte(`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"sometimes"}]}`), 0o644)
		}), "hello/function.json"},
		{"no worker", buildApp(t, "bad", func(dir string) { os.Remove(filepath.Join(dir, "worker")) }), "defaultExecutablePath"},
		{"escapes", func() []byte {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, _ := zw.Create("../evil.txt")
			w.Write([]byte("x"))
			zw.Close()
			return buf.Bytes()
		}(), "outside the app"},
	}
	for _, c := range bad {
		code, out := s.deploy(t, "rg", "app1", c.pkg)
		msg := fmt.Sprint(out)
		if code != 400 || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %s, want 400 mentioning %q", c.name, code, msg, c.want)
		}
	}
	if code, body := s.call(t, "app1", "GET", "/api/hello", nil); code != 200 || version(t, body) != "good" {
		t.Errorf("after bad deployments: %d %s", code, body)
	}
	if code := s.mgmt(t, "POST", s.site("rg", "nope")+"/extensions/zipdeploy", bytes.NewReader([]byte("x")), nil); code != 404 {
		t.Errorf("deploy to a missing app: %d", code)
	}
}

func TestRestartKeepsDeployedApps(t *testing.T) {
	dir := t.TempDir()
	s, stop := start(t, dir)
	createGroup(t, s, "rg")
	createSite(t, s, "rg", "durable", nil)
	if code, dep := s.deploy(t, "rg", "durable", buildApp(t, "kept", nil)); code != 200 {
		t.Fatalf("deploy: %d %v", code, dep)
	}
	if code, _ := s.call(t, "durable", "GET", "/api/hello", nil); code != 200 {
		t.Fatalf("hello: %d", code)
	}
	stop()
	s2, _ := start(t, dir)
	waitFor(t, "the app after restart", func() bool {
		code, body := s2.call(t, "durable", "GET", "/api/hello", nil)
		return code == 200 && version(t, body) == "kept"
	})
}
