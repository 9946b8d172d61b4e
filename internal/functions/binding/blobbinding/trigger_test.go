package blobbinding

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/substrate"
)

func openSubstrate(t *testing.T, dir string) *substrate.Substrate {
	t.Helper()
	sub, err := substrate.Open(context.Background(), substrate.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// function makes a function of app "app" whose bindings are given as JSON.
func function(t *testing.T, name, bindings, hostJSON string, env *binding.Env) *binding.Function {
	t.Helper()
	def, err := appconfig.ParseFunction(name, []byte(`{"bindings":`+bindings+`}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := binding.ValidateFunction(def); err != nil {
		t.Fatal(err)
	}
	if hostJSON == "" {
		hostJSON = `{"version":"2.0"}`
	}
	hc, err := appconfig.ParseHost([]byte(hostJSON), nil)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
	ti := 0
	for i, b := range def.Bindings {
		if b.IsTrigger() {
			ti = i
		}
	}
	return &binding.Function{App: "app", Def: def, Host: hc, TriggerIx: ti, Env: env,
		Settings: func(k string) (string, bool) { v, ok := settings[k]; return v, ok }}
}

// recorder is an Invoker that records invocations and fails while fail returns true.
type recorder struct {
	mu    sync.Mutex
	calls []*binding.Invocation
	fail  func(inv *binding.Invocation, n int) bool
	block chan struct{} // when set, invocations wait on it
}

func (r *recorder) Invoke(ctx context.Context, inv *binding.Invocation) (*binding.Result, error) {
	r.mu.Lock()
	r.calls = append(r.calls, inv)
	n := len(r.calls)
	fail := r.fail
	block := r.block
	r.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil && fail(inv, n) {
		return nil, errors.New("the worker answered 500 Internal Server Error")
	}
	return &binding.Result{}, nil
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		var s string
		json.Unmarshal(c.Metadata["BlobTrigger"], &s)
		out = append(out, s)
	}
	return out
}

func (r *recorder) count(blobTrigger string) int {
	n := 0
	for _, s := range r.names() {
		if s == blobTrigger {
			n++
		}
	}
	return n
}

func eventually(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func start(t *testing.T, fn *binding.Function, inv binding.Invoker) func() {
	t.Helper()
	stop, err := Trigger{}.Start(context.Background(), fn, inv)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	once := sync.Once{}
	s := func() { once.Do(stop) }
	t.Cleanup(s)
	return s
}

const imagesTrigger = `[{"type":"blobTrigger","direction":"in","name":"blob","path":"images/{name}"}]`

func TestTriggerPayload(t *testing.T) {
	st := newFakeStorage()
	env := &binding.Env{Substrate: openSubstrate(t, t.TempDir()), Storage: st, Node: "n1", Logger: testLogger()}
	fn := function(t, "docs", `[{"type":"blobTrigger","direction":"in","name":"doc","path":"docs/{name}.{ext}","dataType":"binary"}]`, "", env)
	rec := &recorder{}
	start(t, fn, rec)
	etag := st.acct.upload("docs", "reports/q1.v2.pdf", "%PDF\x00\xff")
	st.acct.upload("docs", "noextension", "x") // does not match the pattern
	st.acct.upload("other", "a.txt", "x")      // another container
	eventually(t, 5*time.Second, "one invocation", func() bool { return len(rec.names()) == 1 })
	time.Sleep(100 * time.Millisecond)
	if got := rec.names(); len(got) != 1 || got[0] != "docs/reports/q1.v2.pdf" {
		t.Fatalf("invocations for %v", got)
	}
	inv := rec.calls[0]
	if inv.Function != "docs" {
		t.Errorf("Function = %q", inv.Function)
	}
	if got, want := string(inv.Data["doc"]), `"`+base64.StdEncoding.EncodeToString([]byte("%PDF\x00\xff"))+`"`; got != want {
		t.Errorf("Data.doc = %s, want %s", got, want)
	}
	want := map[string]string{
		"name": `"reports/q1.v2"`, "ext": `"pdf"`, "BlobTrigger": `"docs/reports/q1.v2.pdf"`,
		"Uri": `"http://127.0.0.1:10000/devstoreaccount1/docs/reports/q1.v2.pdf"`, "Metadata": `{"k":"v"}`,
	}
	for k, v := range want {
		if got := string(inv.Metadata[k]); got != v {
			t.Errorf("Metadata.%s = %s, want %s", k, got, v)
		}
	}
	var props map[string]any
	if err := json.Unmarshal(inv.Metadata["Properties"], &props); err != nil {
		t.Fatal(err)
	}
	if props["ContentLength"] != 6.0 || props["Length"] != 6.0 || props["ETag"] != etag || props["ContentType"] != "text/plain" || props["BlobType"] != "BlockBlob" {
		t.Errorf("Properties = %v", props)
	}
	for _, k := range []string{"LastModified", "CreatedOn", "Created"} {
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(props[k])); err != nil {
			t.Errorf("Properties.%s = %v", k, props[k])
		}
	}
}

func TestTriggerStringContent(t *testing.T) {
	st := newFakeStorage()
	env := &binding.Env{Substrate: openSubstrate(t, t.TempDir()), Storage: st}
	rec := &recorder{}
	start(t, function(t, "f", imagesTrigger, "", env), rec)
	st.acct.upload("images", "a.txt", "héllo \xff")
	eventually(t, 5*time.Second, "an invocation", func() bool { return len(rec.names()) == 1 })
	if got := string(rec.calls[0].Data["blob"]); got != `"héllo �"` {
		t.Fatalf("Data.blob = %s", got)
	}
}

func TestTriggerOncePerVersion(t *testing.T) {
	st := newFakeStorage()
	sub := openSubstrate(t, t.TempDir())
	// Two instances of the app (two hosts, or two nodes) on one substrate.
	recA, recB := &recorder{}, &recorder{}
	start(t, function(t, "f", imagesTrigger, "", &binding.Env{Substrate: sub, Storage: st, Node: "a"}), recA)
	start(t, function(t, "f", imagesTrigger, "", &binding.Env{Substrate: sub, Storage: st, Node: "b"}), recB)
	const n = 40
	for i := range n {
		st.acct.upload("images", fmt.Sprintf("img%02d.png", i), "x")
	}
	total := func() int { return len(recA.names()) + len(recB.names()) }
	eventually(t, 10*time.Second, "every blob", func() bool { return total() >= n })
	time.Sleep(300 * time.Millisecond)
	if total() != n {
		t.Fatalf("%d invocations for %d blobs (a %d, b %d)", total(), n, len(recA.names()), len(recB.names()))
	}
	for i := range n {
		name := fmt.Sprintf("images/img%02d.png", i)
		if c := recA.count(name) + recB.count(name); c != 1 {
			t.Errorf("%s fired %d times", name, c)
		}
	}
	// An overwrite is a new version: it fires again, once.
	st.acct.upload("images", "img00.png", "y")
	eventually(t, 5*time.Second, "the overwrite", func() bool { return total() == n+1 })
	time.Sleep(300 * time.Millisecond)
	if c := recA.count("images/img00.png") + recB.count("images/img00.png"); c != 2 || total() != n+1 {
		t.Fatalf("after the overwrite img00 fired %d times, %d in all", c, total())
	}
}

func TestTriggerRestart(t *testing.T) {
	st := newFakeStorage()
	dir := t.TempDir()
	sub := openSubstrate(t, dir)
	rec1 := &recorder{}
	stop := start(t, function(t, "f", imagesTrigger, "", &binding.Env{Substrate: sub, Storage: st}), rec1)
	st.acct.upload("images", "before.png", "x")
	st.acct.upload("images", "before2.png", "x")
	eventually(t, 5*time.Second, "two invocations", func() bool { return len(rec1.names()) == 2 })
	stop()
	// Written while the app is down; and one that was processed changes.
	st.acct.upload("images", "down.png", "x")
	st.acct.upload("images", "before2.png", "changed")
	rec2 := &recorder{}
	start(t, function(t, "f", imagesTrigger, "", &binding.Env{Substrate: sub, Storage: st}), rec2)
	eventually(t, 5*time.Second, "the scan", func() bool { return len(rec2.names()) == 2 })
	time.Sleep(300 * time.Millisecond)
	if rec2.count("images/down.png") != 1 || rec2.count("images/before2.png") != 1 || rec2.count("images/before.png") != 0 {
		t.Fatalf("after the restart: %v", rec2.names())
	}
}

func TestTriggerPoison(t *testing.T) {
	st := newFakeStorage()
	env := &binding.Env{Substrate: openSubstrate(t, t.TempDir()), Storage: st, Logger: testLogger()}
	rec := &recorder{fail: func(inv *binding.Invocation, _ int) bool { return true }}
	start(t, function(t, "fail", imagesTrigger, "", env), rec)
	etag := st.acct.upload("images", "bad.png", "x")
	eventually(t, 10*time.Second, "a poison message", func() bool { return len(st.acct.messages(PoisonQueue)) > 0 })
	time.Sleep(300 * time.Millisecond)
	if n := rec.count("images/bad.png"); n != DefaultPoisonBlobThreshold {
		t.Fatalf("%d attempts, want %d", n, DefaultPoisonBlobThreshold)
	}
	msgs := st.acct.messages(PoisonQueue)
	if len(msgs) != 1 {
		t.Fatalf("%d poison messages", len(msgs))
	}
	raw, err := base64.StdEncoding.DecodeString(msgs[0])
	if err != nil {
		t.Fatalf("poison message %q is not base64: %v", msgs[0], err)
	}
	want := `{"Type":"BlobTrigger","FunctionId":"app.Functions.fail","BlobType":"BlockBlob","ContainerName":"images","BlobName":"bad.png","ETag":` + jsonQuote(etag) + `}`
	if string(raw) != want {
		t.Fatalf("poison message\n%s\nwant\n%s", raw, want)
	}
	// A new version is tried again.
	st.acct.upload("images", "bad.png", "y")
	eventually(t, 10*time.Second, "the second poison message", func() bool { return len(st.acct.messages(PoisonQueue)) == 2 })
}

func jsonQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestTriggerPoisonThresholdAndRawEncoding(t *testing.T) {
	st := newFakeStorage()
	env := &binding.Env{Substrate: openSubstrate(t, t.TempDir()), Storage: st}
	rec := &recorder{fail: func(inv *binding.Invocation, n int) bool { return true }}
	host := `{"version":"2.0","extensions":{"blobs":{"poisonBlobThreshold":2},"queues":{"messageEncoding":"none"}}}`
	start(t, function(t, "fail", imagesTrigger, host, env), rec)
	st.acct.upload("images", "bad.png", "x")
	eventually(t, 10*time.Second, "a poison message", func() bool { return len(st.acct.messages(PoisonQueue)) > 0 })
	if n := rec.count("images/bad.png"); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
	if m := st.acct.messages(PoisonQueue)[0]; !strings.HasPrefix(m, `{"Type":"BlobTrigger"`) {
		t.Fatalf("poison message %q, want raw JSON", m)
	}
}

func TestTriggerRetrySucceeds(t *testing.T) {
	st := newFakeStorage()
	env := &binding.Env{Substrate: openSubstrate(t, t.TempDir()), Storage: st}
	rec := &recorder{fail: func(inv *binding.Invocation, n int) bool { return n < 3 }}
	start(t, function(t, "f", imagesTrigger, "", env), rec)
	st.acct.upload("images", "flaky.png", "x")
	eventually(t, 10*time.Second, "three attempts", func() bool { return rec.count("images/flaky.png") == 3 })
	time.Sleep(300 * time.Millisecond)
	if n := rec.count("images/flaky.png"); n != 3 || len(st.acct.messages(PoisonQueue)) != 0 {
		t.Fatalf("%d attempts, %d poison messages", n, len(st.acct.messages(PoisonQueue)))
	}
}

// A version claimed by an instance that died is taken over once its lease runs out; the lost attempt counts.
func TestTriggerExpiredLease(t *testing.T) {
	st := newFakeStorage()
	sub := openSubstrate(t, t.TempDir())
	etag := st.acct.upload("images", "orphan.png", "x")
	rc, err := openReceipts(context.Background(), sub, "app", "f")
	if err != nil {
		t.Fatal(err)
	}
	key := ReceiptKey("app", "f", "devstoreaccount1", "images", "orphan.png")
	dead := &Receipt{App: "app", Function: "f", Account: "devstoreaccount1", Container: "images", Blob: "orphan.png", ETag: etag,
		State: StateRunning, Attempts: 1, Owner: "dead/1", Lease: time.Now().Add(700 * time.Millisecond), Updated: time.Now()}
	if _, ok, err := rc.put(context.Background(), key, dead, 0); !ok || err != nil {
		t.Fatalf("put: %v %v", ok, err)
	}
	rec := &recorder{}
	start(t, function(t, "f", imagesTrigger, "", &binding.Env{Substrate: sub, Storage: st}), rec)
	time.Sleep(300 * time.Millisecond)
	if n := len(rec.names()); n != 0 {
		t.Fatalf("fired %d times while another instance held the lease", n)
	}
	eventually(t, 5*time.Second, "the take-over", func() bool { return len(rec.names()) == 1 })
	eventually(t, 5*time.Second, "the receipt", func() bool {
		r, _, _ := rc.get(context.Background(), key)
		return r != nil && r.State == StateDone && r.Attempts == 2
	})
}

// An invocation that runs longer than the lease keeps it by renewing it: a second instance never takes over.
func TestTriggerLeaseRenewal(t *testing.T) {
	old := leaseDuration
	leaseDuration = 300 * time.Millisecond
	t.Cleanup(func() { leaseDuration = old })
	st := newFakeStorage()
	sub := openSubstrate(t, t.TempDir())
	block := make(chan struct{})
	recA := &recorder{block: block}
	start(t, function(t, "f", imagesTrigger, "", &binding.Env{Substrate: sub, Storage: st, Node: "a"}), recA)
	st.acct.upload("images", "slow.png", "x")
	eventually(t, 5*time.Second, "the first instance", func() bool { return len(recA.names()) == 1 })
	recB := &recorder{}
	start(t, function(t, "f", imagesTrigger, "", &binding.Env{Substrate: sub, Storage: st, Node: "b"}), recB)
	time.Sleep(4 * leaseDuration)
	close(block)
	time.Sleep(200 * time.Millisecond)
	if n := len(recB.names()); n != 0 {
		t.Fatalf("the second instance ran the blob %d times while the first held it", n)
	}
}

func TestTriggerDeletedBeforeProcessing(t *testing.T) {
	st := newFakeStorage()
	sub := openSubstrate(t, t.TempDir())
	rec := &recorder{fail: func(*binding.Invocation, int) bool { return true }, block: make(chan struct{})}
	start(t, function(t, "f", imagesTrigger, "", &binding.Env{Substrate: sub, Storage: st}), rec)
	st.acct.upload("images", "gone.png", "x")
	eventually(t, 5*time.Second, "the first attempt", func() bool { return len(rec.names()) == 1 })
	st.acct.remove("images", "gone.png")
	close(rec.block) // the attempt fails; the retry finds no blob and drops the receipt
	rc, _ := openReceipts(context.Background(), sub, "app", "f")
	eventually(t, 5*time.Second, "the receipt to go", func() bool {
		r, _, err := rc.get(context.Background(), ReceiptKey("app", "f", "devstoreaccount1", "images", "gone.png"))
		return err == nil && r == nil
	})
}

func TestTriggerStop(t *testing.T) {
	st := newFakeStorage()
	rec := &recorder{}
	stop := start(t, function(t, "f", imagesTrigger, "", &binding.Env{Substrate: openSubstrate(t, t.TempDir()), Storage: st}), rec)
	st.acct.upload("images", "a.png", "x")
	eventually(t, 5*time.Second, "an invocation", func() bool { return len(rec.names()) == 1 })
	stop()
	st.acct.upload("images", "b.png", "x")
	time.Sleep(200 * time.Millisecond)
	if n := len(rec.names()); n != 1 {
		t.Fatalf("%d invocations after stop", n)
	}
}

func TestTriggerNeedsPlatform(t *testing.T) {
	fn := function(t, "f", imagesTrigger, "", &binding.Env{})
	if _, err := (Trigger{}).Start(context.Background(), fn, &recorder{}); err == nil || !strings.Contains(err.Error(), "substrate") {
		t.Fatalf("Start without a substrate: %v", err)
	}
	fn = function(t, "f", imagesTrigger, "", &binding.Env{Substrate: openSubstrate(t, t.TempDir())})
	if _, err := (Trigger{}).Start(context.Background(), fn, &recorder{}); err == nil || !strings.Contains(err.Error(), "Blob storage") {
		t.Fatalf("Start without storage: %v", err)
	}
	fn = function(t, "f", `[{"type":"blobTrigger","direction":"in","name":"b","path":"images/{name}","connection":"Nope"}]`, "",
		&binding.Env{Substrate: openSubstrate(t, t.TempDir()), Storage: newFakeStorage()})
	if _, err := (Trigger{}).Start(context.Background(), fn, &recorder{}); err == nil || !strings.Contains(err.Error(), `app setting "Nope" is not set`) {
		t.Fatalf("Start with an unset connection: %v", err)
	}
}
