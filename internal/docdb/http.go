package docdb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/docdb/account"
)

// request is one data-plane request in flight.
type request struct {
	w        http.ResponseWriter
	r        *http.Request
	ctx      context.Context
	acct     string
	activity string
	log      *slog.Logger
	// segs are the path's segments, unescaped: dbs, {db}, colls, {coll}, ...
	segs []string
}

// writeTimeout bounds a write, which runs to the end even if the client
// hangs up.
const writeTimeout = 30 * time.Second

// maxBody bounds a request body: a document is at most 2 MB, and a batch
// or a query a little more.
const maxBody = MaxDocumentSize + 1<<20

// serve is the data plane's handler.
func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	q := &request{w: w, r: r, ctx: r.Context(), activity: r.Header.Get("x-ms-activity-id"), log: s.log}
	if _, err := uuid.Parse(q.activity); err != nil {
		q.activity = uuid.NewString()
	}
	h := w.Header()
	h.Set("x-ms-activity-id", q.activity)
	h.Set("x-ms-gatewayversion", "version="+gatewayVersion)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), writeTimeout)
		defer cancel()
		q.ctx = ctx
	}
	acct, ok := account.AccountFromHost(r.Host)
	if !ok {
		q.fail(newError(http.StatusNotFound, codeNotFound,
			"No database account is served at '%s': use http://{account}.localhost:%d/ for an account, or http://localhost:%d/ for the emulator account.",
			r.Host, s.env.Ports.Cosmos, s.env.Ports.Cosmos))
		return
	}
	q.acct = acct
	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		q.fail(badRequest("The request path is not valid: %v.", err))
		return
	}
	q.segs = segs
	rt, link := resourceOf(segs)
	if err := s.authenticate(q, rt, link); err != nil {
		q.fail(err)
		return
	}
	if err := s.route(q); err != nil {
		q.fail(err)
	}
}

// splitPath splits an escaped path into unescaped segments; "/" is none.
func splitPath(p string) ([]string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, nil
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, err
		}
		parts[i] = u
	}
	return parts, nil
}

// resourceOf is what a request's signature covers: the resource type and
// the resource link. A path with an odd number of segments is a feed
// (dbs/{db}/colls: type colls, link dbs/{db}); an even one a resource
// (dbs/{db}: type dbs, link dbs/{db}). The account is type "" and link "".
func resourceOf(segs []string) (string, string) {
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

func (q *request) fail(err error) {
	if e := asError(err); e.Status >= 500 {
		q.log.Warn("docdb: request failed", "method", q.r.Method, "path", q.r.URL.Path, "err", err)
	}
	writeError(q.w, err, q.activity)
}

// flag reads a boolean header.
func (q *request) flag(name string) bool { return strings.EqualFold(q.r.Header.Get(name), "true") }

// send writes a JSON response with Cosmos DB's headers.
func (q *request) send(status int, body []byte, charge float64) {
	h := q.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-ms-request-charge", strconv.FormatFloat(charge, 'f', -1, 64))
	h.Set("x-ms-serviceversion", "version="+gatewayVersion+".0")
	h.Set("x-ms-schemaversion", "1.18")
	if h.Get("x-ms-session-token") == "" {
		h.Set("x-ms-session-token", "0:-1#1")
	}
	if body == nil {
		h.Del("Content-Type")
		q.w.WriteHeader(status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	q.w.WriteHeader(status)
	if q.r.Method != http.MethodHead {
		_, _ = q.w.Write(body)
	}
}

// sendLSN sets the session token and lsn headers from a stream sequence.
func (q *request) sendLSN(lsn uint64) {
	h := q.w.Header()
	h.Set("lsn", strconv.FormatUint(lsn, 10))
	h.Set("x-ms-session-token", "0:-1#"+strconv.FormatUint(lsn, 10))
}

// body reads the request body, at most max bytes (413 beyond).
func (q *request) body(max int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, max))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge()
	}
	if err != nil {
		return nil, badRequest("The request body could not be read: %v.", err)
	}
	return b, nil
}

// partitionKey reads x-ms-documentdb-partitionkey; nil if absent.
func (q *request) partitionKey() (PartitionKey, error) {
	h := q.r.Header.Get("x-ms-documentdb-partitionkey")
	if h == "" {
		return nil, nil
	}
	return ParsePartitionKey(h)
}

