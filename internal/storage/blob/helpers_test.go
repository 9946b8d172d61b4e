package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/blob"
	"github.com/lapisdev/lapis/internal/substrate"
)

const testSub = "00000000-0000-0000-0000-00000000abcd"

// lapis is one running Blob service on a substrate in dir.
type lapis struct {
	t      testing.TB
	dir    string
	sub    *substrate.Substrate
	m      *arm.Manager
	svc    *blob.Service
	srv    *httptest.Server
	cred   *azblob.SharedKeyCredential
	client *azblob.Client
	url    string // account URL
}

var clientOpts = &azblob.ClientOptions{ClientOptions: policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}

func startLapis(t testing.TB, dir string) *lapis {
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
		Subscription: arm.Subscription{ID: testSub, TenantID: "t"}})
	if err != nil {
		sub.Close()
		t.Fatal(err)
	}
	svc, err := blob.New(service.Env{Substrate: sub, Manager: m, Accounts: &account.Directory{Store: m.Store()},
		Host: "127.0.0.1", Ports: service.Ports{Blob: 10000, Queue: 10001}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := svc.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l := &lapis{t: t, dir: dir, sub: sub, m: m, svc: svc, srv: httptest.NewServer(h)}
	l.url = l.srv.URL + "/" + account.DevAccount
	l.cred, err = azblob.NewSharedKeyCredential(account.DevAccount, account.DevKey)
	if err != nil {
		t.Fatal(err)
	}
	l.client, err = azblob.NewClientWithSharedKeyCredential(l.url, l.cred, clientOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.stop)
	return l
}

func newLapis(t *testing.T) *lapis { return startLapis(t, t.TempDir()) }

func (l *lapis) stop() {
	if l.srv == nil {
		return
	}
	l.srv.Close()
	_ = l.svc.Stop(context.Background())
	_ = l.sub.Close()
	l.srv = nil
}

func (l *lapis) mkContainer(name string) {
	l.t.Helper()
	if _, err := l.client.CreateContainer(context.Background(), name, nil); err != nil {
		l.t.Fatalf("create container %s: %v", name, err)
	}
}

// code returns the Azure error code and status of err ("" and 0 for nil).
func code(err error) (string, int) {
	if err == nil {
		return "", 0
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode, re.StatusCode
	}
	return "not a response error: " + err.Error(), -1
}

func wantCode(t *testing.T, err error, wantCode string, wantStatus int) {
	t.Helper()
	c, s := code(err)
	if c != wantCode || s != wantStatus {
		t.Fatalf("got error %q (%d), want %q (%d); err: %v", c, s, wantCode, wantStatus, err)
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func download(t *testing.T, c *azblob.Client, container, name string) []byte {
	t.Helper()
	resp, err := c.DownloadStream(context.Background(), container, name, nil)
	if err != nil {
		t.Fatalf("download %s/%s: %v", container, name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes, want %d (contents differ)", what, len(got), len(want))
	}
}

// events reads every event on the events stream whose subject starts
// with the storage events of the development account.
type event struct {
	Topic       string         `json:"topic"`
	Subject     string         `json:"subject"`
	EventType   string         `json:"eventType"`
	ID          string         `json:"id"`
	EventTime   time.Time      `json:"eventTime"`
	Data        map[string]any `json:"data"`
	DataVersion *string        `json:"dataVersion"`
	MetaVersion string         `json:"metadataVersion"`
}

func (l *lapis) events() []event {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := l.sub.JetStream()
	st, err := js.Stream(ctx, substrate.EventsStream)
	if err != nil {
		l.t.Fatal(err)
	}
	filter := substrate.EventSubject(blob.EventKind, "/subscriptions/"+testSub) + ".>"
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		l.t.Fatal(err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	if n == 0 {
		return nil
	}
	cons, err := js.OrderedConsumer(ctx, substrate.EventsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		l.t.Fatal(err)
	}
	var out []event
	for uint64(len(out)) < n {
		batch, err := cons.Fetch(int(n)-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			l.t.Fatal(err)
		}
		for m := range batch.Messages() {
			var e event
			if err := jsonUnmarshal(m.Data(), &e); err != nil {
				l.t.Fatal(err)
			}
			out = append(out, e)
		}
		if batch.Error() != nil {
			l.t.Fatal(batch.Error())
		}
	}
	return out
}

// rawDo sends a raw request (for what the SDK cannot send, such as a
// malformed block list) and returns status and x-ms-error-code.
func rawDo(t *testing.T, method, url string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-ms-version", "2026-02-06")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("x-ms-error-code")
}
