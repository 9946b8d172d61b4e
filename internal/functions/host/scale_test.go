package host_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/host"
	"github.com/lapisdev/lapis/internal/functions/metering"
)

// scaleApp builds testdata/scale: "work" sleeps ?ms= and answers its worker's pid; "fail" answers 500.
func scaleApp(t *testing.T) string {
	t.Helper()
	dir := copyApp(t, "scale")
	goBuild(t, ".", filepath.Join(dir, "handler"), "./testdata/scale/handler")
	return dir
}

// logs records the host's log messages.
type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "via" || a.Key == "protocol" {
			l.msgs = append(l.msgs, a.Key+" "+a.Value.String())
		}
		return true
	})
	l.mu.Unlock()
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

func (l *logs) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// records collects metering records.
type records struct {
	mu  sync.Mutex
	all []metering.Execution
}

func (r *records) add(e metering.Execution) {
	r.mu.Lock()
	r.all = append(r.all, e)
	r.mu.Unlock()
}

func (r *records) get() []metering.Execution {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]metering.Execution(nil), r.all...)
}

func (r *records) last(t *testing.T) metering.Execution {
	t.Helper()
	all := r.get()
	if len(all) == 0 {
		t.Fatal("no metering record")
	}
	return all[len(all)-1]
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// work calls the work function and returns the answering worker's pid.
func work(t *testing.T, base string, ms int) int {
	t.Helper()
	resp, err := http.Get(base + "/api/work?ms=" + strconv.Itoa(ms))
	if err != nil {
		t.Error(err)
		return 0
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("work: %d %s", resp.StatusCode, b)
		return 0
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Errorf("work: body %q", b)
	}
	return pid
}

func TestScaleOut(t *testing.T) {
	dir := scaleApp(t)
	l := &logs{}
	h, srv := startHost(t, host.Options{Dir: dir, Scale: host.Scale{Target: 1, Max: 3}, Logger: slog.New(l)})
	if n := h.Instances(); n != 1 {
		t.Fatalf("after Start: %d instances, want 1", n)
	}
	if s := h.Scale(); s.Target != 1 || s.Max != 3 || s.Min != 0 {
		t.Fatalf("Scale() = %+v", s)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	pids := map[int]bool{}
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				pid := work(t, srv.URL, 150)
				mu.Lock()
				pids[pid] = true
				mu.Unlock()
			}
		}()
	}
	most := 0
	deadline := time.Now().Add(20 * time.Second)
	var reachedAt time.Time
	for time.Now().Before(deadline) && (reachedAt.IsZero() || time.Since(reachedAt) < 500*time.Millisecond) {
		n := h.Instances()
		if n > 3 {
			t.Errorf("%d instances, above Max 3", n)
		}
		most = max(most, n)
		if n == 3 && reachedAt.IsZero() {
			reachedAt = time.Now()
		}
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if most < 2 {
		t.Fatalf("instances never rose above 1 under load (max %d)", most)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pids) < 2 {
		t.Fatalf("all requests were served by %d instance(s): %v", len(pids), pids)
	}
	if l.count("scaled out") == 0 {
		t.Error(`no "scaled out" log`)
	}
	t.Logf("max %d instances, %d distinct workers served", most, len(pids))
}

func TestScaleToZero(t *testing.T) {
	dir := scaleApp(t)
	rec := &records{}
	l := &logs{}
	h, srv := startHost(t, host.Options{Dir: dir, Scale: host.Scale{Max: 3, IdleTimeout: 200 * time.Millisecond},
		Meter: rec.add, Logger: slog.New(l)})
	if n := h.Instances(); n != 1 {
		t.Fatalf("after Start: %d instances, want 1", n)
	}
	work(t, srv.URL, 0)
	if e := rec.last(t); e.ColdStart != 0 {
		t.Fatalf("warm invocation reported a cold start of %v", e.ColdStart)
	}
	waitFor(t, "scale to zero", func() bool { return h.Instances() == 0 })
	if l.count("scaled to zero") != 1 {
		t.Errorf(`"scaled to zero" logged %d times`, l.count("scaled to zero"))
	}

	// The next invocation is a cold start, and succeeds.
	started := l.count("worker started")
	work(t, srv.URL, 0)
	e := rec.last(t)
	if e.ColdStart <= 0 || !e.Succeeded {
		t.Fatalf("after scale to zero: %+v, want a successful cold start", e)
	}
	if got := l.count("worker started") - started; got != 1 {
		t.Fatalf("%d instances started for one cold start", got)
	}
	if l.count("cold start") == 0 {
		t.Error(`no "cold start" log`)
	}

	// Invocations arriving during a cold start share it.
	waitFor(t, "scale to zero again", func() bool { return h.Instances() == 0 })
	started = l.count("worker started")
	n := len(rec.get())
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(t, srv.URL, 0)
		}()
	}
	wg.Wait()
	if got := l.count("worker started") - started; got != 1 {
		t.Fatalf("%d instances started for 5 invocations arriving together at zero, want 1", got)
	}
	cold := 0
	for _, e := range rec.get()[n:] {
		if e.ColdStart > 0 {
			cold++
		}
	}
	if cold == 0 {
		t.Fatal("no invocation reported the cold start")
	}
}

