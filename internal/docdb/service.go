package docdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/service"
)

// Keys gives a database account's keys: the read-write ones and the
// read-only ones (which serve reads and queries only). It returns an error
// wrapping account.ErrNoAccount for an account that does not exist, and
// account.ErrLocalAuthDisabled for one whose keys are turned off.
// *account.Directory is the platform's.
type Keys interface {
	Keys(ctx context.Context, account string) (readWrite, readOnly []string, err error)
}

// Service is the document store's platform service "cosmos": the Cosmos DB
// (NoSQL API) data plane on its own port, the ARM types of database
// accounts, SQL databases and containers, and a Go API for the rest of
// Lapis.
type Service struct {
	env   service.Env
	log   *slog.Logger
	keys  Keys
	dir   *account.Directory // nil without a resource manager
	clock atomic.Pointer[func() time.Time]
	st    *store
	ready atomic.Bool

	// locks serialise the writes this process makes to one partition of a
	// container with unique keys (see lockPartition).
	locksMu sync.Mutex
	locks   map[string]*partitionLock

	// views are the in-memory views of documents queries read (view.go).
	views views

	stop     chan struct{} // closed by Stop
	done     chan struct{} // closed when the sweeper has returned
	bg       context.Context
	bgCancel context.CancelFunc // ends the sweeper's work in flight
}

var _ service.Service = (*Service)(nil)

