package query

import (
	"iter"
	"math"
	"slices"
)

// Query is a parsed and compiled query. It is immutable and safe for
// concurrent use; each Run or Stream keeps its own state.
type Query struct {
	text     string
	features Features
	params   []string // parameter names (with @), by slot

	nvars     int
	from      *compiledSource // nil: no FROM, one empty row
	fromAlias string
	fromDoc   bool // FROM binds whole documents (no path, no IN)
	joins     []compiledSource
	where     evalFn
	whereAST  expr
	orderBy   evalFn
	desc      bool
	star      bool
	project   evalFn // nil for SELECT *
	distinct  bool
	aggregate bool
	aggs      []aggSpec

	top, offset, limit *count
}

// Features tells the service what a query needs, for planning and paging.
// A query without OrderBy and Aggregate streams: Stream yields results
// while it reads documents and stops reading once TOP or LIMIT is met.
type Features struct {
	OrderBy     bool // ORDER BY: every document is read and the results sorted
	Aggregate   bool // COUNT, SUM, MIN, MAX or AVG in the SELECT list: at most one result
	Distinct    bool // SELECT DISTINCT
	Top         bool // SELECT TOP n
	OffsetLimit bool // OFFSET n LIMIT m
	Join        bool // one or more JOINs
	Value       bool // SELECT VALUE
}

// Parse parses and compiles a Cosmos DB for NoSQL query. Errors are
// *SyntaxError; those for features Lapis lacks wrap ErrUnsupported.
func Parse(text string) (*Query, error) {
	s, err := parse(text)
	if err != nil {
		return nil, err
	}
	return compile(text, s)
}

// String returns the query text.
func (q *Query) String() string { return q.text }

// Features reports the clauses the query uses.
func (q *Query) Features() Features { return q.features }

// Parameters returns the names of the parameters the query uses, with
// their @, in order of first use.
func (q *Query) Parameters() []string { return slices.Clone(q.params) }

// Run evaluates the query over docs and returns every result. docs yields
// documents as encoding/json decodes them into map[string]any (numbers as
// float64; json.Number and Go integers are accepted too). params maps
// parameter names, with or without the leading @, to JSON-compatible
// values; a parameter the query uses but params lacks is an error wrapping
// ErrParameter.
//
// Results are nil, bool, float64, string, []any or map[string]any, and may
// share memory with the documents: do not modify either. A result that is a
// whole document (SELECT * FROM c, SELECT VALUE c) is the very map docs
// yielded. For a given order
// of docs the results come in the same order, so a service can page by
// running a query again and skipping what it already returned. Run has no
// context: to bound a run, make docs stop yielding (for example once a
// context is done); the query then finishes with what it has read.
func (q *Query) Run(docs iter.Seq[map[string]any], params map[string]any) ([]any, error) {
	results, err := q.Stream(docs, params)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for r := range results {
		out = append(out, r)
	}
	return out, nil
}

// Stream binds params and returns the query's results as a sequence,
// reading docs as it is iterated; see Run for what docs, params and the
// results are. Streaming queries (see Features) read no further than they
// must; breaking out of the loop stops reading documents. The sequence can
// be iterated more than once if docs can.
func (q *Query) Stream(docs iter.Seq[map[string]any], params map[string]any) (iter.Seq[any], error) {
	vals, err := q.bind(params)
	if err != nil {
		return nil, err
	}
	skip, take := 0, -1
	if q.offset != nil {
		if skip, err = q.offset.value(vals, "OFFSET"); err != nil {
			return nil, err
		}
		if take, err = q.limit.value(vals, "LIMIT"); err != nil {
			return nil, err
		}
	}
	if q.top != nil {
		n, err := q.top.value(vals, "TOP")
		if err != nil {
			return nil, err
		}
		if take < 0 || n < take {
			take = n
		}
	}
	return func(yield func(any) bool) {
		r := &runner{q: q, yield: yield, skip: skip, take: take}
		r.env.params = vals
		r.env.vars = make([]any, q.nvars)
		r.run(docs)
	}, nil
}

// bind resolves the parameters the query uses.
func (q *Query) bind(params map[string]any) ([]any, error) {
	vals := make([]any, len(q.params))
	for i, name := range q.params {
		v, ok := params[name]
		if !ok {
			v, ok = params[name[1:]]
		}
		if !ok {
			return nil, paramError(name, "no value given")
		}
		n, err := normalize(v)
		if err != nil {
			return nil, paramError(name, "%v", err)
		}
		vals[i] = n
	}
	return vals, nil
}

