package eventgrid_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/lapisdev/lapis/internal/eventgrid"
)

// webhook is an event handler: it answers the Event Grid handshake (unless
// told not to), records the events it is sent, and answers each delivery
// with status().
type webhook struct {
	srv *httptest.Server
	// manual leaves the validation event unanswered (200, no body);
	// block holds deliveries until closed.
	manual bool
	block  chan struct{}
	status func() int

	mu         sync.Mutex
	events     []map[string]any
	headers    []http.Header
	validation map[string]any
	options    int
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{status: func() int { return 200 }}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			h.mu.Lock()
			h.options++
			h.mu.Unlock()
			w.Header().Set("WebHook-Allowed-Origin", r.Header.Get("WebHook-Request-Origin"))
			w.Header().Set("Allow", "POST")
			return
		}
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
			var evs []map[string]any
			_ = json.Unmarshal(b, &evs)
			h.mu.Lock()
			h.validation = evs[0]
			h.mu.Unlock()
			if h.manual {
				return
			}
			code := evs[0]["data"].(map[string]any)["validationCode"]
			_ = json.NewEncoder(w).Encode(map[string]any{"validationResponse": code})
			return
		}
		if h.block != nil {
			<-h.block
		}
		var evs []map[string]any
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/cloudevents+json") {
			var one map[string]any
			_ = json.Unmarshal(b, &one)
			evs = []map[string]any{one}
		} else {
			_ = json.Unmarshal(b, &evs)
		}
		h.mu.Lock()
		h.events = append(h.events, evs...)
		h.headers = append(h.headers, r.Header.Clone())
		h.mu.Unlock()
		w.WriteHeader(h.status())
	}))
	t.Cleanup(func() {
		if h.block != nil {
			select {
			case <-h.block:
			default:
				close(h.block)
			}
		}
		h.srv.Close()
	})
	return h
}

func (h *webhook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func subPath(scope, name string) string {
	return scope + "/providers/Microsoft.EventGrid/eventSubscriptions/" + name
}

func webhookDest(url string) map[string]any {
	return map[string]any{"endpointType": "WebHook", "properties": map[string]any{"endpointUrl": url}}
}

func TestSubscriptionDeliversFilteredEventsToAWebhook(t *testing.T) {
	l := start(t, t.TempDir())
	endpoint, key, _ := l.topic(t, "rg", "orders", "")
	h := newWebhook(t)
	sub := subPath(topicPath("rg", "orders"), "created-only")
	st, out := l.arm(t, "PUT", sub, map[string]any{"properties": map[string]any{
		"destination": webhookDest(h.srv.URL + "/hook?code=s3cret"),
		"filter": map[string]any{"includedEventTypes": []string{"Orders.Created"},
			"advancedFilters": []any{map[string]any{"operatorType": "NumberGreaterThan", "key": "data.n", "value": 0}}},
		"labels": []string{"a"},
	}})
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, out)
	}
	p := out["properties"].(map[string]any)
	dp := p["destination"].(map[string]any)["properties"].(map[string]any)
	if p["provisioningState"] != "Succeeded" || dp["endpointBaseUrl"] != h.srv.URL+"/hook" || dp["endpointUrl"] != nil ||
		p["eventDeliverySchema"] != "EventGridSchema" || out["type"] != "Microsoft.EventGrid/eventSubscriptions" ||
		!strings.HasSuffix(p["topic"].(string), "/topics/orders") {
		t.Fatalf("subscription: %v", out)
	}
	if h.validation["eventType"] != "Microsoft.EventGrid.SubscriptionValidationEvent" {
		t.Fatalf("validation event: %v", h.validation)
	}
	if st, full := l.arm(t, "POST", sub+"/getFullUrl", nil); st != 200 || full["endpointUrl"] != h.srv.URL+"/hook?code=s3cret" {
		t.Fatalf("getFullUrl: %d %v", st, full)
	}
	if st, list := l.arm(t, "GET", topicPath("rg", "orders")+"/providers/Microsoft.EventGrid/eventSubscriptions", nil); st != 200 || len(list["value"].([]any)) != 1 {
		t.Fatalf("list: %d %v", st, list)
	}

	// Curl-shaped publish, as in the seed (its URL doubles /api/events).
	body := `[` + egEvent("e1") + `,{"id":"e2","eventType":"Orders.Deleted","subject":"x","eventTime":"2026-03-01T12:00:00Z","data":{"n":1},"dataVersion":"1"},` +
		`{"id":"e3","eventType":"Orders.Created","subject":"x","eventTime":"2026-03-01T12:00:00Z","data":{"n":0},"dataVersion":"1"},` + egEvent("e4") + `]`
	if st, e, raw := l.post(t, endpoint+"/api/events", map[string]string{"aeg-sas-key": key, "Content-Type": "application/json"}, body); st != 200 {
		t.Fatalf("publish: %d %v %s", st, e, raw)
	}
	waitFor(t, "two deliveries", func() bool { return h.count() == 2 })
	time.Sleep(100 * time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := map[string]bool{}
	for _, ev := range h.events {
		ids[ev["id"].(string)] = true
	}
	if len(h.events) != 2 || !ids["e1"] || !ids["e4"] {
		t.Fatalf("delivered %v, want e1 and e4", h.events)
	}
	hd := h.headers[0]
	if hd.Get("aeg-event-type") != "Notification" || hd.Get("aeg-subscription-name") != "CREATED-ONLY" || hd.Get("aeg-delivery-count") != "0" {
		t.Fatalf("headers %v", hd)
	}
}

