package queuebinding_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/queuebinding"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/queue"
)

// startTrigger starts the queue trigger of a one-function app on queue q with an invoker in the test.
func startTrigger(t *testing.T, l *lapis, q string, opts func(*appconfig.QueueOptions), inv binding.InvokerFunc) func() {
	t.Helper()
	fn := function(t, `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"`+q+`"}]}`,
		map[string]string{"AzureWebJobsStorage": l.conn}, l.inProcess(t))
	if opts != nil {
		opts(&fn.Host.Queues)
	}
	tr, _ := binding.Lookup(queuebinding.TriggerType)
	stop, err := tr.(binding.Trigger).Start(context.Background(), fn, inv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return stop
}

func (l *lapis) account(t *testing.T) storageclient.Account {
	t.Helper()
	a, err := l.inProcess(t).Account(context.Background(), l.conn)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (l *lapis) svc() *queue.Service { return l.srv.Service("queue").(*queue.Service) }

func messagesIn(t *testing.T, l *lapis, q string) int {
	t.Helper()
	info, err := l.svc().GetQueue(context.Background(), account.DevAccount, q)
	if err != nil {
		t.Fatal(err)
	}
	return info.ApproximateMessages
}

// TestLeaseRenewedWhileRunning: a message whose function runs past its lease is not delivered again.
func TestLeaseRenewedWhileRunning(t *testing.T) {
	old := queuebinding.Lease
	queuebinding.Lease = 2 * time.Second
	defer func() { queuebinding.Lease = old }()
	l := startLapis(t)
	var calls atomic.Int32
	done := make(chan struct{})
	startTrigger(t, l, "long", nil, func(ctx context.Context, inv *binding.Invocation) (*binding.Result, error) {
		if calls.Add(1) == 1 {
			time.Sleep(5 * time.Second)
			close(done)
		}
		return &binding.Result{}, nil
	})
	if _, err := l.account(t).PutMessage(context.Background(), "long", "x", 0, 0); err != nil {
		t.Fatal(err)
	}
	<-done
	eventually(t, 5*time.Second, "the message deleted", func() bool { return messagesIn(t, l, "long") == 0 })
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d invocations, want 1: the lease was not renewed", n)
	}
}

// TestVisibilityTimeoutAndMaxDequeueCount: a failed message comes back after visibilityTimeout, and goes to the
// poison queue at maxDequeueCount.
func TestVisibilityTimeoutAndMaxDequeueCount(t *testing.T) {
	l := startLapis(t)
	var mu sync.Mutex
	var at []time.Time
	var counts []string
	startTrigger(t, l, "retry", func(o *appconfig.QueueOptions) {
		o.VisibilityTimeout, o.MaxDequeueCount = 1500*time.Millisecond, 2
	}, func(ctx context.Context, inv *binding.Invocation) (*binding.Result, error) {
		mu.Lock()
		at = append(at, time.Now())
		counts = append(counts, string(inv.Metadata["DequeueCount"]))
		mu.Unlock()
		return nil, errors.New("no")
	})
	if _, err := l.account(t).PutMessage(context.Background(), "retry", "r", 0, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the poison message", func() bool {
		_, err := l.svc().GetQueue(context.Background(), account.DevAccount, "retry-poison")
		return err == nil && messagesIn(t, l, "retry-poison") == 1
	})
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 2 || counts[0] != "1" || counts[1] != "2" {
		t.Fatalf("attempts %q", counts)
	}
	if d := at[1].Sub(at[0]); d < 1400*time.Millisecond {
		t.Fatalf("retried after %v, want visibilityTimeout 1.5 s", d)
	}
}