// value resolves a TOP, OFFSET or LIMIT operand.
func (c *count) value(vals []any, what string) (int, error) {
	if c.param == "" {
		return c.n, nil
	}
	f, ok := vals[c.slot].(float64)
	if !ok || f < 0 || f != math.Trunc(f) {
		return 0, paramError(c.param, "%s needs a non-negative integer", what)
	}
	return int(min(f, maxCount)), nil
}

// runner is the state of one evaluation.
type runner struct {
	q     *Query
	env   env
	yield func(any) bool
	skip  int // results still to skip for OFFSET
	take  int // results still to return; -1 for no limit
	seen  map[string]struct{}
	key   []byte
	rows  []sortRow
	aggs  []aggState
}

type sortRow struct {
	key, result any
}

func (r *runner) run(docs iter.Seq[map[string]any]) {
	q := r.q
	if r.take == 0 {
		return
	}
	if q.distinct {
		r.seen = map[string]struct{}{}
	}
	if q.aggregate {
		r.aggs = make([]aggState, len(q.aggs))
	}
	if q.from == nil {
		r.row()
	} else if docs != nil {
		docs(r.doc)
	}
	switch {
	case q.aggregate:
		results := make([]any, len(q.aggs))
		for i, a := range q.aggs {
			results[i] = r.aggs[i].result(a.kind)
		}
		clear(r.env.vars)
		r.env.aggs = results
		if res := q.project(&r.env); res != undef {
			r.emit(res)
		}
	case q.orderBy != nil:
		slices.SortStableFunc(r.rows, func(a, b sortRow) int {
			if q.desc {
				return compareTotal(b.key, a.key)
			}
			return compareTotal(a.key, b.key)
		})
		for _, row := range r.rows {
			if !r.emit(row.result) {
				break
			}
		}
	}
}

// doc evaluates the FROM source for one document; false stops reading.
func (r *runner) doc(d map[string]any) bool {
	src := r.q.from
	var v any = d
	if src.path != nil {
		r.env.vars[0] = d
		v = src.path(&r.env)
	}
	if src.iter {
		arr, ok := v.([]any)
		if !ok {
			return true
		}
		for _, el := range arr {
			r.env.vars[0] = el
			if !r.join(0) {
				return false
			}
		}
		return true
	}
	if v == undef {
		return true
	}
	r.env.vars[0] = v
	return r.join(0)
}

// join binds JOIN i onwards, then handles the row; false stops reading.
func (r *runner) join(i int) bool {
	if i == len(r.q.joins) {
		return r.row()
	}
	j := &r.q.joins[i]
	v := j.path(&r.env)
	if j.iter {
		arr, ok := v.([]any)
		if !ok {
			return true
		}
		for _, el := range arr {
			r.env.vars[j.slot] = el
			if !r.join(i + 1) {
				return false
			}
		}
		return true
	}
	if v == undef {
		return true
	}
	r.env.vars[j.slot] = v
	return r.join(i + 1)
}

// row filters, then aggregates, buffers or emits one row.
func (r *runner) row() bool {
	q := r.q
	if r.take == 0 { // done; guards against a docs sequence that ignores a false yield
		return false
	}
	if q.where != nil && q.where(&r.env) != true {
		return true
	}
	switch {
	case q.aggregate:
		for i, a := range q.aggs {
			r.aggs[i].add(a.kind, a.arg(&r.env))
		}
		return true
	case q.orderBy != nil:
		key := q.orderBy(&r.env)
		if res := r.project(); res != undef {
			r.rows = append(r.rows, sortRow{key: key, result: res})
		}
		return true
	}
	res := r.project()
	if res == undef {
		return true
	}
	return r.emit(res)
}

func (r *runner) project() any {
	if r.q.star {
		return r.env.vars[0]
	}
	return r.q.project(&r.env)
}

// emit applies DISTINCT, OFFSET and LIMIT/TOP to a result and yields it;
// false means no more results are wanted.
func (r *runner) emit(res any) bool {
	if r.seen != nil {
		r.key = appendKey(r.key[:0], res)
		if _, dup := r.seen[string(r.key)]; dup {
			return true
		}
		r.seen[string(r.key)] = struct{}{}
	}
	if r.skip > 0 {
		r.skip--
		return true
	}
	if !r.yield(res) {
		r.take = 0
		return false
	}
	if r.take > 0 {
		r.take--
		return r.take != 0
	}
	return true
}
