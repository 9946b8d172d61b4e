package docclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/loopback"
)

// APIVersion is the x-ms-version the REST client sends: one that Azure, the emulator and Lapis all serve, and the
// first to take version 2 (hash V2) partition keys.
const APIVersion = "2018-12-31"

// DefaultWatchInterval is how often the channel of a REST account's Watch ticks.
const DefaultWatchInterval = time.Second

// Retries of a request the service answers with 429 (throttled) or 449 (retry with): at most restRetries more
// attempts, each after the x-ms-retry-after-ms the answer gives (restRetryDelay without one), capped at
// restMaxRetryDelay.
const (
	restRetries       = 4
	restRetryDelay    = 100 * time.Millisecond
	restMaxRetryDelay = 5 * time.Second
)

// RESTOptions configure the REST client.
type RESTOptions struct {
	// HTTPClient sends the requests; nil means a client of its own, on loopback.Transport (so that
	// {account}.localhost reaches this machine whatever the resolver says). It should have no overall timeout:
	// every call has a context.
	HTTPClient *http.Client
	// WatchInterval is how often the channel Watch returns ticks (default DefaultWatchInterval). Negative makes
	// Watch report ErrWatchUnsupported instead, so that the trigger polls every feedPollDelay.
	WatchInterval time.Duration
}

// REST is the Provider that reaches any Cosmos DB endpoint (Azure, the emulator, another Lapis's document store)
// over the Cosmos DB REST API, signing each request with the connection string's AccountKey (type=master). Account
// sends nothing: a wrong key or an unreachable endpoint shows at the first operation.
type REST struct {
	opts RESTOptions
	hc   *http.Client
}

var _ Provider = (*REST)(nil)

// NewREST makes a REST provider.
func NewREST(opts RESTOptions) *REST {
	if opts.WatchInterval == 0 {
		opts.WatchInterval = DefaultWatchInterval
	}
	hc := opts.HTTPClient
	if hc == nil {
		tr := loopback.Transport()
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: tr}
	}
	return &REST{opts: opts, hc: hc}
}

// Account implements Provider: it parses the connection string; nothing is sent until an operation.
func (p *REST) Account(_ context.Context, connection string) (Account, error) {
	cs, err := ParseConnectionString(connection)
	if err != nil {
		return nil, err
	}
	return p.open(cs), nil
}

func (p *REST) open(cs ConnectionString) *restAccount {
	host := strings.TrimSuffix(strings.ToLower(cs.Endpoint.Hostname()), ".")
	name, ok := account.AccountFromHost(host)
	if !ok {
		name, _, _ = strings.Cut(host, ".") // {account}.documents.azure.com
	}
	base := *cs.Endpoint
	base.Path, base.RawPath = strings.TrimRight(base.Path, "/"), strings.TrimRight(base.EscapedPath(), "/")
	base.RawQuery, base.Fragment, base.User = "", "", nil
	return &restAccount{base: &base, key: cs.Key, name: name, host: host, hc: p.hc, opts: p.opts,
		colls: map[string]*ContainerInfo{}}
}

// restAccount is an account reached over HTTP.
type restAccount struct {
	base       *url.URL // the endpoint, without a trailing /
	key        string   // base64, as the connection string has it
	name, host string
	hc         *http.Client
	opts       RESTOptions

	mu    sync.Mutex
	colls map[string]*ContainerInfo // by db + "/" + container: what writes need to know (the partition key paths)
}

var _ Account = (*restAccount)(nil)

func (a *restAccount) Name() string { return a.name }
func (a *restAccount) Host() string { return a.host }

