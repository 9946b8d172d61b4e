package retry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/retry"
	"github.com/lapisdev/lapis/internal/functions/schedule/schedtest"
	"github.com/lapisdev/lapis/internal/substrate"
)

var t0 = time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC)

// attempts records the RetryContexts a Run passes and fails the first failures of them.
type attempts struct {
	mu       sync.Mutex
	seen     []*retry.Context
	failures int
	ch       chan *retry.Context
}

func newAttempts(failures int) *attempts {
	return &attempts{failures: failures, ch: make(chan *retry.Context, 100)}
}

func (a *attempts) invoke(_ context.Context, rc *retry.Context) error {
	a.mu.Lock()
	a.seen = append(a.seen, rc)
	n := len(a.seen)
	a.mu.Unlock()
	a.ch <- rc
	if rc != nil && rc.RetryCount < a.failures || rc == nil && a.failures > 0 {
		return fmt.Errorf("attempt %d failed", n)
	}
	return nil
}

func (a *attempts) next(t *testing.T) *retry.Context {
	t.Helper()
	select {
	case rc := <-a.ch:
		return rc
	case <-time.After(30 * time.Second):
		t.Fatal("no attempt")
		return nil
	}
}

func TestContextJSON(t *testing.T) {
	first := (&retry.Context{RetryCount: 0, MaxRetryCount: 3}).JSON()
	if string(first) != `{"RetryCount":0,"MaxRetryCount":3,"Exception":null}` {
		t.Fatalf("first attempt: %s", first)
	}
	var v map[string]any
	later := (&retry.Context{RetryCount: 2, MaxRetryCount: -1, Exception: &retry.Exception{Message: "boom"}}).JSON()
	if err := json.Unmarshal(later, &v); err != nil {
		t.Fatal(err)
	}
	ex := v["Exception"].(map[string]any)
	if v["RetryCount"] != 2.0 || v["MaxRetryCount"] != -1.0 || ex["Message"] != "boom" || ex["ClassName"] != "System.Exception" ||
		ex["HResult"] != -2146233088.0 || ex["StackTraceString"] != nil {
		t.Fatalf("retry: %s", later)
	}
	var back retry.Context
	if err := json.Unmarshal(later, &back); err != nil || back.Exception.Message != "boom" || back.RetryCount != 2 {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func TestApplies(t *testing.T) {
	for typ, want := range map[string]bool{"timerTrigger": true, "EventHubTrigger": true, "cosmosDBTrigger": true,
		"kafkaTrigger": true, "queueTrigger": false, "httpTrigger": false, "blobTrigger": false, "serviceBusTrigger": false} {
		if retry.Applies(typ) != want {
			t.Errorf("Applies(%s) = %v", typ, !want)
		}
	}
	fnPolicy, hostPolicy := &appconfig.RetryPolicy{MaxRetryCount: 1}, &appconfig.RetryPolicy{MaxRetryCount: 2}
	if retry.PolicyFor(&appconfig.Function{Retry: fnPolicy}, &appconfig.HostConfig{Retry: hostPolicy}) != fnPolicy ||
		retry.PolicyFor(&appconfig.Function{}, &appconfig.HostConfig{Retry: hostPolicy}) != hostPolicy ||
		retry.PolicyFor(&appconfig.Function{}, &appconfig.HostConfig{}) != nil {
		t.Fatal("PolicyFor")
	}
}

func TestNoPolicy(t *testing.T) {
	a := newAttempts(1)
	err := retry.Run(context.Background(), nil, retry.NewMemoryStore(), "k", a.invoke)
	if err == nil || len(a.seen) != 1 || a.seen[0] != nil {
		t.Fatalf("err %v, attempts %v", err, a.seen)
	}
}

// TestFixedDelay: attempts 0, 1, 2 fail, 3 succeeds; each retry waits for the delay on the clock.
func TestFixedDelay(t *testing.T) {
	clk := schedtest.NewClock(t0)
	p := &appconfig.RetryPolicy{Strategy: appconfig.FixedDelay, MaxRetryCount: 5, DelayInterval: 10 * time.Second}
	a := newAttempts(3)
	store := retry.NewMemoryStore()
	done := make(chan error, 1)
	go func() { done <- (&retry.Runner{Store: store, Clock: clk}).Run(context.Background(), p, "k", a.invoke) }()
	for i := 0; i <= 3; i++ {
		rc := a.next(t)
		if rc.RetryCount != i || rc.MaxRetryCount != 5 || (i == 0) != (rc.Exception == nil) {
			t.Fatalf("attempt %d: %+v", i, rc)
		}
		if i > 0 && rc.Exception.Message != fmt.Sprintf("attempt %d failed", i) {
			t.Fatalf("attempt %d: exception %q", i, rc.Exception.Message)
		}
		if i < 3 {
			// The retry is due 10 s after the failure, not before.
			waitState(t, store, "k", i+1)
			clk.Advance(9 * time.Second)
			select {
			case rc := <-a.ch:
				t.Fatalf("retry before its delay: %+v", rc)
			default:
			}
			clk.Advance(time.Second)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := store.Load(context.Background(), "k"); ok {
		t.Fatal("state left after success")
	}
}

func waitState(t *testing.T, s retry.Store, key string, count int) retry.State {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st, ok, _ := s.Load(context.Background(), key); ok && st.RetryCount == count {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("state of %s never reached %d", key, count)
	return retry.State{}
}

func TestExhausted(t *testing.T) {
	clk := schedtest.NewClock(t0)
	p := &appconfig.RetryPolicy{Strategy: appconfig.ExponentialBackoff, MaxRetryCount: 2, MinimumInterval: time.Second, MaximumInterval: 3 * time.Second}
	a := newAttempts(100)
	store := retry.NewMemoryStore()
	done := make(chan error, 1)
	go func() { done <- (&retry.Runner{Store: store, Clock: clk}).Run(context.Background(), p, "k", a.invoke) }()
	a.next(t)
	if st := waitState(t, store, "k", 1); !st.NextAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("first retry due %s", st.NextAt)
	}
	clk.Advance(time.Second)
	a.next(t)
	if st := waitState(t, store, "k", 2); !st.NextAt.Equal(t0.Add(3 * time.Second)) {
		t.Fatalf("second retry due %s, want 2 s after the failure", st.NextAt)
	}
	clk.Advance(2 * time.Second)
	if rc := a.next(t); rc.RetryCount != 2 {
		t.Fatalf("last attempt %+v", rc)
	}
	err := <-done
	var ex *retry.ExhaustedError
	if !errors.As(err, &ex) || ex.Attempts != 3 || ex.Err.Error() != "attempt 3 failed" {
		t.Fatalf("err = %v", err)
	}
	if _, ok, _ := store.Load(context.Background(), "k"); ok {
		t.Fatal("state left after exhaustion")
	}
}

func TestForever(t *testing.T) {
	clk := schedtest.NewClock(t0)
	p := &appconfig.RetryPolicy{Strategy: appconfig.FixedDelay, MaxRetryCount: -1, DelayInterval: time.Minute}
	a := newAttempts(12)
	done := make(chan error, 1)
	go func() { done <- (&retry.Runner{Clock: clk}).Run(context.Background(), p, "k", a.invoke) }()
	for i := 0; i <= 12; i++ {
		if rc := a.next(t); rc.RetryCount != i || rc.MaxRetryCount != -1 {
			t.Fatalf("attempt %d: %+v", i, rc)
		}
		if i < 12 {
			for clk.Pending() == 0 {
				time.Sleep(time.Millisecond)
			}
			clk.Advance(time.Minute)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestContinuesAcrossRestart: a Run stopped while it waits leaves its count in the substrate; a Run after the
// substrate is reopened continues it.
func TestContinuesAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := schedtest.NewClock(t0)
	p := &appconfig.RetryPolicy{Strategy: appconfig.FixedDelay, MaxRetryCount: 4, DelayInterval: 10 * time.Second}
	a := newAttempts(3)

	sub, err := substrate.Open(ctx, substrate.Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	store, err := retry.OpenStore(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- (&retry.Runner{Store: store, Clock: clk}).Run(runCtx, p, "app/fn/occurrence", a.invoke)
	}()
	a.next(t)
	waitState(t, store, "app/fn/occurrence", 1)
	clk.Advance(10 * time.Second)
	a.next(t)
	waitState(t, store, "app/fn/occurrence", 2)
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped Run: %v", err)
	}
	sub.Close()

	sub, err = substrate.Open(ctx, substrate.Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	store, err = retry.OpenStore(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- (&retry.Runner{Store: store, Clock: clk}).Run(ctx, p, "app/fn/occurrence", a.invoke) }()
	clk.Advance(10 * time.Second)
	if rc := a.next(t); rc.RetryCount != 2 || rc.Exception.Message != "attempt 2 failed" {
		t.Fatalf("after the restart: %+v", rc)
	}
	waitState(t, store, "app/fn/occurrence", 3)
	clk.Advance(10 * time.Second)
	if rc := a.next(t); rc.RetryCount != 3 {
		t.Fatalf("after the restart: %+v", rc)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, ok, err := store.Load(ctx, "app/fn/occurrence"); ok || err != nil {
		t.Fatalf("state left: %v %v", ok, err)
	}
}