func TestMinAndPreWarmed(t *testing.T) {
	dir := scaleApp(t)
	rec := &records{}
	l := &logs{}
	h, srv := startHost(t, host.Options{Dir: dir, Scale: host.Scale{Min: 1, PreWarmed: 1, Max: 3, IdleTimeout: 200 * time.Millisecond},
		Meter: rec.add, Logger: slog.New(l)})
	if n := h.Instances(); n < 1 {
		t.Fatalf("after Start: %d instances, want at least Min 1", n)
	}
	watch := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if n := h.Instances(); n < 1 {
				t.Fatalf("%d instances, below Min 1", n)
			}
		}
	}
	for range 4 {
		work(t, srv.URL, 50)
		watch(400 * time.Millisecond) // longer than IdleTimeout
	}
	// The pre-warmed instance started while one was busy is stopped once idle, down to Min.
	waitFor(t, "scale in to Min", func() bool { return h.Instances() == 1 })
	watch(400 * time.Millisecond)
	if l.count("scaled in") == 0 {
		t.Error(`no "scaled in" log`)
	}

	for _, e := range rec.get() {
		if e.ColdStart != 0 {
			t.Fatalf("invocation %s reported a cold start of %v with Min 1", e.InvocationID, e.ColdStart)
		}
	}
	if l.count("cold start") != 0 || l.count("scaled to zero") != 0 {
		t.Fatal("a cold start or scale to zero with Min 1")
	}
}

func TestMinRestartsCrashed(t *testing.T) {
	dir := scaleApp(t)
	l := &logs{}
	h, srv := startHost(t, host.Options{Dir: dir, Scale: host.Scale{Min: 1, IdleTimeout: 200 * time.Millisecond}, Logger: slog.New(l)})
	started := l.count("worker started")
	pid := work(t, srv.URL, 0)
	if err := killProcess(pid); err != nil {
		t.Fatal(err)
	}
	// Restarted without an invocation.
	waitFor(t, "a replacement instance", func() bool { return l.count("worker started") > started && h.Instances() == 1 })
	if l.count("worker exited") != 1 {
		t.Fatalf(`"worker exited" logged %d times`, l.count("worker exited"))
	}
	if p := work(t, srv.URL, 0); p == pid || p == 0 {
		t.Fatalf("served by %d after the crash of %d", p, pid)
	}
}

func TestShutdownDrains(t *testing.T) {
	dir := scaleApp(t)
	h, err := host.New(host.Options{Dir: dir, Scale: host.Scale{Max: 2, Target: 3}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var arrived atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	pids := map[int]bool{}
	call := func(ms int) {
		defer wg.Done()
		pid := work(t, srv.URL, ms)
		mu.Lock()
		pids[pid] = true
		mu.Unlock()
	}
	for range n {
		wg.Add(1)
		go call(1000)
	}
	waitFor(t, "the requests to arrive", func() bool { return arrived.Load() == n })
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		errc <- h.Shutdown(ctx)
	}()
	time.Sleep(100 * time.Millisecond)
	wg.Add(1)
	call(0) // arrives while the others are in flight: it still runs
	wg.Wait()
	if err := <-errc; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}
	if got := h.Instances(); got != 0 {
		t.Fatalf("%d instances after Shutdown", got)
	}
	for pid := range pids {
		if processExists(pid) {
			t.Errorf("worker %d still exists after Shutdown", pid)
		}
	}
	if code, body := do(t, "GET", srv.URL+"/api/work", nil); code != 500 || !strings.Contains(body, "closed") {
		t.Fatalf("after Shutdown: %d %q", code, body)
	}
}

