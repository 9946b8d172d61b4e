package docdb

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// The Go API: what the rest of Lapis (the ARM types, the cosmosDB
// bindings and trigger) uses instead of HTTP. acct is a database account's
// name (account.EmulatorAccount for the emulator's). Errors are *Error,
// which errors.Is matches with ErrNotFound, ErrConflict and the other
// sentinels.

// CreateDatabase creates a database; ErrConflict if it exists.
func (s *Service) CreateDatabase(ctx context.Context, acct, id string) (*Database, error) {
	d, err := s.createDatabase(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	s.mirrorPut(ctx, acct, id, nil)
	return d, nil
}

// GetDatabase reads a database; ErrNotFound if there is none.
func (s *Service) GetDatabase(ctx context.Context, acct, id string) (*Database, error) {
	return s.getDatabase(ctx, acct, id)
}

// ListDatabases lists an account's databases, by id.
func (s *Service) ListDatabases(ctx context.Context, acct string) ([]*Database, error) {
	return s.st.listDatabases(ctx, acct)
}

// DeleteDatabase deletes a database with its containers and documents.
func (s *Service) DeleteDatabase(ctx context.Context, acct, id string) error {
	if err := s.deleteDatabase(ctx, acct, id); err != nil {
		return err
	}
	s.mirrorDelete(ctx, acct, id, "")
	return nil
}

// CreateContainer creates a container in a database.
func (s *Service) CreateContainer(ctx context.Context, acct, db string, spec ContainerSpec) (*Container, error) {
	c, err := s.createContainer(ctx, acct, db, &spec)
	if err != nil {
		return nil, err
	}
	s.mirrorPut(ctx, acct, db, c)
	return c, nil
}

// GetContainer reads a container.
func (s *Service) GetContainer(ctx context.Context, acct, db, id string) (*Container, error) {
	sc, _, err := s.getContainer(ctx, acct, db, id)
	if err != nil {
		return nil, err
	}
	return sc.Container, nil
}

// ListContainers lists a database's containers, by id.
func (s *Service) ListContainers(ctx context.Context, acct, db string) ([]*Container, error) {
	if _, err := s.getDatabase(ctx, acct, db); err != nil {
		return nil, err
	}
	scs, err := s.st.listContainers(ctx, acct, db)
	if err != nil {
		return nil, err
	}
	out := make([]*Container, len(scs))
	for i, sc := range scs {
		out[i] = sc.Container
	}
	return out, nil
}

// ReplaceContainer changes a container's time to live, indexing policy and
// other echoed properties; its partition key and unique keys cannot
// change. A spec without a partition key keeps the container's.
func (s *Service) ReplaceContainer(ctx context.Context, acct, db string, spec ContainerSpec) (*Container, error) {
	c, err := s.replaceContainer(ctx, acct, db, &spec, "")
	if err != nil {
		return nil, err
	}
	s.mirrorPut(ctx, acct, db, c)
	return c, nil
}

// DeleteContainer deletes a container and its documents.
func (s *Service) DeleteContainer(ctx context.Context, acct, db, id string) error {
	if err := s.deleteContainer(ctx, acct, db, id); err != nil {
		return err
	}
	s.mirrorDelete(ctx, acct, db, id)
	return nil
}

// Item is a stored document and its etag.
type Item struct {
	Document json.RawMessage
	ETag     string
}

func itemOf(e *docEntry) *Item { return &Item{Document: e.raw, ETag: e.etag()} }

// CreateItem creates a document; ErrConflict if its id is taken in its
// partition. pk, when not nil, must be the document's partition key.
func (s *Service) CreateItem(ctx context.Context, acct, db, container string, pk PartitionKey, doc []byte) (*Item, error) {
	c, err := s.openColl(ctx, acct, db, container)
	if err != nil {
		return nil, err
	}
	e, _, err := s.createItem(ctx, c, pk, doc, false, "")
	if err != nil {
		return nil, err
	}
	return itemOf(e), nil
}

// UpsertItem creates or replaces a document, and reports whether it
// created it. pk, when not nil, must be the document's partition key.
func (s *Service) UpsertItem(ctx context.Context, acct, db, container string, pk PartitionKey, doc []byte) (*Item, bool, error) {
	c, err := s.openColl(ctx, acct, db, container)
	if err != nil {
		return nil, false, err
	}
	e, created, err := s.createItem(ctx, c, pk, doc, true, "")
	if err != nil {
		return nil, false, err
	}
	return itemOf(e), created, nil
}

// ReadItem reads a document by partition key and id; ErrNotFound if there
// is none (or it has expired).
func (s *Service) ReadItem(ctx context.Context, acct, db, container string, pk PartitionKey, id string) (*Item, error) {
	c, err := s.openColl(ctx, acct, db, container)
	if err != nil {
		return nil, err
	}
	e, err := s.readItem(ctx, c, pkForKey(c, pk), id)
	if err != nil {
		return nil, err
	}
	return itemOf(e), nil
}

// ReplaceItem replaces a document by partition key and id; with ifMatch
// (an etag) only that version, else ErrPreconditionFailed.
func (s *Service) ReplaceItem(ctx context.Context, acct, db, container string, pk PartitionKey, id string, doc []byte, ifMatch string) (*Item, error) {
	c, err := s.openColl(ctx, acct, db, container)
	if err != nil {
		return nil, err
	}
	e, err := s.replaceItem(ctx, c, pk, id, doc, ifMatch)
	if err != nil {
		return nil, err
	}
	return itemOf(e), nil
}

// PatchItem applies a patch request ({"operations":[...],"condition":...},
// as the REST API takes it) to a document; with ifMatch only to that
// version.
func (s *Service) PatchItem(ctx context.Context, acct, db, container string, pk PartitionKey, id string, patch []byte, ifMatch string) (*Item, error) {
	c, err := s.openColl(ctx, acct, db, container)
	if err != nil {
		return nil, err
	}
	e, err := s.patchItem(ctx, c, pk, id, patch, ifMatch)
	if err != nil {
		return nil, err
	}
	return itemOf(e), nil
}

// DeleteItem deletes a document by partition key and id.
func (s *Service) DeleteItem(ctx context.Context, acct, db, container string, pk PartitionKey, id string) error {
	c, err := s.openColl(ctx, acct, db, container)
	if err != nil {
		return err
	}
	return s.deleteItem(ctx, c, pk, id, "")
}

// QueryOptions scope and page a query.
type QueryOptions struct {
	// PartitionKey limits the query to one partition (or, for a
	// hierarchical key, to the partitions under a prefix); nil queries
	// every partition.
	PartitionKey PartitionKey
	// MaxItems bounds the page (default 100, at most 1000).
	MaxItems int
	// Continuation is the previous page's.
	Continuation string
}

// Query runs a query over a container's documents and returns one page of
// results; pass the page's Continuation back for the next.
func (s *Service) Query(ctx context.Context, acct, db, container string, spec QuerySpec, o *QueryOptions) (*QueryPage, error) {
	if o == nil {
		o = &QueryOptions{}
	}
	c, err := s.openColl(ctx, acct, db, container)
	if err != nil {
		return nil, err
	}
	return s.queryItems(ctx, c, &spec, o.PartitionKey, true, o.MaxItems, o.Continuation)
}

// PartitionKeyOf extracts a document's partition key as the container
// defines it.
func (s *Service) PartitionKeyOf(ctx context.Context, acct, db, container string, doc []byte) (PartitionKey, error) {
	c, err := s.openColl(ctx, acct, db, container)
	if err != nil {
		return nil, err
	}
	o, err := parseObject(doc)
	if err != nil {
		return nil, badRequest("The document is not valid: %v.", err)
	}
	k, perr := pkOf(&c.c.PartitionKey, o.vals)
	if perr != nil {
		return nil, perr
	}
	return k, nil
}

// Watch signals on the returned channel (at most one signal waiting) each
// time a document of the container is written, so that a change feed
// reader can read as soon as there is something new instead of polling.
// Deletes do not signal: the change feed does not show them. The channel
// is closed when ctx ends, which the caller owns.
func (s *Service) Watch(ctx context.Context, acct, db, container string) (<-chan struct{}, error) {
	c, err := s.openColl(ctx, acct, db, container)
	if err != nil {
		return nil, err
	}
	w, err := c.b.kv.WatchAll(ctx, jetstream.MetaOnly(), jetstream.UpdatesOnly(), jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("docdb: watch %s: %w", container, err)
	}
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				_ = w.Stop()
				for range w.Updates() { // let the watcher finish delivering and close
				}
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue
				}
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}
