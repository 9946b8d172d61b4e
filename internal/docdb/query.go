package docdb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"strings"

	"github.com/lapisdev/lapis/internal/docdb/query"
)

// QueryParameter is a query's @name and its value.
type QueryParameter struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// QuerySpec is a query with its parameters, the body of a query request.
type QuerySpec struct {
	Query      string           `json:"query"`
	Parameters []QueryParameter `json:"parameters,omitempty"`
}

// params turns the parameters into the query package's map.
func (q *QuerySpec) params() map[string]any {
	m := make(map[string]any, len(q.Parameters))
	for _, p := range q.Parameters {
		m[p.Name] = p.Value
	}
	return m
}

// parseQuery compiles a query; a query the engine cannot run is a 400 with
// the position of the problem, in Cosmos DB's shape.
func parseQuery(text string) (*query.Query, error) {
	q, err := query.Parse(text)
	if err == nil {
		return q, nil
	}
	var se *query.SyntaxError
	if !errors.As(err, &se) {
		return nil, badRequest("The query is not valid: %v.", err)
	}
	type loc struct {
		Start int `json:"start"`
		End   int `json:"end"`
	}
	type qerr struct {
		Severity string `json:"severity"`
		Location loc    `json:"location"`
		Code     string `json:"code"`
		Message  string `json:"message"`
	}
	end := se.Pos + 1
	if end > len(text) {
		end = len(text)
	}
	msg := fmt.Sprintf("%s (line %d, column %d)", se.Msg, se.Line, se.Col)
	code := "SC1001"
	if errors.Is(se, query.ErrUnsupported) {
		code = "SC2001"
	}
	b, _ := json.Marshal(struct {
		Errors []qerr `json:"errors"`
	}{[]qerr{{Severity: "Error", Location: loc{se.Pos, end}, Code: code, Message: msg}}})
	return nil, badRequest("Message: %s", b)
}