func TestShutdownDeadline(t *testing.T) {
	dir := scaleApp(t)
	h, srv := startHost(t, host.Options{Dir: dir})
	done := make(chan int, 1)
	go func() {
		code, _ := do(t, "GET", srv.URL+"/api/work?ms=60000", nil)
		done <- code
	}()
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := h.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	select {
	case code := <-done:
		if code != 500 {
			t.Fatalf("killed invocation answered %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the invocation in flight did not fail when its worker was killed")
	}
	if h.Instances() != 0 {
		t.Fatal("instances left")
	}
}

func TestMaxFunctionTimeout(t *testing.T) {
	app := func(timeout string) string {
		dir := t.TempDir()
		hj := `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"sh"}}`
		if timeout != "" {
			hj += `,"functionTimeout":"` + timeout + `"`
		}
		os.WriteFile(filepath.Join(dir, "host.json"), []byte(hj+"}"), 0o644)
		os.Mkdir(filepath.Join(dir, "f"), 0o755)
		os.WriteFile(filepath.Join(dir, "f", "function.json"), []byte(`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"}]}`), 0o644)
		return dir
	}
	for _, c := range []struct {
		timeout string
		err     string
		want    time.Duration
	}{
		{"00:20:00", "host.json: functionTimeout: 00:20:00 is not allowed on this plan; must be between 00:00:01 and 00:10:00", 0},
		{"-1", "host.json: functionTimeout: -1 (no limit) is not allowed on this plan; must be between 00:00:01 and 00:10:00", 0},
		{"00:10:00", "", 10 * time.Minute},
		{"00:00:30", "", 30 * time.Second},
		{"", "", 5 * time.Minute}, // the default
	} {
		h, err := host.New(host.Options{Dir: app(c.timeout), MaxFunctionTimeout: 10 * time.Minute, DefaultFunctionTimeout: 5 * time.Minute})
		if c.err != "" {
			var fe *appconfig.FieldError
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &fe) || fe.File != "host.json" || fe.Path != "functionTimeout" {
				t.Errorf("%q: err = %v, want %q", c.timeout, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.timeout, err)
			continue
		}
		if got := h.FunctionTimeout(); got != c.want {
			t.Errorf("%q: FunctionTimeout = %v, want %v", c.timeout, got, c.want)
		}
	}
	// Without a plan maximum, -1 is no timeout.
	h, err := host.New(host.Options{Dir: app("-1")})
	if err != nil || h.FunctionTimeout() != 0 {
		t.Fatalf("unbounded plan: %v, %v", h, err)
	}
	// A default above the plan's maximum is capped.
	h, err = host.New(host.Options{Dir: app(""), MaxFunctionTimeout: time.Minute, DefaultFunctionTimeout: 5 * time.Minute})
	if err != nil || h.FunctionTimeout() != time.Minute {
		t.Fatalf("capped default: %v, %v", h.FunctionTimeout(), err)
	}
}

func TestMeter(t *testing.T) {
	dir := scaleApp(t)
	rec := &records{}
	var m metering.Meter
	_, srv := startHost(t, host.Options{Dir: dir, Name: "metered", AuthDisabled: true,
		Meter: func(e metering.Execution) { rec.add(e); m.Add(e) }})
	work(t, srv.URL, 120) // forwarded
	if code, _ := do(t, "GET", srv.URL+"/api/fail", nil); code != 500 {
		t.Fatalf("fail: %d", code)
	}
	for _, c := range []struct {
		fn   string
		want int
	}{{"work", 202}, {"fail", 500}} { // payload invocations
		req, _ := http.NewRequest("POST", srv.URL+"/admin/functions/"+c.fn, strings.NewReader(`{"input":"x"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("admin %s: %d", c.fn, resp.StatusCode)
		}
	}
	if code, _ := do(t, "GET", srv.URL+"/api/nothing", nil); code != 404 {
		t.Fatal("404")
	}

	all := rec.get()
	if len(all) != 4 {
		t.Fatalf("%d records, want 4: %+v", len(all), all)
	}
	for i, want := range []struct {
		fn string
		ok bool
	}{{"work", true}, {"fail", false}, {"work", true}, {"fail", false}} {
		e := all[i]
		if e.Function != want.fn || e.Succeeded != want.ok || e.App != "metered" || e.Trigger != "httpTrigger" ||
			e.InvocationID == "" || e.Duration <= 0 || e.ColdStart != 0 || e.Start.IsZero() {
			t.Errorf("record %d: %+v, want %s succeeded=%v", i, e, want.fn, want.ok)
		}
		if runtime.GOOS == "linux" && e.MemoryBytes <= 0 {
			t.Errorf("record %d: no memory reading", i)
		}
	}
	if all[0].Duration < 120*time.Millisecond {
		t.Errorf("duration %v, want at least the function's 120 ms", all[0].Duration)
	}
	snap := m.Snapshot()
	if w, f := snap["work"], snap["fail"]; w.Executions != 2 || w.Successes != 2 || f.Failures != 2 || f.Successes != 0 ||
		w.ExecutionUnits < 100*128+120*128 {
		t.Fatalf("usage %+v", snap)
	}
}
