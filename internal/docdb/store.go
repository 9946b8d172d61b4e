package docdb

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/substrate"
)

// ServiceName is the service's name in the platform (banner, /readyz,
// metrics) and its substrate namespace: buckets are lapis-cosmos-*.
const ServiceName = "cosmos"

// metaBucket is the short name of the bucket of databases and containers.
const metaBucket = "meta"

// docsBucketPrefix starts the short name of a container's bucket of
// documents: docs-{16 hex digits of the container's resource id}.
const docsBucketPrefix = "docs-"

// store keeps the document store in JetStream:
//
//   - one key-value bucket, lapis-cosmos-meta, of databases and containers:
//     {account}.d.{database} and {account}.c.{database}.{container}, every
//     name through substrate.Token;
//   - one key-value bucket per container, lapis-cosmos-docs-{rid}, of its
//     documents: {token(partition key)}.{token(id)}, history 1, so that the
//     bucket's stream, read in order, is the container's change feed in
//     latest-version mode.
type store struct {
	sub  *substrate.Substrate
	js   jetstream.JetStream
	meta jetstream.KeyValue

	mu   sync.Mutex
	open map[string]*bucket // by bucket name
}

// bucket is a container's bucket of documents and its stream.
type bucket struct {
	name string
	kv   jetstream.KeyValue
	st   jetstream.Stream
	// subject is the prefix of its keys' subjects: $KV.{bucket}.
	subject string
}

// storedContainer is a container's record in the meta bucket.
type storedContainer struct {
	Container *Container `json:"container"`
	// Account and Database are the account's name and the database's id,
	// Bucket the short name of the bucket of documents.
	Account  string `json:"account"`
	Database string `json:"database"`
	Bucket   string `json:"bucket"`
}

func openStore(ctx context.Context, sub *substrate.Substrate) (*store, error) {
	kv, err := sub.KeyValue(ctx, ServiceName, substrate.KVSpec{Name: metaBucket, History: 1})
	if err != nil {
		return nil, err
	}
	return &store{sub: sub, js: sub.JetStream(), meta: kv, open: map[string]*bucket{}}, nil
}

func dbKey(acct, db string) string { return substrate.Token(acct) + ".d." + substrate.Token(db) }

func collKey(acct, db, coll string) string {
	return substrate.Token(acct) + ".c." + substrate.Token(db) + "." + substrate.Token(coll)
}

// getJSON reads a meta record; it reports 0 when there is none.
func (s *store) getJSON(ctx context.Context, key string, v any) (uint64, error) {
	e, err := s.meta.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("docdb: read %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("docdb: decode %s: %w", key, err)
	}
	return e.Revision(), nil
}

// errExists and errChanged are a meta write's compare-and-set failures.
var (
	errExists  = errors.New("docdb: exists")
	errChanged = errors.New("docdb: changed since read")
)

// putJSON writes a meta record: it creates when rev is 0 and replaces
// revision rev otherwise.
func (s *store) putJSON(ctx context.Context, key string, v any, rev uint64) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("docdb: encode %s: %w", key, err)
	}
	if rev == 0 {
		rev, err = s.meta.Create(ctx, key, b)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return 0, errExists
		}
	} else {
		rev, err = s.meta.Update(ctx, key, b, rev)
		if isWrongSequence(err) {
			return 0, errChanged
		}
	}
	if err != nil {
		return 0, fmt.Errorf("docdb: write %s: %w", key, err)
	}
	return rev, nil
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// list reads every meta record whose key matches filter, calling add for
// each value.
func (s *store) list(ctx context.Context, filter string, add func(key string, v []byte) error) error {
	w, err := s.meta.WatchFiltered(ctx, []string{filter}, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("docdb: list %s: %w", filter, err)
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("docdb: list %s: watcher closed", filter)
			}
			if e == nil {
				return nil
			}
			if err := add(e.Key(), e.Value()); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *store) getDatabase(ctx context.Context, acct, id string) (*Database, uint64, error) {
	var d Database
	rev, err := s.getJSON(ctx, dbKey(acct, id), &d)
	if err != nil || rev == 0 {
		return nil, 0, err
	}
	return &d, rev, nil
}

