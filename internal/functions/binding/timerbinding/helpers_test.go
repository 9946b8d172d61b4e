package timerbinding_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/timerbinding"
	"github.com/lapisdev/lapis/internal/functions/functest"
	"github.com/lapisdev/lapis/internal/functions/host"
	"github.com/lapisdev/lapis/internal/functions/retry"
	"github.com/lapisdev/lapis/internal/functions/schedule/schedtest"
	"github.com/lapisdev/lapis/internal/substrate"
)

// t0 is the test clock's start: Monday 7 January 2030, 00:00:30 UTC.
var t0 = time.Date(2030, 1, 7, 0, 0, 30, 0, time.UTC)

// at returns 7 January 2030 hh:mm:ss UTC.
func at(h, m, s int) time.Time { return time.Date(2030, 1, 7, h, m, s, 0, time.UTC) }

// waitFor bounds every wait for something the system under test does; generous, for a loaded machine.
const waitFor = 60 * time.Second

var (
	workerOnce sync.Once
	workerPath string
	workerErr  error
)

// worker builds testdata/handler once per test binary.
func worker(t *testing.T) string {
	t.Helper()
	workerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "timerbinding-worker")
		if err != nil {
			workerErr = err
			return
		}
		workerPath = filepath.Join(dir, "handler")
		cmd := exec.Command("go", "build", "-o", workerPath, "./testdata/handler")
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			workerErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if workerErr != nil {
		t.Fatal(workerErr)
	}
	return workerPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if workerPath != "" {
		os.RemoveAll(filepath.Dir(workerPath))
	}
	os.Exit(code)
}

// newLogs collects log lines and shows them when the test fails.
func newLogs(t *testing.T) (*functest.Logs, *slog.Logger) {
	l := functest.NewLogs(t)
	return l, l.Logger
}