func TestSubscriptionHandshakes(t *testing.T) {
	l := start(t, t.TempDir())
	l.topic(t, "rg", "t1x", "")
	l.topic(t, "rg", "ce1", "CloudEventSchemaV1_0")

	// An endpoint that fails the handshake: the create fails with Azure's words.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }))
	defer bad.Close()
	st, out := l.arm(t, "PUT", subPath(topicPath("rg", "t1x"), "bad"), map[string]any{"properties": map[string]any{"destination": webhookDest(bad.URL)}})
	msg := fmt.Sprint(out["error"])
	if st != 400 || !strings.Contains(msg, "Webhook validation handshake failed for "+bad.URL) {
		t.Fatalf("bad endpoint: %d %v", st, out)
	}
	if st, _ := l.arm(t, "GET", subPath(topicPath("rg", "t1x"), "bad"), nil); st != 404 {
		t.Fatalf("failed subscription exists: %d", st)
	}

	// Asynchronous validation: 200 without the code, then a GET of validationUrl.
	h := newWebhook(t)
	h.manual = true
	st, out = l.arm(t, "PUT", subPath(topicPath("rg", "t1x"), "manual"), map[string]any{"properties": map[string]any{"destination": webhookDest(h.srv.URL)}})
	if st != 201 || out["properties"].(map[string]any)["provisioningState"] != "AwaitingManualAction" {
		t.Fatalf("manual: %d %v", st, out)
	}
	vurl := h.validation["data"].(map[string]any)["validationUrl"].(string)
	if resp, err := http.Get(vurl + "x"); err != nil || resp.StatusCode != 400 {
		t.Fatalf("wrong token: %v %v", resp, err)
	}
	resp, err := http.Get(vurl)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("validationUrl: %v %v", resp, err)
	}
	if _, out := l.arm(t, "GET", subPath(topicPath("rg", "t1x"), "manual"), nil); out["properties"].(map[string]any)["provisioningState"] != "Succeeded" {
		t.Fatalf("after validation: %v", out)
	}

	// CloudEvents: the OPTIONS abuse-protection handshake, and a delivery
	// in structured mode.
	ce := newWebhook(t)
	st, out = l.arm(t, "PUT", subPath(topicPath("rg", "ce1"), "ce-sub"), map[string]any{"properties": map[string]any{"destination": webhookDest(ce.srv.URL)}})
	if st != 201 || ce.options != 1 || out["properties"].(map[string]any)["eventDeliverySchema"] != "CloudEventSchemaV1_0" {
		t.Fatalf("cloud events: %d %v (OPTIONS %d)", st, out, ce.options)
	}
	_, out = l.arm(t, "GET", topicPath("rg", "ce1"), nil)
	_, keys := l.arm(t, "POST", topicPath("rg", "ce1")+"/listKeys", nil)
	cev := `{"specversion":"1.0","id":"c1","source":"/orders","type":"Orders.Created","subject":"o/1","data":{"n":2}}`
	if st, e, raw := l.post(t, out["properties"].(map[string]any)["endpoint"].(string),
		map[string]string{"aeg-sas-key": keys["key1"].(string), "Content-Type": "application/cloudevents+json; charset=utf-8"}, cev); st != 200 {
		t.Fatalf("publish: %d %v %s", st, e, raw)
	}
	waitFor(t, "the CloudEvent", func() bool { return ce.count() == 1 })
	ce.mu.Lock()
	got, hd := ce.events[0], ce.headers[0]
	ce.mu.Unlock()
	if got["id"] != "c1" || got["specversion"] != "1.0" || !strings.HasPrefix(hd.Get("Content-Type"), "application/cloudevents+json") {
		t.Fatalf("delivered %v with %v", got, hd)
	}
}