// queryError turns an evaluation error (a bad parameter) into a 400.
func queryError(err error) error {
	if errors.Is(err, query.ErrParameter) {
		return badRequest("The query parameters are not valid: %v.", err)
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return badRequest("The query could not be run: %v.", err)
}

// matchCondition evaluates a patch's condition ("from c where ...") on a
// document.
func matchCondition(cond string, doc []byte) (bool, error) {
	text := strings.TrimSpace(cond)
	if !strings.HasPrefix(strings.ToLower(text), "select") {
		text = "SELECT * " + text
	}
	q, err := parseQuery(text)
	if err != nil {
		return false, err
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return false, err
	}
	res, err := q.Run(func(yield func(map[string]any) bool) { yield(m) }, nil)
	if err != nil {
		return false, queryError(err)
	}
	return len(res) > 0, nil
}

// docSource yields a container's live documents (of one partition when pk
// is set), decoded for the query engine, from the container's view (see
// view.go), and remembers each one's stored bytes so that a result that is
// a whole document is sent as stored (its properties in their order, its
// numbers as written).
type docSource struct {
	s   *Service
	ctx context.Context
	c   *coll
	pk  PartitionKey
	err error
	// cur is the document the engine is handling: a streaming query emits
	// its results while handling their document.
	cur rawDoc
	// raw maps a decoded document to its bytes, for queries that emit
	// results only after reading everything (ORDER BY; keep set) and for
	// queryValues. An entry holds the map, so that no other value can have
	// its address while the entry exists.
	raw  map[uintptr]rawDoc
	keep bool
}

type rawDoc struct {
	m map[string]any
	b []byte
}

func (d *docSource) remember(m map[string]any, raw []byte) {
	if !d.keep {
		d.cur = rawDoc{m, raw}
		return
	}
	if d.raw == nil {
		d.raw = map[uintptr]rawDoc{}
	}
	d.raw[reflect.ValueOf(m).Pointer()] = rawDoc{m, raw}
}

// ctxEvery is how many documents a query reads between looks at its
// context.
const ctxEvery = 1024

func (d *docSource) seq() iter.Seq[map[string]any] {
	return func(yield func(map[string]any) bool) {
		v, at, err := d.s.view(d.ctx, d.c)
		if err != nil {
			if d.err == nil {
				d.err = err
			}
			return
		}
		full := len(d.pk) == len(d.c.c.PartitionKey.Paths)
		ptok := ""
		if d.pk != nil && full {
			ptok = d.pk.token()
		}
		now := d.s.now()
		n := 0
		for doc := range v.docs(at, ptok) {
			if n++; n%ctxEvery == 0 && d.ctx.Err() != nil {
				if d.err == nil {
					d.err = d.ctx.Err()
				}
				return
			}
			if d.c.c.expiredDoc(doc.m, now) {
				continue
			}
			if d.pk != nil && !full {
				if k, ok := pkOfDecoded(&d.c.c.PartitionKey, doc.m); !ok || !k.hasPrefix(d.pk) {
					continue
				}
			}
			d.remember(doc.m, doc.raw)
			if !yield(doc.m) {
				return
			}
		}
	}
}

// encode writes a result: a whole document as stored, anything else as
// JSON.
func (d *docSource) encode(v any) (json.RawMessage, error) {
	if m, ok := v.(map[string]any); ok {
		p := reflect.ValueOf(m).Pointer()
		if d.cur.m != nil && reflect.ValueOf(d.cur.m).Pointer() == p {
			return d.cur.b, nil
		}
		if e, ok := d.raw[p]; ok && reflect.ValueOf(e.m).Pointer() == p {
			return e.b, nil
		}
	}
	return json.Marshal(v)
}

// continuation is the state an opaque x-ms-continuation token carries.
type continuation struct {
	// Kind is "q" for a query's page (Offset results already returned) or
	// "f" for a read feed's (Seq is the next stream sequence to read).
	Kind   string
	Offset uint64
	Seq    uint64
	// Hash binds a query's token to the query, its parameters and scope.
	Hash uint64
}

const continuationVersion = 1

// String encodes the token: base64url of version, kind, and three
// unsigned varints.
func (c continuation) String() string {
	b := []byte{continuationVersion, c.Kind[0]}
	b = binary.AppendUvarint(b, c.Offset)
	b = binary.AppendUvarint(b, c.Seq)
	b = binary.AppendUvarint(b, c.Hash)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseContinuation decodes a token made by String.
func parseContinuation(s string) (continuation, error) {
	bad := func() (continuation, error) {
		return continuation{}, badRequest("The continuation token '%s' is not valid: pass back the x-ms-continuation of the previous page unchanged.", truncate(s, 64))
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != continuationVersion || (b[1] != 'q' && b[1] != 'f') {
		return bad()
	}
	c := continuation{Kind: string(b[1:2])}
	rest := b[2:]
	for _, dst := range []*uint64{&c.Offset, &c.Seq, &c.Hash} {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return bad()
		}
		*dst, rest = v, rest[n:]
	}
	if len(rest) != 0 {
		return bad()
	}
	return c, nil
}

// queryHash binds a continuation to a query, its parameters and scope.
func queryHash(spec *QuerySpec, scope string) uint64 {
	h := sha256.New()
	p, _ := json.Marshal(spec.Parameters)
	h.Write([]byte(spec.Query))
	h.Write([]byte{0})
	h.Write(p)
	h.Write([]byte{0})
	h.Write([]byte(scope))
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// QueryPage is one page of a query's results.
type QueryPage struct {
	Documents []json.RawMessage
	// Continuation is the token of the next page, "" after the last.
	Continuation string
}

// defaultPageSize is a page's size when the request sets none.
const defaultPageSize = 100

// maxPageSize bounds a page, whatever the request asks.
const maxPageSize = 1000

// queryItems runs a query over a container: over the partition pk when
// given, else over every partition (when crossPartition, or when the query
// pins one partition key value itself). maxItems bounds the page (0 or
// less: the default); token is the previous page's continuation.
func (s *Service) queryItems(ctx context.Context, c *coll, spec *QuerySpec, pk PartitionKey, crossPartition bool, maxItems int, token string) (*QueryPage, error) {
	q, err := parseQuery(spec.Query)
	if err != nil {
		return nil, err
	}
	params := spec.params()
	if pk != nil {
		pk = pkForKey(c, pk)
	} else if len(c.c.PartitionKey.Paths) == 1 {
		if v, ok := q.PartitionKeyValue(c.c.PartitionKey.Paths[0], params); ok {
			if comp, err := pkComponentOf(v); err == nil {
				pk = PartitionKey{comp}
			}
		}
	}
	if pk == nil && !crossPartition {
		return nil, badRequest("%s", msgCrossDisabled)
	}
	scope := ""
	if pk != nil {
		scope = pk.String()
	}
	hash := queryHash(spec, scope)
	var offset uint64
	if token != "" {
		ct, err := parseContinuation(token)
		if err != nil {
			return nil, err
		}
		if ct.Kind != "q" || ct.Hash != hash {
			return nil, badRequest("The continuation token does not belong to this query: pass it back with the same query, parameters and partition key.")
		}
		offset = ct.Offset
	}
	size := pageSize(maxItems)
	src := &docSource{s: s, ctx: ctx, c: c, pk: pk, keep: q.Features().OrderBy}
	results, err := q.Stream(src.seq(), params)
	if err != nil {
		return nil, queryError(err)
	}
	page := &QueryPage{Documents: []json.RawMessage{}}
	var n uint64
	more := false
	for r := range results {
		if n < offset {
			n++
			continue
		}
		if len(page.Documents) == size {
			more = true
			break
		}
		b, err := src.encode(r)
		if err != nil {
			return nil, err
		}
		page.Documents = append(page.Documents, b)
		n++
	}
	if src.err != nil {
		return nil, src.err
	}
	if more {
		page.Continuation = continuation{Kind: "q", Offset: n, Hash: hash}.String()
	}
	return page, nil
}

// pkComponentOf turns a value the query engine read into a partition key
// component.
func pkComponentOf(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(b, []byte("{")) || bytes.HasPrefix(b, []byte("[")) {
		return nil, errors.New("not a primitive")
	}
	return pkComponent(b)
}

// pageSize is the number of items of a page for x-ms-max-item-count.
func pageSize(maxItems int) int {
	switch {
	case maxItems <= 0:
		return defaultPageSize
	case maxItems > maxPageSize:
		return maxPageSize
	}
	return maxItems
}

// queryValues runs a query over a small set of resources (databases,
// containers), all in one page.
func queryValues(spec *QuerySpec, values []json.RawMessage) ([]json.RawMessage, error) {
	q, err := parseQuery(spec.Query)
	if err != nil {
		return nil, err
	}
	src := &docSource{keep: true}
	docs := func(yield func(map[string]any) bool) {
		for _, v := range values {
			var m map[string]any
			if json.Unmarshal(v, &m) != nil {
				continue
			}
			src.remember(m, v)
			if !yield(m) {
				return
			}
		}
	}
	res, err := q.Run(docs, spec.params())
	if err != nil {
		return nil, queryError(err)
	}
	out := make([]json.RawMessage, 0, len(res))
	for _, r := range res {
		b, err := src.encode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
