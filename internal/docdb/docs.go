package docdb

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveDocs answers /dbs/{db}/colls/{coll}/docs: the read feed and the
// change feed (GET), and create, upsert, queries and transactional batches
// (POST).
func (s *Service) serveDocs(q *request, db, id string) error {
	switch q.r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		return methodNotAllowed(q.r.Method)
	}
	c, err := s.openColl(q.ctx, q.acct, db, id)
	if err != nil {
		return err
	}
	pk, err := q.partitionKey()
	if err != nil {
		return err
	}
	if q.r.Method != http.MethodPost {
		if strings.EqualFold(q.r.Header.Get("A-IM"), "Incremental feed") {
			return s.serveChangeFeed(q, c, pk)
		}
		return s.serveReadFeed(q, c, pk)
	}
	body, err := q.body(maxBody)
	if err != nil {
		return err
	}
	switch {
	case q.flag("x-ms-cosmos-is-batch-request"):
		return s.serveBatch(q, c, pk, body)
	case q.flag("x-ms-cosmos-is-query-plan-request"):
		return s.serveQueryPlan(q, body)
	case q.isQuery():
		return s.serveQuery(q, c, pk, body)
	}
	if pk == nil {
		return badRequest("%s", msgPKMissing)
	}
	if err := checkPointPK(c, pk); err != nil {
		return err
	}
	if len(body) > MaxDocumentSize {
		return tooLarge()
	}
	upsert := q.flag("x-ms-documentdb-is-upsert")
	e, created, err := s.createItem(q.ctx, c, pk, body, upsert, q.r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	q.item(status, e, 5)
	return nil
}

// item writes a document response: its body (unless the client asked for
// a minimal write response) and its etag.
func (q *request) item(status int, e *docEntry, charge float64) {
	q.w.Header().Set("etag", e.etag())
	q.sendLSN(e.rev)
	if q.r.Method != http.MethodGet && q.minimal() {
		q.send(status, nil, charge)
		return
	}
	q.send(status, e.raw, charge)
}

// serveDoc answers /dbs/{db}/colls/{coll}/docs/{id}: read, replace,
// delete and patch.
func (s *Service) serveDoc(q *request, db, coll, id string) error {
	switch q.r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch:
	default:
		return methodNotAllowed(q.r.Method)
	}
	c, err := s.openColl(q.ctx, q.acct, db, coll)
	if err != nil {
		return err
	}
	pk, err := q.partitionKey()
	if err != nil {
		return err
	}
	ifMatch := q.r.Header.Get("If-Match")
	switch q.r.Method {
	case http.MethodGet, http.MethodHead:
		e, err := s.readItem(q.ctx, c, pkForKey(c, pk), id)
		if err != nil {
			return err
		}
		if inm := q.r.Header.Get("If-None-Match"); inm != "" && (inm == "*" || inm == e.etag()) {
			q.w.Header().Set("etag", e.etag())
			q.send(http.StatusNotModified, nil, 1)
			return nil
		}
		q.item(http.StatusOK, e, 1)
		return nil
	case http.MethodDelete:
		if err := s.deleteItem(q.ctx, c, pk, id, ifMatch); err != nil {
			return err
		}
		q.send(http.StatusNoContent, nil, 5)
		return nil
	}
	body, err := q.body(maxBody)
	if err != nil {
		return err
	}
	if len(body) > MaxDocumentSize {
		return tooLarge()
	}
	var e *docEntry
	if q.r.Method == http.MethodPut {
		e, err = s.replaceItem(q.ctx, c, pk, id, body, ifMatch)
	} else {
		e, err = s.patchItem(q.ctx, c, pk, id, body, ifMatch)
	}
	if err != nil {
		return err
	}
	q.item(http.StatusOK, e, 10)
	return nil
}

// serveReadFeed answers GET docs: the container's documents (of one
// partition with a partition key), a page at a time.
func (s *Service) serveReadFeed(q *request, c *coll, pk PartitionKey) error {
	from := uint64(1)
	if t := q.r.Header.Get("x-ms-continuation"); t != "" {
		ct, err := parseContinuation(t)
		if err != nil {
			return err
		}
		if ct.Kind != "f" {
			return badRequest("The continuation token is not a read feed's: pass back the x-ms-continuation of the previous page.")
		}
		from = ct.Seq
	}
	if pk != nil {
		pk = pkForKey(c, pk)
	}
	items, next, err := s.readFeed(q.ctx, c, from, pk, pageSize(q.maxItems()), 0)
	if err != nil {
		return err
	}
	docs := make([]json.RawMessage, len(items))
	for i, it := range items {
		docs[i] = it.Raw
	}
	token := ""
	if len(items) == pageSize(q.maxItems()) {
		// There may be more: the next page says.
		if more, _, err := s.readFeed(q.ctx, c, next, pk, 1, 0); err != nil {
			return err
		} else if len(more) > 0 {
			token = continuation{Kind: "f", Seq: next}.String()
		}
	}
	q.sendLSN(next - 1)
	q.feed(c.c.RID, "Documents", docs, token)
	return nil
}

