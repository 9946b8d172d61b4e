// Package eventgridsource_test runs the blob trigger's source EventGrid end to end: a Go SDK app deployed to a
// running platform, fired through its blob extension webhook by hand and by an Event Grid system topic
// subscription on its storage account. It is a package of its own because the test binary builds one worker.
package eventgridsource_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/lapisdev/lapis/internal/functions/functest"
)

var sdkApp string // the built Go SDK app of testdata/sdkapp

func TestMain(m *testing.M) { os.Exit(functest.MainWithWorker(m, "./testdata/sdkapp", &sdkApp)) }

const (
	group   = "egsrc-rg"
	app     = "egsrcapp"
	account = "egsrcstore"
)

// env is the platform with the test's storage account and deployed app.
type env struct {
	p       *functest.Platform
	site    string // the app's resource path
	acctID  string // the storage account's resource id
	blob    *azblob.Client
	front   string // the app's front door, http://egsrcapp.localhost:port
	invoke  string // onupload's invoke_url_template
	sysKey  string // the blobs_extension system key
	httpCli *http.Client
}

// setup creates a storage account, a function app whose AzureWebJobsStorage is that account, and deploys the
// SDK app to it.
func setup(t *testing.T) *env {
	t.Helper()
	p := functest.StartWithFunctions(t)
	e := &env{p: p, site: p.Site(group, app), front: strings.Replace(p.Functions, "127.0.0.1", app+".localhost", 1)}
	rg := "/subscriptions/" + p.Server.Info().Subscription + "/resourceGroups/" + group
	if code := p.ARM(t, http.MethodPut, rg+"?api-version=2021-04-01", map[string]any{"location": "westeurope"}, nil); code >= 300 {
		t.Fatalf("resource group: %d", code)
	}
	e.acctID = rg + "/providers/Microsoft.Storage/storageAccounts/" + account
	if code := p.ARM(t, http.MethodPut, e.acctID+"?api-version=2023-05-01",
		map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Standard_LRS"}}, nil); code >= 300 {
		t.Fatalf("storage account: %d", code)
	}
	var keys struct{ Keys []struct{ Value string } }
	if code := p.ARM(t, http.MethodPost, e.acctID+"/listKeys?api-version=2023-05-01", nil, &keys); code != 200 || len(keys.Keys) == 0 {
		t.Fatalf("listKeys: %d %+v", code, keys)
	}
	cred, err := azblob.NewSharedKeyCredential(account, keys.Keys[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if e.blob, err = azblob.NewClientWithSharedKeyCredential("http://"+p.BlobHost+"/"+account, cred, nil); err != nil {
		t.Fatal(err)
	}
	conn := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://%s/%[1]s;QueueEndpoint=http://%s/%[1]s;",
		account, keys.Keys[0].Value, p.BlobHost, p.QueueHost)
	p.CreateSite(t, group, app, map[string]string{"AzureWebJobsStorage": conn})
	for _, c := range []string{"uploads", "scans"} {
		if _, err := e.blob.CreateContainer(context.Background(), c, nil); err != nil {
			t.Fatal(err)
		}
	}
	dir := functest.CopyApp(t, "testdata/sdkapp", sdkApp, func(dir string) {
		for _, f := range []string{"main.go", "go.mod"} {
			os.Remove(filepath.Join(dir, f))
		}
	})
	var dep map[string]any
	if code := p.ARM(t, http.MethodPost, e.site+"/extensions/zipdeploy", functest.ZipDir(t, dir), &dep); code != 200 {
		t.Fatalf("deploy: %d %v", code, dep)
	}
	e.invoke = e.invokeURL(t, "onupload")
	var hostKeys struct {
		SystemKeys map[string]string `json:"systemKeys"`
	}
	if code := p.ARM(t, http.MethodPost, e.site+"/host/default/listkeys", nil, &hostKeys); code != 200 {
		t.Fatalf("listkeys: %d", code)
	}
	e.sysKey = hostKeys.SystemKeys["blobs_extension"]
	// The front door's {app}.localhost name, reached on 127.0.0.1.
	e.httpCli = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}}}
	return e
}

