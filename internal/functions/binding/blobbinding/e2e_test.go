package blobbinding_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/blobbinding"
	"github.com/lapisdev/lapis/internal/functions/functest"
	"github.com/lapisdev/lapis/internal/functions/host"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/platform"
)

var handlerPath string // the built test custom handler

func TestMain(m *testing.M) { os.Exit(functest.MainWithWorker(m, "./testdata/handler", &handlerPath)) }

// lapis is a running platform with clients for a test.
type lapis struct {
	*functest.Platform
	srv   *platform.Server
	conn  string // connection string of devstoreaccount1 on it
	blob  *azblob.Client
	blobH string // host:port of its Blob endpoint
	queue string // host:port of its Queue endpoint
}

func startLapis(t *testing.T) *lapis {
	t.Helper()
	p := functest.Start(t)
	l := &lapis{Platform: p, srv: p.Server, conn: p.Conn, blobH: p.BlobHost, queue: p.QueueHost}
	var err error
	if l.blob, err = azblob.NewClientFromConnectionString(l.conn, nil); err != nil {
		t.Fatal(err)
	}
	return l
}

// provider is what the platform gives its hosts: accounts on its endpoints served in process.
func (l *lapis) provider(t *testing.T) storageclient.Provider { return l.InProcess(t) }

// copyApp copies testdata/app with the handler into a new directory; edit may change it.
func copyApp(t *testing.T, edit func(dir string)) string {
	t.Helper()
	return functest.CopyApp(t, "testdata/app", handlerPath, edit)
}

// logs counts log records by message.
type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	if testing.Verbose() {
		fmt.Fprintln(os.Stderr, r.Time.Format("15:04:05.000"), r.Level, r.Message)
	}
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }
func (l *logs) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

type app struct {
	dir  string
	env  *binding.Env
	logs *logs
	l    *lapis
}

func newApp(t *testing.T, l *lapis, edit func(dir string)) *app {
	lg := &logs{}
	return &app{dir: copyApp(t, edit), l: l, logs: lg,
		env: &binding.Env{Storage: l.provider(t), Substrate: l.srv.Substrate(), Node: "node1", Logger: slog.New(lg)}}
}

