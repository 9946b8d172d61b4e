package queuebinding_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/queuebinding"
	"github.com/lapisdev/lapis/internal/functions/functest"
	"github.com/lapisdev/lapis/internal/functions/host"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/queue"
)

var handlerPath string // the built test custom handler

func TestMain(m *testing.M) { os.Exit(functest.MainWithWorker(m, "./testdata/handler", &handlerPath)) }

// lapis is a running platform for a test.
type lapis struct {
	*functest.Platform
	srv          *platform.Server
	conn         string // connection string of devstoreaccount1 on it
	blobHostPort string
	queueHost    string
}

func startLapis(t testing.TB) *lapis {
	t.Helper()
	p := functest.Start(t)
	return &lapis{Platform: p, srv: p.Server, conn: p.Conn, blobHostPort: p.BlobHost, queueHost: p.QueueHost}
}

// inProcess is the provider the platform gives its hosts.
func (l *lapis) inProcess(t testing.TB) storageclient.Provider { return l.InProcess(t) }

func (l *lapis) providers(t testing.TB) map[string]storageclient.Provider {
	return map[string]storageclient.Provider{
		"inprocess": l.inProcess(t),
		"rest":      storageclient.NewREST(storageclient.RESTOptions{}),
	}
}

func (l *lapis) queue(t testing.TB, name string) *azqueue.QueueClient {
	t.Helper()
	q, err := azqueue.NewQueueClientFromConnectionString(l.conn, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// copyApp copies testdata/app with the handler into a new directory; edit may change it.
func copyApp(t testing.TB, edit func(dir string)) string {
	t.Helper()
	return functest.CopyApp(t, "testdata/app", handlerPath, edit)
}

func startApp(t testing.TB, dir string, prov storageclient.Provider, settings map[string]string) *host.Host {
	t.Helper()
	h, err := host.New(host.Options{Dir: dir, Name: "qapp", Settings: settings, AuthDisabled: true,
		Env: &binding.Env{Storage: prov}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("host.New: %v", err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func eventually(t testing.TB, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// take dequeues every message of q visible now (waiting up to timeout for at least want of them).
func take(t testing.TB, q *azqueue.QueueClient, want int, timeout time.Duration) []string {
	t.Helper()
	var got []string
	eventually(t, timeout, fmt.Sprintf("%d messages in %s", want, q.URL()), func() bool {
		resp, err := q.DequeueMessages(context.Background(), &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
		if err != nil {
			return false
		}
		for _, m := range resp.Messages {
			got = append(got, *m.MessageText)
			_, _ = q.DeleteMessage(context.Background(), *m.MessageID, *m.PopReceipt, nil)
		}
		return len(got) >= want
	})
	return got
}

func count(t testing.TB, q *azqueue.QueueClient) int {
	t.Helper()
	p, err := q.GetProperties(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return int(*p.ApproximateMessagesCount)
}

func unbase64(t testing.TB, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("output message %q is not base64: %v", s, err)
	}
	return string(b)
}

var isoTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$`)

// TestQueueTrigger runs the app against a real platform, once with the in-process provider (push) and once
// with the REST client (polling), with messages enqueued by the azqueue client.
func TestQueueTrigger(t *testing.T) {
	l := startLapis(t)
	for name, prov := range l.providers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for _, q := range []string{"orders", "processed", "fanout-in", "fanout-out", "failing", "failing-poison"} {
				_, _ = l.queue(t, q).Delete(ctx, nil)
			}
			failLog := filepath.Join(t.TempDir(), "fail.log")
			startApp(t, copyApp(t, nil), prov, map[string]string{"AzureWebJobsStorage": l.conn, "OUT_QUEUE": "processed", "FAIL_LOG": failLog})
			orders, processed := l.queue(t, "orders"), l.queue(t, "processed")

			t.Run("base64 JSON message fires and is deleted", func(t *testing.T) {
				sent, err := orders.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString([]byte(`{"id":42,"item":"tea"}`)), nil)
				if err != nil {
					t.Fatal(err)
				}
				out := take(t, processed, 1, 30*time.Second)
				var got struct {
					Data map[string]any             `json:"data"`
					Meta map[string]json.RawMessage `json:"meta"`
				}
				if err := json.Unmarshal([]byte(unbase64(t, out[0])), &got); err != nil {
					t.Fatalf("%s: %v", out[0], err)
				}
				if got.Data["id"] != float64(42) || got.Data["item"] != "tea" {
					t.Errorf("data = %v, want the JSON object", got.Data)
				}
				if string(got.Meta["DequeueCount"]) != "1" {
					t.Errorf("DequeueCount = %s, want 1", got.Meta["DequeueCount"])
				}
				var id, trig, pop string
				_ = json.Unmarshal(got.Meta["Id"], &id)
				_ = json.Unmarshal(got.Meta["QueueTrigger"], &trig)
				_ = json.Unmarshal(got.Meta["PopReceipt"], &pop)
				if id != *sent.Messages[0].MessageID || trig != `{"id":42,"item":"tea"}` || pop == "" {
					t.Errorf("Id %q QueueTrigger %q PopReceipt %q", id, trig, pop)
				}
				for _, k := range []string{"InsertionTime", "ExpirationTime", "NextVisibleTime"} {
					var s string
					if json.Unmarshal(got.Meta[k], &s) != nil || !isoTime.MatchString(s) {
						t.Errorf("%s = %s, want an ISO 8601 time such as 2019-10-16T17:58:31+00:00", k, got.Meta[k])
					}
				}
				if _, ok := got.Meta["sys"]; !ok {
					t.Error("no sys metadata")
				}
				eventually(t, 5*time.Second, "the message deleted", func() bool { return count(t, orders) == 0 })
			})

			t.Run("raw message", func(t *testing.T) {
				if _, err := orders.EnqueueMessage(ctx, "plain text, not base64", nil); err != nil {
					t.Fatal(err)
				}
				out := take(t, processed, 1, 30*time.Second)
				var got struct {
					Data string `json:"data"`
				}
				if err := json.Unmarshal([]byte(unbase64(t, out[0])), &got); err != nil || got.Data != "plain text, not base64" {
					t.Fatalf("%s: %+v %v", unbase64(t, out[0]), got, err)
				}
			})

			t.Run("array output makes many messages", func(t *testing.T) {
				// The output's queue name is "fanout-{queueTrigger}".
				if _, err := l.queue(t, "fanout-in").EnqueueMessage(ctx, "OUT", nil); err != nil {
					t.Fatal(err)
				}
				out := take(t, l.queue(t, "fanout-out"), 3, 30*time.Second)
				for i := range out {
					out[i] = unbase64(t, out[i])
				}
				slices.Sort(out)
				if want := []string{"3", "a", `{"b":1}`}; !slices.Equal(out, want) {
					t.Fatalf("messages %q, want %q", out, want)
				}
			})

			t.Run("failing function poisons after 5 attempts", func(t *testing.T) {
				failing := l.queue(t, "failing")
				if _, err := failing.EnqueueMessage(ctx, "the original text", nil); err != nil {
					t.Fatal(err)
				}
				poison := take(t, l.queue(t, "failing-poison"), 1, 20*time.Second)
				if poison[0] != "the original text" {
					t.Errorf("poison message %q, want the original text", poison[0])
				}
				b, _ := os.ReadFile(failLog)
				if got := strings.Fields(string(b)); !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
					t.Errorf("DequeueCount of the attempts: %q, want 1 to 5", got)
				}
				eventually(t, 5*time.Second, "the failing queue empty", func() bool { return count(t, failing) == 0 })
			})
		})
	}
}

// TestBatchSettings checks that at most batchSize+newBatchThreshold messages run at once, and that the
// concurrency reaches it.
func TestBatchSettings(t *testing.T) {
	l := startLapis(t)
	dir := copyApp(t, func(dir string) {
		hj := `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"}},
			"extensions":{"queues":{"batchSize":2,"newBatchThreshold":1}}}`
		if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(hj), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	slowLog := filepath.Join(t.TempDir(), "slow.log")
	startApp(t, dir, l.inProcess(t), map[string]string{"AzureWebJobsStorage": l.conn, "OUT_QUEUE": "processed", "SLOW_LOG": slowLog})
	slow := l.queue(t, "slow")
	for i := range 15 {
		if _, err := slow.EnqueueMessage(context.Background(), fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	var lines []string
	eventually(t, 20*time.Second, "15 slow invocations", func() bool {
		b, _ := os.ReadFile(slowLog)
		lines = strings.Fields(string(b))
		return len(lines) == 15
	})
	if max := lines[len(lines)-1]; max != "3" {
		t.Fatalf("at most %s invocations ran at once, want batchSize+newBatchThreshold = 3", max)
	}
}

// TestStartErrors checks that a trigger that cannot reach its queue says why when the app starts.
func TestStartErrors(t *testing.T) {
	l := startLapis(t)
	prov := l.inProcess(t)
	tr, _ := binding.Lookup(queuebinding.TriggerType)
	for _, c := range []struct {
		name     string
		props    string
		settings map[string]string
		want     string
	}{
		{"setting missing", `"queueName":"qq1"`, nil, `the app setting "AzureWebJobsStorage" is not set`},
		{"named setting missing", `"queueName":"qq1","connection":"Other"`, nil, `the app setting "Other" is not set`},
		{"identity based", `"queueName":"qq1","connection":"Mine"`, map[string]string{"Mine__queueServiceUri": "https://x"}, "identity-based connections"},
		{"not a connection string", `"queueName":"qq1"`, map[string]string{"AzureWebJobsStorage": "nonsense"}, `"nonsense" is not key=value`},
		{"no key", `"queueName":"qq1"`, map[string]string{"AzureWebJobsStorage": "AccountName=a;QueueEndpoint=http://" + l.queueHost + "/a"}, "neither AccountKey nor SharedAccessSignature"},
		{"unknown account", `"queueName":"qq1"`, map[string]string{"AzureWebJobsStorage": "AccountName=nosuch;AccountKey=" + account.DevKey + ";QueueEndpoint=http://" + l.queueHost + "/nosuch"}, `no storage account "nosuch"`},
		{"wrong key", `"queueName":"qq1"`, map[string]string{"AzureWebJobsStorage": "AccountName=devstoreaccount1;AccountKey=" + base64.StdEncoding.EncodeToString([]byte("wrong")) + ";QueueEndpoint=http://" + l.queueHost + "/devstoreaccount1"}, "AccountKey is not a key of this account"},
		{"unresolved setting in queueName", `"queueName":"%NOPE%"`, map[string]string{"AzureWebJobsStorage": l.conn}, `app setting "NOPE" is not set`},
	} {
		t.Run(c.name, func(t *testing.T) {
			fn := function(t, `{"bindings":[{"type":"queueTrigger","direction":"in","name":"m",`+c.props+`}]}`, c.settings, prov)
			stop, err := tr.(binding.Trigger).Start(context.Background(), fn, nil)
			if err == nil {
				stop()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), account.DevKey) {
				t.Fatal("the error shows the key")
			}
		})
	}
}

func function(t testing.TB, fj string, settings map[string]string, prov storageclient.Provider) *binding.Function {
	t.Helper()
	def, err := appconfig.ParseFunction("f", []byte(fj), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &binding.Function{App: "a", Def: def, Host: appconfig.DefaultHostConfig(), TriggerIx: 0,
		Settings: func(n string) (string, bool) { v, ok := settings[n]; return v, ok },
		Env:      &binding.Env{Storage: prov}}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m"}]}`, `bindings[0].queueName: is required`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":""}]}`, `bindings[0].queueName: must not be empty`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":5}]}`, `bindings[0].queueName: 5 is not a string`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"ab"}]}`, `"ab" is not a valid queue name: it must have 3 to 63 characters`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"my_queue"}]}`, `"my_queue" is not a valid queue name: use letters, digits and single hyphens`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"a--b"}]}`, `"a--b" is not a valid queue name`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"-ab"}]}`, `"-ab" is not a valid queue name`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"` + strings.Repeat("a", 64) + `"}]}`, `3 to 63 characters`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"q-{id}"}]}`, `a trigger's queue name cannot use binding expressions`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"orders","connection":7}]}`, `bindings[0].connection: 7 is not a string`},
		{`{"bindings":[{"type":"queueTrigger","direction":"out","name":"m","queueName":"orders"}]}`, `bindings[0].direction: "out" is not allowed for trigger queueTrigger`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"orders"},{"type":"queue","direction":"in","name":"o","queueName":"x1x"}]}`, `bindings[1].direction: "in" is not allowed for type queue; allowed: out`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"orders"},{"type":"queue","direction":"out","name":"o","queueName":"Bad_Name"}]}`, `bindings[1].queueName: "Bad_Name" is not a valid queue name`},
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"orders"},{"type":"queue","direction":"out","name":"o","queueName":"out-{id"}]}`, `bindings[1].queueName: `},
		// Upper case is lowercased, as Azure does; expressions and settings are checked when used.
		{`{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"Orders-2024","connection":"MyStorage"},{"type":"queue","direction":"out","name":"$return","queueName":"out-{id}"},{"type":"queue","direction":"out","name":"o","queueName":"%Q%"}]}`, ``},
	} {
		fn, err := appconfig.ParseFunction("f", []byte(c.json), nil)
		if err == nil { // appconfig checks what every binding has (a trigger's direction); the registry the rest
			err = binding.ValidateFunction(fn)
		}
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.json, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.json, err, c.want)
		}
	}
}

func TestDecodeMessage(t *testing.T) {
	for _, c := range []struct{ text, enc, want string }{
		{base64.StdEncoding.EncodeToString([]byte("hello")), "base64", "hello"},
		{base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)), "base64", `{"a":1}`},
		{"hello", "base64", "hello"},     // not base64: raw
		{"test", "base64", "test"},       // valid base64, but its bytes are not UTF-8: raw
		{`{"a":1}`, "base64", `{"a":1}`}, // JSON is not base64
		{"aGVsbG8=", "none", "aGVsbG8="}, // none: never decoded
		{"", "base64", ""},               // empty
		{base64.StdEncoding.EncodeToString([]byte("héllo wörld")), "base64", "héllo wörld"},
	} {
		if got := queuebinding.DecodeMessage(c.text, c.enc); got != c.want {
			t.Errorf("DecodeMessage(%q, %s) = %q, want %q", c.text, c.enc, got, c.want)
		}
	}
	if got := queuebinding.EncodeMessage("hi", "base64"); got != "aGk=" {
		t.Errorf("EncodeMessage base64 = %q", got)
	}
	if got := queuebinding.EncodeMessage("hi", "none"); got != "hi" {
		t.Errorf("EncodeMessage none = %q", got)
	}
}

func TestValueAndMessages(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1}`:   `{"a":1}`,
		` [1,2]`:    ` [1,2]`,
		`42`:        `"42"`,
		`"quoted"`:  `"\"quoted\""`,
		`{broken`:   `"{broken"`,
		`a<b&c`:     `"a<b&c"`,
		`say "hi"\`: `"say \"hi\"\\"`,
		"tab\there": `"tab\there"`,
		"héllo":     `"héllo"`,
	} {
		if got := string(queuebinding.Value(in)); got != want {
			t.Errorf("Value(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string][]string{
		`null`:                     nil,
		`"text"`:                   {"text"},
		`{"b": 1}`:                 {`{"b":1}`},
		`7`:                        {"7"},
		`["a", {"b": 1}, 3, null]`: {"a", `{"b":1}`, "3"},
		`[]`:                       {},
	} {
		got, err := queuebinding.Messages(json.RawMessage(in))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Messages(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	m := storageclient.Message{ID: "id-1", PopReceipt: "pop", DequeueCount: 3,
		InsertionTime: time.Date(2019, 10, 9, 17, 58, 31, 123, time.UTC), ExpirationTime: time.Date(2019, 10, 16, 17, 58, 31, 0, time.UTC),
		NextVisibleTime: time.Date(2019, 10, 9, 18, 8, 32, 0, time.FixedZone("x", 3600))}
	md := queuebinding.Metadata(&m, "hello")
	b, _ := json.Marshal(md)
	want := `{"DequeueCount":3,"ExpirationTime":"2019-10-16T17:58:31+00:00","Id":"id-1","InsertionTime":"2019-10-09T17:58:31+00:00","NextVisibleTime":"2019-10-09T17:08:32+00:00","PopReceipt":"pop","QueueTrigger":"hello"}`
	if string(b) != want {
		t.Errorf("metadata\n%s\nwant\n%s", b, want)
	}
}

// BenchmarkQueueTrigger measures end-to-end throughput of a no-op queue-triggered function on the in-process
// path: messages are put first, then the function drains the queue.
func BenchmarkQueueTrigger(b *testing.B) {
	l := startLapis(b)
	prov := l.inProcess(b)
	dir := copyApp(b, func(dir string) {
		for _, f := range []string{"process", "fanout", "fail", "slow"} {
			os.RemoveAll(filepath.Join(dir, f))
		}
	})
	acct, err := prov.Account(context.Background(), l.conn)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := acct.CreateQueue(ctx, "noop"); err != nil {
		b.Fatal(err)
	}
	n := max(b.N, 1)
	// Fill the queue with as many writers as the machine allows.
	ch := make(chan struct{}, n)
	for range n {
		ch <- struct{}{}
	}
	close(ch)
	done := make(chan error, runtime.NumCPU()*4)
	for range cap(done) {
		go func() {
			for range ch {
				if _, err := acct.PutMessage(ctx, "noop", "aGVsbG8=", 0, 0); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range cap(done) {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	q := l.srv.Service("queue").(*queue.Service)
	b.ResetTimer()
	startApp(b, dir, prov, map[string]string{"AzureWebJobsStorage": l.conn})
	start := time.Now() // the trigger starts at the end of Start: the few messages it took meanwhile count for free
	for {
		info, err := q.GetQueue(ctx, account.DevAccount, "noop")
		if err != nil {
			b.Fatal(err)
		}
		if info.ApproximateMessages == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.ReportMetric(float64(n)/el.Seconds(), "msgs/s")
}

// BenchmarkQueueTriggerNoWorker is BenchmarkQueueTrigger with an invoker that does nothing: the trigger and the
// queue service alone.
func BenchmarkQueueTriggerNoWorker(b *testing.B) {
	l := startLapis(b)
	prov := l.inProcess(b)
	ctx := context.Background()
	acct, err := prov.Account(ctx, l.conn)
	if err != nil {
		b.Fatal(err)
	}
	if err := acct.CreateQueue(ctx, "noop"); err != nil {
		b.Fatal(err)
	}
	n := max(b.N, 1)
	q := l.srv.Service("queue").(*queue.Service)
	for i := range n {
		if _, err := q.Put(ctx, account.DevAccount, "noop", fmt.Sprint(i), 0, 0); err != nil {
			b.Fatal(err)
		}
	}
	fn := function(b, `{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"noop"}]}`,
		map[string]string{"AzureWebJobsStorage": l.conn}, prov)
	tr, _ := binding.Lookup(queuebinding.TriggerType)
	b.ResetTimer()
	start := time.Now()
	stop, err := tr.(binding.Trigger).Start(ctx, fn, binding.InvokerFunc(func(context.Context, *binding.Invocation) (*binding.Result, error) {
		return &binding.Result{}, nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	for {
		info, err := q.GetQueue(ctx, account.DevAccount, "noop")
		if err != nil {
			b.Fatal(err)
		}
		if info.ApproximateMessages == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
}