// invokeURL is what `lapis functionapp function show --query invokeUrlTemplate` prints for function name.
func (e *env) invokeURL(t *testing.T, name string) string {
	t.Helper()
	var fn struct {
		Properties struct {
			InvokeURLTemplate string `json:"invoke_url_template"`
		}
	}
	if code := e.p.ARM(t, http.MethodGet, e.site+"/functions/"+name, nil, &fn); code != 200 {
		t.Fatalf("function show %s: %d", name, code)
	}
	return fn.Properties.InvokeURLTemplate
}

// call sends a request to the app's front door.
func (e *env) call(t *testing.T, method, url string, hdr map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.httpCli.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// upload writes container/name with user metadata and returns its ETag.
func (e *env) upload(t *testing.T, c, name, content string) string {
	t.Helper()
	resp, err := e.blob.UploadBuffer(context.Background(), c, name, []byte(content),
		&azblob.UploadBufferOptions{Metadata: map[string]*string{"origin": to.Ptr("test")}})
	if err != nil {
		t.Fatalf("upload %s/%s: %v", c, name, err)
	}
	return string(*resp.ETag)
}

// record is what the SDK app wrote for one invocation.
type record struct {
	Name, URI, ETag, Content string
	Length                   int64
	Metadata, Params         map[string]string
}

// records returns the records of the invocations for blob c/name.
func (e *env) records(t *testing.T, c, name string) []record {
	t.Helper()
	ctx := context.Background()
	var out []record
	pager := e.blob.NewListBlobsFlatPager("calls", &container.ListBlobsFlatOptions{Prefix: to.Ptr(c + "/" + name + "/")})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if strings.Contains(err.Error(), "ContainerNotFound") {
				return nil
			}
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			resp, err := e.blob.DownloadStream(ctx, "calls", *it.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			var r record
			err = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("calls/%s: %v", *it.Name, err)
			}
			out = append(out, r)
		}
	}
	return out
}

// fired waits up to timeout for blob c/name to have fired want times, then a moment more for any extra
// invocation, and returns the records.
func (e *env) fired(t *testing.T, c, name string, want int, timeout time.Duration) []record {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(e.records(t, c, name)) < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(700 * time.Millisecond)
	recs := e.records(t, c, name)
	if len(recs) != want {
		t.Fatalf("%s/%s fired %d times, want %d", c, name, len(recs), want)
	}
	return recs
}

// blobCreated is the Microsoft.Storage.BlobCreated event the account raises for uploads/name.
func (e *env) blobCreated(name, etag string) string {
	b, _ := json.Marshal([]map[string]any{{"topic": e.acctID, "subject": "/blobServices/default/containers/uploads/blobs/" + name,
		"eventType": "Microsoft.Storage.BlobCreated", "id": "ev-" + name, "eventTime": time.Now().UTC().Format(time.RFC3339Nano),
		"data": map[string]any{"api": "PutBlob", "url": "http://" + e.p.BlobHost + "/" + account + "/uploads/" + name,
			"contentType": "application/octet-stream", "contentLength": 4, "blobType": "BlockBlob", "eTag": etag},
		"dataVersion": "", "metadataVersion": "1"}})
	return string(b)
}

var notification = map[string]string{"aeg-event-type": "Notification", "Content-Type": "application/json"}

