package query

import (
	"fmt"
	"math"
	"regexp"
	"strings"
)

// evalFn evaluates a compiled expression for the current row.
type evalFn func(*env) any

// env is the state one run of a query evaluates against. It belongs to a
// single goroutine; a Query itself is immutable.
type env struct {
	vars   []any // values bound to the FROM and JOIN aliases, by slot
	params []any // parameter values, by slot
	aggs   []any // aggregate results, while projecting an aggregate query
	stack  []any // function arguments
}

// compiledSource is the FROM source or a JOIN.
type compiledSource struct {
	slot int
	path evalFn // nil: the document itself
	iter bool   // one row per element of the array path yields
}

type compiler struct {
	text    string
	q       *Query
	scope   map[string]int // alias -> slot
	params  map[string]int // parameter name (with @) -> slot
	context string         // clause being compiled, for aggregate errors
	aggMode bool           // compiling the projection of an aggregate query
	inAgg   bool           // compiling an aggregate's argument
}

func (c *compiler) errAt(pos int, format string, args ...any) error {
	return newSyntaxError(c.text, pos, nil, fmt.Sprintf(format, args...))
}

func (c *compiler) unsupported(pos int, what string) error {
	return newSyntaxError(c.text, pos, ErrUnsupported, what+" is not supported by Lapis")
}

func (c *compiler) param(name string) int {
	if slot, ok := c.params[name]; ok {
		return slot
	}
	slot := len(c.q.params)
	c.params[name] = slot
	c.q.params = append(c.q.params, name)
	return slot
}

// compile turns a parsed statement into a runnable Query.
func compile(text string, s *stmt) (*Query, error) {
	q := &Query{text: text, star: s.star, distinct: s.distinct, desc: s.desc, whereAST: s.where}
	c := &compiler{text: text, q: q, scope: map[string]int{}, params: map[string]int{}}
	q.features = Features{
		OrderBy:     s.orderBy != nil,
		Distinct:    s.distinct,
		Top:         s.top != nil,
		OffsetLimit: s.offset != nil,
		Join:        len(s.joins) > 0,
		Value:       s.value != nil,
	}
	for _, cnt := range []*count{s.top, s.offset, s.limit} {
		if cnt != nil && cnt.param != "" {
			cnt.slot = c.param(cnt.param)
		}
	}
	q.top, q.offset, q.limit = s.top, s.offset, s.limit

	if f := s.from; f != nil {
		src := &compiledSource{slot: 0, iter: f.iter}
		if f.path != nil {
			c.scope = map[string]int{f.root: 0}
			c.context = "FROM"
			fn, err := c.compile(f.path)
			if err != nil {
				return nil, err
			}
			src.path = fn
		}
		q.from = src
		q.fromAlias = f.alias
		q.fromDoc = f.path == nil && !f.iter
		c.scope = map[string]int{f.alias: 0}
		q.nvars = 1
		for _, j := range s.joins {
			if _, dup := c.scope[j.alias]; dup {
				return nil, c.errAt(j.pos, "the alias %q is already defined", j.alias)
			}
			c.context = "JOIN"
			fn, err := c.compile(j.path)
			if err != nil {
				return nil, err
			}
			c.scope[j.alias] = q.nvars
			q.joins = append(q.joins, compiledSource{slot: q.nvars, path: fn, iter: j.iter})
			q.nvars++
		}
	}

	if s.where != nil {
		c.context = "WHERE"
		fn, err := c.compile(s.where)
		if err != nil {
			return nil, err
		}
		q.where = fn
	}

	if s.orderBy != nil {
		if !isPath(s.orderBy) {
			return nil, c.errAt(s.orderBy.position(), "ORDER BY needs a property path such as c.name, not a computed expression")
		}
		c.context = "ORDER BY"
		fn, err := c.compile(s.orderBy)
		if err != nil {
			return nil, err
		}
		q.orderBy = fn
	}

	c.context = ""
	switch {
	case s.star:
		if s.from == nil {
			return nil, c.errAt(0, "SELECT * needs a FROM clause")
		}
		if len(s.joins) > 0 {
			return nil, c.errAt(0, "SELECT * is only valid with a single input; with JOIN, list what to select or use SELECT VALUE")
		}
	case s.value != nil:
		c.aggMode = hasAggregate(s.value)
		fn, err := c.compile(s.value)
		if err != nil {
			return nil, err
		}
		q.project = fn
	default:
		fn, err := c.compileList(s.items)
		if err != nil {
			return nil, err
		}
		q.project = fn
	}
	q.aggregate = c.aggMode
	q.features.Aggregate = c.aggMode
	return q, nil
}