// maxItems reads x-ms-max-item-count (0 when absent or -1).
func (q *request) maxItems() int {
	n, err := strconv.Atoi(q.r.Header.Get("x-ms-max-item-count"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// minimal reports whether the client asked for no body on a write.
func (q *request) minimal() bool {
	return strings.EqualFold(strings.TrimSpace(q.r.Header.Get("Prefer")), "return=minimal")
}

func methodNotAllowed(method string) error {
	return newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "The requested verb %s is not supported for this resource.", method)
}

// feed writes a list response: {"_rid":..,"<name>":[...],"_count":n}.
func (q *request) feed(rid, name string, items []json.RawMessage, continuation string) {
	if items == nil {
		items = []json.RawMessage{}
	}
	b, _ := json.Marshal(map[string]any{"_rid": rid, name: items, "_count": len(items)})
	h := q.w.Header()
	h.Set("x-ms-item-count", strconv.Itoa(len(items)))
	if continuation != "" {
		h.Set("x-ms-continuation", continuation)
	}
	q.send(http.StatusOK, b, float64(1+len(items)/10))
}

// route dispatches a request by its path.
func (s *Service) route(q *request) error {
	segs := q.segs
	n := len(segs)
	is := func(i int, name string) bool { return i < n && strings.EqualFold(segs[i], name) }
	switch {
	case n == 0:
		return s.serveAccount(q)
	case is(0, "offers"):
		if n == 1 {
			q.feed("", "Offers", nil, "")
			return nil
		}
		return notFound()
	case !is(0, "dbs"):
		return notFound()
	case n == 1:
		return s.serveDatabases(q)
	case n == 2:
		return s.serveDatabase(q, segs[1])
	case !is(2, "colls"):
		return unsupported(q, segs[2])
	case n == 3:
		return s.serveContainers(q, segs[1])
	case n == 4:
		return s.serveContainer(q, segs[1], segs[3])
	case is(4, "docs") && n == 5:
		return s.serveDocs(q, segs[1], segs[3])
	case is(4, "docs") && n == 6:
		return s.serveDoc(q, segs[1], segs[3], segs[5])
	case is(4, "pkranges") && (n == 5 || n == 6):
		return s.servePKRanges(q, segs[1], segs[3])
	case n >= 5 && n <= 6:
		return unsupported(q, segs[4])
	}
	return notFound()
}

// unsupported answers for what Lapis does not keep (stored procedures,
// triggers, user-defined functions, users, conflicts): their feeds are
// empty, and nothing can be created.
func unsupported(q *request, kind string) error {
	switch strings.ToLower(kind) {
	case "sprocs", "triggers", "udfs", "users", "conflicts", "permissions":
	default:
		return notFound()
	}
	if len(q.segs)%2 == 1 && (q.r.Method == http.MethodGet || q.r.Method == http.MethodPost && q.flag("x-ms-documentdb-isquery")) {
		names := map[string]string{"sprocs": "StoredProcedures", "triggers": "Triggers", "udfs": "UserDefinedFunctions",
			"users": "Users", "conflicts": "Conflicts", "permissions": "Permissions"}
		q.feed("", names[strings.ToLower(kind)], nil, "")
		return nil
	}
	if q.r.Method == http.MethodGet || q.r.Method == http.MethodDelete {
		return notFound()
	}
	return badRequest("Lapis does not support %s (stored procedures, triggers, user-defined functions, users and permissions are not implemented).", kind)
}

// serveAccount answers GET /: the database account, which the SDKs read
// first for its regions and consistency.
func (s *Service) serveAccount(q *request) error {
	if q.r.Method != http.MethodGet && q.r.Method != http.MethodHead {
		return methodNotAllowed(q.r.Method)
	}
	region, consistency := "South Central US", "Session"
	if s.dir != nil && q.acct != account.EmulatorAccount {
		if rec, err := s.dir.Record(q.ctx, q.acct); err == nil && rec != nil {
			if l, _ := rec.Properties["writeLocations"].([]any); len(l) > 0 {
				if m, ok := l[0].(map[string]any); ok {
					if n, ok := m["locationName"].(string); ok && n != "" {
						region = n
					}
				}
			}
			if p, ok := rec.Properties["consistencyPolicy"].(map[string]any); ok {
				if c, ok := p["defaultConsistencyLevel"].(string); ok && c != "" {
					consistency = c
				}
			}
		}
	}
	scheme := "http"
	if q.r.TLS != nil {
		scheme = "https"
	}
	endpoint := scheme + "://" + q.r.Host + "/"
	loc := []map[string]string{{"name": region, "databaseAccountEndpoint": endpoint}}
	b, _ := json.Marshal(map[string]any{
		"_self": "", "id": q.acct, "_rid": q.acct + ".localhost", "media": "//media/", "addresses": "//addresses/", "_dbs": "//dbs/",
		"writableLocations": loc, "readableLocations": loc, "enableMultipleWriteLocations": false,
		"userReplicationPolicy":   map[string]any{"asyncReplication": false, "minReplicaSetSize": 1, "maxReplicasetSize": 4},
		"userConsistencyPolicy":   map[string]any{"defaultConsistencyLevel": consistency},
		"systemReplicationPolicy": map[string]any{"minReplicaSetSize": 1, "maxReplicasetSize": 4},
		"readPolicy":              map[string]any{"primaryReadCoefficient": 1, "secondaryReadCoefficient": 1},
		"queryEngineConfiguration": `{"maxSqlQueryInputLength":262144,"maxJoinsPerSqlQuery":5,"maxLogicalAndPerSqlQuery":500,"maxLogicalOrPerSqlQuery":500,` +
			`"maxUdfRefPerSqlQuery":10,"maxInExpressionItemsCount":16000,"queryMaxInMemorySortDocumentCount":500,"maxQueryRequestTimeoutFraction":0.9,` +
			`"sqlAllowNonFiniteNumbers":false,"sqlAllowAggregateFunctions":true,"sqlAllowSubQuery":false,"sqlAllowScalarSubQuery":false,` +
			`"allowNewKeywords":true,"sqlAllowLike":true,"sqlAllowGroupByClause":false,"maxSpatialQueryCells":12,"spatialMaxGeometryPointCount":256,` +
			`"sqlDisableQueryILOptimization":false,"sqlDisableFilterPlanOptimization":false}`,
	})
	q.send(http.StatusOK, b, 0)
	return nil
}

// serveDatabases answers /dbs: list, query and create.
func (s *Service) serveDatabases(q *request) error {
	switch q.r.Method {
	case http.MethodGet:
		dbs, err := s.st.listDatabases(q.ctx, q.acct)
		if err != nil {
			return err
		}
		q.feed("", "Databases", marshalAll(dbs), "")
		return nil
	case http.MethodPost:
		body, err := q.body(maxBody)
		if err != nil {
			return err
		}
		if q.isQuery() {
			dbs, err := s.st.listDatabases(q.ctx, q.acct)
			if err != nil {
				return err
			}
			spec, err := parseQuerySpec(body)
			if err != nil {
				return err
			}
			out, err := queryValues(spec, marshalAll(dbs))
			if err != nil {
				return err
			}
			q.feed("", "Databases", out, "")
			return nil
		}
		var in struct {
			ID *string `json:"id"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.ID == nil {
			return badRequest("The database definition is not valid: send {\"id\":\"<name>\"}.")
		}
		d, err := s.createDatabase(q.ctx, q.acct, *in.ID)
		if err != nil {
			return err
		}
		s.mirrorPut(q.ctx, q.acct, d.ID, nil)
		b, _ := json.Marshal(d)
		q.w.Header().Set("etag", d.ETag)
		q.send(http.StatusCreated, b, 5)
		return nil
	}
	return methodNotAllowed(q.r.Method)
}

func (q *request) isQuery() bool {
	return q.flag("x-ms-documentdb-isquery") || strings.HasPrefix(q.r.Header.Get("Content-Type"), "application/query+json")
}

func parseQuerySpec(body []byte) (*QuerySpec, error) {
	var spec QuerySpec
	if err := json.Unmarshal(body, &spec); err != nil {
		return nil, badRequest("The query request is not valid: %v. Send {\"query\":\"SELECT ...\",\"parameters\":[{\"name\":\"@p\",\"value\":1}]}.", err)
	}
	if strings.TrimSpace(spec.Query) == "" {
		return nil, badRequest("The query request has no query text.")
	}
	return &spec, nil
}

func marshalAll[T any](vs []T) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(vs))
	for _, v := range vs {
		b, _ := json.Marshal(v)
		out = append(out, b)
	}
	return out
}

// serveDatabase answers /dbs/{db}: read and delete.
func (s *Service) serveDatabase(q *request, id string) error {
	switch q.r.Method {
	case http.MethodGet, http.MethodHead:
		d, err := s.getDatabase(q.ctx, q.acct, id)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(d)
		q.w.Header().Set("etag", d.ETag)
		q.send(http.StatusOK, b, 1)
		return nil
	case http.MethodDelete:
		if err := s.deleteDatabase(q.ctx, q.acct, id); err != nil {
			return err
		}
		s.mirrorDelete(q.ctx, q.acct, id, "")
		q.send(http.StatusNoContent, nil, 5)
		return nil
	}
	return methodNotAllowed(q.r.Method)
}

// serveContainers answers /dbs/{db}/colls: list, query and create.
func (s *Service) serveContainers(q *request, db string) error {
	switch q.r.Method {
	case http.MethodGet, http.MethodPost:
	default:
		return methodNotAllowed(q.r.Method)
	}
	d, err := s.getDatabase(q.ctx, q.acct, db)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return ownerNotFound("database", db)
		}
		return err
	}
	list := func() ([]json.RawMessage, error) {
		cs, err := s.st.listContainers(q.ctx, q.acct, db)
		if err != nil {
			return nil, err
		}
		out := make([]json.RawMessage, 0, len(cs))
		for _, c := range cs {
			b, _ := json.Marshal(c.Container)
			out = append(out, b)
		}
		return out, nil
	}
	if q.r.Method == http.MethodGet {
		out, err := list()
		if err != nil {
			return err
		}
		q.feed(d.RID, "DocumentCollections", out, "")
		return nil
	}
	body, err := q.body(maxBody)
	if err != nil {
		return err
	}
	if q.isQuery() {
		spec, err := parseQuerySpec(body)
		if err != nil {
			return err
		}
		all, err := list()
		if err != nil {
			return err
		}
		out, err := queryValues(spec, all)
		if err != nil {
			return err
		}
		q.feed(d.RID, "DocumentCollections", out, "")
		return nil
	}
	spec, perr := parseContainerBody(body)
	if perr != nil {
		return perr
	}
	c, err := s.createContainer(q.ctx, q.acct, db, spec)
	if err != nil {
		return err
	}
	s.mirrorPut(q.ctx, q.acct, db, c)
	b, _ := json.Marshal(c)
	q.w.Header().Set("etag", c.ETag)
	q.send(http.StatusCreated, b, 5)
	return nil
}

// serveContainer answers /dbs/{db}/colls/{coll}: read, replace and delete.
func (s *Service) serveContainer(q *request, db, id string) error {
	switch q.r.Method {
	case http.MethodGet, http.MethodHead:
		sc, _, err := s.getContainer(q.ctx, q.acct, db, id)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(sc.Container)
		q.w.Header().Set("etag", sc.Container.ETag)
		q.send(http.StatusOK, b, 1)
		return nil
	case http.MethodPut:
		body, err := q.body(maxBody)
		if err != nil {
			return err
		}
		spec, perr := parseContainerBody(body)
		if perr != nil {
			return perr
		}
		if spec.ID != id {
			return badRequest("The id '%s' in the container definition does not match the id '%s' in the path.", spec.ID, id)
		}
		c, err := s.replaceContainer(q.ctx, q.acct, db, spec, q.r.Header.Get("If-Match"))
		if err != nil {
			return err
		}
		s.mirrorPut(q.ctx, q.acct, db, c)
		b, _ := json.Marshal(c)
		q.w.Header().Set("etag", c.ETag)
		q.send(http.StatusOK, b, 5)
		return nil
	case http.MethodDelete:
		if err := s.deleteContainer(q.ctx, q.acct, db, id); err != nil {
			return err
		}
		s.mirrorDelete(q.ctx, q.acct, db, id)
		q.send(http.StatusNoContent, nil, 5)
		return nil
	}
	return methodNotAllowed(q.r.Method)
}

// servePKRanges answers /dbs/{db}/colls/{coll}/pkranges: one range, "0",
// covering every partition key, as a container that never splits has.
// The SDKs read it as a change feed until 304.
func (s *Service) servePKRanges(q *request, db, id string) error {
	if q.r.Method != http.MethodGet && q.r.Method != http.MethodHead {
		return methodNotAllowed(q.r.Method)
	}
	sc, _, err := s.getContainer(q.ctx, q.acct, db, id)
	if err != nil {
		return err
	}
	c := sc.Container
	const etag = `"1"`
	q.w.Header().Set("etag", etag)
	if len(q.segs) == 5 && strings.EqualFold(q.r.Header.Get("A-IM"), "Incremental feed") && q.r.Header.Get("If-None-Match") == etag {
		q.send(http.StatusNotModified, nil, 1)
		return nil
	}
	b, _ := ridDecode(c.RID)
	rangeRID := ridEncode(append(b, 2, 0, 0, 0, 0, 0, 0, 0))
	r := map[string]any{"_rid": rangeRID, "id": "0", "_etag": `"00000000-0000-0000-0000-000000000000"`, "minInclusive": "", "maxExclusive": "FF",
		"ridPrefix": 0, "_self": c.Self + "pkranges/" + rangeRID + "/", "throughputFraction": 1, "status": "online",
		"parents": []string{}, "ownedArchivalPKRangeIds": []string{}, "_ts": c.TS, "lsn": 1}
	rb, _ := json.Marshal(r)
	if len(q.segs) == 6 {
		if q.segs[5] != "0" && q.segs[5] != rangeRID {
			return notFound()
		}
		q.send(http.StatusOK, rb, 1)
		return nil
	}
	q.feed(c.RID, "PartitionKeyRanges", []json.RawMessage{rb}, "")
	return nil
}
