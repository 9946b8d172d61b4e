package queue

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/sas"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/substrate"
)

// fakeClock is the service's clock in tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t     *testing.T
	clock *fakeClock
	sub   *substrate.Substrate
	svc   *Service
	srv   *httptest.Server
	cred  *azqueue.SharedKeyCredential
}

// start runs the service on dir with its own substrate, clock and HTTP server.
func start(t *testing.T, dir string, clock *fakeClock) *harness {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sub, err := substrate.Open(ctx, substrate.Config{DataDir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	reg := arm.NewRegistry()
	reg.Register(&account.Type{})
	m, err := arm.NewManager(ctx, arm.Options{Substrate: sub, Registry: reg, Logger: log,
		Subscription: arm.Subscription{ID: "00000000-0000-0000-0000-00000000abcd", TenantID: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(service.Env{Substrate: sub, Manager: m, Accounts: &account.Directory{Store: m.Store()},
		Host: "127.0.0.1", Logger: log, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h, err := svc.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	cred, err := azqueue.NewSharedKeyCredential(account.DevAccount, account.DevKey)
	if err != nil {
		t.Fatal(err)
	}
	hs := &harness{t: t, clock: clock, sub: sub, svc: svc, srv: httptest.NewServer(h), cred: cred}
	t.Cleanup(hs.close)
	return hs
}

func (h *harness) close() {
	if h.srv == nil {
		return
	}
	h.srv.Close()
	if err := h.svc.Stop(context.Background()); err != nil {
		h.t.Error(err)
	}
	h.sub.Close()
	h.srv = nil
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().UTC().Truncate(time.Second)} }

func newHarness(t *testing.T) *harness { return start(t, t.TempDir(), newClock()) }

// clientOptions are fresh options for each client: the SDK adds its
// credential's policy to the options it is given.
func clientOptions() *azqueue.ClientOptions {
	return &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
}

func (h *harness) serviceURL() string { return h.srv.URL + "/" + account.DevAccount }

func (h *harness) client() *azqueue.ServiceClient {
	c, err := azqueue.NewServiceClientWithSharedKeyCredential(h.serviceURL(), h.cred, clientOptions())
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) queue(name string) *azqueue.QueueClient {
	q := h.client().NewQueueClient(name)
	if _, err := q.Create(context.Background(), nil); err != nil {
		h.t.Fatal(err)
	}
	return q
}

func wantCode(t *testing.T, err error, code queueerror.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got none", code)
	}
	if !queueerror.HasCode(err, code) {
		t.Fatalf("want error %s, got %v", code, err)
	}
}

func status(ctx context.Context) (context.Context, **http.Response) {
	resp := new(*http.Response)
	return runtime.WithCaptureResponse(ctx, resp), resp
}

func TestQueuesCreateListMetadataDelete(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c := h.client()

	cctx, resp := status(ctx)
	meta := map[string]*string{"team": to.Ptr("billing")}
	if _, err := c.CreateQueue(cctx, "orders", &azqueue.CreateOptions{Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	if (*resp).StatusCode != http.StatusCreated {
		t.Fatalf("create: status %d, want 201", (*resp).StatusCode)
	}
	cctx, resp = status(ctx)
	if _, err := c.CreateQueue(cctx, "orders", &azqueue.CreateOptions{Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	if (*resp).StatusCode != http.StatusNoContent {
		t.Fatalf("create again: status %d, want 204", (*resp).StatusCode)
	}
	_, err := c.CreateQueue(ctx, "orders", &azqueue.CreateOptions{Metadata: map[string]*string{"team": to.Ptr("other")}})
	wantCode(t, err, queueerror.QueueAlreadyExists)

	for _, n := range []string{"orders-eu", "orders-us", "payments", "zeta1"} {
		if _, err := c.CreateQueue(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Paging by two with a prefix, with metadata.
	var names []string
	pager := c.NewListQueuesPager(&azqueue.ListQueuesOptions{Prefix: to.Ptr("orders"), MaxResults: to.Ptr(int32(2)),
		Include: azqueue.ListQueuesInclude{Metadata: true}})
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, q := range page.Queues {
			names = append(names, *q.Name)
			if *q.Name == "orders" && (q.Metadata["team"] == nil || *q.Metadata["team"] != "billing") {
				t.Fatalf("list metadata of orders: %v", q.Metadata)
			}
		}
	}
	if strings.Join(names, ",") != "orders,orders-eu,orders-us" || pages != 2 {
		t.Fatalf("list: %v in %d pages", names, pages)
	}
	all := 0
	for pager := c.NewListQueuesPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all += len(page.Queues)
	}
	if all != 5 {
		t.Fatalf("list all: %d queues, want 5", all)
	}

	q := c.NewQueueClient("orders")
	if _, err := q.SetMetadata(ctx, &azqueue.SetMetadataOptions{Metadata: map[string]*string{"a": to.Ptr("1"), "b": to.Ptr("2")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.EnqueueMessage(ctx, "x", nil); err != nil {
		t.Fatal(err)
	}
	props, err := q.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range props.Metadata {
		got[strings.ToLower(k)] = *v
	}
	if len(got) != 2 || got["a"] != "1" || got["b"] != "2" {
		t.Fatalf("metadata %v", got)
	}
	if props.ApproximateMessagesCount == nil || *props.ApproximateMessagesCount != 1 {
		t.Fatalf("approximate count %v, want 1", props.ApproximateMessagesCount)
	}

	if _, err := c.DeleteQueue(ctx, "orders", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteQueue(ctx, "orders", nil)
	wantCode(t, err, queueerror.QueueNotFound)
	_, err = q.GetProperties(ctx, nil)
	wantCode(t, err, queueerror.QueueNotFound)
	_, err = q.EnqueueMessage(ctx, "x", nil)
	wantCode(t, err, queueerror.QueueNotFound)
	// A recreated queue starts empty.
	if _, err := q.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	peek, err := q.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil {
		t.Fatal(err)
	}
	if len(peek.Messages) != 0 {
		t.Fatalf("recreated queue has %d messages", len(peek.Messages))
	}
}

func TestBadQueueNames(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	for name, code := range map[string]queueerror.Code{
		"ab":                    queueerror.OutOfRangeInput,
		strings.Repeat("a", 64): queueerror.OutOfRangeInput,
		"Upper":                 queueerror.InvalidResourceName,
		"double--hyphen":        queueerror.InvalidResourceName,
		"-start":                queueerror.InvalidResourceName,
		"end-":                  queueerror.InvalidResourceName,
		"under_score":           queueerror.InvalidResourceName,
	} {
		_, err := c.CreateQueue(context.Background(), name, nil)
		wantCode(t, err, code)
	}
	if _, err := c.CreateQueue(context.Background(), "a-1", nil); err != nil {
		t.Fatal(err)
	}
}

func TestMessageLifecycle(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	q := h.queue("work")

	put, err := q.EnqueueMessage(ctx, "one", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(put.Messages) != 1 || put.Messages[0].MessageID == nil || put.Messages[0].PopReceipt == nil ||
		put.Messages[0].InsertionTime == nil || put.Messages[0].TimeNextVisible == nil {
		t.Fatalf("enqueue response %+v", put.Messages)
	}
	if exp := put.Messages[0].ExpirationTime.Sub(*put.Messages[0].InsertionTime); exp != DefaultTTL {
		t.Fatalf("default ttl %v", exp)
	}
	for _, text := range []string{"two", "three <&> ünïcode"} {
		if _, err := q.EnqueueMessage(ctx, text, nil); err != nil {
			t.Fatal(err)
		}
	}

	peek, err := q.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(10))})
	if err != nil {
		t.Fatal(err)
	}
	if len(peek.Messages) != 3 || *peek.Messages[0].MessageText != "one" || *peek.Messages[2].MessageText != "three <&> ünïcode" ||
		*peek.Messages[0].DequeueCount != 0 {
		t.Fatalf("peek %+v", peek.Messages)
	}
	one, err := q.PeekMessage(ctx, nil)
	if err != nil || len(one.Messages) != 1 || *one.Messages[0].MessageText != "one" {
		t.Fatalf("peek one: %v %+v", err, one.Messages)
	}

	got, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(2)), VisibilityTimeout: to.Ptr(int32(60))})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 2 || *got.Messages[0].MessageText != "one" || *got.Messages[1].MessageText != "two" {
		t.Fatalf("dequeue %+v", got.Messages)
	}
	m1, m2 := got.Messages[0], got.Messages[1]
	if *m1.DequeueCount != 1 || *m1.PopReceipt == *put.Messages[0].PopReceipt {
		t.Fatalf("dequeued: count %d, pop receipt %s", *m1.DequeueCount, *m1.PopReceipt)
	}
	if d := m1.TimeNextVisible.Sub(h.clock.Now()); d != 60*time.Second {
		t.Fatalf("time next visible in %v, want 60s", d)
	}
	// Only "three" is visible now.
	rest, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil || len(rest.Messages) != 1 || *rest.Messages[0].MessageText != "three <&> ünïcode" {
		t.Fatalf("dequeue rest: %v %+v", err, rest.Messages)
	}
	if none, err := q.DequeueMessage(ctx, nil); err != nil || len(none.Messages) != 0 {
		t.Fatalf("dequeue empty: %v %+v", err, none.Messages)
	}

	// Delete with the right receipt, then again: gone.
	if _, err := q.DeleteMessage(ctx, *m1.MessageID, *m1.PopReceipt, nil); err != nil {
		t.Fatal(err)
	}
	_, err = q.DeleteMessage(ctx, *m1.MessageID, *m1.PopReceipt, nil)
	wantCode(t, err, queueerror.MessageNotFound)
	_, err = q.DeleteMessage(ctx, "00000000-0000-0000-0000-000000000000", "x", nil)
	wantCode(t, err, queueerror.MessageNotFound)

	// Update m2: new content and visibility 10 s; its old receipt is stale.
	up, err := q.UpdateMessage(ctx, *m2.MessageID, *m2.PopReceipt, "two, updated", &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(int32(10))})
	if err != nil {
		t.Fatal(err)
	}
	if up.PopReceipt == nil || *up.PopReceipt == *m2.PopReceipt || up.TimeNextVisible == nil ||
		up.TimeNextVisible.Sub(h.clock.Now()) != 10*time.Second {
		t.Fatalf("update response %+v", up)
	}
	_, err = q.DeleteMessage(ctx, *m2.MessageID, *m2.PopReceipt, nil)
	wantCode(t, err, queueerror.PopReceiptMismatch)
	_, err = q.UpdateMessage(ctx, *m2.MessageID, *m2.PopReceipt, "x", nil)
	wantCode(t, err, queueerror.PopReceiptMismatch)

	h.clock.Advance(11 * time.Second)
	again, err := q.DequeueMessage(ctx, nil)
	if err != nil || len(again.Messages) != 1 {
		t.Fatalf("dequeue after update: %v %+v", err, again.Messages)
	}
	if m := again.Messages[0]; *m.MessageText != "two, updated" || *m.DequeueCount != 2 || *m.MessageID != *m2.MessageID {
		t.Fatalf("after update: %q count %d", *m.MessageText, *m.DequeueCount)
	}
	// Update with the receipt from Update still works: only extends visibility.
	if _, err := q.UpdateMessage(ctx, *m2.MessageID, *up.PopReceipt, "", nil); !queueerror.HasCode(err, queueerror.PopReceiptMismatch) {
		t.Fatalf("update with a receipt older than the last dequeue: %v", err)
	}

	// Clear empties the queue.
	if _, err := q.EnqueueMessage(ctx, "four", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := q.ClearMessages(ctx, nil); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour)
	if p, err := q.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))}); err != nil || len(p.Messages) != 0 {
		t.Fatalf("after clear: %v %d messages", err, len(p.Messages))
	}
	props, err := q.GetProperties(ctx, nil)
	if err != nil || *props.ApproximateMessagesCount != 0 {
		t.Fatalf("count after clear: %v %v", err, props.ApproximateMessagesCount)
	}
	// The sweeper removes the old generation's messages from JetStream.
	h.svc.sweepNowForTest()
	if n := h.storedMessages(); n != 0 {
		t.Fatalf("%d messages left in JetStream after clear and sweep", n)
	}
}

func (s *Service) sweepNowForTest() {
	ack := make(chan struct{})
	s.sweepNow <- ack
	<-ack
}

func (h *harness) storedMessages() int {
	keys, err := h.svc.msgs.ListKeys(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for range keys.Keys() {
		n++
	}
	return n
}

func TestVisibilityAndDequeueCount(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	q := h.queue("vis")

	// A delayed message is invisible until its time.
	if _, err := q.EnqueueMessage(ctx, "later", &azqueue.EnqueueMessageOptions{VisibilityTimeout: to.Ptr(int32(30))}); err != nil {
		t.Fatal(err)
	}
	if p, _ := q.PeekMessage(ctx, nil); len(p.Messages) != 0 {
		t.Fatal("delayed message visible at once")
	}
	h.clock.Advance(30 * time.Second)

	var first *azqueue.DequeuedMessage
	for i := 1; i <= 3; i++ {
		got, err := q.DequeueMessage(ctx, &azqueue.DequeueMessageOptions{VisibilityTimeout: to.Ptr(int32(5))})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Messages) != 1 || *got.Messages[0].DequeueCount != int64(i) {
			t.Fatalf("dequeue %d: %+v", i, got.Messages)
		}
		if first == nil {
			first = got.Messages[0]
		}
		if g, _ := q.DequeueMessage(ctx, nil); len(g.Messages) != 0 {
			t.Fatal("a dequeued message is visible within its visibility timeout")
		}
		h.clock.Advance(5 * time.Second)
	}
	// The first receipt is stale after the message was dequeued again.
	_, err := q.DeleteMessage(ctx, *first.MessageID, *first.PopReceipt, nil)
	wantCode(t, err, queueerror.PopReceiptMismatch)
}

func TestExpiry(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	q := h.queue("ttl")
	if _, err := q.EnqueueMessage(ctx, "short", &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(10))}); err != nil {
		t.Fatal(err)
	}
	forever, err := q.EnqueueMessage(ctx, "forever", &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(-1))})
	if err != nil {
		t.Fatal(err)
	}
	if y := forever.Messages[0].ExpirationTime.Year(); y != 9999 {
		t.Fatalf("never-expiring message expires in %d", y)
	}
	h.clock.Advance(11 * time.Second)
	p, err := q.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil || len(p.Messages) != 1 || *p.Messages[0].MessageText != "forever" {
		t.Fatalf("after expiry: %v %+v", err, p.Messages)
	}
	h.svc.sweepNowForTest()
	if n := h.storedMessages(); n != 1 {
		t.Fatalf("%d messages stored after the sweep, want 1", n)
	}
	// A visibility timeout must end before the message expires.
	_, err = q.EnqueueMessage(ctx, "x", &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(10)), VisibilityTimeout: to.Ptr(int32(10))})
	wantCode(t, err, queueerror.OutOfRangeQueryParameterValue)
}

