package docdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxBatchOperations is the most operations a transactional batch may
// have, as in Cosmos DB.
const maxBatchOperations = 100

// BatchOperation is one operation of a transactional batch, as the
// request body lists them.
type BatchOperation struct {
	OperationType string          `json:"operationType"`
	ID            string          `json:"id,omitempty"`
	ResourceBody  json.RawMessage `json:"resourceBody,omitempty"`
	IfMatch       string          `json:"ifMatch,omitempty"`
	IfNoneMatch   string          `json:"ifNoneMatch,omitempty"`
	// PartitionKey, when an operation names one (a JSON array in a
	// string), must be the batch's.
	PartitionKey string `json:"partitionKey,omitempty"`
}

// BatchResult is one operation's outcome, as the response lists them.
type BatchResult struct {
	StatusCode    int             `json:"statusCode"`
	SubStatusCode int             `json:"subStatusCode,omitempty"`
	RequestCharge float64         `json:"requestCharge"`
	ETag          string          `json:"eTag,omitempty"`
	ResourceBody  json.RawMessage `json:"resourceBody,omitempty"`
	RetryAfter    int             `json:"retryAfterMilliseconds,omitempty"`
}

// batchView is a batch's view of one document: as stored before the batch
// (orig, nil if none is stored) and as the batch has left it so far (cur,
// nil if absent).
type batchView struct {
	key  string
	orig *docEntry
	// rev is the sequence of the key's last message (the stored document,
	// or the marker of its delete), 0 if it has none: the batch's writes
	// expect it.
	rev uint64
	cur *object
	// changed is true once an operation wrote the document.
	changed bool
}

// executeBatch runs a transactional batch in one partition: the
// operations in order against the batch's own view of the documents, then,
// if all succeeded, every write at once with JetStream's atomic batch
// publish, each conditional on the document being as the batch read it.
// If an operation fails, nothing is written: its result has its own
// status and the others 424 Failed Dependency, and ok is false. A batch
// that loses a race with another write is run again.
func (s *Service) executeBatch(ctx context.Context, c *coll, pk PartitionKey, ops []BatchOperation, minimal bool) (results []BatchResult, ok bool, err error) {
	if len(ops) == 0 {
		return nil, false, badRequest("The batch request has no operations.")
	}
	if len(ops) > maxBatchOperations {
		return nil, false, badRequest("A transactional batch can have at most %d operations; this one has %d.", maxBatchOperations, len(ops))
	}
	if err := checkPointPK(c, pk); err != nil {
		return nil, false, err
	}
	pk = pkForKey(c, pk)
	if len(c.unique) > 0 {
		unlock := s.lockPartition(c.b.name, partitionFilter(pk))
		defer unlock()
	}
	for attempt := 0; ; attempt++ {
		results, views, failed, err := s.evalBatch(ctx, c, pk, ops, minimal)
		if err != nil {
			return nil, false, err
		}
		if failed >= 0 {
			for i := range results {
				if i != failed {
					results[i] = BatchResult{StatusCode: http.StatusFailedDependency, RequestCharge: 0}
				}
			}
			return results, false, nil
		}
		if len(c.unique) > 0 {
			if err := s.checkUniqueBatch(ctx, c, pk, views); err != nil {
				return nil, false, err
			}
		}
		err = s.commitBatch(ctx, c, views)
		if errors.Is(err, errChanged) {
			if attempt < maxWriteAttempts {
				continue
			}
			return nil, false, retryWith()
		}
		if err != nil {
			return nil, false, err
		}
		return results, true, nil
	}
}

