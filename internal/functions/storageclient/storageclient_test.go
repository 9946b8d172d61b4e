package storageclient_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/lapisdev/lapis/internal/functions/functest"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/sas"

	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/connstr"
)

type lapis struct {
	srv                 *platform.Server
	conn                string
	blobHost, queueHost string // host:port
	blobURL, queueURL   string // http://host:port
	inProcess           *storageclient.InProcess
}

func startLapis(t *testing.T) *lapis {
	t.Helper()
	p := functest.Start(t)
	ep := p.Server.Info().Endpoints
	return &lapis{srv: p.Server, conn: p.Conn, blobHost: p.BlobHost, queueHost: p.QueueHost,
		blobURL: ep["blob"], queueURL: ep["queue"], inProcess: p.InProcess(t)}
}

// countingTransport counts the requests that go over HTTP.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestAccount runs every Account operation against a real platform, in process and over REST.
func TestAccount(t *testing.T) {
	l := startLapis(t)
	ct := &countingTransport{}
	rest := storageclient.NewREST(storageclient.RESTOptions{HTTPClient: &http.Client{Transport: ct}, BlobPollInterval: 100 * time.Millisecond})
	for _, c := range []struct {
		name string
		prov storageclient.Provider
	}{{"inprocess", l.inProcess}, {"rest", rest}} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			acct, err := c.prov.Account(ctx, l.conn)
			if err != nil {
				t.Fatal(err)
			}
			if acct.Name() != account.DevAccount {
				t.Fatalf("name %q", acct.Name())
			}
			q := "q-" + c.name
			t.Run("queue", func(t *testing.T) {
				before := ct.n.Load()
				if _, err := acct.PutMessage(ctx, q, "x", 0, 0); !errors.Is(err, storageclient.ErrNotFound) {
					t.Fatalf("put to a missing queue: %v, want ErrNotFound", err)
				}
				for range 2 {
					if err := acct.CreateQueue(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
				put, err := acct.PutMessage(ctx, q, "hello <&> wörld", 0, time.Hour)
				if err != nil || put.ID == "" || put.PopReceipt == "" || put.Text != "hello <&> wörld" {
					t.Fatalf("put: %+v %v", put, err)
				}
				if d := put.ExpirationTime.Sub(put.InsertionTime); d < 59*time.Minute || d > 61*time.Minute {
					t.Fatalf("ttl %v, want 1h", d)
				}
				ms, err := acct.ReceiveMessages(ctx, q, 16, time.Minute, time.Second)
				if err != nil || len(ms) != 1 {
					t.Fatalf("receive: %+v %v", ms, err)
				}
				m := ms[0]
				if m.ID != put.ID || m.Text != "hello <&> wörld" || m.DequeueCount != 1 || m.NextVisibleTime.Before(time.Now().Add(50*time.Second)) {
					t.Fatalf("received %+v", m)
				}
				pop, err := acct.UpdateVisibility(ctx, q, m.ID, m.PopReceipt, 0)
				if err != nil || pop == "" || pop == m.PopReceipt {
					t.Fatalf("update: %q %v", pop, err)
				}
				ms, err = acct.ReceiveMessages(ctx, q, 16, time.Minute, time.Second)
				if err != nil || len(ms) != 1 || ms[0].DequeueCount != 2 {
					t.Fatalf("receive again: %+v %v", ms, err)
				}
				var se *storageclient.Error
				if err := acct.DeleteMessage(ctx, q, m.ID, m.PopReceipt); !errors.As(err, &se) || se.Code != "PopReceiptMismatch" {
					t.Fatalf("delete with a stale receipt: %v", err)
				}
				if err := acct.DeleteMessage(ctx, q, ms[0].ID, ms[0].PopReceipt); err != nil {
					t.Fatal(err)
				}
				if err := acct.DeleteMessage(ctx, q, ms[0].ID, ms[0].PopReceipt); !errors.Is(err, storageclient.ErrNotFound) {
					t.Fatalf("delete twice: %v, want ErrNotFound", err)
				}
				// Batch delete (in process one round; over REST one by one).
				var rs []storageclient.Receipt
				for i := range 5 {
					if _, err := acct.PutMessage(ctx, q, fmt.Sprint(i), 0, 0); err != nil {
						t.Fatal(err)
					}
				}
				for len(rs) < 5 {
					ms, err := acct.ReceiveMessages(ctx, q, 32, time.Minute, time.Second)
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range ms {
						rs = append(rs, storageclient.Receipt{ID: m.ID, PopReceipt: m.PopReceipt})
					}
				}
				rs = append(rs, storageclient.Receipt{ID: rs[0].ID, PopReceipt: "stale"})
				errs := storageclient.DeleteMessages(ctx, acct, q, rs)
				for i, err := range errs[:5] {
					if err != nil {
						t.Errorf("delete %d: %v", i, err)
					}
				}
				if errs[5] == nil {
					t.Error("deleting a deleted message succeeded")
				}
				// Waiting on an empty queue ends with the context.
				wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
				defer wcancel()
				if _, err := acct.ReceiveMessages(wctx, q, 1, time.Minute, 100*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("receive on an empty queue: %v", err)
				}
				if _, err := acct.ReceiveMessages(ctx, "no-such-queue", 1, time.Minute, time.Second); !errors.Is(err, storageclient.ErrNotFound) {
					t.Fatalf("receive on a missing queue: %v", err)
				}
				if n := ct.n.Load() - before; (c.name == "inprocess") != (n == 0) {
					t.Fatalf("%d queue requests over HTTP", n)
				}
			})
			t.Run("blob", func(t *testing.T) {
				cn := "c-" + c.name
				for range 2 {
					if err := acct.CreateContainer(ctx, cn); err != nil {
						t.Fatal(err)
					}
				}
				events, err := acct.BlobEvents(ctx, cn)
				if err != nil {
					t.Fatal(err)
				}
				name := "dir/a b+c ü.txt"
				if err := acct.WriteBlob(ctx, cn, name, []byte("hello blob"), "text/plain"); err != nil {
					t.Fatal(err)
				}
				data, props, err := acct.ReadBlob(ctx, cn, name)
				if err != nil || string(data) != "hello blob" || props.Length != 10 || props.ContentType != "text/plain" || props.ETag == "" || props.LastModified.IsZero() {
					t.Fatalf("read: %q %+v %v", data, props, err)
				}
				if _, _, err := acct.ReadBlob(ctx, cn, "missing"); !errors.Is(err, storageclient.ErrNotFound) {
					t.Fatalf("read missing: %v", err)
				}
				if _, _, err := acct.ReadBlob(ctx, "no-container", "x"); !errors.Is(err, storageclient.ErrNotFound) {
					t.Fatalf("read in a missing container: %v", err)
				}
				if err := acct.WriteBlob(ctx, cn, "other.bin", nil, ""); err != nil {
					t.Fatal(err)
				}
				items, err := acct.ListBlobs(ctx, cn, "dir/")
				if err != nil || len(items) != 1 || items[0].Name != name || items[0].Properties.Length != 10 || items[0].Properties.ETag != props.ETag {
					t.Fatalf("list: %+v %v", items, err)
				}
				if all, _ := acct.ListBlobs(ctx, cn, ""); len(all) != 2 {
					t.Fatalf("list all: %+v", all)
				}
				if u := acct.BlobURL(cn, name); u != l.blobURL+"/"+account.DevAccount+"/"+cn+"/dir/a%20b+c%20%C3%BC.txt" {
					t.Fatalf("BlobURL %s", u)
				}
				got := map[string]storageclient.BlobItem{}
				deadline := time.After(10 * time.Second)
				for len(got) < 2 {
					select {
					case it := <-events:
						if it.Container != cn {
							t.Fatalf("event of container %q", it.Container)
						}
						got[it.Name] = it
					case <-deadline:
						t.Fatalf("events: %+v", got)
					}
				}
				if it := got[name]; it.Properties.Length != 10 || it.Properties.ETag != props.ETag {
					t.Fatalf("event %+v", it)
				}
				// Another container's blobs are not delivered; a new version of a blob is.
				if err := acct.CreateContainer(ctx, cn+"x"); err != nil {
					t.Fatal(err)
				}
				if err := acct.WriteBlob(ctx, cn+"x", "elsewhere", []byte("1"), ""); err != nil {
					t.Fatal(err)
				}
				if err := acct.WriteBlob(ctx, cn, "other.bin", []byte("v2"), ""); err != nil {
					t.Fatal(err)
				}
				select {
				case it := <-events:
					if it.Name != "other.bin" || it.Properties.Length != 2 {
						t.Fatalf("event %+v", it)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no event for the new version")
				}
			})
		})
	}
}