func TestBadMessageRequests(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	q := h.queue("bad")

	_, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(33))})
	wantCode(t, err, queueerror.OutOfRangeQueryParameterValue)
	_, err = q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(0))})
	wantCode(t, err, queueerror.OutOfRangeQueryParameterValue)
	_, err = q.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(33))})
	wantCode(t, err, queueerror.OutOfRangeQueryParameterValue)
	_, err = q.DequeueMessage(ctx, &azqueue.DequeueMessageOptions{VisibilityTimeout: to.Ptr(int32(7*24*3600 + 1))})
	wantCode(t, err, queueerror.OutOfRangeQueryParameterValue)
	_, err = q.EnqueueMessage(ctx, "x", &azqueue.EnqueueMessageOptions{VisibilityTimeout: to.Ptr(int32(-1))})
	wantCode(t, err, queueerror.OutOfRangeQueryParameterValue)
	_, err = q.EnqueueMessage(ctx, "x", &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(0))})
	wantCode(t, err, queueerror.OutOfRangeQueryParameterValue)

	_, err = q.EnqueueMessage(ctx, strings.Repeat("a", MaxMessageSize+1), nil)
	wantCode(t, err, queueerror.RequestBodyTooLarge)
	if _, err := q.EnqueueMessage(ctx, strings.Repeat("a", MaxMessageSize), nil); err != nil {
		t.Fatalf("a 64 KiB message: %v", err)
	}
	got, err := q.DequeueMessage(ctx, nil)
	if err != nil || len(got.Messages) != 1 || len(*got.Messages[0].MessageText) != MaxMessageSize {
		t.Fatalf("dequeue 64 KiB: %v", err)
	}
	_, err = q.UpdateMessage(ctx, *got.Messages[0].MessageID, *got.Messages[0].PopReceipt, strings.Repeat("b", MaxMessageSize+1), nil)
	wantCode(t, err, queueerror.RequestBodyTooLarge)

	_, err = h.client().NewQueueClient("missing").EnqueueMessage(ctx, "x", nil)
	wantCode(t, err, queueerror.QueueNotFound)
	_, err = h.client().NewQueueClient("missing").DequeueMessage(ctx, nil)
	wantCode(t, err, queueerror.QueueNotFound)
}

func TestConcurrentDequeueGivesEachMessageOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	q := h.queue("race")
	const n = 60
	for i := range n {
		if _, err := q.EnqueueMessage(ctx, strings.Repeat("m", i+1), nil); err != nil {
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
				got, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(4))})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got.Messages) == 0 {
					return
				}
				for _, m := range got.Messages {
					mu.Lock()
					seen[*m.MessageID]++
					mu.Unlock()
					if _, err := q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
						t.Error(err)
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
}

func TestRestartKeepsMessagesAndVisibility(t *testing.T) {
	dir, clock := t.TempDir(), newClock()
	h := start(t, dir, clock)
	ctx := context.Background()
	q := h.queue("durable")
	if _, err := q.SetMetadata(ctx, &azqueue.SetMetadataOptions{Metadata: map[string]*string{"k": to.Ptr("v")}}); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"visible", "taken", "delayed"} {
		opts := &azqueue.EnqueueMessageOptions{}
		if text == "delayed" {
			opts.VisibilityTimeout = to.Ptr(int32(120))
		}
		if _, err := q.EnqueueMessage(ctx, text, opts); err != nil {
			t.Fatal(err)
		}
	}
	// Take "visible" and "taken" for 60 s, then give "visible" back.
	got, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(2)), VisibilityTimeout: to.Ptr(int32(60))})
	if err != nil || len(got.Messages) != 2 {
		t.Fatalf("dequeue: %v", err)
	}
	if _, err := q.UpdateMessage(ctx, *got.Messages[0].MessageID, *got.Messages[0].PopReceipt, "visible", nil); err != nil {
		t.Fatal(err)
	}
	taken := got.Messages[1]
	h.close()

	h = start(t, dir, clock)
	q = h.client().NewQueueClient("durable")
	props, err := q.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *props.ApproximateMessagesCount != 3 || props.Metadata["K"] == nil && props.Metadata["k"] == nil {
		t.Fatalf("after restart: count %d, metadata %v", *props.ApproximateMessagesCount, props.Metadata)
	}
	p, err := q.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil || len(p.Messages) != 1 || *p.Messages[0].MessageText != "visible" || *p.Messages[0].DequeueCount != 1 {
		t.Fatalf("after restart, visible: %v %+v", err, p.Messages)
	}
	// "taken" comes back when its time passes.
	clock.Advance(61 * time.Second)
	got, err = q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(600))})
	if err != nil || len(got.Messages) != 2 {
		t.Fatalf("after 61 s: %v %d messages", err, len(got.Messages))
	}
	var texts []string
	for _, m := range got.Messages {
		texts = append(texts, *m.MessageText)
		if *m.MessageID == *taken.MessageID && *m.DequeueCount != 2 {
			t.Fatalf("taken: dequeue count %d, want 2", *m.DequeueCount)
		}
	}
	if strings.Join(texts, ",") != "visible,taken" {
		t.Fatalf("after 61 s: %v", texts)
	}
	clock.Advance(60 * time.Second)
	got, err = q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil || len(got.Messages) != 1 || *got.Messages[0].MessageText != "delayed" {
		t.Fatalf("after 121 s: %v %+v", err, got.Messages)
	}
}