// resourceOf is what a request's signature covers, as Cosmos DB defines it: a path with an odd number of segments
// is a feed (dbs/{db}/colls: type colls, link dbs/{db}), an even one a resource (dbs/{db}: type dbs, link
// dbs/{db}). The link has the ids unescaped.
func resourceOf(segs []string) (resourceType, link string) {
	n := len(segs)
	switch {
	case n == 0:
		return "", ""
	case n%2 == 1:
		return strings.ToLower(segs[n-1]), strings.Join(segs[:n-1], "/")
	default:
		return strings.ToLower(segs[n-2]), strings.Join(segs, "/")
	}
}

// target names what a request addresses, for errors: "database db", "container db/c", "document db/c/id".
func target(segs []string) string {
	switch n := len(segs); {
	case n >= 6:
		return "document " + segs[1] + "/" + segs[3] + "/" + segs[5]
	case n >= 4:
		return "container " + segs[1] + "/" + segs[3]
	case n >= 2:
		return "database " + segs[1]
	}
	return "the account"
}

// do sends one request for the resource at segs (unescaped path segments: dbs, {db}, colls, {coll}, ...) and
// returns the answer with its whole body. A status of 400 or more, or of 300 or more but 304, is an error
// wrapping a *docdb.Error. Throttled requests (429, 449) are retried a few times.
func (a *restAccount) do(ctx context.Context, op, method string, segs []string, hdr http.Header, body []byte) (*http.Response, []byte, error) {
	u := *a.base
	esc := make([]string, len(segs))
	for i, s := range segs {
		esc[i] = url.PathEscape(s)
	}
	u.Path = a.base.Path + "/" + strings.Join(segs, "/")
	u.RawPath = a.base.EscapedPath() + "/" + strings.Join(esc, "/")
	resType, link := resourceOf(segs)
	what := target(segs)
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
		if err != nil {
			return nil, nil, fmt.Errorf("docclient: %s %s: %w", op, what, err)
		}
		for k, vs := range hdr {
			req.Header[k] = vs
		}
		date := time.Now().UTC().Format(http.TimeFormat)
		auth, err := docdb.AuthHeader(a.key, method, resType, link, date)
		if err != nil {
			return nil, nil, &ConnectionError{Account: a.name, Msg: "AccountKey is not base64"}
		}
		req.Header.Set("x-ms-date", date)
		req.Header.Set("x-ms-version", APIVersion)
		req.Header.Set("Authorization", auth)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "lapis-docclient")
		resp, err := a.hc.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("docclient: %s %s at %s: %w", op, what, a.base.Redacted(), err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("docclient: %s %s: reading the answer: %w", op, what, err)
		}
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == 449) && attempt < restRetries {
			delay := restRetryDelay * time.Duration(attempt+1)
			if ms, err := strconv.ParseFloat(resp.Header.Get("x-ms-retry-after-ms"), 64); err == nil && ms >= 0 {
				delay = time.Duration(ms * float64(time.Millisecond))
			}
			t := time.NewTimer(min(delay, restMaxRetryDelay))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, nil, fmt.Errorf("docclient: %s %s: %w", op, what, ctx.Err())
			case <-t.C:
			}
			continue
		}
		if resp.StatusCode >= 400 || (resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotModified) {
			return resp, b, a.responseError(op, what, resp, b)
		}
		return resp, b, nil
	}
}

// sentinels are the docdb errors a status stands for, whatever code the body gives, so that errors.Is works.
var sentinels = map[int]*docdb.Error{
	http.StatusBadRequest: docdb.ErrBadRequest, http.StatusNotFound: docdb.ErrNotFound,
	http.StatusConflict: docdb.ErrConflict, http.StatusPreconditionFailed: docdb.ErrPreconditionFailed,
}

// responseError turns an error answer into a *docdb.Error (with the service's code and message, without the
// ActivityId Cosmos DB appends), wrapped with the operation; a 401 says that the key is the likely cause.
func (a *restAccount) responseError(op, what string, resp *http.Response, body []byte) error {
	e := serviceError(resp.StatusCode, resp.Header, body)
	if e.Status == http.StatusUnauthorized {
		return fmt.Errorf("docclient: %s %s: %s refused the request's signature: is AccountKey a key of account %s (not regenerated since, and not a read-only key for a write)? %w",
			op, what, a.base.Redacted(), a.name, e)
	}
	return fmt.Errorf("docclient: %s %s: %w", op, what, e)
}

