package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lapisdev/lapis/internal/storage/account"
)

func TestReceiveManyAndDeleteMany(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h.queue("batch")
	acct := account.DevAccount

	// ReceiveMany waits for a message (push).
	ch := make(chan []Message, 1)
	go func() {
		m, err := h.svc.ReceiveMany(ctx, acct, "batch", 32, time.Minute)
		if err != nil {
			t.Error(err)
		}
		ch <- m
	}()
	time.Sleep(50 * time.Millisecond)
	for i := range 5 {
		if _, err := h.svc.Put(ctx, acct, "batch", fmt.Sprint(i), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	got := <-ch
	for len(got) < 5 {
		more, err := h.svc.ReceiveMany(ctx, acct, "batch", 32, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, more...)
	}
	for i, m := range got {
		if m.Text != fmt.Sprint(i) || m.DequeueCount != 1 || m.PopReceipt == "" || !m.NextVisible.Equal(h.clock.Now().Add(time.Minute)) {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
	// They are invisible now.
	if ms, _ := h.svc.Get(ctx, acct, "batch", 32, time.Minute); len(ms) != 0 {
		t.Fatalf("received messages are visible: %+v", ms)
	}
	// Update with the receipt ReceiveMany gave makes one visible again; its old receipt is then stale.
	upd, err := h.svc.Update(ctx, acct, "batch", got[4].ID, got[4].PopReceipt, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := []Receipt{
		{got[0].ID, got[0].PopReceipt},
		{got[1].ID, got[1].PopReceipt},
		{got[2].ID, "stale"},
		{"00000000-0000-0000-0000-000000000000", "x"},
		{got[4].ID, got[4].PopReceipt},
		{got[3].ID, got[3].PopReceipt},
	}
	errs, err := h.svc.DeleteMany(ctx, acct, "batch", rs)
	if err != nil {
		t.Fatal(err)
	}
	want := []error{nil, nil, ErrPopReceiptMismatch, ErrMessageNotFound, ErrPopReceiptMismatch, nil}
	for i := range want {
		if !errors.Is(errs[i], want[i]) {
			t.Errorf("receipt %d: %v, want %v", i, errs[i], want[i])
		}
	}
	info, _ := h.svc.GetQueue(ctx, acct, "batch")
	if info.ApproximateMessages != 2 {
		t.Fatalf("%d messages left, want 2", info.ApproximateMessages)
	}
	// The updated message is visible again, dequeued a second time.
	ms, err := h.svc.ReceiveMany(ctx, acct, "batch", 32, time.Minute)
	if err != nil || len(ms) != 1 || ms[0].ID != got[4].ID || ms[0].DequeueCount != 2 || ms[0].PopReceipt == upd.PopReceipt {
		t.Fatalf("after update: %v %+v", err, ms)
	}
	if _, err := h.svc.DeleteMany(ctx, acct, "nope", rs); !errors.Is(err, ErrQueueNotFound) {
		t.Fatalf("DeleteMany on a missing queue: %v", err)
	}
	if _, err := h.svc.ReceiveMany(ctx, acct, "nope", 1, time.Minute); !errors.Is(err, ErrQueueNotFound) {
		t.Fatalf("ReceiveMany on a missing queue: %v", err)
	}
	if _, err := h.svc.ReceiveMany(ctx, acct, "batch", 33, time.Minute); err == nil {
		t.Fatal("ReceiveMany of 33")
	}
	// Expired messages are never returned.
	if _, err := h.svc.Put(ctx, acct, "batch", "short", 0, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(3 * time.Second)
	if ms, _, _, err := h.svc.dequeueMany(ctx, acct, "batch", 32, time.Minute); err != nil || len(ms) != 0 {
		t.Fatalf("expired message received: %v %+v", err, ms)
	}
}

func TestReceiveManyConcurrentGivesEachMessageOnce(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h.queue("race")
	const n = 300
	for i := range n {
		if _, err := h.svc.Put(ctx, account.DevAccount, "race", fmt.Sprint(i), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				// Pipelined dequeues race with each other and with plain ones.
				ms, err := h.svc.Get(ctx, account.DevAccount, "race", 1, time.Minute)
				if err == nil {
					var more []Message
					more, _, _, err = h.svc.dequeueMany(ctx, account.DevAccount, "race", 7, time.Minute)
					ms = append(ms, more...)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if len(ms) == 0 {
					return
				}
				rs := make([]Receipt, len(ms))
				for i, m := range ms {
					rs[i] = Receipt{m.ID, m.PopReceipt}
					mu.Lock()
					seen[m.ID]++
					mu.Unlock()
				}
				errs, err := h.svc.DeleteMany(ctx, account.DevAccount, "race", rs)
				if err != nil {
					t.Error(err)
					return
				}
				for _, e := range errs {
					if e != nil {
						t.Error(e)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct messages dequeued, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("message %s dequeued %d times", id, c)
		}
	}
	if info, _ := h.svc.GetQueue(ctx, account.DevAccount, "race"); info.ApproximateMessages != 0 {
		t.Fatalf("%d messages left", info.ApproximateMessages)
	}
}