// compileList compiles a SELECT list into a closure building one object.
func (c *compiler) compileList(items []selectItem) (evalFn, error) {
	for _, it := range items {
		if hasAggregate(it.x) {
			c.aggMode = true
		}
	}
	names := make([]string, len(items))
	fns := make([]evalFn, len(items))
	seen := map[string]bool{}
	unnamed := 0
	for i, it := range items {
		name := it.name
		if name == "" {
			switch x := it.x.(type) {
			case *identExpr:
				name = x.name
			case *propExpr:
				name = x.name
			default:
				unnamed++
				name = fmt.Sprintf("$%d", unnamed)
			}
		}
		if seen[name] {
			return nil, c.errAt(it.pos, "the property name %q is projected more than once; give it another name with AS", name)
		}
		seen[name] = true
		fn, err := c.compile(it.x)
		if err != nil {
			return nil, err
		}
		names[i], fns[i] = name, fn
	}
	return func(e *env) any {
		m := make(map[string]any, len(fns))
		for i, fn := range fns {
			if v := fn(e); v != undef {
				m[names[i]] = v
			}
		}
		return m
	}, nil
}

// isPath reports whether x is an alias followed by property or index steps
// with constant names.
func isPath(x expr) bool {
	for {
		switch e := x.(type) {
		case *identExpr:
			return true
		case *propExpr:
			x = e.x
		case *indexExpr:
			if _, ok := e.index.(*litExpr); !ok {
				return false
			}
			x = e.x
		default:
			return false
		}
	}
}

var aggregates = map[string]aggKind{"COUNT": aggCount, "SUM": aggSum, "AVG": aggAvg, "MIN": aggMin, "MAX": aggMax}

// hasAggregate reports whether x calls an aggregate function.
func hasAggregate(x expr) bool {
	found := false
	walk(x, func(e expr) {
		if call, ok := e.(*callExpr); ok {
			if _, ok := aggregates[call.name]; ok {
				found = true
			}
		}
	})
	return found
}

// walk calls fn for x and every expression inside it.
func walk(x expr, fn func(expr)) {
	if x == nil {
		return
	}
	fn(x)
	switch e := x.(type) {
	case *propExpr:
		walk(e.x, fn)
	case *indexExpr:
		walk(e.x, fn)
		walk(e.index, fn)
	case *unaryExpr:
		walk(e.x, fn)
	case *binaryExpr:
		walk(e.l, fn)
		walk(e.r, fn)
	case *betweenExpr:
		walk(e.x, fn)
		walk(e.lo, fn)
		walk(e.hi, fn)
	case *inExpr:
		walk(e.x, fn)
		for _, l := range e.list {
			walk(l, fn)
		}
	case *likeExpr:
		walk(e.x, fn)
		walk(e.pat, fn)
	case *callExpr:
		for _, a := range e.args {
			walk(a, fn)
		}
	case *objectExpr:
		for _, v := range e.vals {
			walk(v, fn)
		}
	case *arrayExpr:
		for _, v := range e.elems {
			walk(v, fn)
		}
	case *condExpr:
		walk(e.c, fn)
		walk(e.a, fn)
		walk(e.b, fn)
	case *coalesceExpr:
		walk(e.l, fn)
		walk(e.r, fn)
	}
}

