package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/host"
	"github.com/lapisdev/lapis/internal/sdkdist"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// offline makes every go command this test (and lapis func start) runs work without a network.
func offline(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not on PATH")
	}
	t.Setenv(sdkdist.EnvDir, t.TempDir())
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOWORK", "off")
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the embedded platform's pointer file stays out of the user's config
}

var listening = regexp.MustCompile(`Listening on (http://localhost:\d+)`)

// startApp runs lapis func start --port 0 in dir until the test ends and returns the base URL.
func startApp(t *testing.T, dir string, extra ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"func", "start", "--port", "0", "--dir", dir}, extra...), strings.NewReader(""), &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("func start exited %d\n%s", code, errOut.String())
			}
		case <-time.After(15 * time.Second):
			t.Errorf("func start did not stop")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			return m[1], &out
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("func start exited %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("func start not ready\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	return "", nil
}

func getJSON(t *testing.T, url string) map[string]string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	var v map[string]string
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
	return v
}

func TestFuncGoApp(t *testing.T) {
	offline(t)
	dir := filepath.Join(t.TempDir(), "myapp")
	if code, out, errOut := run(t, "func", "init", dir); code != 0 {
		t.Fatalf("init: %d\n%s%s", code, out, errOut)
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(gomod), "module myapp\n") || !strings.Contains(string(gomod), "replace github.com/lapisdev/lapis/sdk => "+os.Getenv(sdkdist.EnvDir)) {
		t.Fatalf("go.mod:\n%s", gomod)
	}
	var hj struct {
		Version       string
		CustomHandler struct {
			Description                 struct{ DefaultExecutablePath string }
			EnableForwardingHttpRequest bool
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "host.json"))
	if err := json.Unmarshal(b, &hj); err != nil || hj.Version != "2.0" || hj.CustomHandler.Description.DefaultExecutablePath != exeName("app") {
		t.Fatalf("host.json %v:\n%s", err, b)
	}
	for _, f := range []string{"main.go", "local.settings.json", ".gitignore"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, _ := run(t, "func", "init", dir); code != exitUsage {
		t.Fatalf("init into a non-empty dir: %d, want %d", code, exitUsage)
	}
	if code, out, errOut := run(t, "func", "new", "--name", "other", "--template", "HTTP trigger", "--dir", dir); code != 0 || !strings.Contains(out, "Added") {
		t.Fatalf("new: %d\n%s%s", code, out, errOut)
	}
	// A second "new" of the same name is not added twice: the snippet is printed instead.
	if code, out, _ := run(t, "func", "new", "--name", "other", "--dir", dir); code != 0 || !strings.Contains(out, "Add this") {
		t.Fatalf("new again: %d\n%s", code, out)
	}

	base, out := startApp(t, dir) // builds with GOPROXY=off
	if got := getJSON(t, base+"/api/hello?name=Azure"); got["message"] != "Hello, Azure!" {
		t.Fatalf("hello: %v", got)
	}
	if got := getJSON(t, base+"/api/other"); got["message"] != "Hello from other" {
		t.Fatalf("other: %v", got)
	}
	if want := "        hello: [GET,POST] " + base + "/api/hello\n"; !strings.Contains(out.String(), want) {
		t.Fatalf("function list lacks %q:\n%s", want, out)
	}

	// The platform runs embedded, with its data in the app's .lapis, and other commands find it.
	m := regexp.MustCompile(`Lapis platform \(data in (.*)\): management (http://\S+),`).FindStringSubmatch(out.String())
	if m == nil || m[1] != filepath.Join(dir, ".lapis") {
		t.Fatalf("no embedded platform in:\n%s", out)
	}
	res, err := http.Get(m[2] + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("embedded platform health: %v %v", res, err)
	}
	res.Body.Close()
	if code, out, errOut := run(t, "group", "create", "-n", "rg", "-l", "westeurope", "--data-dir", m[1]); code != 0 {
		t.Fatalf("group create against the embedded platform: %d %s %s", code, out, errOut)
	}
}

func TestFuncGoAppBuildError(t *testing.T) {
	offline(t)
	dir := filepath.Join(t.TempDir(), "broken")
	if code, _, errOut := run(t, "func", "init", dir); code != 0 {
		t.Fatal(errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.go"), []byte("package main\n\nvar x int = \"no\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "func", "start", "--port", "0", "--dir", dir)
	if code != exitError || !strings.Contains(errOut, "go build failed") || !strings.Contains(errOut, "broken.go") {
		t.Fatalf("%d %s", code, errOut)
	}
}

func TestFuncCustomApp(t *testing.T) {
	offline(t)
	dir := filepath.Join(t.TempDir(), "custom")
	if code, out, errOut := run(t, "func", "init", dir, "--worker-runtime", "custom"); code != 0 {
		t.Fatalf("init: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "func", "new", "--name", "second", "--dir", dir); code != 0 {
		t.Fatalf("new: %d\n%s%s", code, out, errOut)
	}
	// Any executable will do: the host tests' raw-protocol handler.
	src, _ := filepath.Abs(filepath.Join("..", "functions", "host", "testdata", "customhandler", "handler"))
	build := exec.Command("go", "build", "-o", filepath.Join(dir, exeName("handler")), ".")
	build.Dir = src
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build handler: %v\n%s", err, b)
	}
	h, err := host.New(host.Options{Dir: dir, LocalSettings: true})
	if err != nil {
		t.Fatalf("host.New: %v", err)
	}
	if n := len(h.Functions()); n != 2 || h.Function("hello") == nil || h.Function("second") == nil {
		t.Fatalf("%d functions", n)
	}
	h.Close()

	base, _ := startApp(t, dir)
	if got := getJSON(t, base+"/api/hello?name=Azure"); got["message"] != "Hello, Azure!" {
		t.Fatalf("hello: %v", got)
	}
}

func TestFuncUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"func", "init"},
		{"func", "init", filepath.Join(dir, "x"), "--worker-runtime", "python"},
		{"func", "new", "--dir", dir},
		{"func", "new", "--name", "x", "--template", "Timer trigger", "--dir", dir},
		{"func", "new", "--name", "1bad", "--dir", dir},
		{"func", "nope"},
	} {
		if code, _, errOut := run(t, args...); code != exitUsage {
			t.Errorf("%v: %d %s", args, code, errOut)
		}
	}
	if code, _, errOut := run(t, "func", "start", "--dir", dir); code != exitError || !strings.Contains(errOut, "not a function app") {
		t.Errorf("start in an empty dir: %d %s", code, errOut)
	}
	// A Go app whose main.go has no single app.Run() line gets the snippet printed, not an edit.
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	main := []byte("package main\n\nfunc main() {}\n")
	if err := os.WriteFile(filepath.Join(dir, "main.go"), main, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run(t, "func", "new", "--name", "x", "--dir", dir); code != 0 || !strings.Contains(out, `app.HTTP("x"`) {
		t.Fatalf("%d %s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "main.go")); !bytes.Equal(b, main) {
		t.Fatal("main.go changed")
	}
}

// TestFuncStartReloads changes the source of a running app: func start
// rebuilds and serves the new code on the same port, and a change that
// does not build keeps the previous build serving.
func TestFuncStartReloads(t *testing.T) {
	offline(t)
	dir := filepath.Join(t.TempDir(), "reloadapp")
	if code, out, errOut := run(t, "func", "init", dir); code != 0 {
		t.Fatalf("init: %d\n%s%s", code, out, errOut)
	}
	base, out := startApp(t, dir)
	if got := getJSON(t, base+"/api/hello?name=Azure"); got["message"] != "Hello, Azure!" {
		t.Fatalf("hello: %v", got)
	}
	mainGo := filepath.Join(dir, "main.go")
	src, err := os.ReadFile(mainGo)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(from, to string) {
		t.Helper()
		s := strings.Replace(string(src), from, to, 1)
		if s == string(src) {
			t.Fatalf("main.go has no %q", from)
		}
		src = []byte(s)
		if err := os.WriteFile(mainGo, src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not happen in 60s\n%s", what, out.String())
			}
		}
	}
	edit(`"Hello, "`, `"Bonjour, "`)
	waitFor("reload with the new greeting", func() bool {
		return getJSON(t, base+"/api/hello?name=Azure")["message"] == "Bonjour, Azure!"
	})
	// A broken edit is reported and the last good build keeps serving.
	edit(`"Bonjour, "`, `"Hola, " +`)
	waitFor("the broken edit to be seen", func() bool { return strings.Count(out.String(), "Change detected") >= 2 })
	// A failed build never swaps hosts, so the answer holds whenever asked.
	if got := getJSON(t, base+"/api/hello?name=Azure"); got["message"] != "Bonjour, Azure!" {
		t.Fatalf("after a broken edit: %v", got)
	}
}
