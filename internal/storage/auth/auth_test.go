package auth_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	blobsas "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	queuesas "github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/sas"

	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/auth"
	"github.com/lapisdev/lapis/internal/storage/wire"
)

const otherKey = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktb3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXk="

type keys map[string][]string

func (k keys) Keys(_ context.Context, a string) ([]string, error) {
	if v, ok := k[a]; ok {
		return v, nil
	}
	return nil, account.ErrNoAccount
}

// recorder is a server that authenticates every request and remembers
// the outcome; the SDK's view of the (empty) answer does not matter.
type recorder struct {
	mu     sync.Mutex
	grants []auth.Grant
	errs   []error
	a      *auth.Authenticator
	svc    auth.Service
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	wire.Begin(w, r)
	p, _ := wire.ParsePath(r.URL)
	g, err := rec.a.Authenticate(r, rec.svc, p.Account)
	rec.mu.Lock()
	rec.grants, rec.errs = append(rec.grants, g), append(rec.errs, err)
	rec.mu.Unlock()
	if err != nil {
		wire.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (rec *recorder) last(t *testing.T) (auth.Grant, error) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.grants) == 0 {
		t.Fatal("no request reached the server")
	}
	return rec.grants[len(rec.grants)-1], rec.errs[len(rec.errs)-1]
}

func newRecorder(t *testing.T, svc auth.Service, now time.Time) (*recorder, string) {
	rec := &recorder{svc: svc, a: &auth.Authenticator{
		Keys: keys{account.DevAccount: {otherKey, account.DevKey}},
		Now:  func() time.Time { return now },
	}}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv.URL + "/" + account.DevAccount
}

var noRetry = policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}