func (s *store) listDatabases(ctx context.Context, acct string) ([]*Database, error) {
	var out []*Database
	err := s.list(ctx, substrate.Token(acct)+".d.*", func(_ string, v []byte) error {
		var d Database
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("docdb: decode database: %w", err)
		}
		out = append(out, &d)
		return nil
	})
	slices.SortFunc(out, func(a, b *Database) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

func (s *store) getContainer(ctx context.Context, acct, db, id string) (*storedContainer, uint64, error) {
	var c storedContainer
	rev, err := s.getJSON(ctx, collKey(acct, db, id), &c)
	if err != nil || rev == 0 {
		return nil, 0, err
	}
	return &c, rev, nil
}

// listContainers lists a database's containers, or with db "*" every
// container of the account, or with acct "*" too every container.
func (s *store) listContainers(ctx context.Context, acct, db string) ([]*storedContainer, error) {
	tok := func(s string) string {
		if s == "*" {
			return s
		}
		return substrate.Token(s)
	}
	var out []*storedContainer
	err := s.list(ctx, tok(acct)+".c."+tok(db)+".*", func(_ string, v []byte) error {
		var c storedContainer
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("docdb: decode container: %w", err)
		}
		out = append(out, &c)
		return nil
	})
	slices.SortFunc(out, func(a, b *storedContainer) int { return strings.Compare(a.Container.ID, b.Container.ID) })
	return out, err
}

func (s *store) deleteKey(ctx context.Context, key string) error {
	if err := s.meta.Purge(ctx, key); err != nil {
		return fmt.Errorf("docdb: delete %s: %w", key, err)
	}
	return nil
}

// bucketName is the short name of the bucket of a container with the given
// resource id.
func bucketName(rid string) string {
	b, _ := ridDecode(rid)
	return docsBucketPrefix + hex.EncodeToString(b)
}

// createBucket makes a container's bucket of documents, with atomic batch
// publish on, for transactional batches.
func (s *store) createBucket(ctx context.Context, name string) (*bucket, error) {
	kv, err := s.sub.KeyValue(ctx, ServiceName, substrate.KVSpec{Name: name, History: 1})
	if err != nil {
		return nil, err
	}
	st, err := s.js.Stream(ctx, "KV_"+kv.Bucket())
	if err != nil {
		return nil, fmt.Errorf("docdb: stream of %s: %w", kv.Bucket(), err)
	}
	cfg := st.CachedInfo().Config
	if !cfg.AllowAtomicPublish {
		cfg.AllowAtomicPublish = true
		if st, err = s.js.UpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("docdb: atomic publish on %s: %w", kv.Bucket(), err)
		}
	}
	b := &bucket{name: name, kv: kv, st: st, subject: "$KV." + kv.Bucket() + "."}
	s.mu.Lock()
	s.open[name] = b
	s.mu.Unlock()
	return b, nil
}

// errNoBucket is returned for a container whose bucket is gone (it was
// deleted meanwhile).
var errNoBucket = errors.New("docdb: no bucket of documents")

// bucket opens a container's bucket of documents.
func (s *store) bucket(ctx context.Context, name string) (*bucket, error) {
	s.mu.Lock()
	b, ok := s.open[name]
	s.mu.Unlock()
	if ok {
		return b, nil
	}
	full := substrate.BucketName(ServiceName, name)
	kv, err := s.js.KeyValue(ctx, full)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, errNoBucket
	}
	if err != nil {
		return nil, fmt.Errorf("docdb: open %s: %w", full, err)
	}
	st, err := s.js.Stream(ctx, "KV_"+full)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, errNoBucket
	}
	if err != nil {
		return nil, fmt.Errorf("docdb: open %s: %w", full, err)
	}
	b = &bucket{name: name, kv: kv, st: st, subject: "$KV." + full + "."}
	s.mu.Lock()
	s.open[name] = b
	s.mu.Unlock()
	return b, nil
}

// deleteBucket removes a container's bucket of documents.
func (s *store) deleteBucket(ctx context.Context, name string) error {
	s.mu.Lock()
	delete(s.open, name)
	s.mu.Unlock()
	err := s.js.DeleteKeyValue(ctx, substrate.BucketName(ServiceName, name))
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("docdb: delete bucket %s: %w", name, err)
	}
	return nil
}

// bucketNames lists the short names of every bucket of documents.
func (s *store) bucketNames(ctx context.Context) ([]string, error) {
	prefix := substrate.BucketName(ServiceName, docsBucketPrefix)
	var out []string
	names := s.js.KeyValueStoreNames(ctx)
	for n := range names.Name() {
		if rest, ok := strings.CutPrefix(n, prefix); ok {
			out = append(out, docsBucketPrefix+rest)
		}
	}
	return out, names.Error()
}

// bucketCreated is when a bucket of documents was made.
func (s *store) bucketCreated(ctx context.Context, name string) (time.Time, error) {
	st, err := s.js.Stream(ctx, "KV_"+substrate.BucketName(ServiceName, name))
	if err != nil {
		return time.Time{}, err
	}
	return st.CachedInfo().Created, nil
}