// serveChangeFeed answers GET docs with A-IM: Incremental feed: the
// changes after the etag in If-None-Match (all of them without one, none
// so far with *), each document's latest version once; 304 when there is
// nothing new. The etag of the answer is the position to ask from next.
func (s *Service) serveChangeFeed(q *request, c *coll, pk PartitionKey) error {
	if r := q.r.Header.Get("x-ms-documentdb-partitionkeyrangeid"); r != "" && r != "0" {
		return badRequest("Partition key range '%s' does not exist: the container has one range, \"0\".", r)
	}
	from := uint64(1)
	var since int64
	switch inm := q.r.Header.Get("If-None-Match"); inm {
	case "":
		if ims := q.r.Header.Get("If-Modified-Since"); ims != "" {
			t, err := parseHTTPTime(ims)
			if err != nil {
				return badRequest("The If-Modified-Since header '%s' is not an RFC 1123 date.", ims)
			}
			since = t.Unix()
		}
	case "*":
		last, err := s.lastSeq(q.ctx, c)
		if err != nil {
			return err
		}
		from = last + 1
	default:
		seq, err := parseFeedETag(inm)
		if err != nil {
			return err
		}
		from = seq + 1
	}
	items, next, err := s.readFeed(q.ctx, c, from, pk, pageSize(q.maxItems()), since)
	if err != nil {
		return err
	}
	etag := `"` + strconv.FormatUint(next-1, 10) + `"`
	q.w.Header().Set("etag", etag)
	q.sendLSN(next - 1)
	if len(items) == 0 {
		q.send(http.StatusNotModified, nil, 1)
		return nil
	}
	docs := make([]json.RawMessage, len(items))
	for i, it := range items {
		docs[i] = withLSN(it.Raw, it.Seq)
	}
	q.feed(c.c.RID, "Documents", docs, "")
	return nil
}

// parseFeedETag reads a change feed continuation: the quoted sequence a
// previous answer's etag gave.
func parseFeedETag(s string) (uint64, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "W/")
	t = strings.Trim(t, `"`)
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, badRequest("The change feed continuation '%s' in If-None-Match is not valid: pass back the etag of the previous answer, or * to start from now.", truncate(s, 64))
	}
	return n, nil
}

// serveQuery answers a query over a container's documents.
func (s *Service) serveQuery(q *request, c *coll, pk PartitionKey, body []byte) error {
	spec, err := parseQuerySpec(body)
	if err != nil {
		return err
	}
	cross := q.flag("x-ms-documentdb-query-enablecrosspartition") || q.r.Header.Get("x-ms-documentdb-partitionkeyrangeid") != ""
	page, err := s.queryItems(q.ctx, c, spec, pk, cross, q.maxItems(), q.r.Header.Get("x-ms-continuation"))
	if err != nil {
		return err
	}
	q.feed(c.c.RID, "Documents", page.Documents, page.Continuation)
	return nil
}

// serveQueryPlan answers the query plan request of the SDKs that plan
// cross-partition queries themselves (.NET, Java, Python, JavaScript). Lapis
// runs every query whole on its one partition key range, so the plan says
// there is nothing for the SDK to do: no ordering, aggregation or paging
// to merge, one range to ask.
func (s *Service) serveQueryPlan(q *request, body []byte) error {
	spec, err := parseQuerySpec(body)
	if err != nil {
		return err
	}
	if _, err := parseQuery(spec.Query); err != nil {
		return err
	}
	plan := map[string]any{
		"partitionedQueryExecutionInfoVersion": 2,
		"queryInfo": map[string]any{"distinctType": "None", "top": nil, "offset": nil, "limit": nil,
			"orderBy": []string{}, "orderByExpressions": []string{}, "groupByExpressions": []string{}, "groupByAliases": []string{},
			"aggregates": []string{}, "groupByAliasToAggregateType": map[string]any{}, "rewrittenQuery": "",
			"hasSelectValue": false, "dCountInfo": nil, "hasNonStreamingOrderBy": false},
		"queryRanges": []map[string]any{{"min": "", "max": "FF", "isMinInclusive": true, "isMaxInclusive": false}},
	}
	b, _ := json.Marshal(plan)
	q.send(http.StatusOK, b, 0)
	return nil
}

// serveBatch answers a transactional batch: 200 and every operation's
// result when all succeeded, 207 with the failing operation's status and
// 424 for the others when one failed (and nothing was written).
func (s *Service) serveBatch(q *request, c *coll, pk PartitionKey, body []byte) error {
	if !q.flag("x-ms-cosmos-batch-atomic") {
		return badRequest("Lapis serves only atomic transactional batches: set x-ms-cosmos-batch-atomic: true.")
	}
	if pk == nil {
		return badRequest("%s", msgPKMissing)
	}
	var ops []BatchOperation
	if err := json.Unmarshal(body, &ops); err != nil {
		return badRequest("The batch request is not valid: %v. Send a JSON array of operations.", err)
	}
	results, ok, err := s.executeBatch(q.ctx, c, pk, ops, q.minimal())
	if err != nil {
		return err
	}
	b, _ := json.Marshal(results)
	status := http.StatusOK
	if !ok {
		status = http.StatusMultiStatus
	}
	q.send(status, b, float64(len(ops)))
	return nil
}

// parseHTTPTime reads an HTTP date; some clients (the Go SDK's change feed)
// write RFC 1123 with a UTC zone rather than GMT.
func parseHTTPTime(v string) (time.Time, error) {
	if t, err := http.ParseTime(v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC1123, v); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC1123Z, v)
}
