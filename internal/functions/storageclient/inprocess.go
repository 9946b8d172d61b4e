package storageclient

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/auth"
	"github.com/lapisdev/lapis/internal/storage/blob"
	"github.com/lapisdev/lapis/internal/storage/queue"
	"github.com/lapisdev/lapis/internal/storage/wire"
	"github.com/lapisdev/lapis/internal/substrate"
)

// InProcessOptions are what NewInProcess needs from the platform.
type InProcessOptions struct {
	// Queue is this platform's Queue service (required).
	Queue *queue.Service
	// Blob is this platform's Blob service: it names the topic of an account's blob events. With Blob or
	// Substrate nil, BlobEvents polls the listing as the REST client does.
	Blob *blob.Service
	// Substrate carries the blob events.
	Substrate *substrate.Substrate
	// Accounts checks account names and keys (required; *account.Directory implements it).
	Accounts auth.KeyStore
	// BlobEndpoint and QueueEndpoint are the host:port this platform serves Blob and Queue on, as it actually
	// listens (with port 0 in tests, the port it got). A connection string whose endpoints name them (path-style,
	// http://host:port/account; localhost and loopback addresses are the same host) is served in process.
	BlobEndpoint, QueueEndpoint string
	// REST configures the client for every other endpoint, and for blob reads and writes, which go over HTTP to
	// this platform's Blob endpoint. REST.Development is what UseDevelopmentStorage=true stands for (zero:
	// Azurite's 127.0.0.1:10000 and 10001, so it is served in process only when this platform listens there).
	REST RESTOptions
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
}

// InProcess is the Provider of a running platform: accounts on its own endpoints are served in process (queue
// operations call the Queue service, receives are pushed; blob events come from the substrate); any other
// connection goes to the REST client.
type InProcess struct {
	opts InProcessOptions
	rest *REST
	log  *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedAccount // by connection string
}

type cachedAccount struct {
	acct *localAccount
	at   time.Time
}

// accountCacheTTL is how long Account reuses an in-process account (and its key check) for a connection string:
// a rotated key stops working at most this long after the rotation.
const accountCacheTTL = 30 * time.Second

var _ Provider = (*InProcess)(nil)

