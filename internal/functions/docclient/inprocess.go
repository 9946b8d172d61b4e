package docclient

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/service"
)

// EmulatorPort is the Cosmos DB emulator's port, which the emulator's connection string names.
const EmulatorPort = account.DefaultPort

// InProcessOptions are what NewInProcess needs from the platform.
type InProcessOptions struct {
	// Service returns the platform's document store, or nil while it is not running. It is called for every
	// Account (not cached), since the Functions runtime starts before the document store.
	Service func() *docdb.Service
	// Keys checks account names and keys (required; *account.Directory implements it).
	Keys docdb.Keys
	// Endpoint is the host:port the document store listens on, as it actually listens (with port 0 in tests,
	// the port it got). A connection string whose AccountEndpoint is {account}.localhost, localhost or a loopback
	// address on that port is served in process.
	Endpoint string
	// Emulator makes the Cosmos DB emulator's endpoint (localhost or a loopback address on EmulatorPort, http or
	// https) stand for this platform's emulator account whatever port the platform listens on, as
	// UseDevelopmentStorage=true stands for its storage (lapis func start sets it).
	Emulator bool
	// REST configures the client for every other endpoint.
	REST RESTOptions
}

// InProcess is the Provider of a running platform: accounts on its own document store are served in process
// (the Go API of *docdb.Service, changes pushed by its Watch); any other endpoint (Azure, the emulator, another
// Lapis) goes to the REST client.
type InProcess struct {
	opts   InProcessOptions
	rest   *REST
	opened accountCache
}

var _ Provider = (*InProcess)(nil)

// NewInProcess makes the platform's provider.
func NewInProcess(opts InProcessOptions) (*InProcess, error) {
	if opts.Service == nil || opts.Keys == nil {
		return nil, errors.New("docclient: NewInProcess needs the document store and the account directory")
	}
	return &InProcess{opts: opts, rest: NewREST(opts.REST)}, nil
}

// accountCacheTTL is how long Account reuses an account (and its key check) for a connection string: a
// regenerated key stops working at most this long after.
const accountCacheTTL = 30 * time.Second

// accountCache keeps the accounts Account opened, by connection string, for accountCacheTTL.
type accountCache struct {
	mu      sync.Mutex
	byConn  map[string]*localAccount
	expires map[string]time.Time
}

func (c *accountCache) get(conn string) *localAccount {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Now().Before(c.expires[conn]) {
		return c.byConn[conn]
	}
	return nil
}

func (c *accountCache) put(conn string, a *localAccount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byConn == nil || len(c.byConn) > 1000 {
		c.byConn, c.expires = map[string]*localAccount{}, map[string]time.Time{}
	}
	c.byConn[conn], c.expires[conn] = a, time.Now().Add(accountCacheTTL)
}

// FromServiceEnv makes the provider for a service of the platform (the Functions runtime): the document store is
// env.Peer(docdb.ServiceName), looked up at each Account since it starts after the runtime; its endpoint is
// env.Host with env.Ports.Cosmos; keys come from env.Manager's store.
func FromServiceEnv(env service.Env, emulator bool) (*InProcess, error) {
	if env.Peer == nil || env.Manager == nil {
		return nil, errors.New("docclient: the service environment has no Peer or Manager")
	}
	host := env.Host
	if host == "" {
		host = "127.0.0.1"
	}
	opts := InProcessOptions{
		Service: func() *docdb.Service {
			s, _ := env.Peer(docdb.ServiceName).(*docdb.Service)
			return s
		},
		Keys: &account.Directory{Store: env.Manager.Store()}, Emulator: emulator,
	}
	if env.Ports.Cosmos > 0 {
		opts.Endpoint = net.JoinHostPort(host, strconv.Itoa(env.Ports.Cosmos))
	}
	return NewInProcess(opts)
}

