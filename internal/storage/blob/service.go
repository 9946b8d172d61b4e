package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/auth"
	"github.com/lapisdev/lapis/internal/storage/wire"
	"github.com/lapisdev/lapis/internal/substrate"
)

// EventKind is the substrate event kind of blob events: they are published
// on substrate.EventSubject(EventKind, accountID).
const EventKind = "storage"

// Service is the Blob service.
type Service struct {
	env   service.Env
	log   *slog.Logger
	now   func() time.Time
	authn *auth.Authenticator
	etags etagClock
	st    *store
	ready atomic.Bool

	stop chan struct{} // closed by Stop
	done chan struct{} // closed when the janitor has returned
}

// janitorEvery is how often the janitor clears old delete markers.
const janitorEvery = time.Hour

var _ service.Service = (*Service)(nil)

// New makes the Blob service; Start creates its buckets.
func New(env service.Env) (*Service, error) {
	if env.Substrate == nil {
		return nil, errors.New("blob: a substrate is required")
	}
	if env.Accounts == nil {
		return nil, errors.New("blob: an account directory is required")
	}
	s := &Service{env: env, log: env.Logger, now: env.Clock}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("service", "blob")
	if s.now == nil {
		s.now = time.Now
	}
	if s.env.Host == "" {
		s.env.Host = "127.0.0.1"
	}
	if s.env.Ports.Blob == 0 {
		s.env.Ports.Blob = 10000
	}
	s.authn = &auth.Authenticator{Keys: env.Accounts, Now: s.now}
	return s, nil
}

// Name implements service.Service.
func (s *Service) Name() string { return "blob" }

// Start implements service.Service: it opens the bucket of records and the
// object store of content, and returns the handler.
func (s *Service) Start(ctx context.Context) (http.Handler, error) {
	kv, err := s.env.Substrate.KeyValue(ctx, "blob", substrate.KVSpec{Name: "meta", History: 1})
	if err != nil {
		return nil, err
	}
	objs, err := s.env.Substrate.ObjectStore(ctx, "blob", "data")
	if err != nil {
		return nil, err
	}
	s.st = &store{kv: kv, objs: objs, log: s.log}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.janitor()
	s.ready.Store(true)
	return wire.CORS(http.HandlerFunc(s.serve)), nil
}

// janitor clears the markers that deleted and purged keys leave in the
// bucket (one per deleted blob and per block id ever staged), which would
// otherwise pile up.
func (s *Service) janitor() {
	defer close(s.done)
	t := time.NewTicker(janitorEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			err := s.st.kv.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(janitorEvery))
			cancel()
			if err != nil {
				s.log.Warn("blob: clearing delete markers", "err", err)
			}
		}
	}
}

// Ready implements service.Service.
func (s *Service) Ready(ctx context.Context) error {
	if !s.ready.Load() {
		return errors.New("blob: not started")
	}
	return s.env.Substrate.Check(ctx)
}

// Stop implements service.Service: it stops the janitor. The platform has
// drained the requests before.
func (s *Service) Stop(ctx context.Context) error {
	s.ready.Store(false)
	if s.stop == nil {
		return nil
	}
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AccountID returns the ARM id of a storage account, the topic of its blob
// events: the created account's id, or for the development account an id
// in the resource group "lapis" of the served subscription.
func (s *Service) AccountID(ctx context.Context, name string) (string, error) {
	return AccountID(ctx, s.env, name)
}

// AccountID is Service.AccountID for callers without a Service.
func AccountID(ctx context.Context, env service.Env, name string) (string, error) {
	if name == account.DevAccount {
		sub := "00000000-0000-0000-0000-000000000000"
		if env.Manager != nil {
			sub = env.Manager.Subscription().ID
		}
		return "/subscriptions/" + sub + "/resourceGroups/lapis/providers/Microsoft.Storage/storageAccounts/" + account.DevAccount, nil
	}
	rec, err := env.Accounts.Record(ctx, name)
	if err != nil {
		return "", err
	}
	return rec.ID, nil
}

// URL returns the path-style URL of a container or blob as Lapis shows it.
func (s *Service) URL(acct, container, blob string) string {
	u := fmt.Sprintf("http://%s:%d/%s", s.env.Host, s.env.Ports.Blob, acct)
	if container != "" {
		u += "/" + container
	}
	if blob != "" {
		u += "/" + escapePath(blob)
	}
	return u
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = pathEscape(s)
	}
	return strings.Join(parts, "/")
}

// req is one request in flight.
type req struct {
	w         http.ResponseWriter
	r         *http.Request
	ctx       context.Context
	id        string
	acct      string
	container string
	blob      string
	q         map[string][]string
	grant     auth.Grant
}

