package timerbinding

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/substrate"
)

// Bucket is the substrate bucket (lapis-functions-timers) holding each timer's claim and schedule status.
const Bucket = "timers"

// status is a timer's schedule status (Azure's ScheduleStatus) and what it was computed for.
type status struct {
	Schedule    string    `json:"schedule"`
	Zone        string    `json:"zone"`
	Last        time.Time `json:"last"`
	Next        time.Time `json:"next"`
	LastUpdated time.Time `json:"lastUpdated"`
}

// claim is the latest occurrence a host took on.
type claim struct {
	Occurrence time.Time `json:"occurrence"`
	Owner      string    `json:"owner"`
	// Lease is renewed by the owner while the occurrence runs; when it has passed (or is zero: released) and the
	// occurrence is not Done, another host may resume it.
	Lease time.Time `json:"lease"`
	Done  bool      `json:"done"`
}

// errConflict is a compare-and-set that lost: the record changed since it was read.
var errConflict = errors.New("timer state changed meanwhile")

// store keeps one timer's records. Revisions make compare-and-set updates: put with rev 0 creates, else it
// replaces revision rev; either fails with errConflict when the record is not as expected.
type store interface {
	getStatus(ctx context.Context) (status, uint64, bool, error)
	putStatus(ctx context.Context, s status, rev uint64) error
	getClaim(ctx context.Context) (claim, uint64, bool, error)
	putClaim(ctx context.Context, c claim, rev uint64) error
}

// kvStore is a timer's records in the substrate.
type kvStore struct {
	kv     jetstream.KeyValue
	prefix string // <app>.<function>.
}

func openKV(ctx context.Context, sub *substrate.Substrate, app, fn string) (*kvStore, error) {
	kv, err := sub.KeyValue(ctx, "functions", substrate.KVSpec{Name: Bucket, History: 1})
	if err != nil {
		return nil, err
	}
	return &kvStore{kv: kv, prefix: substrate.Token(strings.ToLower(app)) + "." + substrate.Token(strings.ToLower(fn)) + "."}, nil
}

func (s *kvStore) get(ctx context.Context, key string, v any) (uint64, bool, error) {
	e, err := s.kv.Get(ctx, s.prefix+key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, false, err
	}
	return e.Revision(), true, nil
}

func (s *kvStore) put(ctx context.Context, key string, v any, rev uint64) error {
	b, _ := json.Marshal(v)
	var err error
	if rev == 0 {
		_, err = s.kv.Create(ctx, s.prefix+key, b)
	} else {
		_, err = s.kv.Update(ctx, s.prefix+key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return errConflict
	}
	return err
}

func (s *kvStore) getStatus(ctx context.Context) (status, uint64, bool, error) {
	var v status
	rev, ok, err := s.get(ctx, "status", &v)
	return v, rev, ok, err
}

func (s *kvStore) putStatus(ctx context.Context, v status, rev uint64) error {
	return s.put(ctx, "status", v, rev)
}

func (s *kvStore) getClaim(ctx context.Context) (claim, uint64, bool, error) {
	var v claim
	rev, ok, err := s.get(ctx, "claim", &v)
	return v, rev, ok, err
}

func (s *kvStore) putClaim(ctx context.Context, v claim, rev uint64) error {
	return s.put(ctx, "claim", v, rev)
}

// memStore is a timer's records in memory, shared by the hosts of one process that run the same app.
type memStore struct {
	mu        sync.Mutex
	status    status
	statusRev uint64
	claim     claim
	claimRev  uint64
}

var (
	memMu     sync.Mutex
	memStores = map[string]*memStore{}
)

func openMem(app, fn string) *memStore {
	key := strings.ToLower(app) + "\x00" + strings.ToLower(fn)
	memMu.Lock()
	defer memMu.Unlock()
	s := memStores[key]
	if s == nil {
		s = &memStore{}
		memStores[key] = s
	}
	return s
}

func (m *memStore) getStatus(context.Context) (status, uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status, m.statusRev, m.statusRev != 0, nil
}

func (m *memStore) putStatus(_ context.Context, s status, rev uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rev != m.statusRev {
		return errConflict
	}
	m.status, m.statusRev = s, m.statusRev+1
	return nil
}

func (m *memStore) getClaim(context.Context) (claim, uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.claim, m.claimRev, m.claimRev != 0, nil
}

func (m *memStore) putClaim(_ context.Context, c claim, rev uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rev != m.claimRev {
		return errConflict
	}
	m.claim, m.claimRev = c, m.claimRev+1
	return nil
}
