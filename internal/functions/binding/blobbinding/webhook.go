package blobbinding

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/eventgridbinding"
)

// The blob extension's webhook.
const (
	// Extension names the webhook, /runtime/webhooks/blobs, through which Event Grid fires the functions whose
	// source is EventGrid; its system key is binding.SystemKeyName(Extension), "blobs_extension".
	Extension = "blobs"
	// FunctionIDPrefix starts the webhook's functionName: Azure's Functions host names a function
	// "Host.Functions.{name}" there.
	FunctionIDPrefix = "Host.Functions."
	// EventBlobCreated is the only event type that fires a function.
	EventBlobCreated = "Microsoft.Storage.BlobCreated"
)

// webhooks holds the listener of each started function whose source is EventGrid, keyed by its
// *binding.Function, for ServeWebhook.
var webhooks sync.Map

// Extension implements binding.Webhook.
func (Trigger) Extension() string { return Extension }

// InvokePath implements binding.Addressable: for a function whose source is EventGrid, the blob extension's
// webhook with the function's id, "/runtime/webhooks/blobs?functionName=Host.Functions.{name}", the endpoint
// Azure's Event Grid subscriptions for the blob trigger use (the management API adds the system key as &code=).
// It is "" for a function with the default source, which is not called by URL.
func (Trigger) InvokePath(fn *binding.Function) string {
	if cfg, err := ParseTriggerConfig(fn.Trigger()); err != nil || cfg.Source != SourceEventGrid {
		return ""
	}
	return "/runtime/webhooks/" + Extension + "?functionName=" + url.QueryEscape(FunctionIDPrefix+fn.Name())
}

// ServeWebhook implements binding.Webhook: Event Grid's requests for a function whose source is EventGrid, named
// by functionName ("Host.Functions.{name}", or just the name). The handshakes and the answers are the Event Grid
// trigger's (eventgridbinding.ServeDelivery); a notification fires the function for each blob its
// Microsoft.Storage.BlobCreated events name in the trigger's container, when the path matches the name, through
// the receipts that make each version fire once; other events are ignored. The answer is 202 once every such
// blob has been processed or needs nothing from this delivery (done, poisoned, or under way elsewhere), 500 when
// an invocation failed (Event Grid retries; the trigger retries too, as for any failure, and poisons the version
// after the last attempt). An unknown function is 404, as is one whose
// source is not EventGrid; one whose trigger is not running (it could not start, or is stopping) is 503.
func (Trigger) ServeWebhook(w http.ResponseWriter, r *http.Request, fns func(string) *binding.Function, _ binding.Invoker) {
	id := r.URL.Query().Get("functionName")
	name := id
	if len(id) > len(FunctionIDPrefix) && strings.EqualFold(id[:len(FunctionIDPrefix)], FunctionIDPrefix) {
		name = id[len(FunctionIDPrefix):]
	}
	fn := fns(name)
	if fn == nil {
		http.Error(w, fmt.Sprintf("cannot find function: '%s'", id), http.StatusNotFound)
		return
	}
	if cfg, err := ParseTriggerConfig(fn.Trigger()); err == nil && cfg.Source != SourceEventGrid {
		http.Error(w, fmt.Sprintf("the blob trigger of function '%s' has source %s, so Event Grid does not fire it; "+
			"set \"source\": \"EventGrid\" in its function.json", fn.Name(), cfg.Source), http.StatusNotFound)
		return
	}
	v, _ := webhooks.Load(fn)
	l, _ := v.(*listener)
	if l == nil || !l.enter() {
		http.Error(w, fmt.Sprintf("the blob trigger of function '%s' is not running", fn.Name()), http.StatusServiceUnavailable)
		return
	}
	defer l.wg.Done()
	eventgridbinding.ServeDelivery(w, r, l.log, l.deliver)
}

// deliver processes the blobs a notification's events created, at most as many at a time as the trigger has
// free invocation slots, and waits for them. Reads and claims end with ctx or when the trigger stops; an
// invocation under way finishes and records its outcome regardless. It returns every failure, joined.
func (l *listener) deliver(ctx context.Context, events []json.RawMessage) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(l.ctx, cancel)
	defer stop()
	var blobs []createdBlob
	for _, ev := range events {
		b, ok := parseBlobCreated(ev)
		if ok {
			_, ok = l.cfg.Match(b.container, b.name)
		}
		if !ok {
			l.log.Debug("blob trigger: ignoring an event that names no blob the trigger watches", "event", truncate(string(ev), 300))
			continue
		}
		blobs = append(blobs, b)
	}
	errs := make([]error, len(blobs))
	var wg sync.WaitGroup
	for i, b := range blobs {
		if !l.acquire(ctx) {
			errs[i] = fmt.Errorf("blob %s/%s: %w", b.container, b.name, ctx.Err())
			break
		}
		wg.Go(func() {
			defer l.release()
			errs[i] = l.process(ctx, b.name, b.etag)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// createdBlob is the blob a Microsoft.Storage.BlobCreated event names, with the ETag it gives.
type createdBlob struct{ container, name, etag string }

// parseBlobCreated reads a Microsoft.Storage.BlobCreated event, in the Event Grid schema (eventType) or as a
// CloudEvent (type): the container and blob name from its subject, "/blobServices/default/containers/{container}/blobs/{name}",
// or else from data.url (as Azure's blob extension reads them), and data.eTag. It reports false for other events
// and for events that name no blob.
func parseBlobCreated(event json.RawMessage) (createdBlob, bool) {
	var ev struct {
		EventType string          `json:"eventType"`
		Type      string          `json:"type"`
		Subject   string          `json:"subject"`
		Data      json.RawMessage `json:"data"`
	}
	if json.Unmarshal(event, &ev) != nil || !strings.EqualFold(cmp.Or(ev.EventType, ev.Type), EventBlobCreated) {
		return createdBlob{}, false
	}
	var data struct {
		URL  string `json:"url"`
		ETag string `json:"eTag"`
	}
	_ = json.Unmarshal(ev.Data, &data) // data that is not an object names no blob: the subject still may
	var b createdBlob
	rest, ok := strings.CutPrefix(ev.Subject, "/blobServices/default/containers/")
	if ok {
		b.container, b.name, ok = strings.Cut(rest, "/blobs/")
	} else if p, err := urlPath(data.URL); data.URL != "" && err == nil {
		b.container, b.name, ok = strings.Cut(p, "/")
	}
	b.etag = data.ETag
	return b, ok && b.container != "" && b.name != ""
}