func (q *req) query(name string) string {
	if v := q.q[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	id := wire.Begin(w, r)
	rq := &req{w: w, r: r, ctx: r.Context(), id: id, q: r.URL.Query()}
	if err := s.dispatch(rq); err != nil {
		s.writeError(rq, err)
	}
}

func (s *Service) writeError(rq *req, err error) {
	e := wire.AsError(err)
	if e == wire.ErrInternal {
		s.log.Error("blob: request failed", "method", rq.r.Method, "path", rq.r.URL.Path, "err", err)
	}
	if e.Status == http.StatusNotModified {
		rq.w.Header().Set("x-ms-error-code", e.Code)
		rq.w.WriteHeader(e.Status)
		return
	}
	wire.WriteError(rq.w, rq.r, e)
}

func (s *Service) dispatch(rq *req) error {
	p, err := wire.ParsePath(rq.r.URL)
	if err != nil {
		return err
	}
	rq.acct, rq.container, rq.blob = p.Account, p.Container, p.Blob
	if rq.r.Method == http.MethodOptions { // wire.CORS answers proper preflights
		return wire.Errorf(http.StatusBadRequest, "InvalidHeaderValue", "A CORS preflight request needs Origin and Access-Control-Request-Method headers.")
	}
	rq.grant, err = s.authn.Authenticate(rq.r, auth.Blob, rq.acct)
	if err != nil {
		return err
	}
	if rq.grant.Kind == auth.Anonymous {
		if _, err := s.env.Accounts.Keys(rq.ctx, rq.acct); err != nil {
			if errors.Is(err, account.ErrNoAccount) {
				return wire.Errorf(http.StatusNotFound, "ResourceNotFound", "The storage account %s does not exist.", rq.acct)
			}
			return err
		}
	}
	restype, comp := rq.query("restype"), rq.query("comp")
	m := rq.r.Method
	switch {
	case rq.container == "":
		switch {
		case comp == "list" && m == http.MethodGet:
			return s.listContainers(rq)
		case restype == "service" && comp == "properties" && m == http.MethodGet:
			return s.getServiceProperties(rq)
		case restype == "service" && comp == "properties" && m == http.MethodPut:
			return s.setServiceProperties(rq)
		case restype == "account" && comp == "properties" && (m == http.MethodGet || m == http.MethodHead):
			return s.accountInfo(rq)
		}
	case rq.blob == "" && restype == "container":
		if !ValidContainerName(rq.container) {
			return errInvalidContainerName(rq.container)
		}
		switch {
		case comp == "" && m == http.MethodPut:
			return s.createContainer(rq)
		case comp == "" && (m == http.MethodGet || m == http.MethodHead):
			return s.containerProperties(rq)
		case comp == "" && m == http.MethodDelete:
			return s.deleteContainer(rq)
		case comp == "metadata" && m == http.MethodPut:
			return s.setContainerMetadata(rq)
		case comp == "metadata" && (m == http.MethodGet || m == http.MethodHead):
			return s.containerProperties(rq)
		case comp == "acl" && m == http.MethodPut:
			return s.setContainerACL(rq)
		case comp == "acl" && (m == http.MethodGet || m == http.MethodHead):
			return s.getContainerACL(rq)
		case comp == "list" && m == http.MethodGet:
			return s.listBlobs(rq)
		}
	case rq.blob == "" && restype == "account" && comp == "properties":
		return s.accountInfo(rq)
	case rq.blob != "":
		if !ValidContainerName(rq.container) {
			return errInvalidContainerName(rq.container)
		}
		if !validBlobName(rq.blob) {
			return wire.Errorf(http.StatusBadRequest, "InvalidResourceName", "The specified blob name is not valid: names are 1 to 1024 characters.")
		}
		switch {
		case comp == "" && m == http.MethodPut:
			if rq.r.Header.Get("x-ms-copy-source") != "" {
				return s.copyBlob(rq)
			}
			return s.putBlob(rq)
		case comp == "" && (m == http.MethodGet || m == http.MethodHead):
			return s.getBlob(rq)
		case comp == "" && m == http.MethodDelete:
			return s.deleteBlob(rq)
		case comp == "block" && m == http.MethodPut:
			return s.putBlock(rq)
		case comp == "blocklist" && m == http.MethodPut:
			return s.putBlockList(rq)
		case comp == "blocklist" && m == http.MethodGet:
			return s.getBlockList(rq)
		case comp == "appendblock" && m == http.MethodPut:
			return s.appendBlock(rq)
		case comp == "metadata" && m == http.MethodPut:
			return s.setBlobMetadata(rq)
		case comp == "metadata" && (m == http.MethodGet || m == http.MethodHead):
			return s.getBlob(rq)
		case comp == "properties" && m == http.MethodPut:
			return s.setBlobProperties(rq)
		}
	}
	if comp != "" || restype != "" {
		return wire.Errorf(http.StatusBadRequest, "UnsupportedQueryParameter",
			"Lapis does not support %s with restype=%q comp=%q on this resource.", m, restype, comp).With("QueryParameterName", "comp")
	}
	return wire.ErrUnsupportedHTTPVerb
}

// allow checks the grant for any of the permission letters perms on res.
func (rq *req) allow(perms string, res auth.Resource) error {
	var first error
	for i := 0; i < len(perms); i++ {
		err := rq.grant.Allow(perms[i], res)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

func (rq *req) containerRes() auth.Resource {
	return auth.Resource{Type: 'c', Container: rq.container}
}

func (rq *req) blobRes() auth.Resource {
	return auth.Resource{Type: 'o', Container: rq.container, Blob: rq.blob}
}

// setCommon sets ETag and Last-Modified.
func setCommon(h http.Header, etag string, modified time.Time) {
	h.Set("ETag", etag)
	h.Set("Last-Modified", wire.FormatTime(modified))
}

// contentLength returns the request's declared length, or an error when
// it has none where one is needed.
func contentLength(r *http.Request) (int64, error) {
	if r.ContentLength >= 0 {
		return r.ContentLength, nil
	}
	if v := r.Header.Get("Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil && n >= 0 {
			return n, nil
		}
	}
	return -1, wire.Errorf(http.StatusLengthRequired, "MissingContentLengthHeader", "Content-Length HTTP header is missing.")
}

// drain reads what is left of a body so the connection can be reused.
func drain(r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
}