func TestReceiveIsPushed(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := h.queue("push")

	type result struct {
		msgs []Message
		err  error
	}
	receive := func() chan result {
		ch := make(chan result, 1)
		go func() {
			m, err := h.svc.Receive(ctx, account.DevAccount, "push", 8, time.Minute)
			ch <- result{m, err}
		}()
		return ch
	}
	ch := receive()
	if _, err := q.EnqueueMessage(ctx, "hello", nil); err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil || len(r.msgs) != 1 || r.msgs[0].Text != "hello" || r.msgs[0].DequeueCount != 1 {
		t.Fatalf("receive: %v %+v", r.err, r.msgs)
	}
	// The message comes back when its visibility ends.
	ch = receive()
	h.clock.Advance(time.Minute)
	h.svc.wakeAllForTest()
	r = <-ch
	if r.err != nil || len(r.msgs) != 1 || r.msgs[0].DequeueCount != 2 {
		t.Fatalf("receive after visibility: %v %+v", r.err, r.msgs)
	}
	if err := h.svc.Delete(ctx, account.DevAccount, "push", r.msgs[0].ID, r.msgs[0].PopReceipt); err != nil {
		t.Fatal(err)
	}
	// Cancelling ends the wait; an unknown queue is an error.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err := h.svc.Receive(cctx, account.DevAccount, "push", 1, time.Minute); err != context.Canceled {
		t.Fatalf("cancelled receive: %v", err)
	}
	if _, err := h.svc.Receive(ctx, account.DevAccount, "nope", 1, time.Minute); err != ErrQueueNotFound {
		t.Fatalf("receive on a missing queue: %v", err)
	}
	// Stop ends a waiting Receive.
	ch = receive()
	h.close()
	if r := <-ch; r.err != ErrStopped {
		t.Fatalf("receive at stop: %v", r.err)
	}
}

