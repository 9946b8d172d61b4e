package eventgridbinding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
)

// Type names, and the trigger's webhook.
const (
	TriggerType = "eventGridTrigger"
	OutputType  = "eventGrid"
	// Extension names the trigger's webhook, /runtime/webhooks/eventgrid; its system key is
	// binding.SystemKeyName(Extension), "eventgrid_extension".
	Extension = "eventgrid"
	// DefaultOrigin is the origin granted to a CloudEvents OPTIONS that names none (Azure's public cloud).
	DefaultOrigin = "eventgrid.azure.net"
)

// maxParallel bounds how many of one delivery's events run at once (Azure starts them all; a delivery may hold
// thousands).
const maxParallel = 16

// Trigger is the eventGridTrigger binding type.
type Trigger struct{}

var (
	_ binding.Webhook     = Trigger{}
	_ binding.Addressable = Trigger{}
)

// Name implements binding.Type.
func (Trigger) Name() string { return TriggerType }

// Directions implements binding.Type.
func (Trigger) Directions() []appconfig.Direction { return []appconfig.Direction{appconfig.In} }

// Validate implements binding.Type. The trigger has no properties of its own.
func (Trigger) Validate(*appconfig.Binding) error { return nil }

// Start implements binding.Trigger. Events arrive through the host's webhook, so there is nothing to listen to.
func (Trigger) Start(context.Context, *binding.Function, binding.Invoker) (func(), error) {
	return func() {}, nil
}

// Extension implements binding.Webhook.
func (Trigger) Extension() string { return Extension }

// InvokePath implements binding.Addressable: the webhook with the function's name, as Azure's invoke URL has it
// (the management API adds the system key as ?code=).
func (Trigger) InvokePath(fn *binding.Function) string {
	return "/runtime/webhooks/" + Extension + "?functionName=" + url.QueryEscape(fn.Name())
}

// ServeWebhook implements binding.Webhook: see the package documentation.
func (Trigger) ServeWebhook(w http.ResponseWriter, r *http.Request, fns func(string) *binding.Function, inv binding.Invoker) {
	name := r.URL.Query().Get("functionName")
	fn := fns(name)
	if fn == nil {
		// Azure's answer, word for word.
		http.Error(w, fmt.Sprintf("cannot find function: '%s'", name), http.StatusNotFound)
		return
	}
	ServeDelivery(w, r, logger(fn).With("app", fn.App, "function", fn.Name()), func(ctx context.Context, events []json.RawMessage) error {
		return invokeAll(ctx, fn, inv, events)
	})
}

// ServeDelivery serves one request Event Grid sends a webhook, as Azure's Functions host serves the webhooks of
// its Event Grid trigger and of the blob trigger with source EventGrid (HttpRequestProcessor), once the caller
// has found the function it is for:
//
//   - OPTIONS is the CloudEvents abuse-protection handshake: 200 with WebHook-Allowed-Origin and Allow: POST;
//   - a POST is read from its aeg-event-type header and its body (see the package documentation): a
//     SubscriptionValidation is answered 200 {"validationResponse": code} (and logged to log), Unsubscribe and
//     SubscriptionDeletion 202; a Notification's events, each a JSON object as delivered, go to notify, with the
//     request's context: 202 Accepted when it returns nil, else 500 with its message, so that Event Grid
//     retries the delivery;
//   - a body that cannot be parsed is 400, one past the host's size limit 413, and any other method 405.
func ServeDelivery(w http.ResponseWriter, r *http.Request, log *slog.Logger, notify func(ctx context.Context, events []json.RawMessage) error) {
	switch r.Method {
	case http.MethodOptions:
		grantOrigin(w, r)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "405 method not allowed: Event Grid delivers events with POST", http.StatusMethodNotAllowed)
		return
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			status := http.StatusBadRequest
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				status = http.StatusRequestEntityTooLarge
			}
			http.Error(w, "reading the request: "+err.Error(), status)
			return
		}
	}
	d, err := parseDelivery(r.Header.Get("aeg-event-type"), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch d.kind {
	case kindValidation:
		log.Info("Event Grid subscription validation handshake")
		b, _ := json.Marshal(map[string]string{"validationResponse": d.code})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(b)
	case kindUnsubscribe:
		w.WriteHeader(http.StatusAccepted)
	default:
		if err := notify(r.Context(), d.events); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

// grantOrigin answers the CloudEvents abuse-protection handshake (CloudEvents HTTP webhook spec §4): the origin
// that asked is allowed, at any rate.
func grantOrigin(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("WebHook-Request-Origin")
	if origin == "" {
		origin = DefaultOrigin
	}
	w.Header().Set("WebHook-Allowed-Origin", origin)
	if r.Header.Get("WebHook-Request-Rate") != "" {
		w.Header().Set("WebHook-Allowed-Rate", "*")
	}
	w.Header().Set("Allow", http.MethodPost)
	w.WriteHeader(http.StatusOK)
}

// invokeAll runs fn once per event, at most maxParallel at a time, and waits for all of them. It returns the
// first failure in event order.
func invokeAll(ctx context.Context, fn *binding.Function, inv binding.Invoker, events []json.RawMessage) error {
	errs := make([]error, len(events))
	slots := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i, ev := range events {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			_, errs[i] = inv.Invoke(ctx, invocation(fn, ev))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// invocation is the invocation of fn for one event: the event object under the trigger's name, and its "data"
// as the metadata "data" (Azure's binding data for the trigger, which binding expressions such as {data.url}
// refer to).
func invocation(fn *binding.Function, event json.RawMessage) *binding.Invocation {
	inv := &binding.Invocation{Function: fn.Name(), Data: map[string]json.RawMessage{fn.Trigger().Name: event}}
	var ev struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(event, &ev) == nil && len(ev.Data) > 0 {
		inv.Metadata = map[string]json.RawMessage{"data": ev.Data}
	}
	return inv
}

func logger(fn *binding.Function) *slog.Logger {
	if fn.Env != nil && fn.Env.Logger != nil {
		return fn.Env.Logger
	}
	return slog.New(slog.DiscardHandler)
}