// evalBatch runs the operations against the batch's view. failed is the
// index of the operation that failed, or -1.
func (s *Service) evalBatch(ctx context.Context, c *coll, pk PartitionKey, ops []BatchOperation, minimal bool) ([]BatchResult, []*batchView, int, error) {
	views := map[string]*batchView{}
	var order []*batchView
	view := func(key string) (*batchView, error) {
		if v, ok := views[key]; ok {
			return v, nil
		}
		e, live, err := s.readDoc(ctx, c, key)
		if err != nil {
			return nil, err
		}
		v := &batchView{key: key, orig: e}
		if e != nil {
			v.rev = e.rev
			if live {
				v.cur = e.obj
			}
		} else if m, err := c.b.st.GetLastMsgForSubject(ctx, c.b.subject+key); err == nil {
			v.rev = m.Sequence // a delete marker
		} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, fmt.Errorf("docdb: read %s: %w", key, err)
		}
		views[key] = v
		order = append(order, v)
		return v, nil
	}
	etagOf := func(o *object) string { s, _ := o.str("_etag"); return s }
	results := make([]BatchResult, len(ops))
	now := s.now().Unix()
	write := func(v *batchView, next *object) {
		rid := childRID(c.c.RID, 8)
		if v.cur != nil {
			if r, ok := v.cur.str("_rid"); ok {
				rid = r
			}
		}
		stamp(next, rid, c.c.Self+"docs/"+rid+"/", newETag(), now)
		v.cur, v.changed = next, true
	}
	for i, op := range ops {
		res, err := func() (BatchResult, error) {
			if op.PartitionKey != "" {
				opk, err := ParsePartitionKey(op.PartitionKey)
				if err != nil {
					return BatchResult{}, err
				}
				if !pkForKey(c, opk).equal(pk) {
					return BatchResult{}, badRequest("The partition key of operation %d is not the batch's: every operation of a transactional batch is in one partition.", i)
				}
			}
			kind := strings.ToLower(op.OperationType)
			switch kind {
			case "create", "upsert", "replace":
				o, id, key, err := s.prepareDoc(c, pk, op.ResourceBody)
				if err != nil {
					return BatchResult{}, err
				}
				if kind == "replace" && op.ID != "" && op.ID != id {
					return BatchResult{}, badRequest("The id '%s' in the document does not match the id '%s' of the item being replaced.", id, op.ID)
				}
				v, err := view(key)
				if err != nil {
					return BatchResult{}, err
				}
				status := http.StatusOK
				switch {
				case v.cur != nil && kind == "create":
					return BatchResult{}, conflict()
				case v.cur == nil && kind == "replace":
					return BatchResult{}, notFound()
				case v.cur == nil:
					status = http.StatusCreated
				}
				if op.IfMatch != "" && op.IfMatch != "*" && (v.cur == nil || op.IfMatch != etagOf(v.cur)) {
					return BatchResult{}, preconditionFailed()
				}
				write(v, o)
				return result(status, v.cur, minimal), nil
			case "read", "delete", "patch":
				if err := validateID(op.ID); err != nil {
					return BatchResult{}, err
				}
				v, err := view(docKey(pk, op.ID))
				if err != nil {
					return BatchResult{}, err
				}
				if v.cur == nil {
					return BatchResult{}, notFound()
				}
				if op.IfMatch != "" && op.IfMatch != "*" && op.IfMatch != etagOf(v.cur) {
					return BatchResult{}, preconditionFailed()
				}
				switch kind {
				case "read":
					if op.IfNoneMatch != "" && (op.IfNoneMatch == "*" || op.IfNoneMatch == etagOf(v.cur)) {
						return BatchResult{StatusCode: http.StatusNotModified, RequestCharge: 1, ETag: etagOf(v.cur)}, nil
					}
					return result(http.StatusOK, v.cur, false), nil
				case "delete":
					v.cur, v.changed = nil, true
					return BatchResult{StatusCode: http.StatusNoContent, RequestCharge: 1}, nil
				}
				p, perr := parsePatch(op.ResourceBody)
				if perr != nil {
					return BatchResult{}, perr
				}
				next, err := s.applyPatch(c, v.cur, p)
				if err != nil {
					return BatchResult{}, err
				}
				write(v, next)
				return result(http.StatusOK, v.cur, minimal), nil
			}
			return BatchResult{}, badRequest("Operation %d has operationType '%s': use Create, Upsert, Read, Replace, Delete or Patch.", i, op.OperationType)
		}()
		if err != nil {
			e := asError(err)
			if e.Status >= 500 {
				return nil, nil, 0, err
			}
			results[i] = BatchResult{StatusCode: e.Status, SubStatusCode: e.SubStatus, RequestCharge: 1}
			return results, order, i, nil
		}
		results[i] = res
	}
	return results, order, -1, nil
}

func result(status int, o *object, minimal bool) BatchResult {
	r := BatchResult{StatusCode: status, RequestCharge: 1}
	r.ETag, _ = o.str("_etag")
	if !minimal {
		r.ResourceBody = o.marshal()
	}
	return r
}

