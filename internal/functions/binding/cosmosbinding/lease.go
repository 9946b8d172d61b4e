package cosmosbinding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/functions/docclient"
)

// LeaseToken is the token of the one lease a monitored container has: Lapis's containers have one partition key
// range, "0".
const LeaseToken = "0"

// LeaseID is the id of the lease document for a container, as Azure's change feed processor names it:
// {prefix}{endpoint host}_{database _rid}_{container _rid}..{lease token}.
func LeaseID(prefix, host string, c *docclient.ContainerInfo) string {
	return prefix + host + "_" + c.DatabaseRID + "_" + c.RID + ".." + LeaseToken
}

// leaseDoc is a lease document in the shape of the change feed processor's (DocumentServiceLeaseCore):
// the owner's name ("" or null when free), the continuation (the change feed's etag: the quoted sequence of the
// last change processed), and when the owner last wrote it.
type leaseDoc struct {
	ID                string            `json:"id"`
	LeaseToken        string            `json:"LeaseToken"`
	Owner             *string           `json:"Owner"`
	ContinuationToken *string           `json:"ContinuationToken"`
	Timestamp         time.Time         `json:"timestamp"`
	Properties        map[string]string `json:"properties"`
}

func (d *leaseDoc) owner() string {
	if d.Owner == nil {
		return ""
	}
	return *d.Owner
}

// continuation returns the sequence the lease's continuation says was processed last, and false when it has none.
func (d *leaseDoc) continuation() (uint64, bool, error) {
	if d.ContinuationToken == nil || *d.ContinuationToken == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(strings.Trim(strings.TrimPrefix(*d.ContinuationToken, "W/"), `"`), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("lease %s: the continuation %q is not a Lapis change feed position", d.ID, *d.ContinuationToken)
	}
	return n, true, nil
}

// setContinuation records that the change at sequence last was processed.
func (d *leaseDoc) setContinuation(last uint64) {
	s := `"` + strconv.FormatUint(last, 10) + `"`
	d.ContinuationToken = &s
}

// leaseStore reads and writes one lease document, every write conditional on its etag.
type leaseStore struct {
	acct          docclient.Account
	db, container string
	id            string
}

func (s *leaseStore) pk() docdb.PartitionKey { return docdb.PartitionKey{s.id} }

// read returns the lease and its etag; nil when there is none.
func (s *leaseStore) read(ctx context.Context) (*leaseDoc, string, error) {
	it, err := s.acct.ReadItem(ctx, s.db, s.container, s.pk(), s.id)
	if errors.Is(err, docdb.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var d leaseDoc
	if err := json.Unmarshal(it.Document, &d); err != nil {
		return nil, "", fmt.Errorf("lease %s: %w", s.id, err)
	}
	return &d, it.ETag, nil
}

// create writes a new lease; docdb.ErrConflict when another instance created it first.
func (s *leaseStore) create(ctx context.Context, d *leaseDoc) (string, error) {
	b, _ := json.Marshal(d)
	it, err := s.acct.CreateItem(ctx, s.db, s.container, b)
	if err != nil {
		return "", err
	}
	return it.ETag, nil
}

// replace writes d if the lease's etag is still etag; docdb.ErrPreconditionFailed when another instance wrote
// it meanwhile.
func (s *leaseStore) replace(ctx context.Context, d *leaseDoc, etag string) (string, error) {
	b, _ := json.Marshal(d)
	it, err := s.acct.ReplaceItem(ctx, s.db, s.container, s.pk(), s.id, b, etag)
	if err != nil {
		return "", err
	}
	return it.ETag, nil
}

// heldLease is a lease this instance owns: its last written state and etag. Renewals and checkpoints take turns.
type heldLease struct {
	st *leaseStore

	mu   sync.Mutex
	doc  leaseDoc
	etag string
}

// errLeaseLost is what update returns when another instance wrote the lease: it is no longer ours.
var errLeaseLost = errors.New("the lease was taken by another instance")

// update changes the lease with f and writes it, conditional on the etag of our last write. It returns
// errLeaseLost when the lease changed meanwhile (another instance took it), and any other error as is (the lease
// is still ours until it expires).
func (h *heldLease) update(ctx context.Context, f func(d *leaseDoc)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	next := h.doc
	f(&next)
	etag, err := h.st.replace(ctx, &next, h.etag)
	switch {
	case errors.Is(err, docdb.ErrPreconditionFailed), errors.Is(err, docdb.ErrNotFound):
		return errLeaseLost
	case err != nil:
		return err
	}
	h.doc, h.etag = next, etag
	return nil
}

// position is the sequence the change feed resumes at: after the lease's continuation.
func (h *heldLease) position() (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	last, ok, err := h.doc.continuation()
	if err == nil && !ok {
		err = fmt.Errorf("lease %s has no continuation", h.doc.ID)
	}
	return last + 1, err
}
