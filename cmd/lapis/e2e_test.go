package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/storage/account"
)

// The end-to-end tests run the real binary, as a user would: `lapis start`
// in one process and CLI commands in others.

var lapisBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lapis-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lapisBin = filepath.Join(dir, "lapis")
	build := exec.Command("go", "build", "-o", lapisBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building lapis:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type server struct {
	cmd        *exec.Cmd
	dataDir    string
	management string
	stdout     *bytes.Buffer
	stderr     *bytes.Buffer
	done       chan error
}

var managementLine = regexp.MustCompile(`(?m)^\s+management\s+(http://\S+)$`)

// startLapis runs `lapis start` on free ports and waits for its ready line.
func startLapis(t *testing.T, dataDir string, env ...string) *server {
	t.Helper()
	s, err := tryStart(t, dataDir, env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

func tryStart(t *testing.T, dataDir string, env ...string) (*server, error) {
	cmd := exec.Command(lapisBin, "start", "--data-dir", dataDir, "--management-port", "0", "--blob-port", "0", "--queue-port", "0", "--functions-port", "0", "--eventgrid-port", "0", "--cosmos-port", "0")
	cmd.Env = append(os.Environ(), append([]string{"XDG_CONFIG_HOME=" + t.TempDir()}, env...)...)
	s := &server{cmd: cmd, dataDir: dataDir, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(s.stdout, pw), s.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.done <- cmd.Wait(); pw.Close() }()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "Ready in") {
				ready <- ""
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case <-ready:
	case err := <-s.done:
		return nil, fmt.Errorf("lapis start exited: %v\nstdout: %s\nstderr: %s", err, s.stdout, s.stderr)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return nil, fmt.Errorf("lapis start not ready in 30s\nstdout: %s\nstderr: %s", s.stdout, s.stderr)
	}
	m := managementLine.FindStringSubmatch(s.stdout.String())
	if m == nil {
		return nil, fmt.Errorf("no management line in %q", s.stdout)
	}
	s.management = m[1]
	return s, nil
}

// stop sends SIGTERM and expects a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("lapis start exited with %v after SIGTERM\nstderr: %s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("lapis start did not stop within 30s of SIGTERM")
	}
}

type result struct {
	stdout, stderr string
	code           int
}

// lapis runs one CLI command against the server's data dir.
func lapis(t *testing.T, s *server, args ...string) result {
	t.Helper()
	return lapisEnv(t, []string{"LAPIS_DATA_DIR=" + s.dataDir}, args...)
}

func lapisEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(lapisBin, args...)
	cmd.Env = append(os.Environ(), append([]string{"XDG_CONFIG_HOME=" + t.TempDir()}, env...)...)
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// ok runs a command that must succeed and returns its stdout.
func ok(t *testing.T, s *server, args ...string) string {
	t.Helper()
	r := lapis(t, s, args...)
	if r.code != 0 {
		t.Fatalf("lapis %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with the exit code and a one-line
// error containing want.
func fails(t *testing.T, s *server, code int, want string, args ...string) {
	t.Helper()
	r := lapis(t, s, args...)
	if r.code != code || !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 ||
		!strings.HasPrefix(r.stderr, "ERROR: ") {
		t.Fatalf("lapis %s: exit %d, stderr %q; want exit %d and one ERROR line containing %q",
			strings.Join(args, " "), r.code, r.stderr, code, want)
	}
}

func TestSeedCommands(t *testing.T) {
	s := startLapis(t, t.TempDir())

	ok(t, s, "group", "create", "--name", "myapp-rg", "--location", "eastus", "--tags", "env=dev", "team=web")
	// The seed's lines, with az replaced by lapis.
	ok(t, s, "storage", "account", "create", "--name", "myfuncappstorage", "--resource-group", "myapp-rg",
		"--location", "eastus", "--sku", "Standard_LRS")
	id := ok(t, s, "storage", "account", "show", "-g", "myapp-rg", "-n", "myfuncappstorage", "--query", "id", "-o", "tsv")
	if !regexp.MustCompile(`^/subscriptions/[0-9a-f-]{36}/resourceGroups/myapp-rg/providers/Microsoft.Storage/storageAccounts/myfuncappstorage\n$`).MatchString(id) {
		t.Fatalf("--query id -o tsv = %q", id)
	}
	id = strings.TrimSpace(id)

	if got := ok(t, s, "storage", "account", "show", "-g", "myapp-rg", "-n", "myfuncappstorage",
		"--query", "{sku:sku.name, state:provisioningState, rg:resourceGroup, blob:primaryEndpoints.blob}", "-o", "tsv"); !regexp.MustCompile(`^Standard_LRS\tSucceeded\tmyapp-rg\thttp://127\.0\.0\.1:\d+/myfuncappstorage/\n$`).MatchString(got) {
		t.Fatalf("flattened multiselect -o tsv = %q", got)
	}

	table := ok(t, s, "group", "list", "-o", "table")
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) != 3 || !regexp.MustCompile(`^Name\s+Location\s+Status$`).MatchString(lines[0]) ||
		!strings.HasPrefix(lines[1], "--------") || !regexp.MustCompile(`^myapp-rg\s+eastus\s+Succeeded$`).MatchString(lines[2]) {
		t.Fatalf("group list -o table =\n%s", table)
	}
	acctTable := ok(t, s, "storage", "account", "list", "-g", "myapp-rg", "--query", "[].{Name:name, Sku:sku.name}", "-o", "table")
	if !regexp.MustCompile(`(?m)^Name\s+Sku\n-+\s+-+\nmyfuncappstorage\s+Standard_LRS$`).MatchString(strings.TrimSpace(acctTable)) {
		t.Fatalf("storage account list -o table =\n%s", acctTable)
	}

	key1 := strings.TrimSpace(ok(t, s, "storage", "account", "keys", "list", "-g", "myapp-rg", "-n", "myfuncappstorage", "--query", "[0].value", "-o", "tsv"))
	if len(key1) != 88 {
		t.Fatalf("key1 = %q", key1)
	}
	renewed := ok(t, s, "storage", "account", "keys", "renew", "-g", "myapp-rg", "-n", "myfuncappstorage", "--key", "primary", "--query", "[0].value", "-o", "tsv")
	if strings.TrimSpace(renewed) == key1 {
		t.Fatal("keys renew --key primary did not change key1")
	}
	cs := ok(t, s, "storage", "account", "show-connection-string", "-g", "myapp-rg", "-n", "myfuncappstorage", "-o", "tsv")
	if !regexp.MustCompile(`^DefaultEndpointsProtocol=http;AccountName=myfuncappstorage;AccountKey=` + regexp.QuoteMeta(strings.TrimSpace(renewed)) +
		`;BlobEndpoint=http://127\.0\.0\.1:\d+/myfuncappstorage;QueueEndpoint=http://127\.0\.0\.1:\d+/myfuncappstorage;\n$`).MatchString(cs) {
		t.Fatalf("connection string = %q", cs)
	}

	if got := ok(t, s, "resource", "list", "-g", "myapp-rg", "--resource-type", "Microsoft.Storage/storageAccounts", "--query", "[].name", "-o", "tsv"); got != "myfuncappstorage\n" {
		t.Fatalf("resource list = %q", got)
	}
	if got := ok(t, s, "resource", "show", "--ids", id, "--query", "name", "-o", "tsv"); got != "myfuncappstorage\n" {
		t.Fatalf("resource show --ids = %q", got)
	}
	if got := ok(t, s, "resource", "show", "-g", "myapp-rg", "-n", "myfuncappstorage", "--resource-type", "Microsoft.Storage/storageAccounts", "--query", "properties.provisioningState", "-o", "tsv"); got != "Succeeded\n" {
		t.Fatalf("resource show by name = %q", got)
	}
	if got := ok(t, s, "group", "show", "-n", "myapp-rg", "-o", "yaml"); !strings.Contains(got, "name: myapp-rg") || !strings.Contains(got, "env: dev") {
		t.Fatalf("-o yaml =\n%s", got)
	}
	if got := ok(t, s, "group", "show", "-n", "myapp-rg", "-o", "none"); got != "" {
		t.Fatalf("-o none printed %q", got)
	}
	if got := ok(t, s, "group", "exists", "-n", "MYAPP-RG"); got != "true\n" {
		t.Fatalf("group exists = %q", got)
	}

	// --debug shows the HTTP exchange without the token.
	r := lapis(t, s, "group", "show", "-n", "myapp-rg", "--debug")
	if r.code != 0 || !strings.Contains(r.stderr, "DEBUG: Request URL:") || !strings.Contains(r.stderr, "DEBUG: Response status: 200") ||
		strings.Contains(r.stderr, mustRead(t, filepath.Join(s.dataDir, "admin.key"))) {
		t.Fatalf("--debug stderr:\n%s", r.stderr)
	}

	ok(t, s, "resource", "delete", "--ids", id)
	fails(t, s, 3, "(ResourceNotFound)", "storage", "account", "show", "-g", "myapp-rg", "-n", "myfuncappstorage")
	ok(t, s, "group", "delete", "-n", "myapp-rg", "--yes")
	if got := ok(t, s, "group", "exists", "-n", "myapp-rg"); got != "false\n" {
		t.Fatalf("group exists after delete = %q", got)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestCLIErrors(t *testing.T) {
	s := startLapis(t, t.TempDir())
	ok(t, s, "group", "create", "-n", "rg1", "-l", "eastus")

	fails(t, s, 3, "(ResourceGroupNotFound) Resource group 'nope' could not be found.", "group", "show", "-n", "nope")
	fails(t, s, 1, "(InvalidResourceGroup)", "group", "create", "-n", "bad!name", "-l", "eastus")
	fails(t, s, 1, "(AccountNameInvalid)", "storage", "account", "create", "-n", "Bad_Name", "-g", "rg1")
	fails(t, s, 1, "(InvalidResourceGroupLocation)", "group", "create", "-n", "rg1", "-l", "westus")
	fails(t, s, 2, "invalid choice", "group", "list", "-o", "xml")
	fails(t, s, 2, "--query", "group", "list", "--query", "[?name==")
	fails(t, s, 2, "unknown flag", "group", "list", "--bogus")
	fails(t, s, 2, "the following arguments are required: --location/-l", "group", "create", "-n", "rg2")
	fails(t, s, 2, "unrecognized arguments: stray", "group", "show", "-n", "rg1", "stray")
	fails(t, s, 2, "no tty", "group", "delete", "-n", "rg1")
	fails(t, s, 2, "invalid choice", "storage", "account", "keys", "renew", "-g", "rg1", "-n", "x", "--key", "tertiary")
	fails(t, s, 2, "required: --key", "storage", "account", "keys", "renew", "-g", "rg1", "-n", "x")
	fails(t, s, 2, "invalid choice: 'ftp'", "storage", "account", "show-connection-string", "-g", "rg1", "-n", "x", "--protocol", "ftp")
	fails(t, s, 2, "'frobnicate' is misspelled or not recognized", "group", "frobnicate")
	fails(t, s, 2, "'frobnicate' is misspelled or not recognized", "storage", "account", "keys", "frobnicate")
	fails(t, s, 2, "namespace/type", "resource", "list", "--resource-type", "storageAccounts")
	fails(t, s, 3, "(SubscriptionNotFound)", "group", "exists", "-n", "rg1", "--subscription", "00000000-0000-0000-0000-000000000000")
	fails(t, s, 1, "subscription 'Nope' not found", "group", "list", "--subscription", "Nope")
	if got := ok(t, s, "group", "show", "-n", "rg1", "--subscription", "Lapis", "--query", "name", "-o", "tsv"); got != "rg1\n" {
		t.Fatalf("--subscription by display name = %q", got)
	}
	// tsv rows keep the same columns whether or not a group has tags.
	ok(t, s, "group", "create", "-n", "rg-tagged", "-l", "eastus", "--tags", "a=b")
	var widths []int
	for _, line := range strings.Split(strings.TrimSpace(ok(t, s, "group", "list", "-o", "tsv")), "\n") {
		widths = append(widths, strings.Count(line, "\t"))
	}
	if len(widths) != 2 || widths[0] != widths[1] {
		t.Fatalf("group list -o tsv column counts = %v", widths)
	}

	// Remote use: --endpoint and LAPIS_TOKEN, from a directory with no data dir.
	token := mustRead(t, filepath.Join(s.dataDir, "admin.key"))
	r := lapisEnv(t, []string{"LAPIS_TOKEN=" + token}, "--endpoint", s.management, "group", "show", "-n", "rg1", "--query", "name", "-o", "tsv")
	if r.code != 0 || r.stdout != "rg1\n" {
		t.Fatalf("remote use: %+v", r)
	}
	r = lapisEnv(t, []string{"LAPIS_TOKEN=wrong", "LAPIS_ENDPOINT=" + s.management}, "group", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "(InvalidAuthenticationToken)") {
		t.Fatalf("wrong token: %+v", r)
	}
	r = lapisEnv(t, []string{"LAPIS_DATA_DIR=" + t.TempDir()}, "group", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "no running Lapis found") {
		t.Fatalf("no server: %+v", r)
	}
}

func TestStartStopRestart(t *testing.T) {
	dir := t.TempDir()
	s := startLapis(t, dir, "LAPIS_SYNC=always", "LAPIS_LOG_FORMAT=json")
	if !strings.Contains(s.stdout.String(), "sync always") || !strings.Contains(s.stdout.String(), "subscription") {
		t.Fatalf("banner ignores LAPIS_SYNC:\n%s", s.stdout)
	}
	ok(t, s, "group", "create", "-n", "keep-rg", "-l", "eastus")
	ok(t, s, "storage", "account", "create", "-n", "keepacct", "-g", "keep-rg")

	// A second server on the same data dir refuses, clearly, and the first keeps running.
	if _, err := tryStart(t, dir); err == nil || !strings.Contains(err.Error(), "in use by a running lapis") {
		t.Fatalf("second start on the same data dir: %v", err)
	}
	ok(t, s, "group", "show", "-n", "keep-rg")

	s.stop(t)
	if !strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean-stop log line in JSON logs:\n%s", s.stderr)
	}
	s2 := startLapis(t, dir)
	if got := ok(t, s2, "storage", "account", "show", "-g", "keep-rg", "-n", "keepacct", "--query", "location", "-o", "tsv"); got != "eastus\n" {
		t.Fatalf("account after restart (location from the group) = %q", got)
	}
}

// TestKillLosesNothingAcknowledged kills the server with SIGKILL right after
// a run of acknowledged writes and checks that a restart has them all: the
// lock dies with the process, and JetStream had every write before its ack.
func TestKillLosesNothingAcknowledged(t *testing.T) {
	dir := t.TempDir()
	s := startLapis(t, dir)
	const n = 20
	for i := range n {
		ok(t, s, "group", "create", "-n", fmt.Sprintf("kill-rg-%02d", i), "-l", "eastus", "-o", "none")
	}
	ok(t, s, "storage", "account", "create", "-n", "killacct", "-g", "kill-rg-00", "-o", "none")
	key := ok(t, s, "storage", "account", "keys", "list", "-g", "kill-rg-00", "-n", "killacct", "--query", "[1].value", "-o", "tsv")

	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done

	s2 := startLapis(t, dir)
	got := ok(t, s2, "group", "list", "--query", "length([?starts_with(name, 'kill-rg-')])", "-o", "tsv")
	if got != fmt.Sprintf("%d\n", n) {
		t.Fatalf("after SIGKILL and restart: %q groups, want %d", got, n)
	}
	if again := ok(t, s2, "storage", "account", "keys", "list", "-g", "kill-rg-00", "-n", "killacct", "--query", "[1].value", "-o", "tsv"); again != key {
		t.Fatalf("account key after SIGKILL: %q, want %q", again, key)
	}
}

// TestStorageDataCommands drives the Blob and Queue services through the
// CLI, which uses the real Azure SDK clients, with each way az names an
// account.
func TestStorageDataCommands(t *testing.T) {
	s := startLapis(t, t.TempDir())
	dev := []string{"--account-name", "devstoreaccount1"}
	run := func(args ...string) string { return ok(t, s, append(args, dev...)...) }

	if got := run("storage", "container", "create", "-n", "images", "--public-access", "blob", "--query", "created", "-o", "tsv"); got != "true\n" {
		t.Fatalf("container create = %q", got)
	}
	if got := run("storage", "container", "create", "-n", "images", "--query", "created", "-o", "tsv"); got != "false\n" {
		t.Fatalf("second container create = %q", got)
	}
	// A 9 MiB file goes up in several blocks and comes back the same.
	dir := t.TempDir()
	big := make([]byte, 9<<20+123)
	for i := range big {
		big[i] = byte(i * 7)
	}
	src, dst := filepath.Join(dir, "big.bin"), filepath.Join(dir, "copy.bin")
	if err := os.WriteFile(src, big, 0o600); err != nil {
		t.Fatal(err)
	}
	run("storage", "blob", "upload", "-c", "images", "-n", "2024/big.bin", "-f", src, "--metadata", "kind=test", "-o", "none")
	fails(t, s, 1, "already exists", append([]string{"storage", "blob", "upload", "-c", "images", "-n", "2024/big.bin", "-f", src}, dev...)...)
	run("storage", "blob", "upload", "-c", "images", "-n", "2024/big.bin", "-f", src, "--overwrite", "--metadata", "kind=again", "-o", "none")
	run("storage", "blob", "download", "-c", "images", "-n", "2024/big.bin", "-f", dst, "-o", "none")
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("downloaded %d bytes, want the %d uploaded (%v)", len(got), len(big), err)
	}
	if got := run("storage", "blob", "show", "-c", "images", "-n", "2024/big.bin", "--query", "{n:properties.contentLength, k:metadata.kind}", "-o", "tsv"); got != fmt.Sprintf("%d\tagain\n", len(big)) {
		t.Fatalf("blob show = %q", got)
	}
	if got := run("storage", "blob", "list", "-c", "images", "--prefix", "2024/", "--query", "[].name", "-o", "tsv"); got != "2024/big.bin\n" {
		t.Fatalf("blob list = %q", got)
	}
	fails(t, s, 3, "(BlobNotFound)", append([]string{"storage", "blob", "show", "-c", "images", "-n", "nope"}, dev...)...)
	fails(t, s, 3, "(ContainerNotFound)", append([]string{"storage", "blob", "list", "-c", "nope"}, dev...)...)
	run("storage", "blob", "delete", "-c", "images", "-n", "2024/big.bin")
	if got := run("storage", "blob", "list", "-c", "images", "--query", "length(@)", "-o", "tsv"); got != "0\n" {
		t.Fatalf("blob list after delete = %q", got)
	}

	// Queues and messages.
	run("storage", "queue", "create", "-n", "orders", "-o", "none")
	if got := run("storage", "queue", "list", "--query", "[].name", "-o", "tsv"); got != "orders\n" {
		t.Fatalf("queue list = %q", got)
	}
	run("storage", "message", "put", "-q", "orders", "--content", `{"orderId":"1"}`, "-o", "none")
	if got := run("storage", "message", "peek", "-q", "orders", "--query", "[0].content", "-o", "tsv"); got != "{\"orderId\":\"1\"}\n" {
		t.Fatalf("message peek = %q", got)
	}
	msg := strings.Fields(run("storage", "message", "get", "-q", "orders", "--visibility-timeout", "60", "--query", "[0].[id, popReceipt, dequeueCount]", "-o", "tsv"))
	if len(msg) != 3 || msg[2] != "1" {
		t.Fatalf("message get = %q", msg)
	}
	if got := run("storage", "message", "get", "-q", "orders", "--query", "length(@)", "-o", "tsv"); got != "0\n" {
		t.Fatalf("a taken message is visible again: %q", got)
	}
	fails(t, s, 1, "PopReceiptMismatch", append([]string{"storage", "message", "delete", "-q", "orders", "--id", msg[0], "--pop-receipt", "AAAAAAAAAAAAAAAAAAAAAA=="}, dev...)...)
	run("storage", "message", "delete", "-q", "orders", "--id", msg[0], "--pop-receipt", msg[1])
	run("storage", "message", "put", "-q", "orders", "--content", "x", "-o", "none")
	run("storage", "message", "clear", "-q", "orders")
	if got := run("storage", "message", "peek", "-q", "orders", "--query", "length(@)", "-o", "tsv"); got != "0\n" {
		t.Fatalf("peek after clear = %q", got)
	}

	// A created account, by name (key looked up), by connection string, and
	// the emulator shorthand.
	ok(t, s, "group", "create", "-n", "st-rg", "-l", "eastus", "-o", "none")
	ok(t, s, "storage", "account", "create", "-n", "mystore", "-g", "st-rg", "-o", "none")
	ok(t, s, "storage", "container", "create", "-n", "docs", "--account-name", "mystore", "-o", "none")
	cs := strings.TrimSpace(ok(t, s, "storage", "account", "show-connection-string", "-n", "mystore", "-g", "st-rg", "-o", "tsv"))
	if got := ok(t, s, "storage", "container", "list", "--connection-string", cs, "--query", "[].name", "-o", "tsv"); got != "docs\n" {
		t.Fatalf("container list by connection string = %q", got)
	}
	if got := ok(t, s, "storage", "container", "list", "--connection-string", "UseDevelopmentStorage=true", "--query", "[].name", "-o", "tsv"); got != "images\n" {
		t.Fatalf("UseDevelopmentStorage=true lists %q", got)
	}
	// The created account does not see the dev account's containers, and a wrong key fails.
	fails(t, s, 1, "(AuthenticationFailed)", "storage", "container", "list", "--account-name", "mystore", "--account-key", account.DevKey)
}

// TestDeletingAnAccountDeletesItsData: a new account of the same name
// starts empty.
func TestDeletingAnAccountDeletesItsData(t *testing.T) {
	s := startLapis(t, t.TempDir())
	ok(t, s, "group", "create", "-n", "del-rg", "-l", "eastus", "-o", "none")
	acct := []string{"--account-name", "tempstore01"}
	ok(t, s, "storage", "account", "create", "-n", "tempstore01", "-g", "del-rg", "-o", "none")
	ok(t, s, append([]string{"storage", "container", "create", "-n", "keepme", "-o", "none"}, acct...)...)
	ok(t, s, append([]string{"storage", "queue", "create", "-n", "keepq", "-o", "none"}, acct...)...)
	ok(t, s, "storage", "account", "delete", "-n", "tempstore01", "-g", "del-rg", "--yes")
	ok(t, s, "storage", "account", "create", "-n", "tempstore01", "-g", "del-rg", "-o", "none")
	if got := ok(t, s, append([]string{"storage", "container", "list", "--query", "length(@)", "-o", "tsv"}, acct...)...); got != "0\n" {
		t.Fatalf("containers of the re-created account: %q", got)
	}
	if got := ok(t, s, append([]string{"storage", "queue", "list", "--query", "length(@)", "-o", "tsv"}, acct...)...); got != "0\n" {
		t.Fatalf("queues of the re-created account: %q", got)
	}
}

// TestSharedKeyAccessCanBeTurnedOff: allowSharedKeyAccess=false refuses
// key-signed requests, as Azure does.
func TestSharedKeyAccessCanBeTurnedOff(t *testing.T) {
	s := startLapis(t, t.TempDir())
	ok(t, s, "group", "create", "-n", "sk-rg", "-l", "eastus", "-o", "none")
	ok(t, s, "storage", "account", "create", "-n", "nokeys", "-g", "sk-rg", "-o", "none")
	ok(t, s, "storage", "container", "list", "--account-name", "nokeys", "-o", "none")
	ok(t, s, "storage", "account", "update", "-n", "nokeys", "-g", "sk-rg", "--allow-shared-key-access", "false", "-o", "none")
	fails(t, s, 1, "(KeyBasedAuthenticationNotPermitted)", "storage", "container", "list", "--account-name", "nokeys")
}

// TestExamples runs each example app with lapis func start and calls its
// hello function, as the seed's local-development lines do.
func TestExamples(t *testing.T) {
	for _, ex := range []struct{ dir, needs string }{{"hello", "go"}, {"custom-handler", "go"}, {"python", "python3"}} {
		t.Run(ex.dir, func(t *testing.T) {
			if _, err := exec.LookPath(ex.needs); err != nil {
				t.Skipf("%s is not on PATH", ex.needs)
			}
			src, err := filepath.Abs(filepath.Join("..", "..", "examples", ex.dir))
			if err != nil {
				t.Fatal(err)
			}
			port := freeTCPPort(t)
			cmd := exec.Command(lapisBin, "func", "start", "--dir", src, "--port", fmt.Sprint(port), "--no-platform")
			cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "GOFLAGS=-mod=mod", "GOWORK=off")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				_ = cmd.Wait()
				os.Remove(filepath.Join(src, "app"))
				os.Remove(filepath.Join(src, "handler"))
			})
			url := fmt.Sprintf("http://127.0.0.1:%d/api/hello?name=Azure", port)
			deadline := time.Now().Add(60 * time.Second)
			for {
				resp, err := http.Get(url)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					var got struct{ Message string }
					if resp.StatusCode != 200 || json.Unmarshal(b, &got) != nil || got.Message != "Hello, Azure!" {
						t.Fatalf("%s = %d %s\n%s", url, resp.StatusCode, b, out.String())
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s not answering after 60s: %v\n%s", url, err, out.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