// TestWebhookFiresOnce: the function with source EventGrid ignores uploads until an event names them; its
// invoke URL carries the blobs_extension key; an event fires it once with the default source's metadata, a
// repeated event does not fire it again; the handshakes are answered; other keys are refused.
func TestWebhookFiresOnce(t *testing.T) {
	e := setup(t)
	want := e.front + "/runtime/webhooks/blobs?functionName=Host.Functions.onupload&code=" + url.QueryEscape(e.sysKey)
	if e.sysKey == "" || e.invoke != want {
		t.Fatalf("invoke_url_template = %q, want %q", e.invoke, want)
	}
	if u := e.invokeURL(t, "onscan"); u != "" {
		t.Errorf("the default source's function has invoke_url_template %q", u)
	}

	// The default source fires from the upload alone; source EventGrid does not.
	e.upload(t, "scans", "doc.txt", "scan")
	e.fired(t, "scans", "doc.txt", 1, 10*time.Second)
	etag := e.upload(t, "uploads", "cat.png", "meow")
	e.fired(t, "uploads", "cat.png", 0, 0)

	for range 2 {
		if code, _, body := e.call(t, "POST", e.invoke, notification, e.blobCreated("cat.png", etag)); code != http.StatusAccepted {
			t.Fatalf("notification: %d %s", code, body)
		}
	}
	r := e.fired(t, "uploads", "cat.png", 1, 0)[0]
	if r.Name != "uploads/cat.png" || r.URI != "http://"+e.p.BlobHost+"/"+account+"/uploads/cat.png" || r.ETag != etag ||
		r.Length != 4 || r.Content != "meow" || r.Metadata["origin"] != "test" || r.Params["name"] != "cat.png" {
		t.Errorf("the function got %+v (upload ETag %s)", r, etag)
	}

	// The handshakes.
	validation := `[{"id":"v1","topic":"` + e.acctID + `","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",` +
		`"eventTime":"2026-01-01T00:00:00Z","metadataVersion":"1","dataVersion":"1","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}}]`
	code, _, body := e.call(t, "POST", e.invoke, map[string]string{"aeg-event-type": "SubscriptionValidation"}, validation)
	if code != 200 || body != `{"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}` {
		t.Fatalf("validation: %d %s", code, body)
	}
	code, hdr, _ := e.call(t, "OPTIONS", e.invoke, map[string]string{"WebHook-Request-Origin": "eventgrid.azure.net"}, "")
	if code != 200 || hdr.Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" || hdr.Get("Allow") != "POST" {
		t.Fatalf("OPTIONS: %d %v", code, hdr)
	}

	// A failing invocation fails the delivery, so that Event Grid retries it.
	failing := e.upload(t, "uploads", "fail.png", "fail")
	if code, _, body := e.call(t, "POST", e.invoke, notification, e.blobCreated("fail.png", failing)); code != 500 || !strings.Contains(body, "failing on purpose") {
		t.Fatalf("a failing invocation: %d %s", code, body)
	}

	bare := e.front + "/runtime/webhooks/blobs?functionName=Host.Functions.onupload"
	for _, c := range []struct {
		what, url string
		want      int
	}{
		{"no key", bare, 401},
		{"a wrong key", bare + "&code=nope", 401},
		{"its key on the Event Grid webhook", strings.Replace(e.invoke, "/blobs?", "/eventgrid?", 1), 401},
		{"the default source's function", strings.Replace(e.invoke, "onupload", "onscan", 1), 404},
	} {
		if code, _, body := e.call(t, "POST", c.url, notification, "[]"); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.what, code, body, c.want)
		}
	}
}

// TestSystemTopicSubscription: an Event Grid subscription on the storage account's system topic whose endpoint
// is the function's invoke URL (the subscription's creation runs the validation handshake against it) makes an
// upload fire the function, once.
func TestSystemTopicSubscription(t *testing.T) {
	e := setup(t)
	topic := "/subscriptions/" + e.p.Server.Info().Subscription + "/resourceGroups/" + group + "/providers/Microsoft.EventGrid/systemTopics/" + account + "-events"
	var out map[string]any
	if code := e.p.ARM(t, http.MethodPut, topic+"?api-version=2022-06-15", map[string]any{"location": "westeurope",
		"properties": map[string]any{"source": e.acctID, "topicType": "Microsoft.Storage.StorageAccounts"}}, &out); code >= 300 {
		t.Fatalf("system topic: %d %v", code, out)
	}
	if code := e.p.ARM(t, http.MethodPut, topic+"/eventSubscriptions/onupload?api-version=2022-06-15", map[string]any{"properties": map[string]any{
		"destination": map[string]any{"endpointType": "WebHook", "properties": map[string]any{"endpointUrl": e.invoke}},
		"filter": map[string]any{"includedEventTypes": []string{"Microsoft.Storage.BlobCreated"},
			"subjectBeginsWith": "/blobServices/default/containers/uploads/"}}}, &out); code >= 300 {
		t.Fatalf("event subscription: %d %v", code, out)
	}
	etag := e.upload(t, "uploads", "dog.png", "woof")
	r := e.fired(t, "uploads", "dog.png", 1, 15*time.Second)[0]
	if r.Name != "uploads/dog.png" || r.ETag != etag || r.Content != "woof" {
		t.Errorf("the function got %+v (upload ETag %s)", r, etag)
	}
}
