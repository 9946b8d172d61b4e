package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/eventgrid/delivery"
	"github.com/lapisdev/lapis/internal/eventgrid/schema"
	"github.com/lapisdev/lapis/internal/eventgrid/subscription"
	"github.com/lapisdev/lapis/internal/functions/schedule/schedtest"
	"github.com/lapisdev/lapis/internal/substrate"
)

const (
	stream  = "LAPIS_TEST_EVENTS"
	subject = "lapis.test.topic.t1"
)

// hook is a webhook that records what it receives and answers with the
// status fail gives for each delivery (200 when fail is nil).
type hook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []received
	fail func(id string, n int) int
	seen map[string]int
}

type received struct {
	id     string
	count  string // aeg-delivery-count
	header http.Header
	body   []byte
}

func newHook(t *testing.T, fail func(id string, n int) int) *hook {
	h := &hook{fail: fail, seen: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var evs []map[string]any
		if err := json.Unmarshal(b, &evs); err != nil || len(evs) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id, _ := evs[0]["id"].(string)
		h.mu.Lock()
		h.seen[id]++
		n := h.seen[id]
		h.got = append(h.got, received{id: id, count: r.Header.Get("aeg-delivery-count"), header: r.Header.Clone(), body: b})
		h.mu.Unlock()
		status := 200
		if h.fail != nil {
			status = h.fail(id, n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) deliveries(id string) []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []received
	for _, r := range h.got {
		if r.id == id {
			out = append(out, r)
		}
	}
	return out
}

type env struct {
	sub   *substrate.Substrate
	clock *schedtest.Clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	sub, err := substrate.Open(ctx, substrate.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	if _, err := sub.JetStream().CreateStream(ctx, natsStream()); err != nil {
		t.Fatal(err)
	}
	return &env{sub: sub, clock: schedtest.NewClock(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))}
}

func (e *env) engine(t *testing.T) *delivery.Engine { return e.node(t, "") }

// node is an engine named as a cluster node.
func (e *env) node(t *testing.T, name string) *delivery.Engine {
	t.Helper()
	eng, err := delivery.New(context.Background(), delivery.Options{Substrate: e.sub, Service: "egtest", Node: name,
		Clock: e.clock.Now, Alarm: e.clock.Until, Jitter: func(time.Duration) time.Duration { return 0 }, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func (e *env) publish(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("ev-%d", i)
		ev := fmt.Sprintf(`{"id":%q,"topic":"/t","subject":"s/%d","eventType":"Test.Happened","eventTime":"2026-11-24T08:00:00Z","data":{},"dataVersion":"1","metadataVersion":"1"}`, id, i)
		msg := &nats.Msg{Subject: subject, Data: []byte(ev), Header: nats.Header{}}
		msg.Header.Set(delivery.HeaderReceived, e.clock.Now().Format(time.RFC3339Nano))
		if _, err := e.sub.JetStream().PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func webhookSub(t *testing.T, url string, props map[string]any) *delivery.Subscription {
	t.Helper()
	p := map[string]any{"destination": map[string]any{"endpointType": "WebHook", "properties": map[string]any{"endpointUrl": url}}}
	for k, v := range props {
		p[k] = v
	}
	spec, err := subscription.Parse(p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &delivery.Subscription{ID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.EventGrid/topics/t1/providers/Microsoft.EventGrid/eventSubscriptions/sub1",
		Name: "sub1", Revision: 1, Spec: spec,
		Source: delivery.Source{Stream: stream, Subject: subject, Schema: schema.EventGridSchema, Topic: "/t"}}
}

// eventually waits (in real time) for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitPending waits until the retry loop waits on the test clock.
func waitArmed(t *testing.T, e *env) {
	t.Helper()
	eventually(t, "a retry timer", func() bool { return e.clock.Pending() > 0 })
}

func TestRetryScheduleFollowsAzure(t *testing.T) {
	e := newEnv(t)
	// Fails 7 times (500), then succeeds.
	h := newHook(t, func(_ string, n int) int {
		if n <= 7 {
			return 500
		}
		return 200
	})
	eng := e.engine(t)
	defer eng.Close()
	sub := webhookSub(t, h.srv.URL, nil)
	if err := eng.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	e.publish(t, 1)
	eventually(t, "first attempt", func() bool { return len(h.deliveries("ev-0")) == 1 })
	want := []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour}
	for i, d := range want {
		waitArmed(t, e)
		// Just before the delay: no attempt yet.
		e.clock.Advance(d - time.Second)
		time.Sleep(20 * time.Millisecond)
		if n := len(h.deliveries("ev-0")); n != i+1 {
			t.Fatalf("after %v of retry %d: %d attempts, want %d", d-time.Second, i+1, n, i+1)
		}
		e.clock.Advance(time.Second)
		eventually(t, fmt.Sprintf("attempt %d", i+2), func() bool { return len(h.deliveries("ev-0")) == i+2 })
	}
	got := h.deliveries("ev-0")
	for i, r := range got {
		if r.count != strconv.Itoa(i) {
			t.Fatalf("attempt %d: aeg-delivery-count %q, want %d", i+1, r.count, i)
		}
	}
	eventually(t, "delivered", func() bool { s := eng.Stats(sub.ID); return s.Delivered == 1 && s.PendingRetries == 0 })
	if s := eng.Stats(sub.ID); s.FailedAttempts != 7 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestRetryDelayByStatus(t *testing.T) {
	for _, c := range []struct {
		attempts, status int
		want             time.Duration
	}{
		{1, 500, 10 * time.Second}, {2, 500, 30 * time.Second}, {3, 0, time.Minute}, {7, 500, time.Hour}, {20, 500, time.Hour},
		{1, 404, 5 * time.Minute}, {1, 401, 5 * time.Minute}, {1, 403, 5 * time.Minute}, {1, 408, 2 * time.Minute},
		{1, 503, 30 * time.Second}, {5, 503, 10 * time.Minute}, {1, 429, 10 * time.Second},
	} {
		if got := delivery.RetryDelay(c.attempts, c.status); got != c.want {
			t.Errorf("RetryDelay(%d, %d) = %v, want %v", c.attempts, c.status, got, c.want)
		}
	}
}

func TestMaxAttemptsAndTTLDropWithoutDeadLetter(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, func(string, int) int { return 500 })
	eng := e.engine(t)
	defer eng.Close()
	// Two attempts at most.
	sub := webhookSub(t, h.srv.URL, map[string]any{"retryPolicy": map[string]any{"maxDeliveryAttempts": 2}})
	if err := eng.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	e.publish(t, 1)
	eventually(t, "first attempt", func() bool { return len(h.deliveries("ev-0")) == 1 })
	waitArmed(t, e)
	e.clock.Advance(10 * time.Second)
	eventually(t, "dropped after 2 attempts", func() bool { return eng.Stats(sub.ID).Dropped == 1 })
	if n := len(h.deliveries("ev-0")); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}

	// A one-minute time to live ends the retries at the minute: attempts at
	// 0 s, 10 s and 40 s, then the event expires at 60 s.
	e2 := newEnv(t)
	h2 := newHook(t, func(string, int) int { return 503 })
	eng2 := e2.engine(t)
	defer eng2.Close()
	sub2 := webhookSub(t, h2.srv.URL, map[string]any{"retryPolicy": map[string]any{"eventTimeToLiveInMinutes": 1}})
	if err := eng2.Apply(context.Background(), sub2); err != nil {
		t.Fatal(err)
	}
	e2.publish(t, 1)
	for i, step := range []time.Duration{30 * time.Second, 30 * time.Second} { // 503 waits at least 30 s
		eventually(t, "attempt", func() bool { return len(h2.deliveries("ev-0")) == i+1 })
		waitArmed(t, e2)
		e2.clock.Advance(step)
	}
	eventually(t, "expiry", func() bool { return eng2.Stats(sub2.ID).Dropped == 1 })
	if n := len(h2.deliveries("ev-0")); n != 2 {
		t.Fatalf("%d attempts before the TTL, want 2", n)
	}
}

func TestRestartKeepsPendingRetries(t *testing.T) {
	e := newEnv(t)
	var failing sync.Map // id -> bool: fail while set
	h := newHook(t, func(id string, _ int) int {
		if _, ok := failing.Load("all"); ok {
			return 500
		}
		return 200
	})
	failing.Store("all", true)
	eng := e.engine(t)
	sub := webhookSub(t, h.srv.URL, nil)
	if err := eng.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	ids := e.publish(t, 50)
	eventually(t, "every event attempted and waiting", func() bool { return eng.Stats(sub.ID).PendingRetries == 50 })
	eng.Close()

	// A new engine on the same substrate: the timers come back from the
	// retry stream, and nothing is lost.
	failing.Delete("all")
	eng2 := e.engine(t)
	defer eng2.Close()
	if err := eng2.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	if s := eng2.Stats(sub.ID); s.PendingRetries != 50 {
		t.Fatalf("after restart: %+v, want 50 pending", s)
	}
	waitArmed(t, e)
	e.clock.Advance(10 * time.Second)
	eventually(t, "every retry delivered", func() bool { return eng2.Stats(sub.ID).Delivered == 50 })
	for _, id := range ids {
		if n := len(h.deliveries(id)); n != 2 {
			t.Fatalf("%s: %d attempts, want 2", id, n)
		}
	}
	eventually(t, "no retry left", func() bool { return eng2.Stats(sub.ID).PendingRetries == 0 })
}

func TestBadRequestIsNotRetried(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, func(string, int) int { return 400 })
	eng := e.engine(t)
	defer eng.Close()
	sub := webhookSub(t, h.srv.URL, nil)
	if err := eng.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	e.publish(t, 3)
	eventually(t, "dropped at once", func() bool { return eng.Stats(sub.ID).Dropped == 3 })
	if s := eng.Stats(sub.ID); s.PendingRetries != 0 || s.FailedAttempts != 3 {
		t.Fatalf("stats = %+v", s)
	}
}

func natsStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: stream, Subjects: []string{"lapis.test.>"}}
}

// Two nodes deliver to the same subscription: the consumer shares the
// events out, both keep a timer for every retry, and each retry is
// attempted by one of them only.
func TestTwoNodesAttemptEachRetryOnce(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, func(_ string, n int) int {
		if n == 1 {
			return 500
		}
		return 200
	})
	a, b := e.node(t, "a"), e.node(t, "b")
	defer a.Close()
	defer b.Close()
	sub := webhookSub(t, h.srv.URL, nil)
	for _, eng := range []*delivery.Engine{a, b} {
		if err := eng.Apply(context.Background(), sub); err != nil {
			t.Fatal(err)
		}
	}
	ids := e.publish(t, 20)
	eventually(t, "every record on both nodes", func() bool {
		return a.Stats(sub.ID).PendingRetries == 20 && b.Stats(sub.ID).PendingRetries == 20
	})
	e.clock.Advance(10 * time.Second)
	eventually(t, "every retry delivered", func() bool { return a.Stats(sub.ID).Delivered+b.Stats(sub.ID).Delivered == 20 })
	time.Sleep(100 * time.Millisecond)
	for _, id := range ids {
		if n := len(h.deliveries(id)); n != 2 {
			t.Fatalf("%s: %d attempts, want 2", id, n)
		}
	}
	// The node that lost a claim looks again a minute later, and finds the
	// record gone.
	e.clock.Advance(time.Minute)
	eventually(t, "no retry left", func() bool {
		return a.Stats(sub.ID).PendingRetries == 0 && b.Stats(sub.ID).PendingRetries == 0
	})
}

// A custom topic's events carry their type and subject in headers; a
// filter on those alone is decided from them.
func TestFilterOnHeaders(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, nil)
	eng := e.engine(t)
	defer eng.Close()
	sub := webhookSub(t, h.srv.URL, map[string]any{"filter": map[string]any{
		"includedEventTypes": []string{"orders.created"}, "subjectEndsWith": "/1"}})
	if err := eng.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct{ typ, subject string }{{"Orders.Created", "o/1"}, {"Orders.Deleted", "o/1"}, {"Orders.Created", "o/2"}, {"ORDERS.CREATED", "x/1"}} {
		id := fmt.Sprintf("h%d", i)
		msg := &nats.Msg{Subject: subject, Header: nats.Header{},
			Data: []byte(fmt.Sprintf(`{"id":%q,"topic":"/t","subject":%q,"eventType":%q,"eventTime":"2026-11-24T08:00:00Z","data":{},"dataVersion":"1","metadataVersion":"1"}`, id, c.subject, c.typ))}
		msg.Header.Set(delivery.HeaderType, c.typ)
		msg.Header.Set(delivery.HeaderSubject, c.subject)
		msg.Header.Set(jetstream.MsgIDHeader, "t1/"+id)
		if _, err := e.sub.JetStream().PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "two deliveries", func() bool { return eng.Stats(sub.ID).Delivered == 2 })
	time.Sleep(50 * time.Millisecond)
	if len(h.deliveries("h0")) != 1 || len(h.deliveries("h3")) != 1 || len(h.deliveries("h1"))+len(h.deliveries("h2")) != 0 {
		t.Fatalf("delivered %+v", h.got)
	}
}