func (c *compiler) compile(x expr) (evalFn, error) {
	switch e := x.(type) {
	case *litExpr:
		v := e.val
		return func(*env) any { return v }, nil
	case *paramExpr:
		slot := c.param(e.name)
		return func(en *env) any { return en.params[slot] }, nil
	case *identExpr:
		slot, err := c.alias(e)
		if err != nil {
			return nil, err
		}
		return func(en *env) any { return en.vars[slot] }, nil
	case *propExpr:
		return c.compileProp(e)
	case *indexExpr:
		return c.compileIndex(e)
	case *unaryExpr:
		return c.compileUnary(e)
	case *binaryExpr:
		return c.compileBinary(e)
	case *betweenExpr:
		return c.compileBetween(e)
	case *inExpr:
		return c.compileIn(e)
	case *likeExpr:
		return c.compileLike(e)
	case *callExpr:
		if kind, ok := aggregates[e.name]; ok {
			return c.compileAggregate(e, kind)
		}
		return c.compileCall(e)
	case *objectExpr:
		return c.compileObject(e)
	case *arrayExpr:
		fns, err := c.compileAll(e.elems)
		if err != nil {
			return nil, err
		}
		return func(en *env) any {
			out := make([]any, 0, len(fns))
			for _, fn := range fns {
				if v := fn(en); v != undef {
					out = append(out, v)
				}
			}
			return out
		}, nil
	case *condExpr:
		cond, a, b, err := c.compile3(e.c, e.a, e.b)
		if err != nil {
			return nil, err
		}
		return func(en *env) any {
			if cond(en) == true {
				return a(en)
			}
			return b(en)
		}, nil
	case *coalesceExpr:
		l, r, err := c.compile2(e.l, e.r)
		if err != nil {
			return nil, err
		}
		return func(en *env) any {
			if v := l(en); v != undef {
				return v
			}
			return r(en)
		}, nil
	}
	return nil, c.errAt(x.position(), "unsupported expression")
}

func (c *compiler) compileAll(xs []expr) ([]evalFn, error) {
	fns := make([]evalFn, len(xs))
	for i, x := range xs {
		fn, err := c.compile(x)
		if err != nil {
			return nil, err
		}
		fns[i] = fn
	}
	return fns, nil
}

func (c *compiler) compile2(a, b expr) (evalFn, evalFn, error) {
	fa, err := c.compile(a)
	if err != nil {
		return nil, nil, err
	}
	fb, err := c.compile(b)
	return fa, fb, err
}

func (c *compiler) compile3(a, b, d expr) (evalFn, evalFn, evalFn, error) {
	fa, fb, err := c.compile2(a, b)
	if err != nil {
		return nil, nil, nil, err
	}
	fd, err := c.compile(d)
	return fa, fb, fd, err
}

// alias resolves an identifier to its slot.
func (c *compiler) alias(e *identExpr) (int, error) {
	slot, ok := c.scope[e.name]
	if !ok {
		if len(c.scope) == 0 {
			return 0, c.errAt(e.pos, "identifier %q could not be resolved: the query has no FROM clause", e.name)
		}
		return 0, c.errAt(e.pos, "identifier %q could not be resolved; properties must start with an alias from FROM or JOIN, as in %s.%s", e.name, firstKey(c.scope), e.name)
	}
	if c.aggMode && !c.inAgg {
		return 0, c.errAt(e.pos, "%q is used outside an aggregate function in a SELECT list that aggregates; that needs GROUP BY, which is not supported by Lapis", e.name)
	}
	return slot, nil
}

func firstKey(m map[string]int) string {
	for k, v := range m {
		if v == 0 {
			return k
		}
	}
	return "c"
}

