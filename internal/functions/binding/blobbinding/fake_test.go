package blobbinding

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lapisdev/lapis/internal/functions/storageclient"
)

// fakeStorage is an in-memory storageclient.Provider with one account, for the trigger's logic.
type fakeStorage struct{ acct *fakeAccount }

func newFakeStorage() *fakeStorage {
	return &fakeStorage{acct: &fakeAccount{blobs: map[string]*fakeBlob{}, queues: map[string][]string{}, containers: map[string]bool{}}}
}

func (s *fakeStorage) Account(_ context.Context, conn string) (storageclient.Account, error) {
	if conn != "UseDevelopmentStorage=true" {
		return nil, fmt.Errorf("fake storage: unknown connection %q", conn)
	}
	return s.acct, nil
}

type fakeBlob struct {
	data  []byte
	props storageclient.BlobProperties
}

type fakeAccount struct {
	mu         sync.Mutex
	blobs      map[string]*fakeBlob // container/name
	containers map[string]bool
	queues     map[string][]string
	subs       []fakeSub
	etag       atomic.Int64
	reads      atomic.Int64
}

type fakeSub struct {
	container string
	ch        chan storageclient.BlobItem
}

func (a *fakeAccount) Name() string { return "devstoreaccount1" }

func (a *fakeAccount) CreateQueue(_ context.Context, q string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.queues[q]; !ok {
		a.queues[q] = nil
	}
	return nil
}

func (a *fakeAccount) PutMessage(_ context.Context, q, text string, _, _ time.Duration) (storageclient.Message, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.queues[q]; !ok {
		return storageclient.Message{}, &storageclient.Error{Op: "PutMessage", Status: 404, Code: "QueueNotFound"}
	}
	a.queues[q] = append(a.queues[q], text)
	return storageclient.Message{ID: fmt.Sprint(len(a.queues[q])), Text: text}, nil
}

func (a *fakeAccount) messages(q string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.queues[q]...)
}

func (a *fakeAccount) ReceiveMessages(context.Context, string, int, time.Duration, time.Duration) ([]storageclient.Message, error) {
	return nil, fmt.Errorf("not implemented")
}
func (a *fakeAccount) DeleteMessage(context.Context, string, string, string) error {
	return fmt.Errorf("not implemented")
}
func (a *fakeAccount) UpdateVisibility(context.Context, string, string, string, time.Duration) (string, error) {
	return "", fmt.Errorf("not implemented")
}

func (a *fakeAccount) CreateContainer(_ context.Context, c string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.containers[c] = true
	return nil
}

func (a *fakeAccount) ReadBlob(_ context.Context, c, name string) ([]byte, storageclient.BlobProperties, error) {
	a.reads.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.blobs[c+"/"+name]
	if !ok {
		return nil, storageclient.BlobProperties{}, &storageclient.Error{Op: "ReadBlob", Status: 404, Code: "BlobNotFound"}
	}
	return append([]byte(nil), b.data...), b.props, nil
}

func (a *fakeAccount) WriteBlob(_ context.Context, c, name string, data []byte, ctype string) error {
	a.mu.Lock()
	if !a.containers[c] {
		a.mu.Unlock()
		return &storageclient.Error{Op: "WriteBlob", Status: 404, Code: "ContainerNotFound"}
	}
	now := time.Now().UTC()
	created := now
	if old, ok := a.blobs[c+"/"+name]; ok {
		created = old.props.Created
	}
	b := &fakeBlob{data: append([]byte(nil), data...), props: storageclient.BlobProperties{Length: int64(len(data)), ContentType: ctype,
		ETag: fmt.Sprintf("\"0x%X\"", a.etag.Add(1)), LastModified: now, Created: created, Metadata: map[string]string{"k": "v"}}}
	a.blobs[c+"/"+name] = b
	for _, s := range a.subs {
		if s.container == c {
			select {
			case s.ch <- storageclient.BlobItem{Container: c, Name: name, Properties: b.props}:
			default: // a full subscriber misses it; the tests never fill 1024
			}
		}
	}
	a.mu.Unlock()
	return nil
}

// upload writes a blob, creating its container.
func (a *fakeAccount) upload(c, name, data string) string {
	a.CreateContainer(context.Background(), c)
	a.WriteBlob(context.Background(), c, name, []byte(data), "text/plain")
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.blobs[c+"/"+name].props.ETag
}

func (a *fakeAccount) remove(c, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.blobs, c+"/"+name)
}

func (a *fakeAccount) BlobURL(c, name string) string {
	return "http://127.0.0.1:10000/devstoreaccount1/" + c + "/" + name
}

func (a *fakeAccount) ListBlobs(_ context.Context, c, prefix string) ([]storageclient.BlobItem, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []storageclient.BlobItem
	for k, b := range a.blobs {
		cc, name, _ := strings.Cut(k, "/")
		if cc == c && strings.HasPrefix(name, prefix) {
			out = append(out, storageclient.BlobItem{Container: c, Name: name, Properties: b.props})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (a *fakeAccount) BlobEvents(ctx context.Context, c string) (<-chan storageclient.BlobItem, error) {
	ch := make(chan storageclient.BlobItem, 1024)
	a.mu.Lock()
	a.subs = append(a.subs, fakeSub{container: c, ch: ch})
	a.mu.Unlock()
	go func() {
		<-ctx.Done()
		a.mu.Lock()
		for i, s := range a.subs {
			if s.ch == ch {
				a.subs = append(a.subs[:i], a.subs[i+1:]...)
				break
			}
		}
		close(ch)
		a.mu.Unlock()
	}()
	return ch, nil
}