// account creates a storage account and returns its id and an azblob and
// azqueue client for it.
func (l *lapis) account(t *testing.T, group, name string) (string, *azblob.Client, *azqueue.ServiceClient) {
	t.Helper()
	path := "/resourceGroups/" + group + "/providers/Microsoft.Storage/storageAccounts/" + name + "?api-version=2023-05-01"
	if st, out := l.arm(t, "PUT", path, map[string]any{"location": "eastus", "sku": map[string]any{"name": "Standard_LRS"}}); st >= 300 {
		t.Fatalf("account: %d %v", st, out)
	}
	_, keys := l.arm(t, "POST", strings.Replace(path, "?", "/listKeys?", 1), nil)
	key := keys["keys"].([]any)[0].(map[string]any)["value"].(string)
	info := l.srv.Info()
	bcred, err := azblob.NewSharedKeyCredential(name, key)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := azblob.NewClientWithSharedKeyCredential(info.Endpoints["blob"]+"/"+name, bcred, nil)
	if err != nil {
		t.Fatal(err)
	}
	qcred, err := azqueue.NewSharedKeyCredential(name, key)
	if err != nil {
		t.Fatal(err)
	}
	qc, err := azqueue.NewServiceClientWithSharedKeyCredential(info.Endpoints["queue"]+"/"+name, qcred,
		&azqueue.ClientOptions{ClientOptions: policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	id := "/subscriptions/" + l.sub + "/resourceGroups/" + group + "/providers/Microsoft.Storage/storageAccounts/" + name
	return id, bc, qc
}

func TestDeadLetterAndStorageQueueDestinations(t *testing.T) {
	ctx := context.Background()
	l := start(t, t.TempDir())
	endpoint, key, _ := l.topic(t, "rg", "dl-topic", "")
	acctID, bc, qc := l.account(t, "rg", "egstore1")
	if _, err := bc.CreateContainer(ctx, "deadletters", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := qc.CreateQueue(ctx, "events", nil); err != nil {
		t.Fatal(err)
	}
	// A webhook that refuses events with 400: dead-lettered at once.
	h := newWebhook(t)
	h.status = func() int { return 400 }
	dl := map[string]any{"endpointType": "StorageBlob", "properties": map[string]any{"resourceId": acctID, "blobContainerName": "deadletters"}}
	if st, out := l.arm(t, "PUT", subPath(topicPath("rg", "dl-topic"), "refuser"), map[string]any{"properties": map[string]any{
		"destination": webhookDest(h.srv.URL), "deadLetterDestination": dl}}); st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	// And a storage queue.
	if st, out := l.arm(t, "PUT", subPath(topicPath("rg", "dl-topic"), "to-queue"), map[string]any{"properties": map[string]any{
		"destination": map[string]any{"endpointType": "StorageQueue", "properties": map[string]any{"resourceId": acctID, "queueName": "events"}}}}); st != 201 {
		t.Fatalf("create queue sub: %d %v", st, out)
	}
	if st, e, raw := l.post(t, endpoint, map[string]string{"aeg-sas-key": key, "Content-Type": "application/json"}, "["+egEvent("d1")+"]"); st != 200 {
		t.Fatalf("publish: %d %v %s", st, e, raw)
	}

	var blobName string
	waitFor(t, "a dead-letter blob", func() bool {
		pager := bc.NewListBlobsFlatPager("deadletters", nil)
		page, err := pager.NextPage(ctx)
		if err != nil || len(page.Segment.BlobItems) == 0 {
			return false
		}
		blobName = *page.Segment.BlobItems[0].Name
		return true
	})
	if !strings.HasPrefix(blobName, "REFUSER/") || !strings.HasSuffix(blobName, ".json") {
		t.Fatalf("blob name %q", blobName)
	}
	resp, err := bc.DownloadStream(ctx, "deadletters", blobName, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var evs []map[string]any
	if err := json.Unmarshal(b, &evs); err != nil || len(evs) != 1 {
		t.Fatalf("dead letter %s: %v", b, err)
	}
	ev := evs[0]
	if ev["id"] != "d1" || ev["deadLetterReason"] != "UndeliverableDueToHttpBadRequest" || ev["deliveryAttempts"] != 1.0 ||
		ev["lastDeliveryOutcome"] != "BadRequest" || ev["lastHttpStatusCode"] != 400.0 || ev["publishTime"] == nil || ev["lastDeliveryAttemptTime"] == nil {
		t.Fatalf("dead-lettered event: %v", ev)
	}

	q := qc.NewQueueClient("events")
	var msgs azqueue.DequeueMessagesResponse
	waitFor(t, "the queue message", func() bool {
		msgs, err = q.DequeueMessage(ctx, nil)
		return err == nil && len(msgs.Messages) == 1
	})
	text, err := base64.StdEncoding.DecodeString(*msgs.Messages[0].MessageText)
	if err != nil || !strings.Contains(string(text), `"id":"d1"`) {
		t.Fatalf("queue message %q: %v", *msgs.Messages[0].MessageText, err)
	}
	if s := l.srv.Service(eventgrid.ServiceName).(*eventgrid.Service).Stats(
		"/subscriptions/" + l.sub + subPath(topicPath("rg", "dl-topic"), "refuser")); s.DeadLettered != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestSystemTopicsCarryBlobAndResourceEvents(t *testing.T) {
	ctx := context.Background()
	l := start(t, t.TempDir())
	if st, out := l.arm(t, "PUT", "/resourcegroups/rg", map[string]any{"location": "eastus"}); st >= 300 {
		t.Fatalf("group: %d %v", st, out)
	}
	acctID, bc, _ := l.account(t, "rg", "uploads1")
	if _, err := bc.CreateContainer(ctx, "uploads", nil); err != nil {
		t.Fatal(err)
	}
	stPath := "/resourceGroups/rg/providers/Microsoft.EventGrid/systemTopics/uploads-events"
	if st, out := l.arm(t, "PUT", stPath, map[string]any{"location": "eastus", "properties": map[string]any{
		"source": acctID, "topicType": "Microsoft.Storage.StorageAccounts"}}); st != 201 {
		t.Fatalf("system topic: %d %v", st, out)
	}
	if st, out := l.arm(t, "PUT", "/resourceGroups/rg/providers/Microsoft.EventGrid/systemTopics/nope", map[string]any{"location": "eastus", "properties": map[string]any{
		"source": acctID + "x", "topicType": "Microsoft.Storage.StorageAccounts"}}); st != 404 {
		t.Fatalf("system topic on a missing account: %d %v", st, out)
	}
	// One subscription on the system topic, one on the account itself,
	// one on the resource group.
	onTopic, onAccount, onGroup := newWebhook(t), newWebhook(t), newWebhook(t)
	if st, out := l.arm(t, "PUT", stPath+"/eventSubscriptions/thumbs", map[string]any{"properties": map[string]any{
		"destination": webhookDest(onTopic.srv.URL), "filter": map[string]any{"includedEventTypes": []string{"Microsoft.Storage.BlobCreated"},
			"subjectBeginsWith": "/blobServices/default/containers/uploads/"}}}); st != 201 {
		t.Fatalf("system topic subscription: %d %v", st, out)
	}
	accountScope := strings.TrimPrefix(acctID, "/subscriptions/"+l.sub)
	if st, out := l.arm(t, "PUT", subPath(accountScope, "all-blobs"), map[string]any{"properties": map[string]any{
		"destination": webhookDest(onAccount.srv.URL)}}); st != 201 {
		t.Fatalf("account subscription: %d %v", st, out)
	}
	if st, out := l.arm(t, "PUT", subPath("/resourceGroups/rg", "group-events"), map[string]any{"properties": map[string]any{
		"destination": webhookDest(onGroup.srv.URL), "filter": map[string]any{"includedEventTypes": []string{"Microsoft.Resources.ResourceWriteSuccess"}}}}); st != 201 {
		t.Fatalf("group subscription: %d %v", st, out)
	}

	if _, err := bc.UploadBuffer(ctx, "uploads", "cat.png", []byte("meow"), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "BlobCreated on both", func() bool { return onTopic.count() == 1 && onAccount.count() == 1 })
	ev := onTopic.events[0]
	if ev["eventType"] != "Microsoft.Storage.BlobCreated" || ev["subject"] != "/blobServices/default/containers/uploads/blobs/cat.png" ||
		!strings.EqualFold(ev["topic"].(string), acctID) {
		t.Fatalf("blob event %v", ev)
	}
	// A resource written in the group raises ResourceWriteSuccess.
	l.topic(t, "rg", "made-later", "")
	waitFor(t, "ResourceWriteSuccess", func() bool {
		onGroup.mu.Lock()
		defer onGroup.mu.Unlock()
		for _, ev := range onGroup.events {
			if strings.HasSuffix(fmt.Sprint(ev["subject"]), "/topics/made-later") {
				return true
			}
		}
		return false
	})
}

func TestSlowSubscriberDoesNotDelayOthers(t *testing.T) {
	l := start(t, t.TempDir())
	endpoint, key, _ := l.topic(t, "rg", "busy", "")
	slow, fast := newWebhook(t), newWebhook(t)
	slow.block = make(chan struct{})
	for name, h := range map[string]*webhook{"slow": slow, "fast": fast} {
		if st, out := l.arm(t, "PUT", subPath(topicPath("rg", "busy"), name), map[string]any{"properties": map[string]any{"destination": webhookDest(h.srv.URL)}}); st != 201 {
			t.Fatalf("%s: %d %v", name, st, out)
		}
	}
	var events []string
	for i := range 200 {
		events = append(events, egEvent(fmt.Sprintf("b%d", i)))
	}
	if st, e, raw := l.post(t, endpoint, map[string]string{"aeg-sas-key": key, "Content-Type": "application/json"}, "["+strings.Join(events, ",")+"]"); st != 200 {
		t.Fatalf("publish: %d %v %s", st, e, raw)
	}
	// Every event reaches the fast subscriber while the slow one holds all
	// of its deliveries.
	waitFor(t, "the fast subscriber's 200 events", func() bool { return fast.count() == 200 })
	if n := slow.count(); n != 0 {
		t.Fatalf("slow subscriber finished %d deliveries while blocked", n)
	}
	close(slow.block)
	waitFor(t, "the slow subscriber's 200 events", func() bool { return slow.count() == 200 })
}

// Events published with the real azeventgrid client reach subscribers, and
// each subscription gets them in its own delivery schema.
func TestAzEventGridPublishesAreDeliveredInEachSchema(t *testing.T) {
	ctx := context.Background()
	l := start(t, t.TempDir())
	egEndpoint, key, _ := l.topic(t, "rg", "sdk-orders", "")
	ceEndpoint, ceKey, _ := l.topic(t, "rg", "sdk-ce-orders", "cloudeventschemav1_0")
	asEG, asCE, ceAsEG := newWebhook(t), newWebhook(t), newWebhook(t)
	for _, s := range []struct {
		topic, name, schema string
		h                   *webhook
	}{{"sdk-orders", "as-eg", "", asEG}, {"sdk-orders", "as-ce", "CloudEventSchemaV1_0", asCE}, {"sdk-ce-orders", "ce-as-eg", "EventGridSchema", ceAsEG}} {
		props := map[string]any{"destination": webhookDest(s.h.srv.URL)}
		if s.schema != "" {
			props["eventDeliverySchema"] = s.schema
		}
		if st, out := l.arm(t, "PUT", subPath(topicPath("rg", s.topic), s.name), map[string]any{"properties": props}); st != 201 {
			t.Fatalf("%s: %d %v", s.name, st, out)
		}
	}
	c, err := azeventgrid.NewClientWithSharedKeyCredential(https(egEndpoint), azcore.NewKeyCredential(key), sdkOptions(l))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishEvents(ctx, []azeventgrid.Event{{ID: to.Ptr("sdk-1"), EventType: to.Ptr("Orders.Created"),
		Subject: to.Ptr("orders/1"), EventTime: to.Ptr(time.Now()), DataVersion: to.Ptr("1.0"), Data: map[string]any{"total": 12}}}, nil); err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	cc, err := azeventgrid.NewClientWithSharedKeyCredential(https(ceEndpoint), azcore.NewKeyCredential(ceKey), sdkOptions(l))
	if err != nil {
		t.Fatal(err)
	}
	ce, _ := messaging.NewCloudEvent("/orders/app", "Orders.Shipped", map[string]any{"order": 7}, &messaging.CloudEventOptions{Subject: to.Ptr("orders/7")})
	if _, err := cc.PublishCloudEvents(ctx, []messaging.CloudEvent{ce}, nil); err != nil {
		t.Fatalf("PublishCloudEvents: %v", err)
	}
	waitFor(t, "three deliveries", func() bool { return asEG.count() == 1 && asCE.count() == 1 && ceAsEG.count() == 1 })
	if ev := asEG.events[0]; ev["id"] != "sdk-1" || ev["eventType"] != "Orders.Created" || ev["data"].(map[string]any)["total"] != 12.0 {
		t.Fatalf("as Event Grid: %v", ev)
	}
	if ev := asCE.events[0]; ev["id"] != "sdk-1" || ev["type"] != "Orders.Created" || ev["specversion"] != "1.0" ||
		!strings.HasSuffix(fmt.Sprint(ev["source"]), "/topics/sdk-orders") || ev["subject"] != "orders/1" {
		t.Fatalf("as CloudEvent: %v", ev)
	}
	if ev := ceAsEG.events[0]; ev["id"] != ce.ID || ev["eventType"] != "Orders.Shipped" || ev["topic"] != "/orders/app" || ev["subject"] != "orders/7" {
		t.Fatalf("CloudEvent as Event Grid: %v", ev)
	}
}

// A subscription past its expirationTimeUtc is deleted, as in Azure.
func TestExpiredSubscriptionIsDeleted(t *testing.T) {
	defer eventgrid.SetJanitorEvery(50 * time.Millisecond)()
	l := start(t, t.TempDir())
	l.topic(t, "rg", "short-lived", "")
	h := newWebhook(t)
	path := subPath(topicPath("rg", "short-lived"), "brief")
	expires := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	if st, out := l.arm(t, "PUT", path, map[string]any{"properties": map[string]any{"destination": webhookDest(h.srv.URL),
		"expirationTimeUtc": expires}}); st != 201 || out["properties"].(map[string]any)["expirationTimeUtc"] == nil {
		t.Fatalf("create: %d %v", st, out)
	}
	waitFor(t, "the expired subscription's deletion", func() bool {
		st, _ := l.arm(t, "GET", path, nil)
		return st == 404
	})
}