// TestOverDequeuedMessageIsPoisonedUnseen: a message dequeued more than maxDequeueCount times already (its
// earlier receivers crashed) goes to the poison queue without an invocation.
func TestOverDequeuedMessageIsPoisonedUnseen(t *testing.T) {
	l := startLapis(t)
	ctx := context.Background()
	acct := l.account(t)
	if err := acct.CreateQueue(ctx, "crashy"); err != nil {
		t.Fatal(err)
	}
	if _, err := acct.PutMessage(ctx, "crashy", "orig", 0, 0); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		ms, err := l.svc().Get(ctx, account.DevAccount, "crashy", 1, time.Minute)
		if err != nil || len(ms) != 1 {
			t.Fatal(ms, err)
		}
		if _, err := l.svc().Update(ctx, account.DevAccount, "crashy", ms[0].ID, ms[0].PopReceipt, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	var calls atomic.Int32
	startTrigger(t, l, "crashy", nil, func(ctx context.Context, inv *binding.Invocation) (*binding.Result, error) {
		calls.Add(1)
		return &binding.Result{}, nil
	})
	eventually(t, 5*time.Second, "the poison message", func() bool {
		ms, _ := l.svc().Peek(ctx, account.DevAccount, "crashy-poison", 1)
		return len(ms) == 1 && ms[0].Text == "orig"
	})
	if calls.Load() != 0 || messagesIn(t, l, "crashy") != 0 {
		t.Fatalf("%d invocations, %d left", calls.Load(), messagesIn(t, l, "crashy"))
	}
}

// TestStopLetsInFlightFinish: stop returns while an invocation runs; that message is still deleted when it
// succeeds, and no invocation starts after stop.
func TestStopLetsInFlightFinish(t *testing.T) {
	l := startLapis(t)
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var calls atomic.Int32
	stop := startTrigger(t, l, "inflight", func(o *appconfig.QueueOptions) { o.BatchSize, o.NewBatchThreshold = 1, 0 },
		func(ctx context.Context, inv *binding.Invocation) (*binding.Result, error) {
			calls.Add(1)
			started <- struct{}{}
			<-release
			return &binding.Result{}, nil
		})
	for range 3 {
		if _, err := l.account(t).PutMessage(ctx, "inflight", "m", 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	<-started
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("stop waits for the invocation")
	}
	close(release)
	eventually(t, 5*time.Second, "the running message deleted", func() bool { return messagesIn(t, l, "inflight") == 2 })
	time.Sleep(200 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d invocations after stop, want 1", n)
	}
	// The others were never taken.
	ms, _ := l.svc().Peek(ctx, account.DevAccount, "inflight", 32)
	if len(ms) != 2 || ms[0].DequeueCount != 0 {
		t.Fatalf("left: %+v", ms)
	}
}

// TestMessageEncodingNone: with messageEncoding none, nothing is decoded or encoded.
func TestMessageEncodingNone(t *testing.T) {
	l := startLapis(t)
	ctx := context.Background()
	got := make(chan *binding.Invocation, 1)
	startTrigger(t, l, "plain", func(o *appconfig.QueueOptions) { o.MessageEncoding = "none" },
		func(ctx context.Context, inv *binding.Invocation) (*binding.Result, error) {
			got <- inv
			return &binding.Result{}, nil
		})
	if _, err := l.account(t).PutMessage(ctx, "plain", "aGVsbG8=", 0, 0); err != nil {
		t.Fatal(err)
	}
	inv := <-got
	if string(inv.Data["msg"]) != `"aGVsbG8="` || string(inv.Metadata["QueueTrigger"]) != `"aGVsbG8="` {
		t.Fatalf("data %s metadata %s", inv.Data["msg"], inv.Metadata["QueueTrigger"])
	}
	// The output writes the text as is.
	fn := function(t, `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"plain"},{"type":"queue","direction":"out","name":"o","queueName":"plain-out"}]}`,
		map[string]string{"AzureWebJobsStorage": l.conn}, l.inProcess(t))
	fn.Host.Queues.MessageEncoding = "none"
	out, _ := binding.Lookup(queuebinding.OutputType)
	if err := out.(binding.Output).Write(ctx, fn, &fn.Def.Bindings[1], inv, json.RawMessage(`["raw text", {"k":"v"}]`)); err != nil {
		t.Fatal(err)
	}
	ms, _ := l.svc().Peek(ctx, account.DevAccount, "plain-out", 32)
	if len(ms) != 2 || ms[0].Text != "raw text" || ms[1].Text != `{"k":"v"}` {
		t.Fatalf("output messages %+v", ms)
	}
	// Binding expressions in an output's queue name: trigger metadata (any case), the message's JSON properties.
	inv = &binding.Invocation{Function: "f", Data: map[string]json.RawMessage{"msg": json.RawMessage(`{"orderId":42}`)},
		Metadata: queuebinding.Metadata(&storageclient.Message{ID: "i", DequeueCount: 1}, `{"orderId":42}`)}
	for qn, want := range map[string]string{"Out-{dequeueCount}": "out-1", "q-{orderId}": "q-42", "x-{nope}": ""} {
		fn.Def.Bindings[1].Properties["queueName"] = json.RawMessage(`"` + qn + `"`)
		err := out.(binding.Output).Write(ctx, fn, &fn.Def.Bindings[1], inv, json.RawMessage(`"x"`))
		if want == "" {
			if err == nil || !strings.Contains(err.Error(), "nope") {
				t.Errorf("%s: %v, want an error naming nope", qn, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", qn, err)
		} else if n := messagesIn(t, l, want); n != 1 {
			t.Errorf("%s: %d messages in %s", qn, n, want)
		}
	}
}