// Account implements Provider. A connection string whose AccountEndpoint is this platform's document store
// ({account}.localhost, localhost or a loopback address, on its port; or, with InProcessOptions.Emulator, the
// emulator's localhost:8081) is served in process, and its AccountKey must be a key of that account, checked here so
// that a wrong key fails when the trigger starts rather than at the first change (a read-only key serves reads and
// queries only). Any other endpoint goes to the REST client.
func (p *InProcess) Account(ctx context.Context, connection string) (Account, error) {
	if a := p.opened.get(connection); a != nil {
		return a, nil
	}
	cs, err := ParseConnectionString(connection)
	if err != nil {
		return nil, err
	}
	name, ok := p.ours(cs)
	if !ok {
		return p.rest.open(cs), nil
	}
	svc := p.opts.Service()
	if svc == nil || p.opts.Endpoint == "" {
		return nil, &ConnectionError{Msg: "this Lapis's document store is not running (is --cosmos-port negative?)"}
	}
	readOnly, err := p.checkKey(ctx, name, cs.Key)
	if err != nil {
		return nil, err
	}
	a := &localAccount{svc: svc, name: name, host: strings.ToLower(cs.Endpoint.Hostname()), readOnly: readOnly}
	p.opened.put(connection, a)
	return a, nil
}

// ours names the account a connection string's endpoint addresses on this platform, and reports false for an
// endpoint of anything else.
func (p *InProcess) ours(cs ConnectionString) (string, bool) {
	name, ok := account.AccountFromHost(cs.Endpoint.Hostname())
	if !ok {
		return "", false
	}
	port := cs.Endpoint.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[cs.Endpoint.Scheme]
	}
	if port == portOf(p.opts.Endpoint) {
		return name, true
	}
	return name, p.opts.Emulator && name == account.EmulatorAccount && port == strconv.Itoa(EmulatorPort)
}

func portOf(hostport string) string {
	_, port, _ := net.SplitHostPort(hostport)
	return port
}

// checkKey checks that key is one of the account's keys, and reports whether it is a read-only one.
func (p *InProcess) checkKey(ctx context.Context, name, key string) (readOnly bool, err error) {
	rw, ro, err := p.opts.Keys.Keys(ctx, name)
	switch {
	case errors.Is(err, account.ErrNoAccount):
		return false, &ConnectionError{Account: name, Msg: fmt.Sprintf("this Lapis has no database account %q (create it with lapis cosmosdb create, or use the emulator account at http://localhost:%s/)", name, portOf(p.opts.Endpoint))}
	case errors.Is(err, account.ErrLocalAuthDisabled):
		return false, &ConnectionError{Account: name, Msg: "key based authentication is disabled on this account (disableLocalAuth is true)"}
	case err != nil:
		return false, &ConnectionError{Account: name, Msg: "cannot read the account's keys: " + err.Error()}
	}
	kb, _ := base64.StdEncoding.DecodeString(key)
	match := func(keys []string) bool {
		for _, k := range keys {
			if b, err := base64.StdEncoding.DecodeString(k); err == nil && subtle.ConstantTimeCompare(b, kb) == 1 {
				return true
			}
		}
		return false
	}
	switch {
	case match(rw):
		return false, nil
	case match(ro):
		return true, nil
	}
	return false, &ConnectionError{Account: name, Msg: "AccountKey is not a key of this account (was it regenerated?)"}
}

// localAccount is an account of this platform's document store.
type localAccount struct {
	svc      *docdb.Service
	name     string
	host     string
	readOnly bool // the connection string's key is a read-only key
}

var _ Account = (*localAccount)(nil)

func (a *localAccount) Name() string { return a.name }
func (a *localAccount) Host() string { return a.host }

// errReadOnly is what a write with a read-only key fails with, as the data plane refuses it.
var errReadOnly = &docdb.Error{Status: 403, Code: "Forbidden", Message: "The connection string's AccountKey is a read-only key: it serves reads and queries only."}

func (a *localAccount) writable() error {
	if a.readOnly {
		return errReadOnly
	}
	return nil
}

func (a *localAccount) CreateDatabaseIfNotExists(ctx context.Context, db string) error {
	if _, err := a.svc.GetDatabase(ctx, a.name, db); !errors.Is(err, docdb.ErrNotFound) {
		return err
	}
	if err := a.writable(); err != nil {
		return err
	}
	if _, err := a.svc.CreateDatabase(ctx, a.name, db); err != nil && !errors.Is(err, docdb.ErrConflict) {
		return err
	}
	return nil
}