// start starts a host of the app (each call is another instance).
func (a *app) start(t *testing.T) *host.Host {
	t.Helper()
	h, err := host.New(host.Options{Dir: a.dir, Name: "blobapp", AuthDisabled: true, Env: a.env, Logger: slog.New(a.logs),
		Settings: map[string]string{"AzureWebJobsStorage": a.l.conn, "Storage": a.l.conn}})
	if err != nil {
		t.Fatalf("host.New: %v", err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func eventually(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *lapis) mkContainer(t *testing.T, name string) {
	t.Helper()
	if _, err := l.blob.CreateContainer(context.Background(), name, nil); err != nil && !strings.Contains(err.Error(), "ContainerAlreadyExists") {
		t.Fatal(err)
	}
}

func (l *lapis) upload(t *testing.T, c, name string, data []byte) string {
	t.Helper()
	resp, err := l.blob.UploadBuffer(context.Background(), c, name, data, &azblob.UploadBufferOptions{Metadata: map[string]*string{"origin": to.Ptr("test")}})
	if err != nil {
		t.Fatalf("upload %s/%s: %v", c, name, err)
	}
	return string(*resp.ETag)
}

func (l *lapis) download(t *testing.T, c, name string) []byte {
	t.Helper()
	resp, err := l.blob.DownloadStream(context.Background(), c, name, nil)
	if err != nil {
		t.Fatalf("download %s/%s: %v", c, name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// list returns the names of the blobs of container c that start with prefix.
func (l *lapis) list(t *testing.T, c, prefix string) []string {
	t.Helper()
	var out []string
	pager := l.blob.NewListBlobsFlatPager(c, &container.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			if strings.Contains(err.Error(), "ContainerNotFound") {
				return nil
			}
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			out = append(out, *b.Name)
		}
	}
	return out
}

// record is a payload the handler wrote as a blob.
type record struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

func (l *lapis) records(t *testing.T, prefix string) []record {
	t.Helper()
	var out []record
	for _, n := range l.list(t, "calls", prefix) {
		var r record
		if err := json.Unmarshal(l.download(t, "calls", n), &r); err != nil {
			t.Fatalf("calls/%s: %v", n, err)
		}
		out = append(out, r)
	}
	return out
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// settle waits a moment for invocations that should not happen.
func settle() { time.Sleep(700 * time.Millisecond) }

func TestUploadFiresOnce(t *testing.T) {
	l := startLapis(t)
	a := newApp(t, l, nil)
	a.start(t)
	l.mkContainer(t, "images")
	img := make([]byte, 1234)
	rand.Read(img)
	etag := l.upload(t, "images", "cat.png", img)

	eventually(t, 10*time.Second, "the invocation", func() bool { return len(l.list(t, "calls", "process/cat.png/")) >= 1 })
	settle()
	recs := l.records(t, "process/cat.png/")
	if len(recs) != 1 {
		t.Fatalf("the upload fired %d times", len(recs))
	}
	r := recs[0]
	if got, _ := base64.StdEncoding.DecodeString(str(r.Data["image"])); !bytes.Equal(got, img) {
		t.Errorf("Data.image is not the blob's content (base64): %.60s", r.Data["image"])
	}
	if str(r.Metadata["name"]) != "cat.png" || str(r.Metadata["BlobTrigger"]) != "images/cat.png" {
		t.Errorf("name %s, BlobTrigger %s", r.Metadata["name"], r.Metadata["BlobTrigger"])
	}
	if u := str(r.Metadata["Uri"]); u != "http://"+l.blobH+"/devstoreaccount1/images/cat.png" {
		t.Errorf("Uri %s", u)
	}
	var props blobbinding.BlobProperties
	if err := json.Unmarshal(r.Metadata["Properties"], &props); err != nil {
		t.Fatal(err)
	}
	if props.ContentLength != 1234 || props.Length != 1234 || props.ETag != etag || props.BlobType != "BlockBlob" ||
		props.LastModified.IsZero() || props.Created.IsZero() {
		t.Errorf("Properties %s (upload ETag %s)", r.Metadata["Properties"], etag)
	}
	if m := string(r.Metadata["Metadata"]); m != `{"origin":"test"}` {
		t.Errorf("Metadata.Metadata %s", m)
	}
	var sys struct{ MethodName string }
	if json.Unmarshal(r.Metadata["sys"], &sys); sys.MethodName != "process" {
		t.Errorf("Metadata.sys %s", r.Metadata["sys"])
	}
	// The blob output landed: the thumbnail is the image (base64-decoded, dataType binary).
	if got := l.download(t, "thumbs", "cat.png"); !bytes.Equal(got, img) {
		t.Errorf("thumbs/cat.png: %d bytes, not the image", len(got))
	}

	// An overwrite is a new version: it fires again, once.
	etag2 := l.upload(t, "images", "cat.png", []byte("smaller"))
	eventually(t, 10*time.Second, "the second invocation", func() bool { return len(l.list(t, "calls", "process/cat.png/")) >= 2 })
	settle()
	recs = l.records(t, "process/cat.png/")
	if len(recs) != 2 {
		t.Fatalf("after the overwrite: %d invocations", len(recs))
	}
	seen := map[string]bool{}
	for _, r := range recs {
		var p blobbinding.BlobProperties
		json.Unmarshal(r.Metadata["Properties"], &p)
		seen[p.ETag] = true
	}
	if !seen[etag] || !seen[etag2] {
		t.Fatalf("the invocations saw ETags %v, want %s and %s", seen, etag, etag2)
	}
}

func TestTwoHostsFireOnce(t *testing.T) {
	l := startLapis(t)
	a := newApp(t, l, nil)
	a.start(t)
	a.start(t) // a second instance on the same substrate
	l.mkContainer(t, "images")
	const n = 20
	for i := range n {
		l.upload(t, "images", fmt.Sprintf("img%02d.png", i), []byte{byte(i)})
	}
	eventually(t, 20*time.Second, "every blob", func() bool { return len(l.list(t, "calls", "process/")) >= n })
	settle()
	names := l.list(t, "calls", "process/")
	if len(names) != n {
		t.Fatalf("%d invocations for %d blobs", len(names), n)
	}
	per := map[string]int{}
	for _, nm := range names {
		per[strings.Split(nm, "/")[1]]++
	}
	for i := range n {
		if c := per[fmt.Sprintf("img%02d.png", i)]; c != 1 {
			t.Errorf("img%02d.png fired %d times", i, c)
		}
	}
	if c := a.logs.count("Executing 'Functions.process'"); c != n {
		t.Errorf("%d executions logged", c)
	}
}

func TestRestartScansWithoutRefiring(t *testing.T) {
	l := startLapis(t)
	a := newApp(t, l, nil)
	h := a.start(t)
	l.mkContainer(t, "images")
	l.upload(t, "images", "early.png", []byte("1"))
	eventually(t, 10*time.Second, "the first invocation", func() bool { return len(l.list(t, "calls", "process/early.png/")) == 1 })
	h.Close()

	// Written while the app is down.
	l.upload(t, "images", "while-down.png", []byte("2"))
	a.start(t)
	eventually(t, 10*time.Second, "the scan", func() bool { return len(l.list(t, "calls", "process/while-down.png/")) == 1 })
	settle()
	if n := len(l.list(t, "calls", "process/early.png/")); n != 1 {
		t.Fatalf("the restart fired early.png again: %d invocations", n)
	}
	if n := len(l.list(t, "calls", "process/")); n != 2 {
		t.Fatalf("%d invocations in all", n)
	}
}

func TestPatternParametersAndBlobInput(t *testing.T) {
	l := startLapis(t)
	a := newApp(t, l, nil)
	a.start(t)
	l.mkContainer(t, "docs")
	l.mkContainer(t, "meta")
	l.upload(t, "meta", "report.v2.json", []byte(`{"title":"Q1"}`))
	l.upload(t, "docs", "report.v2.pdf", []byte("text content"))
	l.upload(t, "docs", "plain.txt", []byte("other"))
	l.upload(t, "docs", "noextension", []byte("never"))
	eventually(t, 10*time.Second, "two invocations", func() bool { return len(l.list(t, "calls", "docs/")) >= 2 })
	settle()
	names := l.list(t, "calls", "docs/")
	if len(names) != 2 {
		t.Fatalf("invocations %v", names)
	}
	day := time.Now().UTC().Format("20060102")
	for _, nm := range names {
		// calls/docs/{name}/{ext}/{DateTime:yyyyMMdd}-{rand-guid:N}.json
		parts := strings.Split(nm, "/")
		if len(parts) != 4 || !strings.HasPrefix(parts[3], day+"-") || len(parts[3]) != len(day)+1+32+len(".json") {
			t.Errorf("output blob %s does not follow the path's expressions", nm)
		}
	}
	recs := l.records(t, "docs/report.v2/pdf/")
	if len(recs) != 1 {
		t.Fatalf("report.v2.pdf: %d invocations", len(recs))
	}
	r := recs[0]
	if str(r.Metadata["name"]) != "report.v2" || str(r.Metadata["ext"]) != "pdf" || str(r.Data["doc"]) != "text content" {
		t.Errorf("name %s ext %s doc %s", r.Metadata["name"], r.Metadata["ext"], r.Data["doc"])
	}
	if got := str(r.Data["meta"]); got != `{"title":"Q1"}` {
		t.Errorf("the blob input meta/{name}.json = %s", r.Data["meta"])
	}
	recs = l.records(t, "docs/plain/txt/")
	if len(recs) != 1 || string(recs[0].Data["meta"]) != "null" {
		t.Fatalf("plain.txt: %d invocations; a missing input blob must be null: %s", len(recs), recs[0].Data["meta"])
	}
}

func TestPoisonAfterFiveFailures(t *testing.T) {
	l := startLapis(t)
	a := newApp(t, l, nil)
	a.start(t)
	l.mkContainer(t, "bad")
	etag := l.upload(t, "bad", "broken.png", []byte("x"))
	q, err := azqueue.NewQueueClientFromConnectionString(l.conn, blobbinding.PoisonQueue, nil)
	if err != nil {
		t.Fatal(err)
	}
	var msg string
	eventually(t, 20*time.Second, "the poison message", func() bool {
		resp, err := q.DequeueMessage(context.Background(), nil)
		if err != nil || len(resp.Messages) == 0 {
			return false
		}
		msg = *resp.Messages[0].MessageText
		return true
	})
	settle()
	if n := a.logs.count("Executing 'Functions.fail'"); n != 5 {
		t.Fatalf("%d attempts before the poison message, want 5", n)
	}
	raw, err := base64.StdEncoding.DecodeString(msg)
	if err != nil {
		t.Fatalf("poison message %q is not base64: %v", msg, err)
	}
	var got map[string]string
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Type": "BlobTrigger", "FunctionId": "blobapp.Functions.fail", "BlobType": "BlockBlob",
		"ContainerName": "bad", "BlobName": "broken.png", "ETag": etag}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("poison message %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("poison message %s", raw)
	}
	if !strings.HasPrefix(string(raw), `{"Type":"BlobTrigger","FunctionId":`) {
		t.Errorf("poison message field order: %s", raw)
	}
}

func TestOutputToTriggerPathFiresAgain(t *testing.T) {
	l := startLapis(t)
	a := newApp(t, l, nil)
	a.start(t)
	l.mkContainer(t, "loop")
	l.upload(t, "loop", "a", []byte("x"))
	eventually(t, 10*time.Second, "the copy's invocation", func() bool { return len(l.list(t, "calls", "loop/a.copy/")) == 1 })
	settle()
	if n := len(l.list(t, "calls", "loop/a/")); n != 1 {
		t.Errorf("a fired %d times", n)
	}
	if n := len(l.list(t, "calls", "loop/")); n != 2 {
		t.Errorf("%d invocations in all, want a and a.copy", n)
	}
	if got := string(l.download(t, "loop", "a.copy")); got != "copy of a" {
		t.Errorf("loop/a.copy = %q", got)
	}
	// The process function writes thumbs/{name}: its own trigger is images/{name}, so it does not fire.
}

func TestHostRejectsInvalidBindings(t *testing.T) {
	l := startLapis(t)
	a := newApp(t, l, func(dir string) {
		os.MkdirAll(filepath.Join(dir, "broken"), 0o755)
		os.WriteFile(filepath.Join(dir, "broken", "function.json"), []byte(`{"bindings":[
			{"type":"blobTrigger","direction":"in","name":"b","path":"{container}/{name}"},
			{"type":"blob","direction":"out","name":"o","connection":["x"]}]}`), 0o644)
	})
	_, err := host.New(host.Options{Dir: a.dir, Name: "blobapp", Env: a.env, Settings: map[string]string{"AzureWebJobsStorage": l.conn}})
	if err == nil {
		t.Fatal("host.New accepted the broken function")
	}
	for _, want := range []string{
		"broken/function.json: bindings[0].path:", "the container part cannot contain binding expressions",
		"bindings[1].path: is missing", "bindings[1].connection: [\"x\"] is not a string",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// With the REST provider (another Lapis, Azurite or Azure) the events come from polling the listing.
func TestRESTProviderFiresOnce(t *testing.T) {
	l := startLapis(t)
	a := newApp(t, l, nil)
	a.env.Storage = storageclient.NewREST(storageclient.RESTOptions{BlobPollInterval: 100 * time.Millisecond})
	a.start(t)
	l.mkContainer(t, "images")
	l.upload(t, "images", "polled.png", []byte("x"))
	eventually(t, 10*time.Second, "the invocation", func() bool { return len(l.list(t, "calls", "process/polled.png/")) >= 1 })
	settle()
	if n := len(l.list(t, "calls", "process/polled.png/")); n != 1 {
		t.Fatalf("fired %d times", n)
	}
}