// NewInProcess makes the platform's provider.
func NewInProcess(opts InProcessOptions) (*InProcess, error) {
	if opts.Queue == nil {
		return nil, errors.New("storageclient: NewInProcess needs the Queue service")
	}
	if opts.Accounts == nil {
		return nil, errors.New("storageclient: NewInProcess needs the account directory")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &InProcess{opts: opts, rest: NewREST(opts.REST), log: log, cache: map[string]cachedAccount{}}, nil
}

// FromServiceEnv makes the provider for a service of the platform (the Functions runtime): the Queue and Blob
// services are env.Peer("queue") and env.Peer("blob"), which must have started before it; the endpoints are
// env.Host with env.Ports; rest configures the REST client (its Development says what UseDevelopmentStorage=true
// stands for: set it to this platform's ports to serve such apps in process when it does not listen on 10000).
func FromServiceEnv(env service.Env, rest RESTOptions) (*InProcess, error) {
	if env.Peer == nil {
		return nil, errors.New("storageclient: the service environment has no Peer")
	}
	q, _ := env.Peer(queue.Name).(*queue.Service)
	b, _ := env.Peer("blob").(*blob.Service)
	if q == nil {
		return nil, errors.New("storageclient: the Queue service is not running")
	}
	host := env.Host
	if host == "" {
		host = "127.0.0.1"
	}
	opts := InProcessOptions{Queue: q, Blob: b, Substrate: env.Substrate, Logger: env.Logger, REST: rest}
	if env.Accounts != nil {
		opts.Accounts = env.Accounts
	}
	if env.Ports.Queue > 0 {
		opts.QueueEndpoint = net.JoinHostPort(host, strconv.Itoa(env.Ports.Queue))
	}
	if env.Ports.Blob > 0 && b != nil {
		opts.BlobEndpoint = net.JoinHostPort(host, strconv.Itoa(env.Ports.Blob))
	}
	return NewInProcess(opts)
}

// Account implements Provider. A connection string whose Queue or Blob endpoint is this platform's must carry an
// AccountKey of an existing account (checked here, so that a wrong key fails at start rather than at the first
// message); one with a SAS instead goes over REST, where the service checks the SAS. Other endpoints go over REST.
func (p *InProcess) Account(ctx context.Context, connection string) (Account, error) {
	p.mu.Lock()
	if c, ok := p.cache[connection]; ok && time.Since(c.at) < accountCacheTTL {
		p.mu.Unlock()
		return c.acct, nil
	}
	p.mu.Unlock()
	cs, err := parse(connection, p.opts.REST.Development)
	if err != nil {
		return nil, err
	}
	ra, err := p.rest.open(cs)
	if err != nil {
		return nil, err
	}
	localQ := ra.key != nil && ours(ra.queue, p.opts.QueueEndpoint, ra.name)
	localB := ra.key != nil && ours(ra.blob, p.opts.BlobEndpoint, ra.name)
	if !localQ && !localB {
		return ra, nil
	}
	if err := p.checkKey(ctx, ra.name, ra.key); err != nil {
		return nil, err
	}
	la := &localAccount{restAccount: ra, p: p, localQueue: localQ, localBlob: localB}
	p.mu.Lock()
	if len(p.cache) > 1000 {
		clear(p.cache)
	}
	p.cache[connection] = cachedAccount{acct: la, at: time.Now()}
	p.mu.Unlock()
	return la, nil
}

func (p *InProcess) checkKey(ctx context.Context, name string, key []byte) error {
	keys, err := p.opts.Accounts.Keys(ctx, name)
	switch {
	case errors.Is(err, account.ErrNoAccount):
		return &ConnectionError{Account: name, Msg: fmt.Sprintf("this Lapis has no storage account %q (create it, or use UseDevelopmentStorage=true for %s)", name, account.DevAccount)}
	case errors.Is(err, account.ErrSharedKeyDisabled):
		return &ConnectionError{Account: name, Msg: "key based authentication is disabled on this account (allowSharedKeyAccess is false)"}
	case err != nil:
		return &ConnectionError{Account: name, Msg: "cannot read the account's keys: " + err.Error()}
	}
	for _, k := range keys {
		if kb, err := base64.StdEncoding.DecodeString(k); err == nil && subtle.ConstantTimeCompare(kb, key) == 1 {
			return nil
		}
	}
	return &ConnectionError{Account: name, Msg: "AccountKey is not a key of this account (was it regenerated?)"}
}

// ours reports whether endpoint u is this platform's path-style endpoint hostport for account.
func ours(u *url.URL, hostport, acct string) bool {
	if u == nil || hostport == "" || u.Scheme != "http" {
		return false
	}
	if strings.Trim(u.Path, "/") != acct {
		return false
	}
	return sameHostPort(u.Host, hostport)
}

func sameHostPort(a, b string) bool {
	split := func(s string) (string, string) {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return strings.Trim(s, "[]"), "80"
		}
		return h, p
	}
	ah, ap := split(a)
	bh, bp := split(b)
	if ap != bp {
		return false
	}
	if strings.EqualFold(ah, bh) {
		return true
	}
	return loopback(ah) && loopback(bh)
}

func loopback(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// localAccount is an account on this platform. Queue operations call the Queue service; blob reads and writes
// go over HTTP to this platform's Blob endpoint (the embedded restAccount); blob events come from the substrate.
type localAccount struct {
	*restAccount
	p                     *InProcess
	localQueue, localBlob bool
}

// wrap turns the queue service's errors into *Error.
func wrap(op, target string, err error) error {
	if err == nil {
		return nil
	}
	var we *wire.Error
	if errors.As(err, &we) {
		return &Error{Op: op, Target: target, Status: we.Status, Code: we.Code, Message: we.Message}
	}
	return fmt.Errorf("storage: %s %s: %w", op, target, err)
}

func fromQueue(m queue.Message) Message {
	return Message{ID: m.ID, PopReceipt: m.PopReceipt, Text: m.Text, DequeueCount: m.DequeueCount,
		InsertionTime: m.InsertionTime, ExpirationTime: m.ExpirationTime, NextVisibleTime: m.NextVisible}
}

func (a *localAccount) CreateQueue(ctx context.Context, q string) error {
	if !a.localQueue {
		return a.restAccount.CreateQueue(ctx, q)
	}
	_, err := a.p.opts.Queue.CreateQueue(ctx, a.name, q, nil)
	if errors.Is(err, queue.ErrQueueAlreadyExists) {
		return nil
	}
	return wrap("CreateQueue", "queue "+q, err)
}

func (a *localAccount) PutMessage(ctx context.Context, q, text string, visibility, ttl time.Duration) (Message, error) {
	if !a.localQueue {
		return a.restAccount.PutMessage(ctx, q, text, visibility, ttl)
	}
	m, err := a.p.opts.Queue.Put(ctx, a.name, q, text, visibility, ttl)
	if err != nil {
		return Message{}, wrap("PutMessage", "queue "+q, err)
	}
	return fromQueue(m), nil
}

// ReceiveMessages is pushed: Queue.ReceiveMany (Receive with the batch written in one round) wakes when a
// message is put or becomes visible; maxWait is unused.
func (a *localAccount) ReceiveMessages(ctx context.Context, q string, n int, visibility, maxWait time.Duration) ([]Message, error) {
	if !a.localQueue {
		return a.restAccount.ReceiveMessages(ctx, q, n, visibility, maxWait)
	}
	n, visibility = clampReceive(n, visibility)
	ms, err := a.p.opts.Queue.ReceiveMany(ctx, a.name, q, n, visibility)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, wrap("ReceiveMessages", "queue "+q, err)
	}
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = fromQueue(m)
	}
	return out, nil
}

