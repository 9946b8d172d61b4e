package cosmosbinding_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/functest"
	"github.com/lapisdev/lapis/internal/functions/host"
)

var sdkApp string // the built Go SDK app of testdata/sdkapp

func TestMain(m *testing.M) { os.Exit(functest.MainWithWorker(m, "./testdata/sdkapp", &sdkApp)) }

// waitFor bounds every wait for the system under test; generous, for a loaded machine. The apps' feedPollDelay
// is a minute, so a change that fires within it was pushed, not polled.
const waitFor = 30 * time.Second

// testApp is the test app on a running platform: its document store with testdb (items, flaky, people), and the
// file its Cosmos DB functions record their invocations in.
type testApp struct {
	p        *functest.Platform
	svc      *docdb.Service
	settings map[string]string
	log      *functest.Logs
}

// newTestApp makes testdb and its monitored containers on p's emulator account, unless they exist.
func newTestApp(t *testing.T, p *functest.Platform, settings map[string]string) *testApp {
	t.Helper()
	a := &testApp{p: p, svc: p.Server.Service(docdb.ServiceName).(*docdb.Service), log: functest.NewLogs(t)}
	ctx := context.Background()
	if _, err := a.svc.CreateDatabase(ctx, account.EmulatorAccount, "testdb"); err != nil && !isConflict(err) {
		t.Fatal(err)
	}
	for id, pk := range map[string]string{"items": "/id", "flaky": "/id", "people": "/pk"} {
		spec := docdb.ContainerSpec{ID: id, PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{pk}}}
		if _, err := a.svc.CreateContainer(ctx, account.EmulatorAccount, "testdb", spec); err != nil && !isConflict(err) {
			t.Fatal(err)
		}
	}
	a.settings = map[string]string{
		"CosmosConn": p.CosmosConn, "AzureWebJobsStorage": p.Conn, "RECORD_FILE": filepath.Join(t.TempDir(), "records"),
		"MAX_ITEMS": "100", "FROM_BEGINNING": "false", "FEED_POLL_MS": "60000", "LEASE_ACQUIRE_MS": "200",
	}
	maps.Copy(a.settings, settings)
	return a
}

func isConflict(err error) bool { return err != nil && strings.Contains(err.Error(), "Conflict") }

// start runs the app in a host of its own on the platform, as the runtime would, until the test ends. The
// invocations it records say tag.
func (a *testApp) start(t *testing.T, tag string) *host.Host {
	t.Helper()
	settings := maps.Clone(a.settings)
	settings["HOST_TAG"] = tag
	dir := functest.CopyApp(t, "testdata/sdkapp", sdkApp, func(dir string) {
		os.Remove(filepath.Join(dir, "main.go"))
		os.Remove(filepath.Join(dir, "go.mod"))
	})
	env := &binding.Env{Storage: a.p.InProcess(t), Documents: a.p.Documents(t), Substrate: a.p.Server.Substrate(), Logger: a.log.Logger}
	h, err := host.New(host.Options{Dir: dir, Name: "cosmosapp", Settings: settings, AuthDisabled: true, Env: env, Logger: a.log.Logger})
	if err != nil {
		t.Fatalf("host.New: %v", err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	if b := h.Broken(); len(b) > 0 {
		t.Fatalf("functions in error: %v", b)
	}
	return h
}

// put writes a document to testdb/{container}.
func (a *testApp) put(t *testing.T, container string, doc map[string]any) {
	t.Helper()
	b, _ := json.Marshal(doc)
	if _, _, err := a.svc.UpsertItem(context.Background(), account.EmulatorAccount, "testdb", container, nil, b); err != nil {
		t.Fatal(err)
	}
}

// record is one invocation of a Cosmos DB function, as the test app records it.
type record struct {
	Fn    string
	Host  string
	IDs   []string
	LSNs  []int64
	Retry *int
}

func (a *testApp) records(t *testing.T, fn string) []record {
	t.Helper()
	f, err := os.Open(a.settings["RECORD_FILE"])
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %q: %v", sc.Text(), err)
		}
		if r.Fn == fn {
			out = append(out, r)
		}
	}
	return out
}

// fired returns how many times each document id was in an invocation of fn.
func (a *testApp) fired(t *testing.T, fn string) map[string]int {
	n := map[string]int{}
	for _, r := range a.records(t, fn) {
		for _, id := range r.IDs {
			n[id]++
		}
	}
	return n
}

