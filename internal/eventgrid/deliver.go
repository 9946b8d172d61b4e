package eventgrid

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/eventgrid/delivery"
	"github.com/lapisdev/lapis/internal/eventgrid/subscription"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/storage/connstr"
	"github.com/lapisdev/lapis/internal/substrate"
)

// FunctionWebhooks is implemented by the Functions service: it gives the URL
// (key included) of the Event Grid webhook of a function, by the function's
// resource id, for AzureFunction destinations.
type FunctionWebhooks interface {
	EventGridWebhook(ctx context.Context, functionID string) (string, error)
}

// known is what the service remembers of a subscription it has seen.
type known struct {
	id     string
	typ    string // its resource type
	stream string
	rec    *arm.Record
}

// startDelivery starts the delivery engine and the watch that feeds it the
// subscriptions.
func (s *Service) startDelivery(ctx context.Context) error {
	s.client = delivery.NewClient()
	s.metrics = delivery.NewMetrics(s.env.Metrics)
	eng, err := delivery.New(ctx, delivery.Options{
		Substrate: s.env.Substrate, Service: ServiceName, Clock: s.env.Clock, Client: s.client,
		FunctionURL: s.functionURL, Storage: s.openAccount, Logger: s.log, Metrics: s.metrics, Node: s.env.Node,
	})
	if err != nil {
		return err
	}
	s.engine = eng
	s.subs = map[string]*known{}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopWatch = cancel
	var initial sync.WaitGroup
	for _, typ := range []string{SubscriptionTypeName, SystemTopicSubscriptionTypeName} {
		ch, err := s.store.WatchType(wctx, typ)
		if err != nil {
			cancel()
			s.bg.Wait()
			return err
		}
		initial.Add(1)
		s.bg.Add(1)
		go s.follow(wctx, typ, ch, initial.Done)
	}
	s.bg.Add(1)
	go func() { // once every subscription is known, drop the consumers of deleted ones
		defer s.bg.Done()
		initial.Wait()
		if wctx.Err() == nil {
			s.cleanOrphans(wctx)
		}
	}()
	s.bg.Add(1)
	go s.janitor(wctx)
	return nil
}

// stopDelivery ends the watch and the engine; in-flight deliveries finish.
func (s *Service) stopDelivery() {
	if s.stopWatch != nil {
		s.stopWatch()
	}
	s.bg.Wait()
	if s.engine != nil {
		s.engine.Close()
	}
}