// serviceError reads a Cosmos DB error answer: {"code":"NotFound","message":"...\r\nActivityId: ..."}.
func serviceError(status int, h http.Header, body []byte) *docdb.Error {
	e := &docdb.Error{Status: status}
	var x struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &x) == nil {
		e.Code, e.Message = x.Code, x.Message
	}
	if i := strings.Index(e.Message, "ActivityId:"); i >= 0 {
		e.Message = e.Message[:i]
	}
	e.Message = strings.TrimRight(strings.TrimSpace(e.Message), ",")
	if s, ok := sentinels[status]; ok {
		e.Code = s.Code
	}
	if e.Code == "" {
		e.Code = strings.ReplaceAll(http.StatusText(status), " ", "")
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	e.SubStatus, _ = strconv.Atoi(h.Get("x-ms-substatus"))
	return e
}

// Databases and containers.

func dbSegs(db string) []string { return []string{"dbs", db} }

func collSegs(db, container string) []string { return []string{"dbs", db, "colls", container} }

func docsSegs(db, container string) []string { return []string{"dbs", db, "colls", container, "docs"} }

func docSegs(db, container, id string) []string {
	return []string{"dbs", db, "colls", container, "docs", id}
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// CreateDatabaseIfNotExists reads the database first, so that a read-only key serves an existing one.
func (a *restAccount) CreateDatabaseIfNotExists(ctx context.Context, db string) error {
	if _, _, err := a.do(ctx, "CreateDatabaseIfNotExists", http.MethodGet, dbSegs(db), nil, nil); !errors.Is(err, docdb.ErrNotFound) {
		return err
	}
	body, err := json.Marshal(map[string]string{"id": db})
	if err != nil {
		return fmt.Errorf("docclient: CreateDatabaseIfNotExists %s: %w", db, err)
	}
	_, _, err = a.do(ctx, "CreateDatabaseIfNotExists", http.MethodPost, []string{"dbs"}, jsonHeader, body)
	if errors.Is(err, docdb.ErrConflict) {
		return nil // created meanwhile
	}
	return err
}

// containerBody is the body of a create container request: the spec, with Cosmos DB's defaults for the partition
// key (Hash for one path, MultiHash for more, version 2).
func containerBody(spec docdb.ContainerSpec) ([]byte, error) {
	m := make(map[string]any, len(spec.Other)+6)
	for k, v := range spec.Other {
		m[k] = v
	}
	pk := spec.PartitionKey
	if pk.Kind == "" {
		pk.Kind = docdb.KindHash
		if len(pk.Paths) > 1 {
			pk.Kind = docdb.KindMultiHash
		}
	}
	if pk.Version == 0 {
		pk.Version = 2
	}
	m["id"], m["partitionKey"] = spec.ID, pk
	if spec.DefaultTTL != nil {
		m["defaultTtl"] = *spec.DefaultTTL
	}
	for k, v := range map[string]json.RawMessage{"indexingPolicy": spec.IndexingPolicy, "uniqueKeyPolicy": spec.UniqueKeyPolicy,
		"conflictResolutionPolicy": spec.ConflictResolutionPolicy} {
		if len(v) > 0 {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// CreateContainerIfNotExists reads the container first, so that a read-only key serves an existing one.
func (a *restAccount) CreateContainerIfNotExists(ctx context.Context, db string, spec docdb.ContainerSpec) error {
	if _, err := a.Container(ctx, db, spec.ID); !errors.Is(err, docdb.ErrNotFound) {
		return err
	}
	body, err := containerBody(spec)
	if err != nil {
		return fmt.Errorf("docclient: CreateContainerIfNotExists %s/%s: %w", db, spec.ID, err)
	}
	_, _, err = a.do(ctx, "CreateContainerIfNotExists", http.MethodPost, []string{"dbs", db, "colls"}, jsonHeader, body)
	if errors.Is(err, docdb.ErrConflict) {
		return nil
	}
	return err
}

// Container reads the database and the container (two requests; never cached) and remembers the container's
// partition key paths for the writes that follow.
func (a *restAccount) Container(ctx context.Context, db, container string) (*ContainerInfo, error) {
	_, dbBody, err := a.do(ctx, "Container", http.MethodGet, dbSegs(db), nil, nil)
	if err != nil {
		a.forget(db, container)
		return nil, err
	}
	_, body, err := a.do(ctx, "Container", http.MethodGet, collSegs(db, container), nil, nil)
	if err != nil {
		a.forget(db, container)
		return nil, err
	}
	var d struct {
		RID string `json:"_rid"`
	}
	var c struct {
		ID           string `json:"id"`
		RID          string `json:"_rid"`
		PartitionKey struct {
			Paths []string `json:"paths"`
		} `json:"partitionKey"`
	}
	if err := json.Unmarshal(dbBody, &d); err != nil {
		return nil, fmt.Errorf("docclient: Container %s/%s: the database is not JSON: %w", db, container, err)
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("docclient: Container %s/%s: the container is not JSON: %w", db, container, err)
	}
	info := &ContainerInfo{ID: c.ID, RID: c.RID, DatabaseRID: d.RID, PartitionKeyPaths: c.PartitionKey.Paths}
	a.mu.Lock()
	if len(a.colls) > 1000 {
		clear(a.colls)
	}
	a.colls[db+"/"+container] = info
	a.mu.Unlock()
	return info, nil
}

// container is Container, cached: what a write needs to extract the document's partition key.
func (a *restAccount) container(ctx context.Context, db, container string) (*ContainerInfo, error) {
	a.mu.Lock()
	info := a.colls[db+"/"+container]
	a.mu.Unlock()
	if info != nil {
		return info, nil
	}
	return a.Container(ctx, db, container)
}

// forget drops a container's cached description (it may have been deleted, or created again with another
// partition key).
func (a *restAccount) forget(db, container string) {
	a.mu.Lock()
	delete(a.colls, db+"/"+container)
	a.mu.Unlock()
}

// Documents.

// item is a document answer: the document and its etag (the etag header, else the document's _etag).
func item(resp *http.Response, body []byte) *docdb.Item {
	it := &docdb.Item{Document: body, ETag: resp.Header.Get("etag")}
	if it.ETag == "" {
		var e struct {
			ETag string `json:"_etag"`
		}
		_ = json.Unmarshal(body, &e)
		it.ETag = e.ETag
	}
	return it
}

func (a *restAccount) write(ctx context.Context, op, db, container string, doc []byte, upsert bool) (*docdb.Item, error) {
	info, err := a.container(ctx, db, container)
	if err != nil {
		return nil, err
	}
	pk, err := docdb.ExtractPartitionKey(info.PartitionKeyPaths, doc)
	if err != nil {
		return nil, fmt.Errorf("docclient: %s in container %s/%s: %w", op, db, container, err)
	}
	h := http.Header{"Content-Type": {"application/json"}, "X-Ms-Documentdb-Partitionkey": {pk.String()}}
	if upsert {
		h.Set("x-ms-documentdb-is-upsert", "True")
	}
	resp, body, err := a.do(ctx, op, http.MethodPost, docsSegs(db, container), h, doc)
	if err != nil {
		if errors.Is(err, docdb.ErrNotFound) || errors.Is(err, docdb.ErrBadRequest) {
			a.forget(db, container)
		}
		return nil, err
	}
	return item(resp, body), nil
}

// CreateItem extracts the document's partition key with the container's paths (cached from Container).
func (a *restAccount) CreateItem(ctx context.Context, db, container string, doc []byte) (*docdb.Item, error) {
	return a.write(ctx, "CreateItem", db, container, doc, false)
}

// UpsertItem extracts the document's partition key with the container's paths (cached from Container).
func (a *restAccount) UpsertItem(ctx context.Context, db, container string, doc []byte) (*docdb.Item, error) {
	return a.write(ctx, "UpsertItem", db, container, doc, true)
}

func (a *restAccount) ReadItem(ctx context.Context, db, container string, pk docdb.PartitionKey, id string) (*docdb.Item, error) {
	resp, body, err := a.do(ctx, "ReadItem", http.MethodGet, docSegs(db, container, id),
		http.Header{"X-Ms-Documentdb-Partitionkey": {pk.String()}}, nil)
	if err != nil {
		return nil, err
	}
	return item(resp, body), nil
}

func (a *restAccount) ReplaceItem(ctx context.Context, db, container string, pk docdb.PartitionKey, id string, doc []byte, ifMatch string) (*docdb.Item, error) {
	h := http.Header{"Content-Type": {"application/json"}, "X-Ms-Documentdb-Partitionkey": {pk.String()}}
	if ifMatch != "" {
		h.Set("If-Match", ifMatch)
	}
	resp, body, err := a.do(ctx, "ReplaceItem", http.MethodPut, docSegs(db, container, id), h, doc)
	if err != nil {
		return nil, err
	}
	return item(resp, body), nil
}

// queryPageSize is the page size Query asks for.
const queryPageSize = 1000

// Query sends the query to the gateway, across partitions when pk is nil, and follows x-ms-continuation to the
// last page. Queries Azure's gateway cannot run whole across several physical partitions (ORDER BY, aggregates
// and the like on a large container) fail there with 400: the client does not merge partial results as the SDKs
// do.
func (a *restAccount) Query(ctx context.Context, db, container string, q docdb.QuerySpec, pk docdb.PartitionKey) ([]json.RawMessage, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return nil, fmt.Errorf("docclient: Query container %s/%s: %w", db, container, err)
	}
	h := http.Header{"Content-Type": {"application/query+json"}, "X-Ms-Documentdb-Isquery": {"True"},
		"X-Ms-Max-Item-Count": {strconv.Itoa(queryPageSize)}}
	if pk != nil {
		h.Set("x-ms-documentdb-partitionkey", pk.String())
	} else {
		h.Set("x-ms-documentdb-query-enablecrosspartition", "True")
	}
	var out []json.RawMessage
	for {
		resp, b, err := a.do(ctx, "Query", http.MethodPost, docsSegs(db, container), h, body)
		if err != nil {
			return nil, err
		}
		var page struct {
			Documents []json.RawMessage `json:"Documents"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, fmt.Errorf("docclient: Query container %s/%s: the answer is not a page of documents: %w", db, container, err)
		}
		out = append(out, page.Documents...)
		next := resp.Header.Get("x-ms-continuation")
		if next == "" {
			return out, nil
		}
		h.Set("x-ms-continuation", next)
	}
}

// The change feed.

// ChangeFeed reads the feed of partition key range "0", which is the whole container on Lapis and on the
// emulator, and on Azure while the container has one physical partition. Positions are the feed's etags plus one:
// from 1 asks without If-None-Match (the beginning), any other with the etag from-1; docdb.FromNow asks once
// with If-None-Match: * to learn the current end.
func (a *restAccount) ChangeFeed(ctx context.Context, db, container string, from uint64) (ChangeFeed, error) {
	f := &restFeed{a: a, db: db, coll: container, next: max(from, 1)}
	if from != docdb.FromNow {
		if _, err := a.container(ctx, db, container); err != nil {
			return nil, err
		}
		return f, nil
	}
	resp, _, err := f.get(ctx, "*", 1)
	if err != nil {
		return nil, err
	}
	seq, err := feedETag(resp.Header.Get("etag"))
	if err != nil {
		return nil, fmt.Errorf("docclient: ChangeFeed container %s/%s: %w", db, container, err)
	}
	f.next = seq + 1
	if resp.StatusCode != http.StatusNotModified {
		// Changes came in since the end was taken: the etag is after the one change answered, which the first
		// Next reads again.
		f.next = max(seq, 1)
	}
	return f, nil
}

// restFeed is a change feed read over HTTP; not safe for concurrent use.
type restFeed struct {
	a        *restAccount
	db, coll string
	next     uint64
}

// get reads the feed after the etag ifNoneMatch ("" for the beginning, "*" for now).
func (f *restFeed) get(ctx context.Context, ifNoneMatch string, max int) (*http.Response, []byte, error) {
	h := http.Header{"A-Im": {"Incremental feed"}, "X-Ms-Documentdb-Partitionkeyrangeid": {"0"},
		"X-Ms-Max-Item-Count": {strconv.Itoa(max)}}
	if ifNoneMatch != "" {
		h.Set("If-None-Match", ifNoneMatch)
	}
	return f.a.do(ctx, "ChangeFeed", http.MethodGet, docsSegs(f.db, f.coll), h, nil)
}

// maxFeedPage is the most changes Next asks for at once.
const maxFeedPage = 1000

func (f *restFeed) Next(ctx context.Context, n int) ([]docdb.ChangeFeedItem, error) {
	if n <= 0 {
		n = 100
	}
	inm := ""
	if f.next > 1 {
		inm = `"` + strconv.FormatUint(f.next-1, 10) + `"`
	}
	resp, body, err := f.get(ctx, inm, min(n, maxFeedPage))
	if err != nil {
		return nil, err
	}
	seq, err := feedETag(resp.Header.Get("etag"))
	if err != nil {
		return nil, fmt.Errorf("docclient: ChangeFeed container %s/%s: %w", f.db, f.coll, err)
	}
	if resp.StatusCode == http.StatusNotModified {
		f.next = max(f.next, seq+1)
		return nil, nil
	}
	var page struct {
		Documents []json.RawMessage `json:"Documents"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("docclient: ChangeFeed container %s/%s: the answer is not a page of documents: %w", f.db, f.coll, err)
	}
	out := make([]docdb.ChangeFeedItem, len(page.Documents))
	for i, d := range page.Documents {
		var lsn struct {
			LSN uint64 `json:"_lsn"`
		}
		if json.Unmarshal(d, &lsn) != nil || lsn.LSN == 0 {
			lsn.LSN = seq // without _lsn, the page's end stands for it
		}
		out[i] = docdb.ChangeFeedItem{Seq: lsn.LSN, Document: d}
	}
	f.next = seq + 1
	return out, nil
}

func (f *restFeed) Position() uint64 { return f.next }

// feedETag reads a change feed etag: the quoted sequence of the last change answered ("42" or W/"42").
func feedETag(s string) (uint64, error) {
	t := strings.Trim(strings.TrimPrefix(strings.TrimSpace(s), "W/"), `"`)
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("the change feed's etag %q is not a sequence number", s)
	}
	return n, nil
}

// Watch cannot be pushed over REST: once the container is known to exist, the channel ticks every
// RESTOptions.WatchInterval (a tick that finds the previous one unread is dropped) until ctx ends, and the
// trigger reads the change feed at each tick. With a negative WatchInterval it reports ErrWatchUnsupported.
func (a *restAccount) Watch(ctx context.Context, db, container string) (<-chan struct{}, error) {
	if a.opts.WatchInterval < 0 {
		return nil, ErrWatchUnsupported
	}
	if _, err := a.container(ctx, db, container); err != nil {
		return nil, err
	}
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		t := time.NewTicker(a.opts.WatchInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}