// New returns the document store service; Start opens its buckets.
func New(env service.Env) (*Service, error) {
	if env.Substrate == nil {
		return nil, errors.New("docdb: a substrate is required")
	}
	s := &Service{env: env, log: env.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	clock := env.Clock
	if clock == nil {
		clock = time.Now
	}
	s.clock.Store(&clock)
	if env.Manager != nil {
		s.dir = &account.Directory{Store: env.Manager.Store()}
		s.keys = s.dir
	}
	if s.env.Ports.Cosmos == 0 {
		s.env.Ports.Cosmos = account.DefaultPort
	}
	return s, nil
}

// Name implements service.Service.
func (*Service) Name() string { return ServiceName }

// now is the service's clock.
func (s *Service) now() time.Time { return (*s.clock.Load())() }

// Endpoint is an account's document endpoint:
// http://{account}.localhost:{port}/, or http://localhost:{port}/ for the
// emulator account.
func (s *Service) Endpoint(acct string) string { return account.Endpoint(acct, s.env.Ports.Cosmos) }

// Start implements service.Service: it opens the bucket of databases and
// containers, registers the ARM types of database accounts, SQL databases
// and containers, starts the time-to-live sweeper and returns the data
// plane's handler.
func (s *Service) Start(ctx context.Context) (http.Handler, error) {
	st, err := openStore(ctx, s.env.Substrate)
	if err != nil {
		return nil, err
	}
	s.st = st
	if s.env.Manager != nil {
		reg := s.env.Manager.Registry()
		reg.Register(&account.Type{Endpoint: s.Endpoint, Now: s.now,
			OnDelete: []func(context.Context, string) error{s.DeleteAccountData}})
		reg.Register(&SQLDatabaseType{svc: s})
		reg.Register(&SQLContainerType{svc: s})
	}
	if err := s.cleanOrphans(ctx); err != nil {
		s.log.Warn("docdb: cleaning orphaned buckets", "err", err)
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.bg, s.bgCancel = context.WithCancel(context.WithoutCancel(ctx))
	go s.sweeper()
	s.ready.Store(true)
	return http.HandlerFunc(s.serve), nil
}

// Ready implements service.Service.
func (s *Service) Ready(ctx context.Context) error {
	if !s.ready.Load() {
		return errors.New("docdb: not started")
	}
	return s.env.Substrate.Check(ctx)
}

// Stop implements service.Service: it stops the sweeper and releases the
// query views. The platform has drained the requests before.
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
	s.bgCancel()
	defer s.releaseViews()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// orphanAge is how old a bucket no container names must be for
// cleanOrphans to remove it.
var orphanAge = 5 * time.Minute

// cleanOrphans removes what a crash in the middle of a delete (or of a
// create) can leave: buckets of documents no container names, and
// containers whose database is gone.
func (s *Service) cleanOrphans(ctx context.Context) error {
	colls, err := s.st.listContainers(ctx, "*", "*")
	if err != nil {
		return err
	}
	used := map[string]bool{}
	var errs []error
	for _, c := range colls {
		if d, _, err := s.st.getDatabase(ctx, c.Account, c.Database); err == nil && d == nil {
			s.log.Info("docdb: removing a container whose database is gone", "account", c.Account, "database", c.Database, "container", c.Container.ID)
			errs = append(errs, s.deleteContainer(ctx, c.Account, c.Database, c.Container.ID))
			continue
		}
		used[c.Bucket] = true
	}
	names, err := s.st.bucketNames(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, n := range names {
		if used[n] {
			continue
		}
		// Another node may be creating a container: its bucket comes
		// before its record. Leave young buckets alone.
		if created, err := s.st.bucketCreated(ctx, n); err != nil || time.Since(created) < orphanAge {
			continue
		}
		s.log.Info("docdb: removing orphaned bucket of documents", "bucket", n)
		errs = append(errs, s.st.deleteBucket(ctx, n))
	}
	return errors.Join(errs...)
}

// DeleteAccountData removes every database of an account, with its
// containers and documents. The account type runs it when a database
// account is deleted.
func (s *Service) DeleteAccountData(ctx context.Context, acct string) error {
	dbs, err := s.st.listDatabases(ctx, acct)
	if err != nil {
		return err
	}
	for _, d := range dbs {
		if err := s.deleteDatabase(ctx, acct, d.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	// Containers left by a crash between a database's delete steps.
	colls, err := s.st.listContainers(ctx, acct, "*")
	if err != nil {
		return err
	}
	for _, c := range colls {
		if err := s.deleteContainer(ctx, acct, c.Database, c.Container.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// Databases.

func (s *Service) createDatabase(ctx context.Context, acct, id string) (*Database, error) {
	if err := validateID(id); err != nil {
		return nil, err
	}
	d := newDatabase(id, s.now().Unix())
	if _, err := s.st.putJSON(ctx, dbKey(acct, id), d, 0); errors.Is(err, errExists) {
		return nil, conflict()
	} else if err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Service) getDatabase(ctx context.Context, acct, id string) (*Database, error) {
	d, _, err := s.st.getDatabase(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, notFound()
	}
	return d, nil
}

// deleteDatabase deletes a database and everything in it: the database
// first, so that no new container can be made in it, then its containers.
func (s *Service) deleteDatabase(ctx context.Context, acct, id string) error {
	if _, err := s.getDatabase(ctx, acct, id); err != nil {
		return err
	}
	if err := s.st.deleteKey(ctx, dbKey(acct, id)); err != nil {
		return err
	}
	colls, err := s.st.listContainers(ctx, acct, id)
	if err != nil {
		return err
	}
	for _, c := range colls {
		if err := s.deleteContainer(ctx, acct, id, c.Container.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// Containers.

func (s *Service) createContainer(ctx context.Context, acct, db string, spec *ContainerSpec) (*Container, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	d, _, err := s.st.getDatabase(ctx, acct, db)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, ownerNotFound("database", db)
	}
	if old, _, err := s.st.getContainer(ctx, acct, db, spec.ID); err != nil {
		return nil, err
	} else if old != nil {
		return nil, conflict()
	}
	rid := childRID(d.RID, 4)
	c := &Container{ContainerSpec: *spec, RID: rid, Self: "dbs/" + d.RID + "/colls/" + rid + "/", ETag: newETag(), TS: s.now().Unix()}
	name := bucketName(rid)
	if _, err := s.st.createBucket(ctx, name); err != nil {
		return nil, err
	}
	if _, err := s.st.putJSON(ctx, collKey(acct, db, spec.ID), &storedContainer{Container: c, Account: acct, Database: db, Bucket: name}, 0); err != nil {
		_ = s.st.deleteBucket(context.WithoutCancel(ctx), name)
		if errors.Is(err, errExists) {
			return nil, conflict()
		}
		return nil, err
	}
	return c, nil
}

func (s *Service) getContainer(ctx context.Context, acct, db, id string) (*storedContainer, uint64, error) {
	c, rev, err := s.st.getContainer(ctx, acct, db, id)
	if err != nil {
		return nil, 0, err
	}
	if c == nil {
		if d, _, err := s.st.getDatabase(ctx, acct, db); err != nil {
			return nil, 0, err
		} else if d == nil {
			return nil, 0, ownerNotFound("database", db)
		}
		return nil, 0, notFound()
	}
	return c, rev, nil
}

// replaceContainer changes what a container may change: its time to live,
// indexing policy and the other echoed properties. Its partition key and
// unique keys are fixed at creation. ifMatch, when set, must be the
// container's etag.
func (s *Service) replaceContainer(ctx context.Context, acct, db string, spec *ContainerSpec, ifMatch string) (*Container, error) {
	if err := validateID(spec.ID); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		sc, rev, err := s.getContainer(ctx, acct, db, spec.ID)
		if err != nil {
			return nil, err
		}
		old := sc.Container
		if ifMatch != "" && ifMatch != "*" && ifMatch != old.ETag {
			return nil, preconditionFailed()
		}
		next := *spec
		if len(next.PartitionKey.Paths) == 0 {
			next.PartitionKey = old.PartitionKey
		} else if err := next.PartitionKey.normalize(); err != nil {
			return nil, err
		} else if !slices.Equal(next.PartitionKey.Paths, old.PartitionKey.Paths) || next.PartitionKey.Kind != old.PartitionKey.Kind {
			return nil, badRequest("The partition key of a container cannot be changed: it is %v.", old.PartitionKey.Paths)
		}
		next.PartitionKey.Version = old.PartitionKey.Version
		if next.UniqueKeyPolicy == nil {
			next.UniqueKeyPolicy = old.UniqueKeyPolicy
		} else if !jsonEqual(next.UniqueKeyPolicy, old.UniqueKeyPolicy, defaultUniqueKeyPolicy) {
			return nil, badRequest("The unique key policy of a container cannot be changed after it is created.")
		}
		if err := next.validate(); err != nil {
			return nil, err
		}
		c := &Container{ContainerSpec: next, RID: old.RID, Self: old.Self, ETag: newETag(), TS: s.now().Unix()}
		sc.Container = c
		if _, err := s.st.putJSON(ctx, collKey(acct, db, spec.ID), sc, rev); errors.Is(err, errChanged) && attempt < 5 {
			continue
		} else if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// deleteContainer deletes a container and its documents.
func (s *Service) deleteContainer(ctx context.Context, acct, db, id string) error {
	sc, _, err := s.getContainer(ctx, acct, db, id)
	if err != nil {
		return err
	}
	if err := s.st.deleteKey(ctx, collKey(acct, db, id)); err != nil {
		return err
	}
	s.dropView(sc.Bucket)
	if err := s.st.deleteBucket(ctx, sc.Bucket); err != nil {
		return fmt.Errorf("docdb: delete the documents of container %s: %w", id, err)
	}
	return nil
}