// TestInProcessReceiveIsPushed: a message put after a long wait is received at once in process, with no request
// over HTTP.
func TestInProcessReceiveIsPushed(t *testing.T) {
	l := startLapis(t)
	ctx := context.Background()
	acct, err := l.inProcess.Account(ctx, l.conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.CreateQueue(ctx, "push"); err != nil {
		t.Fatal(err)
	}
	type result struct {
		at  time.Time
		ms  []storageclient.Message
		err error
	}
	ch := make(chan result, 1)
	go func() {
		ms, err := acct.ReceiveMessages(ctx, "push", 16, time.Minute, time.Minute)
		ch <- result{time.Now(), ms, err}
	}()
	time.Sleep(1500 * time.Millisecond)
	put := time.Now()
	if _, err := acct.PutMessage(ctx, "push", "now", 0, 0); err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil || len(r.ms) != 1 {
		t.Fatalf("%+v %v", r.ms, r.err)
	}
	if d := r.at.Sub(put); d > 200*time.Millisecond {
		t.Fatalf("received %v after the put: not pushed", d)
	}
}

// TestRESTPollingBacksOff: an empty queue is polled from MinPollInterval, doubling up to maxWait.
func TestRESTPollingBacksOff(t *testing.T) {
	l := startLapis(t)
	ct := &countingTransport{}
	rest := storageclient.NewREST(storageclient.RESTOptions{HTTPClient: &http.Client{Transport: ct}, MinPollInterval: 50 * time.Millisecond})
	ctx := context.Background()
	acct, err := rest.Account(ctx, l.conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.CreateQueue(ctx, "idle"); err != nil {
		t.Fatal(err)
	}
	ct.n.Store(0)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := acct.ReceiveMessages(wctx, "idle", 1, time.Minute, 400*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	// 50, 100, 200, 400, 400, 400, ... ms (±20 %): about 7 polls in 2 s; a fixed 50 ms would be 40.
	if n := ct.n.Load(); n < 4 || n > 12 {
		t.Fatalf("%d polls in 2 s", n)
	}
}

// TestConnectionErrors: what is wrong with a connection string is said, without the key.
func TestConnectionErrors(t *testing.T) {
	l := startLapis(t)
	ctx := context.Background()
	key2 := "c2VjcmV0LWtleS1udW1iZXItdHdvLXRoYXQtaXMtbG9uZw=="
	for _, c := range []struct{ conn, want string }{
		{"", "the connection string is empty"},
		{"garbage", `"garbage" is not key=value`},
		{"AccountName=a;BlobEndpoint=http://x", "neither AccountKey nor SharedAccessSignature"},
		{"AccountName=devstoreaccount1;AccountKey=%%%;QueueEndpoint=http://" + l.queueHost + "/devstoreaccount1", "AccountKey is not base64"},
		{"AccountName=devstoreaccount1;AccountKey=" + key2 + ";QueueEndpoint=http://" + l.queueHost + "/devstoreaccount1", "AccountKey is not a key of this account"},
		{"AccountName=ghost;AccountKey=" + key2 + ";QueueEndpoint=http://" + l.queueHost + "/ghost", `this Lapis has no storage account "ghost"`},
		{"AccountName=a;AccountKey=" + key2 + ";QueueEndpoint=ftp://x/a", `QueueEndpoint "ftp://x/a" is not an http(s) URL`},
		{"UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://p", "DevelopmentStorageProxyUri is not supported"},
	} {
		_, err := l.inProcess.Account(ctx, c.conn)
		var ce *storageclient.ConnectionError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want a ConnectionError %q", c.conn, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), key2) {
			t.Errorf("%q: the error shows the key", c.conn)
		}
	}
	// Over REST a wrong key is the service's 403.
	rest := storageclient.NewREST(storageclient.RESTOptions{})
	acct, err := rest.Account(ctx, "AccountName=devstoreaccount1;AccountKey="+key2+";QueueEndpoint="+l.queueURL+"/devstoreaccount1")
	if err != nil {
		t.Fatal(err)
	}
	var se *storageclient.Error
	if err := acct.CreateQueue(ctx, "nope"); !errors.As(err, &se) || se.Status != 403 || se.Code != "AuthenticationFailed" {
		t.Fatalf("wrong key over REST: %v", err)
	}
}

// TestSASConnection: a connection string with a (queue) SAS instead of a key works, over REST.
func TestSASConnection(t *testing.T) {
	l := startLapis(t)
	ctx := context.Background()
	svc, err := azqueue.NewServiceClientFromConnectionString(l.conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	su, err := svc.GetSASURL(sas.AccountResourceTypes{Service: true, Container: true, Object: true},
		sas.AccountPermissions{Read: true, Write: true, Add: true, Create: true, Update: true, Process: true, Delete: true, List: true},
		time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(su)
	conn := "QueueEndpoint=" + l.queueURL + "/devstoreaccount1;SharedAccessSignature=" + u.RawQuery
	acct, err := l.inProcess.Account(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Name() != account.DevAccount { // taken from the path-style endpoint
		t.Fatalf("name %q", acct.Name())
	}
	if err := acct.CreateQueue(ctx, "sas-queue"); err != nil {
		t.Fatal(err)
	}
	if _, err := acct.PutMessage(ctx, "sas-queue", "via sas", 0, 0); err != nil {
		t.Fatal(err)
	}
	ms, err := acct.ReceiveMessages(ctx, "sas-queue", 1, time.Minute, time.Second)
	if err != nil || len(ms) != 1 || ms[0].Text != "via sas" {
		t.Fatalf("%+v %v", ms, err)
	}
	// It has no blob endpoint, and says so when a blob is used.
	if _, _, err := acct.ReadBlob(ctx, "c", "b"); err == nil || !strings.Contains(err.Error(), "no BlobEndpoint") {
		t.Fatalf("no blob endpoint: %v", err)
	}
}

// TestFromServiceEnv: the provider a platform service makes serves its own endpoints in process, and
// UseDevelopmentStorage=true too when Development names its ports.
func TestFromServiceEnv(t *testing.T) {
	l := startLapis(t)
	ctx := context.Background()
	port := func(hostport string) int {
		_, p, _ := net.SplitHostPort(hostport)
		n, _ := strconv.Atoi(p)
		return n
	}
	env := service.Env{Substrate: l.srv.Substrate(), Accounts: &account.Directory{Store: l.srv.Manager().Store()}, Host: "127.0.0.1",
		Ports: service.Ports{Blob: port(l.blobHost), Queue: port(l.queueHost)}, Peer: func(n string) service.Service { return l.srv.Service(n) }}
	ct := &countingTransport{}
	hc := &http.Client{Transport: ct}
	for _, c := range []struct {
		conn string
		dev  connstr.Dev
	}{
		{l.conn, connstr.Dev{}},
		{"UseDevelopmentStorage=true", connstr.Dev{BlobPort: port(l.blobHost), QueuePort: port(l.queueHost)}},
	} {
		p, err := storageclient.FromServiceEnv(env, storageclient.RESTOptions{HTTPClient: hc, Development: c.dev})
		if err != nil {
			t.Fatal(err)
		}
		acct, err := p.Account(ctx, c.conn)
		if err != nil {
			t.Fatal(err)
		}
		if err := acct.CreateQueue(ctx, "env-queue"); err != nil {
			t.Fatal(err)
		}
		if _, err := acct.PutMessage(ctx, "env-queue", "m", 0, 0); err != nil {
			t.Fatal(err)
		}
		if ms, err := acct.ReceiveMessages(ctx, "env-queue", 1, time.Minute, time.Minute); err != nil || len(ms) != 1 {
			t.Fatalf("%+v %v", ms, err)
		}
	}
	if n := ct.n.Load(); n != 0 {
		t.Fatalf("%d requests over HTTP", n)
	}
}