// follow applies each change of a subscription of one type to the engine,
// until ctx ends. A watch that fails is made again; the subscriptions
// deleted meanwhile are forgotten once its initial values are in.
// initialDone is called once, after the first watch's initial values (or
// when ctx ends before them).
func (s *Service) follow(ctx context.Context, typ string, ch <-chan *arm.Change, initialDone func()) {
	defer s.bg.Done()
	first := true
	defer func() {
		if first {
			initialDone()
		}
	}()
	for {
		seen := map[string]bool{}
		for c := range ch {
			switch {
			case c == nil:
				s.forgetUnseen(ctx, typ, seen)
				seen = nil
				if first {
					first = false
					initialDone()
				}
			case c.Record == nil:
				s.forget(ctx, c.Key)
			default:
				if seen != nil {
					seen[c.Key] = true
				}
				if err := s.apply(ctx, typ, c.Key, c.Record); err != nil && ctx.Err() == nil {
					s.log.Error("eventgrid: subscription not started", "subscription", c.Record.ID, "err", err)
				}
			}
		}
		for ctx.Err() == nil {
			s.log.Error("eventgrid: the subscriptions' watch ended; watching again", "type", typ)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			var err error
			if ch, err = s.store.WatchType(ctx, typ); err == nil {
				break
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// forgetUnseen forgets the subscriptions of a type that a watch's initial
// values did not include: deleted while the watch was down.
func (s *Service) forgetUnseen(ctx context.Context, typ string, seen map[string]bool) {
	if seen == nil {
		return
	}
	s.mu.Lock()
	var gone []string
	for key, k := range s.subs {
		if k.typ == typ && !seen[key] {
			gone = append(gone, key)
		}
	}
	s.mu.Unlock()
	for _, key := range gone {
		s.forget(ctx, key)
	}
}

// apply starts, restarts or stops delivery to a subscription as its record
// says.
func (s *Service) apply(ctx context.Context, typ, key string, rec *arm.Record) error {
	id, err := arm.ParseID(rec.ID)
	if err != nil {
		return err
	}
	k := &known{id: rec.ID, typ: typ, rec: rec}
	s.mu.Lock()
	if old := s.subs[key]; old != nil {
		k.stream = old.stream
	}
	s.subs[key] = k // known even if it cannot start now: the janitor tries again
	s.mu.Unlock()
	src, err := s.source(ctx, s.store, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	k.stream = src.Stream
	s.mu.Unlock()
	if state, _ := rec.Properties["provisioningState"].(string); state != StateSucceeded {
		s.engine.Stop(rec.ID)
		return nil
	}
	props := clone(rec.Properties)
	if dest, _ := props["destination"].(map[string]any); dest != nil {
		if dp, _ := dest["properties"].(map[string]any); dp != nil && rec.Secrets[secretEndpointURL] != "" {
			dp["endpointUrl"] = rec.Secrets[secretEndpointURL]
		}
	}
	delete(props, "expirationTimeUtc") // checked by the janitor, not against now
	spec, err := subscription.Parse(props, s.env.Clock())
	if err != nil {
		return err
	}
	since, _ := time.Parse(time.RFC3339Nano, rec.Secrets[secretActiveSince])
	return s.engine.Apply(ctx, &delivery.Subscription{ID: rec.ID, Name: rec.Name, Revision: rec.Revision, Source: *src, Spec: spec, Since: since})
}

// forget stops delivery to a deleted subscription and removes its state.
func (s *Service) forget(ctx context.Context, key string) {
	s.mu.Lock()
	k := s.subs[key]
	delete(s.subs, key)
	s.mu.Unlock()
	if k == nil {
		return
	}
	if err := s.engine.Delete(ctx, k.id, k.stream); err != nil {
		s.log.Warn("eventgrid: deleted subscription's state not removed", "subscription", k.id, "err", err)
	}
}

// janitorEvery is how often subscriptions past their expirationTimeUtc or
// their manual validation window are looked for.
var janitorEvery = 15 * time.Second

// janitor deletes expired subscriptions (as Azure does) and fails those
// whose manual validation window passed.
func (s *Service) janitor(ctx context.Context) {
	defer s.bg.Done()
	t := time.NewTicker(janitorEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.sweep(ctx)
	}
}

func (s *Service) sweep(ctx context.Context) {
	now := s.env.Clock()
	s.mu.Lock()
	recs := make(map[string]*known, len(s.subs))
	for key, k := range s.subs {
		recs[key] = k
	}
	s.mu.Unlock()
	active := map[string]bool{}
	for _, id := range s.engine.Active() {
		active[strings.ToLower(id)] = true
	}
	for key, k := range recs {
		rec := k.rec
		if st, _ := rec.Properties["provisioningState"].(string); st == StateSucceeded && !active[strings.ToLower(rec.ID)] {
			// Its start failed (a JetStream hiccup, say): try again.
			if err := s.apply(ctx, k.typ, key, rec); err != nil && ctx.Err() == nil {
				s.log.Warn("eventgrid: subscription still not started", "subscription", rec.ID, "err", err)
			}
		}
		id, err := arm.ParseID(rec.ID)
		if err != nil {
			continue
		}
		if exp, _ := rec.Properties["expirationTimeUtc"].(string); exp != "" {
			if t, err := time.Parse(time.RFC3339Nano, exp); err == nil && !now.Before(t) {
				s.log.Info("eventgrid: subscription expired; deleting it", "subscription", rec.ID)
				if _, err := s.env.Manager.DeleteResource(ctx, id, APIVersions[0], arm.Caller{Principal: "Microsoft.EventGrid"}); err != nil {
					s.log.Warn("eventgrid: expired subscription not deleted", "subscription", rec.ID, "err", err)
				}
				continue
			}
		}
		if state, _ := rec.Properties["provisioningState"].(string); state == StateAwaitingManual {
			if t, err := time.Parse(time.RFC3339Nano, rec.Secrets[secretValidationEnd]); err == nil && !now.Before(t) {
				_, _ = s.env.Manager.Update(ctx, id, func(r *arm.Record) error {
					if st, _ := r.Properties["provisioningState"].(string); st != StateAwaitingManual {
						return arm.ErrNoChange
					}
					r.Properties["provisioningState"] = StateFailed
					return nil
				})
			}
		}
	}
}

// validationURL is the address a webhook may GET to validate a
// subscription it did not answer synchronously.
func (s *Service) validationURL(id, name, token, apiVersion string, now time.Time) string {
	host := s.env.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	q := url.Values{"id": {id}, "t": {now.UTC().Format(time.RFC3339)}, "apiVersion": {apiVersion}, "token": {token}}
	return fmt.Sprintf("http://%s:%d/eventsubscriptions/%s/validate?%s", host, s.env.Ports.EventGrid, url.PathEscape(name), q.Encode())
}

// serveValidate answers a GET of a validationUrl: the subscription it names
// becomes active if the token is its own and the window is open.
func (s *Service) serveValidate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id, err := arm.ParseID(q.Get("id"))
	if err != nil || !isSubscriptionType(id.TypeName()) {
		http.Error(w, "The validation URL is not valid.", http.StatusBadRequest)
		return
	}
	now := s.env.Clock()
	_, err = s.env.Manager.Update(r.Context(), id, func(rec *arm.Record) error {
		state, _ := rec.Properties["provisioningState"].(string)
		end, _ := time.Parse(time.RFC3339Nano, rec.Secrets[secretValidationEnd])
		token := rec.Secrets[secretValidationTok]
		switch {
		case state != StateAwaitingManual || token == "" || subtle.ConstantTimeCompare([]byte(q.Get("token")), []byte(token)) != 1:
			return errBadValidation
		case !now.Before(end):
			return errValidationExpired
		}
		activate(rec.Properties, rec.Secrets, now)
		return nil
	})
	switch {
	case errors.Is(err, errBadValidation):
		http.Error(w, "The validation token is not valid for this event subscription.", http.StatusBadRequest)
	case errors.Is(err, errValidationExpired):
		http.Error(w, "The validation window of this event subscription has passed; update the subscription to validate again.", http.StatusBadRequest)
	case err != nil:
		http.Error(w, "Event subscription not found.", http.StatusNotFound)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("Webhook successfully validated as a subscription endpoint."))
	}
}

var (
	errBadValidation     = errors.New("bad validation token")
	errValidationExpired = errors.New("validation window passed")
)

// isSubscriptionType reports whether a type name is one of the event
// subscription types.
func isSubscriptionType(typeName string) bool {
	return strings.EqualFold(typeName, SubscriptionTypeName) || strings.EqualFold(typeName, SystemTopicSubscriptionTypeName)
}

// functionURL resolves an AzureFunction destination through the Functions
// service.
func (s *Service) functionURL(ctx context.Context, functionID string) (string, error) {
	if s.env.Peer != nil {
		if fw, ok := s.env.Peer("functions").(FunctionWebhooks); ok {
			return fw.EventGridWebhook(ctx, functionID)
		}
	}
	return "", errors.New("the Functions service is not running")
}

// openAccount opens a storage account of this platform by resource id, for
// storage queue destinations and dead-letter containers.
func (s *Service) openAccount(ctx context.Context, accountID string) (storageclient.Account, error) {
	s.storageOnce.Do(func() {
		s.storage, s.storageErr = storageclient.FromServiceEnv(s.env, storageclient.RESTOptions{})
	})
	if s.storageErr != nil {
		return nil, s.storageErr
	}
	id, err := arm.ParseID(accountID)
	if err != nil {
		return nil, err
	}
	name := id.Name()
	keys, err := s.env.Accounts.Keys(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("storage account %s has no keys", name)
	}
	host := s.env.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	cs := connstr.Parsed{AccountName: name, AccountKey: keys[0],
		BlobEndpoint:  fmt.Sprintf("http://%s:%d/%s", host, s.env.Ports.Blob, name),
		QueueEndpoint: fmt.Sprintf("http://%s:%d/%s", host, s.env.Ports.Queue, name)}
	return s.storage.Account(ctx, cs.String())
}

// Stats are the delivery counts of a subscription (by resource id).
func (s *Service) Stats(id string) delivery.Stats { return s.metrics.Stats(id) }

// cleanOrphans deletes the consumers and retry records of subscriptions
// deleted while the server was down. A consumer is deleted only if the
// subscription its description names is not in the store (it may be
// another node's newer one this node has not seen yet).
func (s *Service) cleanOrphans(ctx context.Context) {
	js := s.env.Substrate.JetStream()
	gone := func(id string) bool {
		pid, err := arm.ParseID(id)
		if err != nil {
			return false
		}
		rec, err := s.store.Get(ctx, pid)
		return err == nil && rec == nil
	}
	for _, stream := range []string{substrate.StreamName(ServiceName, StreamShortName), substrate.EventsStream} {
		st, err := js.Stream(ctx, stream)
		if err != nil {
			continue
		}
		infos := st.ListConsumers(ctx)
		for info := range infos.Info() {
			id, ours := strings.CutPrefix(info.Config.Description, delivery.ConsumerDescription)
			if !ours || !gone(id) {
				continue
			}
			if err := s.engine.Delete(ctx, id, stream); err != nil {
				s.log.Warn("eventgrid: deleted subscription's consumer not removed", "subscription", id, "err", err)
			}
		}
	}
	s.mu.Lock()
	live := make([]string, 0, len(s.subs))
	for _, k := range s.subs {
		live = append(live, k.id)
	}
	s.mu.Unlock()
	if err := s.engine.PurgeRetries(ctx, live); err != nil {
		s.log.Warn("eventgrid: orphan retry records not removed", "err", err)
	}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if mm, ok := v.(map[string]any); ok {
			v = clone(mm)
		}
		out[k] = v
	}
	return out
}