// openSubstrate opens an embedded substrate in a temporary directory, closed when the test ends (after the
// hosts, which are closed by cleanups registered later).
func openSubstrate(t *testing.T) *substrate.Substrate {
	t.Helper()
	sub, err := substrate.Open(context.Background(), substrate.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

// writeApp writes an app whose functions are the given function.json texts, run by the test worker.
func writeApp(t *testing.T, functions map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	hostJSON := fmt.Sprintf(`{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": %q}}}`, worker(t))
	if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(hostJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, fj := range functions {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "function.json"), []byte(fj), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// timerJSON is a function.json with a timer trigger named myTimer and extra properties (JSON members, without
// braces) on it, and extra top-level members after the bindings.
func timerJSON(schedule, props, top string) string {
	if props != "" {
		props = ", " + props
	}
	if top != "" {
		top = ", " + top
	}
	return fmt.Sprintf(`{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "myTimer", "schedule": %q%s}]%s}`, schedule, props, top)
}

// instance is one host of the app, recording its invocations in its own file.
type instance struct {
	h      *host.Host
	record string
}

type appRun struct {
	t        *testing.T
	dir      string
	sub      *substrate.Substrate
	clk      *schedtest.Clock
	settings map[string]string
	log      *slog.Logger
}

// start starts a host of the app named "timerapp", tagged tag.
func (a *appRun) start(tag string) (*instance, error) {
	a.t.Helper()
	record := filepath.Join(a.t.TempDir(), tag+".jsonl")
	settings := map[string]string{"RECORD_FILE": record, "HOST_TAG": tag}
	for k, v := range a.settings {
		settings[k] = v
	}
	env := &binding.Env{Substrate: a.sub, Clock: a.clk.Now, Alarm: a.clk.Until, Node: "node-" + tag, Logger: a.log.With("host", tag)}
	h, err := host.New(host.Options{Dir: a.dir, Name: "timerapp", Settings: settings, Env: env, Logger: a.log.With("host", tag)})
	if err != nil {
		return nil, err
	}
	if err := h.Start(context.Background()); err != nil {
		h.Close()
		return nil, err
	}
	a.t.Cleanup(func() { h.Close() })
	// A trigger that cannot start leaves its function in error while the others run, as in Azure; the tests
	// see that as the start's error.
	var broken []error
	for _, err := range h.Broken() {
		broken = append(broken, err)
	}
	return &instance{h: h, record: record}, errors.Join(broken...)
}

func (a *appRun) mustStart(tag string) *instance {
	a.t.Helper()
	in, err := a.start(tag)
	if err != nil {
		a.t.Fatal(err)
	}
	return in
}

// record is one invocation the worker saw.
type record struct {
	Function string
	Host     string
	Failed   bool
	Payload  struct {
		Data     map[string]json.RawMessage
		Metadata map[string]json.RawMessage
	}
}

func (r record) timer(t *testing.T) timerbinding.TimerInfo {
	t.Helper()
	var ti timerbinding.TimerInfo
	if err := json.Unmarshal(r.Payload.Data["myTimer"], &ti); err != nil {
		t.Fatalf("timer payload %s: %v", r.Payload.Data["myTimer"], err)
	}
	return ti
}

func (r record) retryContext(t *testing.T) *retry.Context {
	t.Helper()
	raw, ok := r.Payload.Metadata["RetryContext"]
	if !ok {
		return nil
	}
	var rc retry.Context
	if err := json.Unmarshal(raw, &rc); err != nil {
		t.Fatalf("RetryContext %s: %v", raw, err)
	}
	return &rc
}

func readRecords(t *testing.T, ins ...*instance) []record {
	t.Helper()
	var out []record
	for _, in := range ins {
		f, err := os.Open(in.record)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				f.Close()
				t.Fatalf("record %q: %v", sc.Text(), err)
			}
			out = append(out, r)
		}
		f.Close()
	}
	return out
}

// waitRecords waits until the instances have recorded n invocations in all, and returns them.
func waitRecords(t *testing.T, n int, ins ...*instance) []record {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		rs := readRecords(t, ins...)
		if len(rs) >= n {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d invocations recorded, want %d: %+v", len(rs), n, rs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitUntil polls cond until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// timerState reads a timer's records from the substrate, as the trigger keeps them.
func timerState(t *testing.T, sub *substrate.Substrate, app, fn, what string) map[string]any {
	t.Helper()
	kv, err := sub.KeyValue(context.Background(), "functions", substrate.KVSpec{Name: timerbinding.Bucket, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(context.Background(), substrate.Token(strings.ToLower(app))+"."+substrate.Token(strings.ToLower(fn))+"."+what)
	if err != nil {
		return nil
	}
	var v map[string]any
	json.Unmarshal(e.Value(), &v)
	return v
}

// waitFinished waits until the substrate shows occurrence occ of app/fn finished and its status recorded: after
// that the hosts have no more to do for it, and the test clock may jump ahead.
func waitFinished(t *testing.T, sub *substrate.Substrate, fn string, occ time.Time) {
	t.Helper()
	waitUntil(t, "occurrence "+occ.Format(time.RFC3339)+" finished", func() bool {
		c := timerState(t, sub, "timerapp", fn, "claim")
		if c == nil || c["done"] != true {
			return false
		}
		ct, _ := time.Parse(time.RFC3339Nano, c["occurrence"].(string))
		if ct.Before(occ) {
			return false
		}
		s := timerState(t, sub, "timerapp", fn, "status")
		if s == nil {
			return true // not monitored
		}
		last, _ := time.Parse(time.RFC3339Nano, s["last"].(string))
		return !last.Before(occ)
	})
}

// waitRetryState waits until the retry state of occurrence occ of app/fn has count failed attempts recorded.
func waitRetryState(t *testing.T, sub *substrate.Substrate, fn string, occ time.Time, count int) {
	t.Helper()
	store, err := retry.OpenStore(context.Background(), sub)
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("timerapp/%s/%d", fn, occ.UnixNano())
	waitUntil(t, fmt.Sprintf("retry state %d of %s", count, key), func() bool {
		st, ok, err := store.Load(context.Background(), key)
		return err == nil && ok && st.RetryCount == count
	})
}