// waitFired waits until every id has fired at least once, then a little longer, and returns the counts.
func (a *testApp) waitFired(t *testing.T, fn string, ids ...string) map[string]int {
	t.Helper()
	eventually(t, fmt.Sprintf("%s to fire for %v", fn, ids), func() bool {
		n := a.fired(t, fn)
		for _, id := range ids {
			if n[id] == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // time for a wrong second firing to show
	return a.fired(t, fn)
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantOnce(t *testing.T, fired map[string]int, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if fired[id] != 1 {
			t.Errorf("%s fired %d times, want once (all: %v)", id, fired[id], fired)
		}
	}
}

// TestTrigger: each change of the monitored container fires the function once, in batches of at most
// maxItemsPerInvocation, in write order, with _lsn; changes made before the lease existed do not fire (the
// default start is now); an update fires again; a delete does not; the function's output writes to another
// container.
func TestTrigger(t *testing.T) {
	p := functest.Start(t)
	a := newTestApp(t, p, map[string]string{"MAX_ITEMS": "3"})
	a.put(t, "items", map[string]any{"id": "before"})
	a.start(t, "h")

	var ids []string
	for i := range 7 {
		ids = append(ids, fmt.Sprintf("d%d", i))
		a.put(t, "items", map[string]any{"id": ids[i]})
	}
	fired := a.waitFired(t, "changes", ids...)
	wantOnce(t, fired, ids...)
	if fired["before"] != 0 {
		t.Errorf("a document written before the trigger started fired (startFromBeginning is false)")
	}
	var order []string
	var last int64
	for _, r := range a.records(t, "changes") {
		if len(r.IDs) == 0 || len(r.IDs) > 3 || len(r.LSNs) != len(r.IDs) {
			t.Errorf("batch %+v: want 1 to 3 documents, each with _lsn", r)
		}
		for _, l := range r.LSNs {
			if l <= last {
				t.Errorf("_lsn %d after %d: not in write order", l, last)
			}
			last = l
		}
		order = append(order, r.IDs...)
	}
	if !slices.Equal(order, ids) {
		t.Errorf("fired in the order %v, want %v", order, ids)
	}

	// An update fires again; a delete does not.
	a.put(t, "items", map[string]any{"id": "d1", "v": 2})
	if err := a.svc.DeleteItem(context.Background(), account.EmulatorAccount, "testdb", "items", docdb.PartitionKey{"d2"}, "d2"); err != nil {
		t.Fatal(err)
	}
	a.put(t, "items", map[string]any{"id": "after"})
	fired = a.waitFired(t, "changes", "after")
	if fired["d1"] != 2 || fired["d2"] != 1 || fired["after"] != 1 {
		t.Errorf("after an update of d1 and a delete of d2: fired %v", fired)
	}

	// The output wrote one audit document per change.
	eventually(t, "the audit documents", func() bool {
		page, err := a.svc.Query(context.Background(), account.EmulatorAccount, "testdb", "audit", docdb.QuerySpec{Query: "SELECT VALUE COUNT(1) FROM c"}, nil)
		return err == nil && len(page.Documents) == 1 && string(page.Documents[0]) == "9"
	})
}

// TestStartFromBeginning: with startFromBeginning the documents written before the trigger's lease existed fire
// too.
func TestStartFromBeginning(t *testing.T) {
	p := functest.Start(t)
	a := newTestApp(t, p, map[string]string{"FROM_BEGINNING": "true"})
	a.put(t, "items", map[string]any{"id": "old1"})
	a.put(t, "items", map[string]any{"id": "old2"})
	a.start(t, "h")
	a.put(t, "items", map[string]any{"id": "new"})
	wantOnce(t, a.waitFired(t, "changes", "old1", "old2", "new"), "old1", "old2", "new")
}

// TestRestart: the lease's continuation survives the app and the platform: a restart does not fire processed
// changes again, and fires the changes made while the app was down.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	p := functest.StartAt(t, dir)
	a := newTestApp(t, p, nil)
	h := a.start(t, "h")
	a.put(t, "items", map[string]any{"id": "a"})
	a.put(t, "items", map[string]any{"id": "b"})
	a.waitFired(t, "changes", "a", "b")
	h.Close()

	a.put(t, "items", map[string]any{"id": "while-app-down"})
	p.Stop()
	p2 := functest.StartAt(t, dir)
	a.p = p2
	a.svc = p2.Server.Service(docdb.ServiceName).(*docdb.Service)
	a.settings["CosmosConn"], a.settings["AzureWebJobsStorage"] = p2.CosmosConn, p2.Conn
	a.put(t, "items", map[string]any{"id": "after-platform-restart"})
	a.start(t, "h")
	a.put(t, "items", map[string]any{"id": "c"})
	fired := a.waitFired(t, "changes", "while-app-down", "after-platform-restart", "c")
	wantOnce(t, fired, "a", "b", "while-app-down", "after-platform-restart", "c")
}

// TestTwoHosts: two hosts of the app share the lease: one processes the feed and each change fires once; when it
// stops, the other takes the lease over from the checkpoint.
func TestTwoHosts(t *testing.T) {
	p := functest.Start(t)
	a := newTestApp(t, p, nil)
	hosts := map[string]*host.Host{"h1": a.start(t, "h1"), "h2": a.start(t, "h2")}
	for i := range 20 {
		a.put(t, "items", map[string]any{"id": fmt.Sprintf("x%d", i)})
	}
	var first []string
	for i := range 20 {
		first = append(first, fmt.Sprintf("x%d", i))
	}
	wantOnce(t, a.waitFired(t, "changes", first...), first...)
	owners := map[string]bool{}
	for _, r := range a.records(t, "changes") {
		owners[r.Host] = true
	}
	if len(owners) != 1 {
		t.Errorf("both hosts processed changes (%v); one lease owner expected", owners)
	}

	// Stop the host that holds the lease; the other takes over.
	owner := a.records(t, "changes")[0].Host
	hosts[owner].Close()
	var second []string
	for i := range 5 {
		second = append(second, fmt.Sprintf("y%d", i))
		a.put(t, "items", map[string]any{"id": second[i]})
	}
	fired := a.waitFired(t, "changes", second...)
	wantOnce(t, fired, append(first, second...)...)
	for _, r := range a.records(t, "changes") {
		if slices.Contains(r.IDs, "y0") && r.Host == owner {
			t.Errorf("the stopped host %s processed y0", owner)
		}
	}
}

// TestFailure: a failed batch is not retried without a retry policy (the trigger moves on, as Azure's does);
// with one, it runs again up to maxRetryCount times, each attempt with its RetryContext.
func TestFailure(t *testing.T) {
	p := functest.Start(t)
	a := newTestApp(t, p, nil)
	a.start(t, "h")
	a.put(t, "items", map[string]any{"id": "bad", "fail": true})
	a.waitFired(t, "changes", "bad")
	a.put(t, "items", map[string]any{"id": "good"})
	wantOnce(t, a.waitFired(t, "changes", "good"), "bad", "good")

	a.put(t, "flaky", map[string]any{"id": "twice", "failTimes": 2})
	eventually(t, "three attempts", func() bool { return len(a.records(t, "flaky")) >= 3 })
	a.put(t, "flaky", map[string]any{"id": "never", "failTimes": 5})
	eventually(t, "the attempts at never", func() bool { return len(a.records(t, "flaky")) >= 6 })
	a.put(t, "flaky", map[string]any{"id": "fine"})
	a.waitFired(t, "flaky", "fine")
	var got []string
	for _, r := range a.records(t, "flaky") {
		retry := -1
		if r.Retry != nil {
			retry = *r.Retry
		}
		got = append(got, fmt.Sprintf("%s/%d", strings.Join(r.IDs, ","), retry))
	}
	want := []string{"twice/0", "twice/1", "twice/2", "never/0", "never/1", "never/2", "fine/0"}
	if !slices.Equal(got, want) {
		t.Errorf("flaky attempts %v, want %v", got, want)
	}
}

// TestOutputAndInput: the cosmosDB output upserts one document or many, creating its container; the input reads
// a document by id and partition key, by id alone, or runs a query whose binding expressions are parameters.
func TestOutputAndInput(t *testing.T) {
	p := functest.Start(t)
	a := newTestApp(t, p, nil)
	h := a.start(t, "h")
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(method, "http://localhost/api/"+path, strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		b, _ := io.ReadAll(w.Result().Body)
		return w.Code, strings.TrimSpace(string(b))
	}

	// One document, then several; "people" exists, "fresh" is created (partition key /pk).
	if code, body := call("POST", "write/people", `{"id":"ann","pk":"p1","city":"Oslo"}`); code != 200 || body != `{"written":1}` {
		t.Fatalf("write one: %d %s", code, body)
	}
	many := `[{"id":"bob","pk":"p2","city":"Oslo"},{"id":"cid","pk":"p1","city":"Rome"},{"id":"ann","pk":"p1","city":"Oslo","v":2}]`
	if code, body := call("POST", "write/people", many); code != 200 || body != `{"written":3}` {
		t.Fatalf("write many: %d %s", code, body)
	}
	if code, body := call("POST", "write/fresh", `{"pk":"x","note":"no id"}`); code != 200 {
		t.Fatalf("write to a new container: %d %s", code, body)
	}
	c, err := a.svc.GetContainer(context.Background(), account.EmulatorAccount, "testdb", "fresh")
	if err != nil || !slices.Equal(c.PartitionKey.Paths, []string{"/pk"}) {
		t.Fatalf("the created container: %+v %v", c, err)
	}
	page, err := a.svc.Query(context.Background(), account.EmulatorAccount, "testdb", "fresh", docdb.QuerySpec{Query: "SELECT * FROM c"}, nil)
	if err != nil || len(page.Documents) != 1 || !strings.Contains(string(page.Documents[0]), `"id":"`) {
		t.Fatalf("the document written without an id: %v %v", page, err)
	}
	if code, body := call("POST", "write/people", `[1,2]`); code != 500 || !strings.Contains(body, "must be a JSON object") {
		t.Errorf("writing numbers: %d %s", code, body)
	}

	doc := func(path string) map[string]any {
		t.Helper()
		code, body := call("GET", path, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("GET %s: %s: %v", path, body, err)
		}
		return v
	}
	if d := doc("byid/p1/ann"); d["v"] != 2.0 || d["_etag"] == nil {
		t.Errorf("by id and partition key: %v", d)
	}
	if d := doc("find/bob"); d["pk"] != "p2" {
		t.Errorf("by id alone: %v", d)
	}
	if d := doc("byid/p2/ann"); d != nil {
		t.Errorf("ann is not in partition p2, got %v", d)
	}
	if d := doc("find/nobody"); d != nil {
		t.Errorf("a missing document: %v, want null", d)
	}
	for _, c := range []struct{ city, want string }{
		{"Oslo", `[{"id":"ann"},{"id":"bob"}]`},
		{"Rome", `[{"id":"cid"}]`},
		{"Oslo' OR '1'='1", `[]`},
	} {
		if code, body := call("GET", "query/"+strings.ReplaceAll(c.city, " ", "%20"), ""); code != 200 || body != c.want {
			t.Errorf("query %q: %d %s, want %s", c.city, code, body, c.want)
		}
	}
}

// TestDeployed: an app deployed to the platform (the runtime gives its hosts the document store) fires on the
// change feed, with the emulator's own connection string (localhost:8081), which stands for the platform's
// emulator account whatever port it listens on.
func TestDeployed(t *testing.T) {
	p := functest.StartWithFunctions(t)
	a := newTestApp(t, p, map[string]string{"CosmosConn": "AccountEndpoint=https://localhost:8081/;AccountKey=" + account.EmulatorKey + ";"})
	p.CreateSite(t, "cosmos-rg", "cosmosapp", a.settings)
	dir := functest.CopyApp(t, "testdata/sdkapp", sdkApp, func(dir string) {
		os.Remove(filepath.Join(dir, "main.go"))
		os.Remove(filepath.Join(dir, "go.mod"))
	})
	var dep map[string]any
	if code := p.ARM(t, http.MethodPost, p.Site("cosmos-rg", "cosmosapp")+"/extensions/zipdeploy", functest.ZipDir(t, dir), &dep); code != 200 {
		t.Fatalf("deploy: %d %v", code, dep)
	}
	// The deployment starts the triggers, which create the lease; a change written after that fires.
	eventually(t, "the lease", func() bool {
		page, err := a.svc.Query(context.Background(), account.EmulatorAccount, "testdb", "leases", docdb.QuerySpec{Query: "SELECT VALUE COUNT(1) FROM c"}, nil)
		return err == nil && len(page.Documents) == 1 && string(page.Documents[0]) == "2"
	})
	a.put(t, "items", map[string]any{"id": "deployed"})
	wantOnce(t, a.waitFired(t, "changes", "deployed"), "deployed")
}