func (a *localAccount) CreateContainerIfNotExists(ctx context.Context, db string, spec docdb.ContainerSpec) error {
	if _, err := a.svc.GetContainer(ctx, a.name, db, spec.ID); !errors.Is(err, docdb.ErrNotFound) {
		return err
	}
	if err := a.writable(); err != nil {
		return err
	}
	if _, err := a.svc.CreateContainer(ctx, a.name, db, spec); err != nil && !errors.Is(err, docdb.ErrConflict) {
		return err
	}
	return nil
}

func (a *localAccount) Container(ctx context.Context, db, container string) (*ContainerInfo, error) {
	d, err := a.svc.GetDatabase(ctx, a.name, db)
	if err != nil {
		return nil, err
	}
	c, err := a.svc.GetContainer(ctx, a.name, db, container)
	if err != nil {
		return nil, err
	}
	return &ContainerInfo{ID: c.ID, RID: c.RID, DatabaseRID: d.RID, PartitionKeyPaths: c.PartitionKey.Paths}, nil
}

func (a *localAccount) CreateItem(ctx context.Context, db, container string, doc []byte) (*docdb.Item, error) {
	if err := a.writable(); err != nil {
		return nil, err
	}
	return a.svc.CreateItem(ctx, a.name, db, container, nil, doc)
}

func (a *localAccount) UpsertItem(ctx context.Context, db, container string, doc []byte) (*docdb.Item, error) {
	if err := a.writable(); err != nil {
		return nil, err
	}
	it, _, err := a.svc.UpsertItem(ctx, a.name, db, container, nil, doc)
	return it, err
}

func (a *localAccount) ReadItem(ctx context.Context, db, container string, pk docdb.PartitionKey, id string) (*docdb.Item, error) {
	return a.svc.ReadItem(ctx, a.name, db, container, pk, id)
}

func (a *localAccount) ReplaceItem(ctx context.Context, db, container string, pk docdb.PartitionKey, id string, doc []byte, ifMatch string) (*docdb.Item, error) {
	if err := a.writable(); err != nil {
		return nil, err
	}
	return a.svc.ReplaceItem(ctx, a.name, db, container, pk, id, doc, ifMatch)
}

func (a *localAccount) Query(ctx context.Context, db, container string, q docdb.QuerySpec, pk docdb.PartitionKey) ([]json.RawMessage, error) {
	var out []json.RawMessage
	opts := &docdb.QueryOptions{PartitionKey: pk, MaxItems: 1000}
	for {
		page, err := a.svc.Query(ctx, a.name, db, container, q, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Documents...)
		if page.Continuation == "" {
			return out, nil
		}
		opts.Continuation = page.Continuation
	}
}

func (a *localAccount) ChangeFeed(ctx context.Context, db, container string, from uint64) (ChangeFeed, error) {
	f, err := a.svc.ChangeFeed(ctx, a.name, db, container, from)
	if err != nil {
		return nil, err
	}
	return lsnFeed{f}, nil
}

// lsnFeed adds _lsn to each document, as Cosmos DB's change feed has it.
type lsnFeed struct{ *docdb.ChangeFeed }

func (f lsnFeed) Next(ctx context.Context, max int) ([]docdb.ChangeFeedItem, error) {
	items, err := f.ChangeFeed.Next(ctx, max)
	for i := range items {
		items[i].Document = withMember(items[i].Document, "_lsn", strconv.FormatUint(items[i].Seq, 10))
	}
	return items, err
}

// withMember sets a member of a JSON object to the JSON value v, unless the object has it already.
func withMember(obj json.RawMessage, name, v string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil || m == nil {
		return obj
	}
	if _, ok := m[name]; ok {
		return obj
	}
	end := len(obj) - 1
	for end > 0 && obj[end] != '}' {
		end--
	}
	out := make([]byte, 0, len(obj)+len(name)+len(v)+4)
	out = append(out, obj[:end]...)
	if len(m) > 0 {
		out = append(out, ',')
	}
	out = strconv.AppendQuote(out, name)
	out = append(out, ':')
	out = append(out, v...)
	return append(out, '}')
}

func (a *localAccount) Watch(ctx context.Context, db, container string) (<-chan struct{}, error) {
	return a.svc.Watch(ctx, a.name, db, container)
}