// checkUniqueBatch checks the unique keys over the partition as the batch
// leaves it: its own versions of the documents it touched, and the stored
// versions of the others.
func (s *Service) checkUniqueBatch(ctx context.Context, c *coll, pk PartitionKey, views []*batchView) error {
	others := map[string][]string{}
	touched := map[string]bool{}
	for _, v := range views {
		touched[v.key] = true
		if v.cur != nil {
			others[v.key] = uniqueValues(c, v.cur)
		}
	}
	now := s.now()
	err := s.scan(ctx, c, partitionFilter(pk), func(k string, _ uint64, raw []byte) bool {
		if touched[k] {
			return true
		}
		if o, err := parseObject(raw); err == nil && !c.c.expired(o, now) {
			others[k] = uniqueValues(c, o)
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, v := range views {
		if !v.changed || v.cur == nil {
			continue
		}
		mine := others[v.key]
		for k, vals := range others {
			if k == v.key {
				continue
			}
			for i := range vals {
				if vals[i] == mine[i] {
					return newError(http.StatusConflict, codeConflict, "Unique index constraint violation.")
				}
			}
		}
	}
	return nil
}

// uniqueValues is a document's values for each of the container's unique
// keys.
func uniqueValues(c *coll, o *object) []string {
	out := make([]string, len(c.unique))
	for i, paths := range c.unique {
		var b strings.Builder
		for _, p := range paths {
			segs, _ := parsePKPath(p)
			v, err := valueAt(o.vals, segs)
			if err != nil {
				v = "\x00complex"
			}
			b.WriteString(PartitionKey{v}.String())
			b.WriteByte(0)
		}
		out[i] = b.String()
	}
	return out
}

// batchTimeout bounds an atomic publish.
const batchTimeout = 10 * time.Second

// commitBatch writes the batch's changes at once: one message per changed
// document (the new version, or a delete marker), each expecting the
// sequence the batch read. It returns errChanged if any document changed
// meanwhile; then nothing is written.
func (s *Service) commitBatch(ctx context.Context, c *coll, views []*batchView) error {
	var msgs []*nats.Msg
	for _, v := range views {
		if !v.changed {
			continue
		}
		m := nats.NewMsg(c.b.subject + v.key)
		switch {
		case v.cur != nil:
			m.Data = v.cur.marshal()
		case v.orig == nil:
			continue // created and deleted by the batch: nothing to write
		default:
			m.Header.Set("KV-Operation", "DEL")
		}
		m.Header.Set("Nats-Expected-Last-Subject-Sequence", strconv.FormatUint(v.rev, 10))
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil
	}
	return s.publishAtomic(ctx, msgs)
}

// publishAtomic publishes messages as one JetStream atomic batch: all are
// stored or none.
func (s *Service) publishAtomic(ctx context.Context, msgs []*nats.Msg) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	defer cancel()
	nc := s.env.Substrate.Conn()
	id := uuid.NewString()
	for i, m := range msgs {
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i < len(msgs)-1 {
			if err := nc.PublishMsg(m); err != nil {
				return fmt.Errorf("docdb: batch publish: %w", err)
			}
			continue
		}
		m.Header.Set("Nats-Batch-Commit", "1")
		reply, err := nc.RequestMsgWithContext(ctx, m)
		if err != nil {
			return fmt.Errorf("docdb: batch commit: %w", err)
		}
		var ack struct {
			Error *struct {
				Code        int    `json:"code"`
				ErrCode     int    `json:"err_code"`
				Description string `json:"description"`
			} `json:"error"`
			Seq   uint64 `json:"seq"`
			Count int    `json:"count"`
		}
		if err := json.Unmarshal(reply.Data, &ack); err != nil {
			return fmt.Errorf("docdb: batch commit: %w", err)
		}
		if ack.Error != nil {
			if ack.Error.ErrCode == 10071 { // wrong last sequence
				return errChanged
			}
			return fmt.Errorf("docdb: batch commit: %s (%d)", ack.Error.Description, ack.Error.ErrCode)
		}
		if ack.Count != len(msgs) {
			return fmt.Errorf("docdb: batch commit stored %d of %d messages", ack.Count, len(msgs))
		}
	}
	return nil
}
