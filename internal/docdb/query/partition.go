package query

import "strings"

// PartitionKeyValue reports whether the WHERE clause only lets through
// documents whose partition key equals one value, and that value, so the
// service can read a single partition. path is the container's partition
// key path, such as "/customerId" or "/address/zip". It recognizes an
// equality between the path (as c.customerId or c["customerId"], on the
// FROM alias of a query that reads whole documents) and a literal or a
// parameter, alone or as one of the terms joined by AND:
//
//	SELECT * FROM c WHERE c.customerId = 'x' AND c.total > 10
//	SELECT * FROM c WHERE @p = c.customerId
//
// Anything else (OR, IN, NOT, a missing parameter, ...) gives ok false, and
// the service must read every partition. The query still filters, so a
// false negative costs only speed.
func (q *Query) PartitionKeyValue(path string, params map[string]any) (v any, ok bool) {
	if q.whereAST == nil || !q.fromDoc {
		return nil, false
	}
	want := strings.Split(strings.Trim(path, "/"), "/")
	var found any
	var search func(x expr) bool
	search = func(x expr) bool {
		b, isBin := x.(*binaryExpr)
		if !isBin {
			return false
		}
		switch {
		case b.op == tIdent && b.and:
			return search(b.l) || search(b.r)
		case b.op != tEq:
			return false
		}
		for _, pair := range [2][2]expr{{b.l, b.r}, {b.r, b.l}} {
			if !q.isAliasPath(pair[0], want) {
				continue
			}
			if val, ok := q.constant(pair[1], params); ok {
				found = val
				return true
			}
		}
		return false
	}
	if !search(q.whereAST) {
		return nil, false
	}
	return found, true
}

// isAliasPath reports whether x is the FROM alias followed by the property
// names in want.
func (q *Query) isAliasPath(x expr, want []string) bool {
	for i := len(want) - 1; i >= 0; i-- {
		p, ok := x.(*propExpr)
		if !ok || p.name != want[i] {
			return false
		}
		x = p.x
	}
	id, ok := x.(*identExpr)
	return ok && id.name == q.fromAlias
}

// constant evaluates a literal or a parameter; undefined is not a value.
func (q *Query) constant(x expr, params map[string]any) (any, bool) {
	switch e := x.(type) {
	case *litExpr:
		if e.val == undef {
			return nil, false
		}
		return e.val, true
	case *paramExpr:
		v, ok := params[e.name]
		if !ok {
			v, ok = params[e.name[1:]]
		}
		if !ok {
			return nil, false
		}
		n, err := normalize(v)
		return n, err == nil
	}
	return nil, false
}