func (s *Service) wakeAllForTest() {
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	for _, set := range s.idx.sets {
		set.mu.Lock()
		set.wake()
		set.mu.Unlock()
	}
}

func TestSAS(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.queue("sas")
	sign := func(perms sas.AccountPermissions, expiry time.Time) *azqueue.ServiceClient {
		qp, err := sas.AccountSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: expiry,
			Permissions: perms.String(), ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
		}.SignWithSharedKey(h.cred)
		if err != nil {
			t.Fatal(err)
		}
		c, err := azqueue.NewServiceClientWithNoCredential(h.serviceURL()+"/?"+qp.Encode(), clientOptions())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	full := sign(sas.AccountPermissions{Read: true, Add: true, Process: true, Update: true, List: true, Create: true, Delete: true},
		time.Now().Add(time.Hour))
	q := full.NewQueueClient("sas")
	if _, err := q.EnqueueMessage(ctx, "via sas", nil); err != nil {
		t.Fatal(err)
	}
	got, err := q.DequeueMessage(ctx, nil)
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("dequeue with sas: %v", err)
	}
	if _, err := q.DeleteMessage(ctx, *got.Messages[0].MessageID, *got.Messages[0].PopReceipt, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := full.CreateQueue(ctx, "made-by-sas", nil); err != nil {
		t.Fatal(err)
	}
	if page, err := full.NewListQueuesPager(nil).NextPage(ctx); err != nil || len(page.Queues) != 2 {
		t.Fatalf("list with sas: %v", err)
	}

	expired := sign(sas.AccountPermissions{Read: true, Add: true}, time.Now().Add(-time.Minute))
	_, err = expired.NewQueueClient("sas").EnqueueMessage(ctx, "x", nil)
	wantCode(t, err, queueerror.AuthenticationFailed)

	readOnly := sign(sas.AccountPermissions{Read: true}, time.Now().Add(time.Hour))
	_, err = readOnly.NewQueueClient("sas").EnqueueMessage(ctx, "x", nil)
	wantCode(t, err, queueerror.AuthorizationPermissionMismatch)
	if _, err := readOnly.NewQueueClient("sas").PeekMessage(ctx, nil); err != nil {
		t.Fatalf("peek with read permission: %v", err)
	}

	// A queue SAS from the SDK is limited to its queue.
	qsas, err := h.client().NewQueueClient("sas").GetSASURL(sas.QueuePermissions{Add: true, Read: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	qc, err := azqueue.NewQueueClientWithNoCredential(qsas, clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := qc.EnqueueMessage(ctx, "via queue sas", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := qc.DequeueMessage(ctx, nil); !queueerror.HasCode(err, queueerror.AuthorizationPermissionMismatch) {
		t.Fatalf("dequeue without process permission: %v", err)
	}

	// No credentials: queues have no anonymous access.
	anon, err := azqueue.NewQueueClientWithNoCredential(h.serviceURL()+"/sas", clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.PeekMessage(ctx, nil)
	wantCode(t, err, queueerror.Code("NoAuthenticationInformation"))
	// A wrong key.
	bad, _ := azqueue.NewSharedKeyCredential(account.DevAccount, account.NewKey())
	bc, _ := azqueue.NewServiceClientWithSharedKeyCredential(h.serviceURL(), bad, clientOptions())
	_, err = bc.NewQueueClient("sas").PeekMessage(ctx, nil)
	wantCode(t, err, queueerror.AuthenticationFailed)
}

func TestAccessPolicyRoundTrip(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	q := h.queue("acl")
	start := time.Now().UTC().Truncate(time.Second)
	_, err := q.SetAccessPolicy(ctx, &azqueue.SetAccessPolicyOptions{QueueACL: []*azqueue.SignedIdentifier{{
		ID: to.Ptr("policy1"), AccessPolicy: &azqueue.AccessPolicy{Start: &start, Expiry: to.Ptr(start.Add(time.Hour)), Permission: to.Ptr("raup")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.GetAccessPolicy(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.SignedIdentifiers) != 1 || *got.SignedIdentifiers[0].ID != "policy1" || *got.SignedIdentifiers[0].AccessPolicy.Permission != "raup" {
		t.Fatalf("acl %+v", got.SignedIdentifiers)
	}
}