func (a *localAccount) DeleteMessage(ctx context.Context, q, id, popReceipt string) error {
	if !a.localQueue {
		return a.restAccount.DeleteMessage(ctx, q, id, popReceipt)
	}
	return wrap("DeleteMessage", "queue "+q, a.p.opts.Queue.Delete(ctx, a.name, q, id, popReceipt))
}

func (a *localAccount) UpdateVisibility(ctx context.Context, q, id, popReceipt string, visibility time.Duration) (string, error) {
	if !a.localQueue {
		return a.restAccount.UpdateVisibility(ctx, q, id, popReceipt, visibility)
	}
	m, err := a.p.opts.Queue.Update(ctx, a.name, q, id, popReceipt, max(visibility, 0), nil)
	if err != nil {
		return "", wrap("UpdateVisibility", "queue "+q, err)
	}
	return m.PopReceipt, nil
}

// BlobEvents follows the blob service's Microsoft.Storage.BlobCreated events for the account with an ephemeral
// ordered consumer on the substrate's event stream, from the time of the call.
func (a *localAccount) BlobEvents(ctx context.Context, container string) (<-chan BlobItem, error) {
	p := a.p
	if !a.localBlob || p.opts.Blob == nil || p.opts.Substrate == nil {
		return a.restAccount.BlobEvents(ctx, container)
	}
	topic, err := p.opts.Blob.AccountID(ctx, a.name)
	if err != nil {
		return nil, fmt.Errorf("storage: BlobEvents container %s: the account's event topic: %w", container, err)
	}
	start := time.Now()
	cons, err := p.opts.Substrate.JetStream().OrderedConsumer(ctx, substrate.EventsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{substrate.EventSubject(blob.EventKind, topic)},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &start,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: BlobEvents container %s: %w", container, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("storage: BlobEvents container %s: %w", container, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	ch := make(chan BlobItem, 64)
	go func() {
		defer close(ch)
		defer stop()
		defer it.Stop()
		for {
			msg, err := it.Next()
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					p.log.Warn("blob events ended", "account", a.name, "container", container, "err", err)
				}
				return
			}
			item, ok := BlobCreated(msg.Data(), container)
			if !ok {
				continue
			}
			select {
			case ch <- item:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// BlobCreated reads a Microsoft.Storage.BlobCreated event (Event Grid schema, as the blob service publishes it)
// for a blob of container. It reports false for other events and other containers. The properties are what the
// event carries: length, content type, ETag, and the event time as LastModified.
func BlobCreated(event []byte, container string) (BlobItem, bool) {
	var ev arm.Event
	if json.Unmarshal(event, &ev) != nil || ev.EventType != blob.EventBlobCreated {
		return BlobItem{}, false
	}
	prefix := "/blobServices/default/containers/" + container + "/blobs/"
	name, ok := strings.CutPrefix(ev.Subject, prefix)
	if !ok || name == "" {
		return BlobItem{}, false
	}
	var d blob.EventData
	if json.Unmarshal(ev.Data, &d) != nil {
		return BlobItem{}, false
	}
	item := BlobItem{Container: container, Name: name,
		Properties: BlobProperties{ContentType: d.ContentType, ETag: d.ETag, LastModified: ev.EventTime}}
	if d.ContentLength != nil {
		item.Properties.Length = *d.ContentLength
	}
	return item, true
}

// DeleteMessages implements BatchDeleter: in process the deletes are written to JetStream together.
func (a *localAccount) DeleteMessages(ctx context.Context, q string, rs []Receipt) []error {
	errs := make([]error, len(rs))
	if !a.localQueue {
		for i, r := range rs {
			errs[i] = a.restAccount.DeleteMessage(ctx, q, r.ID, r.PopReceipt)
		}
		return errs
	}
	qr := make([]queue.Receipt, len(rs))
	for i, r := range rs {
		qr[i] = queue.Receipt{ID: r.ID, PopReceipt: r.PopReceipt}
	}
	qe, err := a.p.opts.Queue.DeleteMany(ctx, a.name, q, qr)
	for i := range errs {
		if err != nil {
			errs[i] = wrap("DeleteMessages", "queue "+q, err)
		} else {
			errs[i] = wrap("DeleteMessages", "queue "+q, qe[i])
		}
	}
	return errs
}