// compileProp compiles x.name; a chain of names on an alias becomes one
// closure walking the path.
func (c *compiler) compileProp(e *propExpr) (evalFn, error) {
	var keys []string
	var x expr = e
	for {
		p, ok := x.(*propExpr)
		if !ok {
			break
		}
		keys = append(keys, p.name)
		x = p.x
	}
	for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
		keys[i], keys[j] = keys[j], keys[i]
	}
	if id, ok := x.(*identExpr); ok {
		slot, err := c.alias(id)
		if err != nil {
			return nil, err
		}
		if len(keys) == 1 {
			k := keys[0]
			return func(en *env) any {
				m, ok := en.vars[slot].(map[string]any)
				if !ok {
					return undef
				}
				if v, ok := m[k]; ok {
					return v
				}
				return undef
			}, nil
		}
		return func(en *env) any { return walkPath(en.vars[slot], keys) }, nil
	}
	base, err := c.compile(x)
	if err != nil {
		return nil, err
	}
	return func(en *env) any { return walkPath(base(en), keys) }, nil
}

func walkPath(v any, keys []string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return undef
		}
		if v, ok = m[k]; !ok {
			return undef
		}
	}
	return v
}

func (c *compiler) compileIndex(e *indexExpr) (evalFn, error) {
	base, idx, err := c.compile2(e.x, e.index)
	if err != nil {
		return nil, err
	}
	return func(en *env) any { return index(base(en), idx(en)) }, nil
}

// index implements x[i]: an array element or an object property.
func index(x, i any) any {
	switch b := x.(type) {
	case []any:
		f, ok := toNumber(i)
		if !ok || f < 0 || f >= float64(len(b)) || f != math.Trunc(f) {
			return undef
		}
		return b[int(f)]
	case map[string]any:
		k, ok := i.(string)
		if !ok {
			return undef
		}
		if v, ok := b[k]; ok {
			return v
		}
	}
	return undef
}

func (c *compiler) compileUnary(e *unaryExpr) (evalFn, error) {
	x, err := c.compile(e.x)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case tMinus:
		return func(en *env) any {
			if f, ok := toNumber(x(en)); ok {
				return -f
			}
			return undef
		}, nil
	case tPlus:
		return func(en *env) any {
			if f, ok := toNumber(x(en)); ok {
				return f
			}
			return undef
		}, nil
	}
	return func(en *env) any {
		if b, ok := x(en).(bool); ok {
			return !b
		}
		return undef
	}, nil
}

func (c *compiler) compileBinary(e *binaryExpr) (evalFn, error) {
	l, r, err := c.compile2(e.l, e.r)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case tIdent:
		if e.and {
			return func(en *env) any { return and(l(en), r, en) }, nil
		}
		return func(en *env) any { return or(l(en), r, en) }, nil
	case tEq:
		return func(en *env) any { return equal(l(en), r(en)) }, nil
	case tNe:
		return func(en *env) any {
			if b, ok := equal(l(en), r(en)).(bool); ok {
				return !b
			}
			return undef
		}, nil
	case tLt:
		return func(en *env) any {
			if c, ok := compareRel(l(en), r(en)); ok {
				return c < 0
			}
			return undef
		}, nil
	case tLe:
		return func(en *env) any {
			if c, ok := compareRel(l(en), r(en)); ok {
				return c <= 0
			}
			return undef
		}, nil
	case tGt:
		return func(en *env) any {
			if c, ok := compareRel(l(en), r(en)); ok {
				return c > 0
			}
			return undef
		}, nil
	case tGe:
		return func(en *env) any {
			if c, ok := compareRel(l(en), r(en)); ok {
				return c >= 0
			}
			return undef
		}, nil
	case tConcat:
		return func(en *env) any {
			a, ok1 := l(en).(string)
			b, ok2 := r(en).(string)
			if !ok1 || !ok2 {
				return undef
			}
			return a + b
		}, nil
	}
	op := map[tokKind]func(a, b float64) float64{
		tPlus:    func(a, b float64) float64 { return a + b },
		tMinus:   func(a, b float64) float64 { return a - b },
		tStar:    func(a, b float64) float64 { return a * b },
		tSlash:   func(a, b float64) float64 { return a / b },
		tPercent: math.Mod,
	}[e.op]
	if op == nil {
		return nil, c.errAt(e.pos, "unsupported operator")
	}
	return func(en *env) any {
		a, ok1 := toNumber(l(en))
		b, ok2 := toNumber(r(en))
		if !ok1 || !ok2 {
			return undef
		}
		return number(op(a, b))
	}, nil
}

