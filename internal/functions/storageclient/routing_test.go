package storageclient

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/connstr"
	"github.com/lapisdev/lapis/internal/storage/queue"
)

type fakeKeys map[string][]string

func (f fakeKeys) Keys(_ context.Context, name string) ([]string, error) {
	if name == "locked" {
		return nil, account.ErrSharedKeyDisabled
	}
	k, ok := f[name]
	if !ok {
		return nil, account.ErrNoAccount
	}
	return k, nil
}

const key2 = "a2V5LW9mLWFjY291bnQtdHdv"

// TestRouting: which connection strings are served in process, and which go over REST.
func TestRouting(t *testing.T) {
	newP := func(blobEP, queueEP string, dev connstr.Dev) *InProcess {
		p, err := NewInProcess(InProcessOptions{Queue: &queue.Service{}, Accounts: fakeKeys{account.DevAccount: {account.DevKey}, "acct2": {"b3RoZXI=", key2}},
			BlobEndpoint: blobEP, QueueEndpoint: queueEP, REST: RESTOptions{Development: dev}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	def := newP("127.0.0.1:10000", "127.0.0.1:10001", connstr.Dev{})
	moved := newP("127.0.0.1:41000", "127.0.0.1:41001", connstr.Dev{})
	movedDev := newP("127.0.0.1:41000", "127.0.0.1:41001", connstr.Dev{BlobPort: 41000, QueuePort: 41001})
	dk := ";AccountKey=" + account.DevKey
	for _, c := range []struct {
		name        string
		p           *InProcess
		conn        string
		queue, blob bool // served in process
	}{
		{"dev storage on the default ports", def, "UseDevelopmentStorage=true", true, true},
		{"dev storage, platform elsewhere", moved, "UseDevelopmentStorage=true", false, false},
		{"dev storage mapped to the platform", movedDev, "UseDevelopmentStorage=true", true, true},
		{"explicit endpoints", moved, "AccountName=devstoreaccount1" + dk + ";BlobEndpoint=http://127.0.0.1:41000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1/", true, true},
		{"localhost is loopback", moved, "AccountName=devstoreaccount1" + dk + ";QueueEndpoint=http://localhost:41001/devstoreaccount1;BlobEndpoint=http://[::1]:41000/devstoreaccount1", true, true},
		{"only the queue here", moved, "AccountName=devstoreaccount1" + dk + ";QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1", true, false},
		{"another port", moved, "AccountName=devstoreaccount1" + dk + ";QueueEndpoint=http://127.0.0.1:41002/devstoreaccount1", false, false},
		{"another host", moved, "AccountName=devstoreaccount1" + dk + ";QueueEndpoint=http://10.1.2.3:41001/devstoreaccount1", false, false},
		{"https", moved, "AccountName=devstoreaccount1" + dk + ";QueueEndpoint=https://127.0.0.1:41001/devstoreaccount1", false, false},
		{"path names another account", moved, "AccountName=devstoreaccount1" + dk + ";QueueEndpoint=http://127.0.0.1:41001/other", false, false},
		{"created account, second key", moved, "AccountName=acct2;AccountKey=" + key2 + ";QueueEndpoint=http://127.0.0.1:41001/acct2", true, false},
		{"Azure", moved, "DefaultEndpointsProtocol=https;AccountName=acct2;AccountKey=" + key2 + ";EndpointSuffix=core.windows.net", false, false},
		{"SAS", moved, "QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1;SharedAccessSignature=sv=2021-12-02&sig=abc", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := c.p.Account(context.Background(), c.conn)
			if err != nil {
				t.Fatal(err)
			}
			la, local := a.(*localAccount)
			if !local {
				if c.queue || c.blob {
					t.Fatalf("%T, want in process", a)
				}
				if _, ok := a.(*restAccount); !ok {
					t.Fatalf("%T", a)
				}
				return
			}
			if la.localQueue != c.queue || la.localBlob != c.blob {
				t.Fatalf("queue %v blob %v, want %v %v", la.localQueue, la.localBlob, c.queue, c.blob)
			}
			again, _ := c.p.Account(context.Background(), c.conn)
			if again != a {
				t.Fatal("the account is not reused")
			}
		})
	}
	for conn, want := range map[string]string{
		"AccountName=locked;AccountKey=" + key2 + ";QueueEndpoint=http://127.0.0.1:41001/locked":         "key based authentication is disabled",
		"AccountName=acct2;AccountKey=" + account.DevKey + ";QueueEndpoint=http://127.0.0.1:41001/acct2": "AccountKey is not a key of this account",
		"AccountName=ghost;AccountKey=" + key2 + ";QueueEndpoint=http://127.0.0.1:41001/ghost":           `no storage account "ghost"`,
	} {
		_, err := moved.Account(context.Background(), conn)
		var ce *ConnectionError
		if !errors.As(err, &ce) || !contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", conn, err, want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestBlobCreated(t *testing.T) {
	ev := []byte(`{"id":"1","topic":"/subscriptions/s/resourceGroups/lapis/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
		"subject":"/blobServices/default/containers/images/blobs/cats/a b.png","eventType":"Microsoft.Storage.BlobCreated",
		"eventTime":"2024-05-01T10:00:00Z","data":{"api":"PutBlob","eTag":"\"0x1\"","contentType":"image/png","contentLength":42,
		"blobType":"BlockBlob","url":"http://127.0.0.1:10000/devstoreaccount1/images/cats/a%20b.png","sequencer":"00"},"dataVersion":"","metadataVersion":"1"}`)
	it, ok := BlobCreated(ev, "images")
	if !ok || it.Name != "cats/a b.png" || it.Container != "images" || it.Properties.Length != 42 || it.Properties.ETag != `"0x1"` ||
		it.Properties.ContentType != "image/png" || it.Properties.LastModified.IsZero() {
		t.Fatalf("%+v %v", it, ok)
	}
	if _, ok := BlobCreated(ev, "image"); ok {
		t.Fatal("another container's event")
	}
	if _, ok := BlobCreated([]byte(`{"eventType":"Microsoft.Storage.BlobDeleted","subject":"/blobServices/default/containers/images/blobs/x"}`), "images"); ok {
		t.Fatal("a delete")
	}
}
