package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The function app tests drive `lapis functionapp ...` and `lapis func
// publish` against a real `lapis start` with its functions front door.

var functionsLine = regexp.MustCompile(`(?m)^\s+functions\s+(http://\S+)$`)

// startFunctionsLapis runs `lapis start` with every port free, the
// functions front door's too, and returns the server and the front door's
// port.
func startFunctionsLapis(t *testing.T) (*server, int) {
	t.Helper()
	return startFunctionsLapisIn(t, t.TempDir())
}

// startFunctionsLapisIn is startFunctionsLapis on a given data directory.
func startFunctionsLapisIn(t *testing.T, dataDir string) (*server, int) {
	t.Helper()
	s := startLapis(t, dataDir)
	f := functionsLine.FindStringSubmatch(s.stdout.String())
	if f == nil {
		t.Fatalf("no functions line in the banner:\n%s", s.stdout)
	}
	u, err := url.Parse(f[1])
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("functions endpoint %s: %v", f[1], err)
	}
	return s, port
}

// callApp calls a function app through the front door, by its host name,
// retrying while the app comes up, and returns the status and body.
func callApp(t *testing.T, port int, app, pathAndQuery string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, pathAndQuery), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = fmt.Sprintf("%s.localhost:%d", app, port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
				return resp.StatusCode, string(b)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("calling %s %s: %v", app, pathAndQuery, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wantHello checks the examples' hello answer.
func wantHello(t *testing.T, port int, app string) {
	t.Helper()
	code, body := callApp(t, port, app, "/api/hello?name=Azure")
	var got struct{ Message string }
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Message != "Hello, Azure!" {
		t.Fatalf("%s /api/hello = %d %s", app, code, body)
	}
}

// customHandlerZip builds examples/custom-handler's worker for this
// machine and zips the app, with the worker executable.
func customHandlerZip(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "custom-handler"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	handler := filepath.Join(out, "handler")
	build := exec.Command("go", "build", "-o", handler, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the custom handler: %v\n%s", err, b)
	}
	zipPath := filepath.Join(out, "app.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range []struct {
		name, path string
		mode       os.FileMode
	}{
		{"host.json", filepath.Join(src, "host.json"), 0o644},
		{"hello/function.json", filepath.Join(src, "hello", "function.json"), 0o644},
		{"handler", handler, 0o755},
	} {
		data, err := os.ReadFile(e.path)
		if err != nil {
			t.Fatal(err)
		}
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return zipPath
}

// tsv runs a command that must succeed and returns its trimmed output.
func tsv(t *testing.T, s *server, args ...string) string {
	t.Helper()
	return strings.TrimSpace(ok(t, s, args...))
}

func TestFunctionappPlans(t *testing.T) {
	s, _ := startFunctionsLapis(t)
	ok(t, s, "group", "create", "-n", "plans-rg", "-l", "eastus", "-o", "none")

	for _, p := range []struct {
		name string
		args []string
		want string // sku.name, kind, sku.capacity, maximumElasticWorkerCount, reserved
	}{
		{"consumption-plan", []string{"--sku", "Y1"}, "Y1\tfunctionapp\t0\t0\tFalse"},
		{"flex-plan", []string{"--sku", "FC1", "--is-linux"}, "FC1\tfunctionapp\t0\t0\tTrue"},
		{"premium-plan", []string{"--sku", "EP1", "--min-instances", "1", "--max-burst", "5", "--is-linux"}, "EP1\telastic\t1\t5\tTrue"},
		{"dedicated-plan", []string{"--sku", "P1v3", "--number-of-workers", "2", "--is-linux"}, "P1v3\tlinux\t2\t2\tTrue"},
		{"basic-plan", []string{"--sku", "B1", "-l", "eastus"}, "B1\tapp\t1\t1\tFalse"},
	} {
		args := append([]string{"functionapp", "plan", "create", "-g", "plans-rg", "-n", p.name,
			"--query", "{s:sku.name, k:kind, c:sku.capacity, b:maximumElasticWorkerCount, r:reserved}", "-o", "tsv"}, p.args...)
		if got := tsv(t, s, args...); got != p.want {
			t.Errorf("plan create %s = %q, want %q", p.name, got, p.want)
		}
	}
	if got := tsv(t, s, "functionapp", "plan", "show", "-g", "plans-rg", "-n", "premium-plan", "--query", "[location, resourceGroup, status] | join(' ', @)", "-o", "tsv"); got != "eastus plans-rg Ready" {
		t.Errorf("plan show = %q", got)
	}
	if got := tsv(t, s, "functionapp", "plan", "list", "-g", "plans-rg", "--query", "sort([].name) | join(' ', @)", "-o", "tsv"); got != "basic-plan consumption-plan dedicated-plan flex-plan premium-plan" {
		t.Errorf("plan list -g = %q", got)
	}
	if got := tsv(t, s, "functionapp", "plan", "list", "--query", "length(@)", "-o", "tsv"); got != "5" {
		t.Errorf("plan list = %q", got)
	}
	table := ok(t, s, "functionapp", "plan", "list", "-g", "plans-rg", "-o", "table")
	if !regexp.MustCompile(`(?m)^Name\s+ResourceGroup\s+Location\s+Sku\s+Kind\s+Workers\s+MaxBurst\s+Status$`).MatchString(table) ||
		!regexp.MustCompile(`(?m)^premium-plan\s+plans-rg\s+eastus\s+EP1\s+elastic\s+1\s+5\s+Ready$`).MatchString(table) {
		t.Errorf("plan list -o table:\n%s", table)
	}
	if got := tsv(t, s, "functionapp", "plan", "update", "-g", "plans-rg", "-n", "premium-plan", "--sku", "EP2", "--max-burst", "10", "--query", "[sku.name, maximumElasticWorkerCount] | join(' ', [].to_string(@))", "-o", "tsv"); got != "EP2 10" {
		t.Errorf("plan update = %q", got)
	}
	if got := tsv(t, s, "functionapp", "plan", "update", "-g", "plans-rg", "-n", "dedicated-plan", "--number-of-workers", "3", "--query", "sku.capacity", "-o", "tsv"); got != "3" {
		t.Errorf("plan update --number-of-workers = %q", got)
	}
	fails(t, s, 2, "argument --sku: invalid choice: 'F1'", "functionapp", "plan", "create", "-g", "plans-rg", "-n", "free", "--sku", "F1")
	fails(t, s, 1, "(InvalidParameter)", "functionapp", "plan", "create", "-g", "plans-rg", "-n", "toobig", "--sku", "EP1", "--min-instances", "5", "--max-burst", "2")
	fails(t, s, 3, "(ResourceGroupNotFound)", "functionapp", "plan", "create", "-g", "nope-rg", "-n", "p", "--sku", "EP1")
	ok(t, s, "functionapp", "plan", "delete", "-g", "plans-rg", "-n", "basic-plan", "--yes")
	fails(t, s, 3, "", "functionapp", "plan", "show", "-g", "plans-rg", "-n", "basic-plan")
}

func TestFunctionappLifecycle(t *testing.T) {
	s, port := startFunctionsLapis(t)
	ok(t, s, "group", "create", "-n", "apps-rg", "-l", "eastus", "-o", "none")
	ok(t, s, "storage", "account", "create", "-n", "appsstore01", "-g", "apps-rg", "-o", "none")
	ok(t, s, "functionapp", "plan", "create", "-g", "apps-rg", "-n", "ep-plan", "--sku", "EP1", "--is-linux", "-o", "none")

	// Consumption, a plan, Flex Consumption.
	got := tsv(t, s, "functionapp", "create", "-g", "apps-rg", "-n", "cons-app", "-s", "appsstore01", "-c", "eastus", "--runtime", "custom", "--functions-version", "4",
		"--query", "[name, kind, state, resourceGroup, location, defaultHostName] | join(' ', @)", "-o", "tsv")
	if want := fmt.Sprintf("cons-app functionapp,linux Running apps-rg eastus cons-app.localhost:%d", port); got != want {
		t.Errorf("create -c = %q, want %q", got, want)
	}
	planID := tsv(t, s, "functionapp", "plan", "show", "-g", "apps-rg", "-n", "ep-plan", "--query", "id", "-o", "tsv")
	if got := tsv(t, s, "functionapp", "create", "-g", "apps-rg", "-n", "plan-app", "-s", "appsstore01", "-p", "ep-plan", "--query", "serverFarmId", "-o", "tsv"); !strings.EqualFold(got, planID) {
		t.Errorf("create -p serverFarmId = %q, want %q", got, planID)
	}
	ok(t, s, "functionapp", "create", "-g", "apps-rg", "-n", "flex-app", "-s", "appsstore01", "--flexconsumption-location", "eastus", "--max-instances", "30", "-o", "none")
	if got := tsv(t, s, "functionapp", "list", "-g", "apps-rg", "--query", "sort([].name) | join(' ', @)", "-o", "tsv"); got != "cons-app flex-app plan-app" {
		t.Errorf("list -g = %q", got)
	}
	if got := tsv(t, s, "functionapp", "list", "--query", "length(@)", "-o", "tsv"); got != "3" {
		t.Errorf("list = %q", got)
	}
	table := ok(t, s, "functionapp", "list", "-g", "apps-rg", "-o", "table")
	if !regexp.MustCompile(`(?m)^Name\s+Location\s+State\s+ResourceGroup\s+DefaultHostName\s+Kind$`).MatchString(table) ||
		!regexp.MustCompile(`(?m)^cons-app\s+eastus\s+Running\s+apps-rg\s+cons-app\.localhost:\d+\s+functionapp,linux$`).MatchString(table) {
		t.Errorf("list -o table:\n%s", table)
	}
	fails(t, s, 2, "pass exactly one of", "functionapp", "create", "-g", "apps-rg", "-n", "x-app", "-s", "appsstore01")
	fails(t, s, 2, "they exclude each other", "functionapp", "create", "-g", "apps-rg", "-n", "x-app", "-s", "appsstore01", "-c", "eastus", "-p", "ep-plan")
	fails(t, s, 3, "(ResourceNotFound)", "functionapp", "create", "-g", "apps-rg", "-n", "x-app", "-s", "nostore", "-c", "eastus")
	fails(t, s, 3, "", "functionapp", "create", "-g", "apps-rg", "-n", "x-app", "-s", "appsstore01", "-p", "no-plan")
	fails(t, s, 1, "(Conflict)", "functionapp", "plan", "delete", "-g", "apps-rg", "-n", "ep-plan", "--yes")
	ok(t, s, "functionapp", "delete", "-g", "apps-rg", "-n", "flex-app")
	fails(t, s, 3, "", "functionapp", "show", "-g", "apps-rg", "-n", "flex-app")

	// App settings.
	settings := ok(t, s, "functionapp", "config", "appsettings", "list", "-g", "apps-rg", "-n", "cons-app")
	var list []struct {
		Name, Value string
		SlotSetting bool
	}
	if err := json.Unmarshal([]byte(settings), &list); err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, e := range list {
		byName[e.Name] = e.Value
	}
	if byName["FUNCTIONS_WORKER_RUNTIME"] != "custom" || byName["FUNCTIONS_EXTENSION_VERSION"] != "~4" ||
		!regexp.MustCompile(`^DefaultEndpointsProtocol=http;AccountName=appsstore01;AccountKey=[^;]{88};BlobEndpoint=http://127\.0\.0\.1:\d+/appsstore01;QueueEndpoint=http://127\.0\.0\.1:\d+/appsstore01$`).MatchString(byName["AzureWebJobsStorage"]) {
		t.Fatalf("appsettings list = %s", settings)
	}
	if got := tsv(t, s, "functionapp", "config", "appsettings", "set", "-g", "apps-rg", "-n", "cons-app", "--settings", "GREETING=Hello", "MODE=a=b",
		"--query", "[?name=='GREETING' || name=='MODE'].value | join(' ', @)", "-o", "tsv"); got != "Hello a=b" {
		t.Errorf("appsettings set = %q", got)
	}
	if got := tsv(t, s, "functionapp", "config", "appsettings", "list", "-g", "apps-rg", "-n", "cons-app", "--query", "length(@)", "-o", "tsv"); got != "5" {
		t.Errorf("appsettings after set: %q", got)
	}
	if got := tsv(t, s, "functionapp", "config", "appsettings", "delete", "-g", "apps-rg", "-n", "cons-app", "--setting-names", "GREETING", "MODE",
		"--query", "sort([].name) | join(' ', @)", "-o", "tsv"); got != "AzureWebJobsStorage FUNCTIONS_EXTENSION_VERSION FUNCTIONS_WORKER_RUNTIME" {
		t.Errorf("appsettings delete = %q", got)
	}

	// Host keys.
	if got := tsv(t, s, "functionapp", "keys", "list", "-g", "apps-rg", "-n", "cons-app", "--query", "length(masterKey) > `20`", "-o", "tsv"); got != "true" {
		t.Errorf("keys list masterKey: %q", got)
	}
	const ciKey = "ci-key-0123456789abcdef"
	if got := tsv(t, s, "functionapp", "keys", "set", "-g", "apps-rg", "-n", "cons-app", "--key-type", "functionKeys", "--key-name", "ci", "--key-value", ciKey,
		"--query", "{n:name, v:value}", "-o", "tsv"); got != "ci\t"+ciKey {
		t.Errorf("keys set = %q", got)
	}
	if got := tsv(t, s, "functionapp", "keys", "set", "-g", "apps-rg", "-n", "cons-app", "--key-type", "systemKeys", "--key-name", "hook", "--query", "length(value) > `20`", "-o", "tsv"); got != "true" {
		t.Errorf("keys set without a value = %q", got)
	}
	if got := tsv(t, s, "functionapp", "keys", "list", "-g", "apps-rg", "-n", "cons-app", "--query", "[functionKeys.ci, length(systemKeys.hook) > `20`] | join(' ', [].to_string(@))", "-o", "tsv"); got != ciKey+" true" {
		t.Errorf("keys list after set = %q", got)
	}
	ok(t, s, "functionapp", "keys", "delete", "-g", "apps-rg", "-n", "cons-app", "--key-type", "functionKeys", "--key-name", "ci")
	if got := tsv(t, s, "functionapp", "keys", "list", "-g", "apps-rg", "-n", "cons-app", "--query", "functionKeys.ci", "-o", "tsv"); got != "" {
		t.Errorf("keys list after delete = %q", got)
	}
	fails(t, s, 1, "", "functionapp", "keys", "set", "-g", "apps-rg", "-n", "cons-app", "--key-type", "functionKeys", "--key-name", "short", "--key-value", "tooshort")

	// A zip deployment of the custom-handler example, then its function through the front door.
	zipPath := customHandlerZip(t)
	r := lapis(t, s, "functionapp", "deployment", "source", "config-zip", "-g", "apps-rg", "-n", "cons-app", "--src", zipPath)
	if r.code != 0 {
		t.Fatalf("config-zip: %d %s", r.code, r.stderr)
	}
	var dep map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &dep); err != nil || dep["status"] != 4.0 || dep["complete"] != true || dep["deployer"] != "ZipDeploy" {
		t.Fatalf("config-zip printed %s (%v)", r.stdout, err)
	}
	if !regexp.MustCompile(`^Uploaded \d+\.\d\d MB\n$`).MatchString(r.stderr) {
		t.Errorf("config-zip stderr %q", r.stderr)
	}
	want := fmt.Sprintf("http://cons-app.localhost:%d/api/hello", port)
	if got := tsv(t, s, "functionapp", "function", "list", "-g", "apps-rg", "-n", "cons-app", "--query", "[].invokeUrlTemplate", "-o", "tsv"); got != want {
		t.Errorf("function list invokeUrlTemplate = %q, want %q", got, want)
	}
	if got := tsv(t, s, "functionapp", "function", "show", "-g", "apps-rg", "-n", "cons-app", "--function-name", "hello",
		"--query", "[name, resourceGroup, language, to_string(isDisabled), invokeUrlTemplate] | join(' ', @)", "-o", "tsv"); got != "cons-app/hello apps-rg custom false "+want {
		t.Errorf("function show = %q", got)
	}
	fails(t, s, 3, "", "functionapp", "function", "show", "-g", "apps-rg", "-n", "cons-app", "--function-name", "nope")

	// Logs: a tail sees the invocation's log line, and Ctrl-C ends it with exit 0.
	tailLogs(t, s, "apps-rg", "cons-app", func() { wantHello(t, port, "cons-app") }, "greeted Azure")

	// Function keys.
	if got := tsv(t, s, "functionapp", "function", "keys", "list", "-g", "apps-rg", "-n", "cons-app", "--function-name", "hello", "--query", "length(default) > `20`", "-o", "tsv"); got != "true" {
		t.Errorf("function keys list = %q", got)
	}
	const partner = "partner-key-0123456789"
	if got := tsv(t, s, "functionapp", "function", "keys", "set", "-g", "apps-rg", "-n", "cons-app", "--function-name", "hello", "--key-name", "partner", "--key-value", partner, "--query", "value", "-o", "tsv"); got != partner {
		t.Errorf("function keys set = %q", got)
	}
	if got := tsv(t, s, "functionapp", "function", "keys", "list", "-g", "apps-rg", "-n", "cons-app", "--function-name", "hello", "--query", "partner", "-o", "tsv"); got != partner {
		t.Errorf("function keys list after set = %q", got)
	}
	ok(t, s, "functionapp", "function", "keys", "delete", "-g", "apps-rg", "-n", "cons-app", "--function-name", "hello", "--key-name", "partner")
	if got := tsv(t, s, "functionapp", "function", "keys", "list", "-g", "apps-rg", "-n", "cons-app", "--function-name", "hello", "--query", "partner", "-o", "tsv"); got != "" {
		t.Errorf("function keys list after delete = %q", got)
	}

	// Stop, start, restart.
	ok(t, s, "functionapp", "stop", "-g", "apps-rg", "-n", "cons-app")
	if got := tsv(t, s, "functionapp", "show", "-g", "apps-rg", "-n", "cons-app", "--query", "state", "-o", "tsv"); got != "Stopped" {
		t.Errorf("state after stop = %q", got)
	}
	waitFor(t, "a stopped app to answer 403", func() bool { c, _ := callApp(t, port, "cons-app", "/api/hello"); return c == 403 }, nil)
	ok(t, s, "functionapp", "start", "-g", "apps-rg", "-n", "cons-app")
	waitFor(t, "a started app to answer 200", func() bool { c, _ := callApp(t, port, "cons-app", "/api/hello"); return c == 200 }, nil)
	if got := ok(t, s, "functionapp", "restart", "-g", "apps-rg", "-n", "cons-app"); got != "" {
		t.Errorf("restart printed %q", got)
	}
	wantHello(t, port, "cons-app")

	// Usage counts the invocations.
	waitFor(t, "usage to count executions", func() bool {
		n, _ := strconv.Atoi(tsv(t, s, "functionapp", "usage", "show", "-g", "apps-rg", "-n", "cons-app", "--query", "functions[?name=='hello'] | [0].executions", "-o", "tsv"))
		return n >= 2
	}, nil)
	if table := ok(t, s, "functionapp", "usage", "show", "-g", "apps-rg", "-n", "cons-app", "-o", "table"); !regexp.MustCompile(`(?m)^Name\s+Executions\s+Successes\s+Failures\s+ColdStarts\s+P50Ms\s+P95Ms\s+P99Ms\s+GbSeconds\n-.*\nhello\s+\d+`).MatchString(table) {
		t.Errorf("usage show -o table:\n%s", table)
	}

	// A package that does not load fails the deployment and keeps the old one serving.
	bad := filepath.Join(t.TempDir(), "bad.zip")
	writeZip(t, bad, map[string]string{"host.json": `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "missing"}}}`, "hello/function.json": `{"bindings": []}`})
	if r := lapis(t, s, "functionapp", "deployment", "source", "config-zip", "-g", "apps-rg", "-n", "cons-app", "--src", bad); r.code != 1 || r.stdout != "" ||
		!regexp.MustCompile(`(?m)^ERROR: \(DeploymentFailed\) .+\n$`).MatchString(r.stderr) {
		t.Errorf("a deployment that does not load: %+v", r)
	}
	wantHello(t, port, "cons-app")
	fails(t, s, 3, "", "functionapp", "deployment", "source", "config-zip", "-g", "apps-rg", "-n", "no-app", "--src", zipPath)
}

func TestFuncPublish(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	s, port := startFunctionsLapis(t)
	ok(t, s, "group", "create", "-n", "pub-rg", "-l", "eastus", "-o", "none")
	ok(t, s, "storage", "account", "create", "-n", "pubstore01", "-g", "pub-rg", "-o", "none")
	ok(t, s, "functionapp", "create", "-g", "pub-rg", "-n", "pubapp", "-s", "pubstore01", "-c", "eastus", "-o", "none")

	// A Go SDK app as lapis func init writes it, built offline.
	env := []string{"LAPIS_DATA_DIR=" + s.dataDir, "LAPIS_SDK_DIR=" + t.TempDir(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local"}
	dir := filepath.Join(t.TempDir(), "pubapp")
	if r := lapisEnv(t, env, "func", "init", dir); r.code != 0 {
		t.Fatalf("func init: %d %s", r.code, r.stderr)
	}
	r := lapisEnv(t, env, "func", "publish", "pubapp", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("func publish: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, line := range []string{"Getting site publishing info...", "go build -o app .", "Creating archive for current directory...",
		"Deployment completed successfully.", "Functions in pubapp:", "    hello - [httpTrigger]",
		fmt.Sprintf("        Invoke url: http://pubapp.localhost:%d/api/hello", port)} {
		if !strings.Contains(r.stdout, line+"\n") {
			t.Errorf("func publish output lacks %q:\n%s", line, r.stdout)
		}
	}
	wantHello(t, port, "pubapp")

	// Core Tools' spelling, with -g, after a change.
	main := filepath.Join(dir, "main.go")
	src, _ := os.ReadFile(main)
	os.WriteFile(main, bytes.Replace(src, []byte(`"Hello, "`), []byte(`"Hi, "`), 1), 0o644)
	if r := lapisEnv(t, env, "func", "azure", "functionapp", "publish", "pubapp", "-g", "pub-rg", "--dir", dir); r.code != 0 {
		t.Fatalf("func azure functionapp publish: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	waitFor(t, "the new version", func() bool {
		_, body := callApp(t, port, "pubapp", "/api/hello?name=Azure")
		return strings.Contains(body, "Hi, Azure!")
	}, nil)
	if r := lapisEnv(t, env, "func", "publish", "nosuchapp", "--dir", dir); r.code != 3 || !strings.Contains(r.stderr, `Can't find app with name "nosuchapp"`) {
		t.Errorf("publish to a missing app: %d %s", r.code, r.stderr)
	}
}

// tailLogs runs lapis functionapp logs tail, waits for the stream to
// open, runs invoke and expects want in the stream; then it interrupts the
// tail as Ctrl-C does. A failure is reported and the test goes on.
func tailLogs(t *testing.T, s *server, group, app string, invoke func(), want string) {
	t.Helper()
	tail := exec.Command(lapisBin, "functionapp", "logs", "tail", "-g", group, "-n", app)
	tail.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "LAPIS_DATA_DIR="+s.dataDir)
	var out, errOut syncBuf
	tail.Stdout, tail.Stderr = &out, &errOut
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tail.Wait() }()
	defer func() {
		if tail.ProcessState == nil {
			tail.Process.Kill()
			<-done
		}
	}()
	wait := func(what, text string) bool {
		deadline := time.After(30 * time.Second)
		for !strings.Contains(out.String(), text) {
			select {
			case err := <-done:
				t.Errorf("logs tail ended while waiting for %s: %v\nstdout: %s\nstderr: %s", what, err, out.String(), errOut.String())
				return false
			case <-deadline:
				t.Errorf("logs tail: no %s after 30s\nstdout: %s\nstderr: %s", what, out.String(), errOut.String())
				return false
			case <-time.After(50 * time.Millisecond):
			}
		}
		return true
	}
	if !wait("welcome line", "connected") {
		return
	}
	invoke()
	if !wait("log line", want) {
		return
	}
	tail.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("logs tail after Ctrl-C: %v\n%s", err, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Error("logs tail did not stop on SIGINT")
	}
}

// syncBuf is a buffer one process writes while the test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond for 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool, show *syncBuf) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			extra := ""
			if show != nil {
				extra = "\n" + show.String()
			}
			t.Fatalf("no %s after 30s%s", what, extra)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeZip(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKillKeepsDeployedApps kills the server with SIGKILL after a
// deployment, a settings change and a key were acknowledged, and checks that
// the restarted server serves the same version with the same settings and
// key.
func TestKillKeepsDeployedApps(t *testing.T) {
	zip := customHandlerZip(t)
	dir := t.TempDir()
	s, port := startFunctionsLapisIn(t, dir)
	ok(t, s, "group", "create", "-n", "kill-rg", "-l", "eastus", "-o", "none")
	ok(t, s, "storage", "account", "create", "-n", "killstore01", "-g", "kill-rg", "-o", "none")
	ok(t, s, "functionapp", "create", "-g", "kill-rg", "-n", "kill-app", "-s", "killstore01", "-c", "eastus", "-o", "none")
	ok(t, s, "functionapp", "deployment", "source", "config-zip", "-g", "kill-rg", "-n", "kill-app", "--src", zip, "-o", "none")
	ok(t, s, "functionapp", "config", "appsettings", "set", "-g", "kill-rg", "-n", "kill-app", "--settings", "KEPT=yes", "-o", "none")
	ok(t, s, "functionapp", "keys", "set", "-g", "kill-rg", "-n", "kill-app", "--key-type", "functionKeys", "--key-name", "ci", "--key-value", "kill-key-0123456789abcdef", "-o", "none")
	wantHello(t, port, "kill-app")
	deployment := tsv(t, s, "functionapp", "deployment", "list", "-g", "kill-rg", "-n", "kill-app", "--query", "[0].name", "-o", "tsv")

	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done

	s2, port2 := startFunctionsLapisIn(t, dir)
	wantHello(t, port2, "kill-app")
	if got := tsv(t, s2, "functionapp", "config", "appsettings", "list", "-g", "kill-rg", "-n", "kill-app", "--query", "[?name=='KEPT'].value | [0]", "-o", "tsv"); got != "yes" {
		t.Errorf("setting after SIGKILL = %q", got)
	}
	if got := tsv(t, s2, "functionapp", "keys", "list", "-g", "kill-rg", "-n", "kill-app", "--query", "functionKeys.ci", "-o", "tsv"); got != "kill-key-0123456789abcdef" {
		t.Errorf("key after SIGKILL = %q", got)
	}
	if got := tsv(t, s2, "functionapp", "deployment", "list", "-g", "kill-rg", "-n", "kill-app", "--query", "[0].name", "-o", "tsv"); got != deployment {
		t.Errorf("deployment after SIGKILL = %q, want %q", got, deployment)
	}
}