// and implements AND's three-valued logic; r runs only when it can matter.
func and(l any, r evalFn, en *env) any {
	if l == false {
		return false
	}
	rv := r(en)
	if rv == false {
		return false
	}
	if l == true && rv == true {
		return true
	}
	return undef
}

// or implements OR's three-valued logic; r runs only when it can matter.
func or(l any, r evalFn, en *env) any {
	if l == true {
		return true
	}
	rv := r(en)
	if rv == true {
		return true
	}
	if l == false && rv == false {
		return false
	}
	return undef
}

func (c *compiler) compileBetween(e *betweenExpr) (evalFn, error) {
	x, lo, hi, err := c.compile3(e.x, e.lo, e.hi)
	if err != nil {
		return nil, err
	}
	not := e.not
	return func(en *env) any {
		v := x(en)
		c1, ok1 := compareRel(v, lo(en))
		c2, ok2 := compareRel(v, hi(en))
		if !ok1 || !ok2 {
			return undef
		}
		return (c1 >= 0 && c2 <= 0) != not
	}, nil
}

func (c *compiler) compileIn(e *inExpr) (evalFn, error) {
	x, err := c.compile(e.x)
	if err != nil {
		return nil, err
	}
	not := e.not
	// A list of string or number literals becomes a set.
	strs, nums := map[string]bool{}, map[float64]bool{}
	allLit := true
	for _, item := range e.list {
		lit, ok := item.(*litExpr)
		if !ok {
			allLit = false
			break
		}
		switch v := lit.val.(type) {
		case string:
			strs[v] = true
		case float64:
			nums[v] = true
		default:
			allLit = false
		}
	}
	if allLit {
		return func(en *env) any {
			v := x(en)
			switch t := v.(type) {
			case string:
				return strs[t] != not
			case float64:
				return nums[t] != not
			}
			if f, ok := toNumber(v); ok {
				return nums[f] != not
			}
			if kindOf(v) == kUndef {
				return undef
			}
			return not
		}, nil
	}
	list, err := c.compileAll(e.list)
	if err != nil {
		return nil, err
	}
	return func(en *env) any {
		v := x(en)
		if kindOf(v) == kUndef {
			return undef
		}
		for _, item := range list {
			if sameValue(v, item(en)) {
				return !not
			}
		}
		return not
	}, nil
}

func (c *compiler) compileLike(e *likeExpr) (evalFn, error) {
	x, err := c.compile(e.x)
	if err != nil {
		return nil, err
	}
	not, esc := e.not, e.escape
	if lit, ok := e.pat.(*litExpr); ok {
		pat, ok := lit.val.(string)
		if !ok {
			return func(*env) any { return undef }, nil
		}
		re := likeRegexp(pat, esc)
		return func(en *env) any {
			s, ok := x(en).(string)
			if !ok {
				return undef
			}
			return re.MatchString(s) != not
		}, nil
	}
	pat, err := c.compile(e.pat)
	if err != nil {
		return nil, err
	}
	return func(en *env) any {
		s, ok1 := x(en).(string)
		p, ok2 := pat(en).(string)
		if !ok1 || !ok2 {
			return undef
		}
		return likeRegexp(p, esc).MatchString(s) != not
	}, nil
}