// A changed subscription restarts its worker; the events the old worker
// had pulled but not delivered go to the new one at once (not after the
// consumer's two-minute ack wait).
func TestRestartedWorkerTakesOverPulledEvents(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, func(string, int) int { time.Sleep(20 * time.Millisecond); return 200 })
	eng := e.engine(t)
	defer eng.Close()
	sub := webhookSub(t, h.srv.URL, nil)
	if err := eng.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	ids := e.publish(t, 100)
	eventually(t, "some deliveries", func() bool { return eng.Stats(sub.ID).Delivered >= 10 })
	again := *sub
	again.Revision = 2
	if err := eng.Apply(context.Background(), &again); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every event after the restart", func() bool {
		for _, id := range ids {
			if len(h.deliveries(id)) == 0 {
				return false
			}
		}
		return true
	})
}

// A consumer deleted under a running worker is made again from the last
// event seen, and delivery goes on.
func TestLostConsumerIsReopened(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, nil)
	eng := e.engine(t)
	defer eng.Close()
	sub := webhookSub(t, h.srv.URL, nil)
	if err := eng.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	e.publish(t, 1)
	eventually(t, "the first event", func() bool { return eng.Stats(sub.ID).Delivered == 1 })
	if err := e.sub.JetStream().DeleteConsumer(context.Background(), stream, delivery.ConsumerName(sub.ID)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	msg := &nats.Msg{Subject: subject, Data: []byte(`{"id":"after","topic":"/t","subject":"s","eventType":"T","eventTime":"2026-11-24T08:00:00Z","data":{},"dataVersion":"1","metadataVersion":"1"}`)}
	if _, err := e.sub.JetStream().PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the event published after the loss", func() bool { return len(h.deliveries("after")) >= 1 })
}

// PurgeRetries keeps only the live subscriptions' retry records.
func TestPurgeRetriesOfDeletedSubscriptions(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, func(string, int) int { return 500 })
	eng := e.engine(t)
	sub := webhookSub(t, h.srv.URL, nil)
	if err := eng.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	e.publish(t, 3)
	eventually(t, "retries stored", func() bool { return eng.Stats(sub.ID).PendingRetries == 3 })
	eng.Close()

	eng2 := e.engine(t)
	defer eng2.Close()
	if err := eng2.PurgeRetries(context.Background(), []string{sub.ID}); err != nil {
		t.Fatal(err)
	}
	if err := eng2.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	if n := eng2.Stats(sub.ID).PendingRetries; n != 3 {
		t.Fatalf("a live subscription lost its retries: %d", n)
	}
	eng2.Stop(sub.ID)
	if err := eng2.PurgeRetries(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := eng2.Apply(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	if n := eng2.Stats(sub.ID).PendingRetries; n != 0 {
		t.Fatalf("an orphan's retries survived: %d", n)
	}
}