func TestSharedKeyFromTheBlobSDK(t *testing.T) {
	rec, base := newRecorder(t, auth.Blob, time.Now())
	cred, err := azblob.NewSharedKeyCredential(account.DevAccount, account.DevKey)
	if err != nil {
		t.Fatal(err)
	}
	client, err := blockblob.NewClientWithSharedKeyCredential(base+"/photos/a%20b/c.txt?x=1", cred, &blockblob.ClientOptions{ClientOptions: noRetry})
	if err != nil {
		t.Fatal(err)
	}
	// Metadata names where byte order and the service's order differ.
	_, _ = client.UploadBuffer(context.Background(), []byte("hello"), &blockblob.UploadBufferOptions{
		Metadata: map[string]*string{"a-b": to.Ptr("1"), "ab": to.Ptr("2"), "a_b": to.Ptr("3"), "a1": to.Ptr("4"), "Z": to.Ptr("5")},
	})
	g, err := rec.last(t)
	if err != nil || g.Kind != auth.SharedKey || g.Account != account.DevAccount {
		t.Fatalf("SharedKey upload: %v %+v", err, g)
	}
	if err := g.Allow('w', auth.Resource{Type: 'o', Container: "photos", Blob: "c.txt"}); err != nil {
		t.Fatalf("SharedKey may do anything: %v", err)
	}

	bad, _ := azblob.NewSharedKeyCredential(account.DevAccount, strings.Repeat("A", 86)+"==")
	client, _ = blockblob.NewClientWithSharedKeyCredential(base+"/photos/c.txt", bad, &blockblob.ClientOptions{ClientOptions: noRetry})
	_, _ = client.UploadBuffer(context.Background(), []byte("x"), nil)
	if _, err := rec.last(t); wire.AsError(err).Code != "AuthenticationFailed" || wire.AsError(err).Status != 403 {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestSharedKeyFromTheQueueSDK(t *testing.T) {
	rec, base := newRecorder(t, auth.Queue, time.Now())
	cred, err := azqueue.NewSharedKeyCredential(account.DevAccount, account.DevKey)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azqueue.NewQueueClientWithSharedKeyCredential(base+"/orders", cred, &azqueue.ClientOptions{ClientOptions: noRetry})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = client.EnqueueMessage(context.Background(), "hi", &azqueue.EnqueueMessageOptions{VisibilityTimeout: to.Ptr[int32](5)})
	if g, err := rec.last(t); err != nil || g.Kind != auth.SharedKey {
		t.Fatalf("queue SharedKey: %v %+v", err, g)
	}
}

func TestRequestDateSkew(t *testing.T) {
	// The server's clock is an hour ahead of the client's.
	rec, base := newRecorder(t, auth.Blob, time.Now().Add(time.Hour))
	cred, _ := azblob.NewSharedKeyCredential(account.DevAccount, account.DevKey)
	client, _ := blockblob.NewClientWithSharedKeyCredential(base+"/c/b", cred, &blockblob.ClientOptions{ClientOptions: noRetry})
	_, _ = client.UploadBuffer(context.Background(), []byte("x"), nil)
	if _, err := rec.last(t); err == nil || !strings.Contains(err.Error(), "too old") {
		t.Fatalf("stale x-ms-date accepted: %v", err)
	}
}

func TestAccountSAS(t *testing.T) {
	now := time.Now().UTC()
	rec, base := newRecorder(t, auth.Blob, now)
	cred, _ := azblob.NewSharedKeyCredential(account.DevAccount, account.DevKey)
	sign := func(perms blobsas.AccountPermissions, types blobsas.AccountResourceTypes, start, expiry time.Time) string {
		qp, err := blobsas.AccountSignatureValues{Protocol: blobsas.ProtocolHTTPSandHTTP, StartTime: start, ExpiryTime: expiry,
			Permissions: perms.String(), ResourceTypes: types.String()}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		return qp.Encode()
	}
	get := func(query string) (auth.Grant, error) {
		t.Helper()
		resp, err := http.Get(base + "/c/b?" + query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return rec.last(t)
	}
	obj := auth.Resource{Type: 'o', Container: "c", Blob: "b"}

	g, err := get(sign(blobsas.AccountPermissions{Read: true}, blobsas.AccountResourceTypes{Object: true}, now.Add(-time.Minute), now.Add(time.Hour)))
	if err != nil || g.Kind != auth.AccountSAS {
		t.Fatalf("valid account SAS: %v", err)
	}
	if err := g.Allow('r', obj); err != nil {
		t.Fatalf("read with r: %v", err)
	}
	if err := g.Allow('w', obj); !errors.Is(err, wire.ErrAuthorizationPermissionMismatch) {
		t.Fatalf("write with r = %v, want AuthorizationPermissionMismatch", err)
	}
	if err := g.Allow('l', auth.Resource{Type: 'c', Container: "c"}); !errors.Is(err, wire.ErrAuthorizationResourceTypeMismatch) {
		t.Fatalf("container op with srt=o = %v, want AuthorizationResourceTypeMismatch", err)
	}

	_, err = get(sign(blobsas.AccountPermissions{Read: true}, blobsas.AccountResourceTypes{Object: true}, now.Add(-2*time.Hour), now.Add(-time.Hour)))
	if wire.AsError(err).Code != "AuthenticationFailed" || !strings.Contains(err.Error(), "expiry") {
		t.Fatalf("expired SAS: %v", err)
	}
	tampered := strings.Replace(sign(blobsas.AccountPermissions{Read: true}, blobsas.AccountResourceTypes{Object: true}, time.Time{}, now.Add(time.Hour)), "sp=r", "sp=rwd", 1)
	if _, err := get(tampered); wire.AsError(err).Code != "AuthenticationFailed" {
		t.Fatalf("SAS with widened permissions accepted: %v", err)
	}
}

func TestServiceSAS(t *testing.T) {
	now := time.Now().UTC()
	rec, base := newRecorder(t, auth.Blob, now)
	cred, _ := azblob.NewSharedKeyCredential(account.DevAccount, account.DevKey)
	qp, err := blobsas.BlobSignatureValues{Protocol: blobsas.ProtocolHTTPSandHTTP, ExpiryTime: now.Add(time.Hour),
		ContainerName: "c", BlobName: "dir/b.txt", Permissions: to.Ptr(blobsas.BlobPermissions{Read: true}).String()}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(base + "/c/dir/b.txt?" + qp.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	g, err := rec.last(t)
	if err != nil || g.Kind != auth.ServiceSAS {
		t.Fatalf("blob service SAS: %v", err)
	}
	if err := g.Allow('r', auth.Resource{Type: 'o', Container: "c", Blob: "dir/b.txt"}); err != nil {
		t.Fatal(err)
	}
	if err := g.Allow('r', auth.Resource{Type: 'o', Container: "c", Blob: "other"}); err == nil {
		t.Fatal("a blob SAS reached another blob")
	}
	// The signature covers the path: the same SAS on another blob fails.
	resp, _ = http.Get(base + "/c/other?" + qp.Encode())
	resp.Body.Close()
	if _, err := rec.last(t); wire.AsError(err).Code != "AuthenticationFailed" {
		t.Fatalf("SAS reused on another path: %v", err)
	}

	// Queue service SAS from azqueue.
	qrec, qbase := newRecorder(t, auth.Queue, now)
	qcred, _ := azqueue.NewSharedKeyCredential(account.DevAccount, account.DevKey)
	qqp, err := queuesas.QueueSignatureValues{Protocol: queuesas.ProtocolHTTPSandHTTP, ExpiryTime: now.Add(time.Hour), QueueName: "orders",
		Permissions: to.Ptr(queuesas.QueuePermissions{Add: true, Process: true}).String()}.SignWithSharedKey(qcred)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(qbase + "/orders/messages?" + qqp.Encode())
	resp, _ = http.Post(u.String(), "application/xml", strings.NewReader("<QueueMessage/>"))
	resp.Body.Close()
	g, err = qrec.last(t)
	if err != nil || g.Kind != auth.ServiceSAS {
		t.Fatalf("queue service SAS: %v", err)
	}
	if err := g.Allow('a', auth.Resource{Type: 'o', Container: "orders"}); err != nil {
		t.Fatal(err)
	}
	if err := g.Allow('r', auth.Resource{Type: 'o', Container: "orders"}); !errors.Is(err, wire.ErrAuthorizationPermissionMismatch) {
		t.Fatalf("peek with a+p = %v", err)
	}
	if err := g.Allow('a', auth.Resource{Type: 'o', Container: "other"}); err == nil {
		t.Fatal("a queue SAS reached another queue")
	}
}

func TestAnonymousAndUnknownAccount(t *testing.T) {
	rec, base := newRecorder(t, auth.Blob, time.Now())
	resp, _ := http.Get(base + "/c/b")
	resp.Body.Close()
	g, err := rec.last(t)
	if err != nil || g.Kind != auth.Anonymous {
		t.Fatalf("anonymous: %v %+v", err, g)
	}
	if err := g.Allow('r', auth.Resource{Type: 'o'}); !errors.Is(err, wire.ErrNoAuthenticationInformation) {
		t.Fatalf("anonymous Allow = %v", err)
	}
	cred, _ := azblob.NewSharedKeyCredential("nosuchacct", account.DevKey)
	client, _ := blockblob.NewClientWithSharedKeyCredential(strings.Replace(base, account.DevAccount, "nosuchacct", 1)+"/c/b", cred, &blockblob.ClientOptions{ClientOptions: noRetry})
	_, _ = client.UploadBuffer(context.Background(), []byte("x"), nil)
	if _, err := rec.last(t); wire.AsError(err).Code != "AuthenticationFailed" {
		t.Fatalf("unknown account: %v", err)
	}
}

func FuzzStringToSign(f *testing.F) {
	f.Add("/acct/c/b%20c", "comp=list&prefix=a&prefix=b&Marker=", "x-ms-meta-a-b")
	f.Fuzz(func(t *testing.T, path, query, header string) {
		u := &url.URL{Path: path, RawQuery: query}
		r := &http.Request{Method: "PUT", URL: u, Header: http.Header{}}
		r.Header.Set("x-ms-date", "Mon, 02 Jan 2006 15:04:05 GMT")
		if header != "" && !strings.ContainsAny(header, "\r\n:") {
			r.Header.Add(header, "v")
		}
		_ = auth.StringToSign(r, "acct", func(a, b string) int { return strings.Compare(a, b) })
		a := &auth.Authenticator{Keys: keys{}}
		_, _ = a.Authenticate(r, auth.Blob, "acct")
		r.Header.Set("Authorization", "SharedKey acct:"+header)
		_, _ = a.Authenticate(r, auth.Blob, "acct")
	})
}

// TestHeaderOrderMatchesTheSDK signs requests with random metadata names
// through the real SDK and checks that every signature verifies, which
// holds only if the header order matches the SDK's.
func TestHeaderOrderMatchesTheSDK(t *testing.T) {
	rec, base := newRecorder(t, auth.Blob, time.Now())
	cred, _ := azblob.NewSharedKeyCredential(account.DevAccount, account.DevKey)
	client, _ := blockblob.NewClientWithSharedKeyCredential(base+"/c/b", cred, &blockblob.ClientOptions{ClientOptions: noRetry})
	rnd := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab1_-"
	for i := range 200 {
		md := map[string]*string{}
		for range 2 + rnd.IntN(4) {
			n := make([]byte, 1+rnd.IntN(5))
			for k := range n {
				n[k] = alphabet[rnd.IntN(len(alphabet))]
			}
			if n[0] == '-' || n[0] == '_' || n[0] >= '0' && n[0] <= '9' {
				n[0] = 'm' // metadata names must be C# identifiers
			}
			md[string(n)] = to.Ptr("v")
		}
		_, _ = client.UploadBuffer(context.Background(), []byte("x"), &blockblob.UploadBufferOptions{Metadata: md})
		if _, err := rec.last(t); err != nil {
			names := make([]string, 0, len(md))
			for k := range md {
				names = append(names, k)
			}
			t.Fatalf("case %d, metadata %q: %v", i, names, err)
		}
	}
}