// likeRegexp translates a LIKE pattern: % is any run of characters, _ any
// one character, [abc] [a-f] [^abc] a character class, and esc (when not 0)
// makes the next character literal. A [ with no closing ] is literal.
func likeRegexp(pat string, esc rune) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case esc != 0 && r == esc && i+1 < len(rs):
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case r == '%':
			b.WriteString(`.*`)
		case r == '_':
			b.WriteString(`.`)
		case r == '[':
			end := -1
			for j := i + 1; j < len(rs); j++ {
				if rs[j] == ']' && j > i+1 && !(j == i+2 && rs[i+1] == '^') {
					end = j
					break
				}
			}
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			b.WriteString(likeClass(rs[i+1 : end]))
			i = end
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	re, err := regexp.Compile(b.String())
	if err != nil { // cannot happen with the escaping above; match literally
		re = regexp.MustCompile(`^` + regexp.QuoteMeta(pat) + `$`)
	}
	return re
}

// likeClass turns the inside of [...] into a regexp character class. A -
// between two characters in order is a range; any other - is literal.
func likeClass(rs []rune) string {
	var b strings.Builder
	b.WriteByte('[')
	if rs[0] == '^' && len(rs) > 1 {
		b.WriteByte('^')
		rs = rs[1:]
	}
	for i := 0; i < len(rs); i++ {
		b.WriteString(classChar(rs[i]))
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i] <= rs[i+2] {
			b.WriteByte('-')
			b.WriteString(classChar(rs[i+2]))
			i += 2
		}
	}
	b.WriteByte(']')
	return b.String()
}

func classChar(r rune) string {
	if r == '-' || r == '^' || r == '[' || r == ']' || r == '\\' {
		return `\` + string(r)
	}
	return regexp.QuoteMeta(string(r))
}

func (c *compiler) compileObject(e *objectExpr) (evalFn, error) {
	seen := map[string]bool{}
	for i, k := range e.keys {
		if seen[k] {
			return nil, c.errAt(e.kpos[i], "the property %q appears more than once in the object", k)
		}
		seen[k] = true
	}
	fns, err := c.compileAll(e.vals)
	if err != nil {
		return nil, err
	}
	keys := e.keys
	return func(en *env) any {
		m := make(map[string]any, len(fns))
		for i, fn := range fns {
			if v := fn(en); v != undef {
				m[keys[i]] = v
			}
		}
		return m
	}, nil
}

func (c *compiler) compileAggregate(e *callExpr, kind aggKind) (evalFn, error) {
	if c.context != "" {
		return nil, c.errAt(e.pos, "the aggregate function %s is not allowed in %s", e.name, c.context)
	}
	if c.inAgg {
		return nil, c.errAt(e.pos, "aggregate functions cannot be nested")
	}
	if len(e.args) != 1 {
		return nil, c.errAt(e.pos, "%s takes one argument", e.name)
	}
	c.inAgg = true
	arg, err := c.compile(e.args[0])
	c.inAgg = false
	if err != nil {
		return nil, err
	}
	slot := len(c.q.aggs)
	c.q.aggs = append(c.q.aggs, aggSpec{kind: kind, arg: arg})
	return func(en *env) any { return en.aggs[slot] }, nil
}

func (c *compiler) compileCall(e *callExpr) (evalFn, error) {
	b, ok := builtins[e.name]
	if !ok {
		if unsupportedFuncs[e.name] || strings.HasPrefix(e.name, "ST_") {
			return nil, c.unsupported(e.pos, "the function "+e.name)
		}
		return nil, c.errAt(e.pos, "unknown function %s", e.name)
	}
	if n := len(e.args); n < b.min || b.max >= 0 && n > b.max {
		return nil, c.errAt(e.pos, "%s takes %s, not %d", e.name, b.arity(), n)
	}
	args, err := c.compileAll(e.args)
	if err != nil {
		return nil, err
	}
	fn := b.fn
	return func(en *env) any {
		base := len(en.stack)
		for _, a := range args {
			en.stack = append(en.stack, a(en))
		}
		top := len(en.stack)
		r := fn(en.stack[base:top:top])
		en.stack = en.stack[:base]
		return r
	}, nil
}
