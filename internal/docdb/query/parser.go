package query

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds expression nesting so hostile input cannot exhaust the
// stack in the parser, the compiler or the evaluator.
const maxDepth = 128

// maxCount bounds TOP, OFFSET and LIMIT literals.
const maxCount = 1 << 53

type parser struct {
	text  string
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token { return p.toks[min(p.i+n, len(p.toks)-1)] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	return newSyntaxError(p.text, pos, nil, fmt.Sprintf(format, args...))
}

// unsupported reports a valid Cosmos DB construct Lapis does not implement.
func (p *parser) unsupported(pos int, what string) error {
	return newSyntaxError(p.text, pos, ErrUnsupported, what+" is not supported by Lapis")
}

func (p *parser) unexpected(t token, want string) error {
	return p.errAt(t.pos, "unexpected %s, expected %s", t.describe(), want)
}

func (p *parser) acceptKw(kw string) bool {
	if p.peek().is(kw) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectKw(kw, want string) error {
	if t := p.peek(); !t.is(kw) {
		return p.unexpected(t, want)
	}
	p.next()
	return nil
}

func (p *parser) accept(k tokKind) bool {
	if p.peek().kind == k {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(k tokKind, want string) (token, error) {
	t := p.peek()
	if t.kind != k {
		return t, p.unexpected(t, want)
	}
	return p.next(), nil
}

// expectName reads an identifier that is not a reserved keyword.
func (p *parser) expectName(want string) (token, error) {
	t := p.peek()
	if t.kind != tIdent || isReserved(t.text) {
		return t, p.unexpected(t, want)
	}
	return p.next(), nil
}

// MaxLength is the longest query text Parse accepts, in bytes: Cosmos DB's
// limit on the length of a query.
const MaxLength = 512 << 10

// parse reads a whole query.
func parse(text string) (*stmt, error) {
	if len(text) > MaxLength {
		return nil, newSyntaxError(text, MaxLength, nil, fmt.Sprintf("the query is longer than %d bytes", MaxLength))
	}
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{text: text, toks: toks}
	return p.parseStmt()
}

func (p *parser) parseStmt() (*stmt, error) {
	s := &stmt{}
	if err := p.expectKw("SELECT", "SELECT"); err != nil {
		return nil, err
	}
	s.distinct = p.acceptKw("DISTINCT")
	if p.acceptKw("TOP") {
		c, err := p.parseCount("TOP")
		if err != nil {
			return nil, err
		}
		s.top = c
	}
	if err := p.parseSelection(s); err != nil {
		return nil, err
	}
	expected := []string{"FROM", "WHERE", "ORDER BY", "OFFSET", "the end of the query"}
	if !s.star {
		expected = append([]string{"AS", "\",\""}, expected...)
		if s.value != nil {
			expected = expected[2:]
		}
	}
	if p.acceptKw("FROM") {
		expected = expected[slicesIndex(expected, "FROM")+1:]
		from, err := p.parseSource(true)
		if err != nil {
			return nil, err
		}
		s.from = from
		for p.acceptKw("JOIN") {
			j, err := p.parseSource(false)
			if err != nil {
				return nil, err
			}
			s.joins = append(s.joins, j)
		}
		expected = append([]string{"JOIN"}, expected...)
	}
	if p.acceptKw("WHERE") {
		expected = expected[slicesIndex(expected, "WHERE")+1:]
		w, err := p.parseScalar()
		if err != nil {
			return nil, err
		}
		s.where = w
	}
	if t := p.peek(); t.is("GROUP") && p.peekAt(1).is("BY") {
		return nil, p.unsupported(t.pos, "GROUP BY")
	}
	if p.acceptKw("ORDER") {
		expected = expected[slicesIndex(expected, "ORDER BY")+1:]
		if err := p.expectKw("BY", "BY after ORDER"); err != nil {
			return nil, err
		}
		if t := p.peek(); t.is("RANK") {
			return nil, p.unsupported(t.pos, "ORDER BY RANK")
		}
		e, err := p.parseScalar()
		if err != nil {
			return nil, err
		}
		s.orderBy = e
		if p.acceptKw("DESC") {
			s.desc = true
		} else {
			p.acceptKw("ASC")
		}
		if t := p.peek(); t.kind == tComma {
			return nil, p.unsupported(p.peekAt(1).pos, "ORDER BY with more than one term")
		}
	}
	if t := p.peek(); t.is("OFFSET") {
		p.next()
		expected = []string{"the end of the query"}
		off, err := p.parseCount("OFFSET")
		if err != nil {
			return nil, err
		}
		if err := p.expectKw("LIMIT", "LIMIT after OFFSET n"); err != nil {
			return nil, err
		}
		lim, err := p.parseCount("LIMIT")
		if err != nil {
			return nil, err
		}
		s.offset, s.limit = off, lim
	} else if t.is("LIMIT") {
		return nil, p.errAt(t.pos, "LIMIT needs an OFFSET before it: OFFSET n LIMIT m")
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t, joinOr(expected))
	}
	return s, nil
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func joinOr(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func (p *parser) parseCount(what string) (*count, error) {
	t := p.next()
	switch t.kind {
	case tNumber:
		if t.num < 0 || t.num > maxCount || t.num != float64(int64(t.num)) {
			return nil, p.errAt(t.pos, "%s needs a non-negative integer, not %s", what, t.text)
		}
		return &count{pos: t.pos, n: int(t.num)}, nil
	case tParam:
		return &count{pos: t.pos, param: t.str}, nil
	}
	return nil, p.unexpected(t, "a non-negative integer or a parameter after "+what)
}

func (p *parser) parseSelection(s *stmt) error {
	switch t := p.peek(); {
	case t.kind == tStar:
		p.next()
		s.star = true
		return nil
	case t.is("VALUE"):
		p.next()
		if p.peek().kind == tStar {
			return p.errAt(p.peek().pos, "SELECT VALUE * is not valid; write SELECT * or SELECT VALUE alias")
		}
		e, err := p.parseScalar()
		if err != nil {
			return err
		}
		s.value = e
		if p.acceptKw("AS") { // allowed, and meaningless
			if _, err := p.expectName("an alias after AS"); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		start := p.peek().pos
		e, err := p.parseScalar()
		if err != nil {
			return err
		}
		item := selectItem{x: e, pos: start}
		if p.acceptKw("AS") {
			t, err := p.expectName("an alias after AS")
			if err != nil {
				return err
			}
			item.name = t.text
		}
		s.items = append(s.items, item)
		if !p.accept(tComma) {
			return nil
		}
	}
}

// parseSource reads the FROM source (first) or a JOIN source:
//
//	name [path] [[AS] alias]
//	alias IN name [path]
//	(SELECT ...)            -- not supported
func (p *parser) parseSource(first bool) (*source, error) {
	t := p.peek()
	if t.kind == tLParen && p.peekAt(1).is("SELECT") {
		return nil, p.unsupported(t.pos, "a subquery as a FROM or JOIN source")
	}
	name, err := p.expectName("a container name or an alias")
	if err != nil {
		return nil, err
	}
	if p.acceptKw("IN") {
		rootTok, path, err := p.parseCollection()
		if err != nil {
			return nil, err
		}
		return &source{pos: name.pos, alias: name.text, root: rootTok.text, path: path, iter: true}, nil
	}
	path, last, err := p.parsePathAfter(&identExpr{pos: name.pos, name: name.text})
	if err != nil {
		return nil, err
	}
	src := &source{pos: name.pos, root: name.text}
	if _, ok := path.(*identExpr); !ok {
		src.path = path
	}
	switch t := p.peek(); {
	case t.is("AS"):
		p.next()
		a, err := p.expectName("an alias after AS")
		if err != nil {
			return nil, err
		}
		src.alias = a.text
	case t.kind == tIdent && !isReserved(t.text):
		p.next()
		src.alias = t.text
	case src.path == nil:
		src.alias = name.text
	case last != "":
		src.alias = last
	default:
		return nil, p.errAt(name.pos, "this source ends in an array index and needs an alias: add AS name")
	}
	if !first && src.path == nil {
		// "JOIN c" joins an alias with itself: a cross product of one row.
		src.path = &identExpr{pos: name.pos, name: name.text}
	}
	return src, nil
}

// parseCollection reads name [path] after IN.
func (p *parser) parseCollection() (token, expr, error) {
	t := p.peek()
	if t.kind == tLParen && p.peekAt(1).is("SELECT") {
		return t, nil, p.unsupported(t.pos, "a subquery as a FROM or JOIN source")
	}
	name, err := p.expectName("a container name or an alias after IN")
	if err != nil {
		return name, nil, err
	}
	path, _, err := p.parsePathAfter(&identExpr{pos: name.pos, name: name.text})
	return name, path, err
}

// parsePathAfter reads .name, ["name"] and [n] steps after x. last is the
// final property name, or "" when the path ends in an index or is empty.
func (p *parser) parsePathAfter(x expr) (expr, string, error) {
	last := ""
	for {
		switch t := p.peek(); t.kind {
		case tDot:
			p.next()
			n := p.peek()
			if n.kind != tIdent {
				return nil, "", p.unexpected(n, "a property name after \".\"")
			}
			p.next()
			x, last = &propExpr{pos: x.position(), x: x, name: n.text}, n.text
		case tLBrack:
			p.next()
			n := p.next()
			switch {
			case n.kind == tString:
				x, last = &propExpr{pos: x.position(), x: x, name: n.str}, n.str
			case n.kind == tNumber && n.num >= 0 && n.num == float64(int64(n.num)):
				x, last = &indexExpr{pos: x.position(), x: x, index: &litExpr{pos: n.pos, val: n.num}}, ""
			default:
				return nil, "", p.unexpected(n, "a property name in quotes or an array index")
			}
			if _, err := p.expect(tRBrack, "\"]\""); err != nil {
				return nil, "", err
			}
		default:
			return x, last, nil
		}
	}
}

// Expressions, from the loosest binding to the tightest. The levels follow
// Cosmos DB's grammar: ?: and ?? < OR < AND < BETWEEN, IN, LIKE < || <
// = != < < <= > >= < + - < * / % < unary - + NOT < . [] and calls. Note
// that NOT is a unary operator binding tighter than comparisons, as in
// Cosmos DB: NOT c.a = 1 means (NOT c.a) = 1.

func (p *parser) parseScalar() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errAt(p.peek().pos, "the expression nests too deeply")
	}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	for {
		switch t := p.peek(); t.kind {
		case tQuestion:
			p.next()
			a, err := p.parseScalar()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tColon, "\":\" in c ? a : b"); err != nil {
				return nil, err
			}
			b, err := p.parseScalar()
			if err != nil {
				return nil, err
			}
			x = &condExpr{pos: x.position(), c: x, a: a, b: b}
		case tCoalesce:
			p.next()
			r, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			x = &coalesceExpr{pos: x.position(), l: x, r: r}
		default:
			return x, nil
		}
	}
}

func (p *parser) parseOr() (expr, error) { return p.logicalLevel(p.parseAnd, "OR", false) }

func (p *parser) parseAnd() (expr, error) { return p.logicalLevel(p.parsePredicate, "AND", true) }

// logicalLevel parses operand (keyword operand)* for AND or OR,
// left-associative.
func (p *parser) logicalLevel(operand func() (expr, error), keyword string, and bool) (expr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for p.acceptKw(keyword) {
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: l.position(), op: tIdent, and: and, l: l, r: r}
	}
	return l, nil
}

// parsePredicate reads x [NOT] BETWEEN lo AND hi, x [NOT] IN (list) and
// x [NOT] LIKE pattern [ESCAPE 'c'].
func (p *parser) parsePredicate() (expr, error) {
	x, err := p.parseConcat()
	if err != nil {
		return nil, err
	}
	not := false
	if t := p.peek(); t.is("NOT") {
		if n := p.peekAt(1); n.is("BETWEEN") || n.is("IN") || n.is("LIKE") {
			p.next()
			not = true
		}
	}
	switch t := p.peek(); {
	case t.is("BETWEEN"):
		p.next()
		lo, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		if err := p.expectKw("AND", "AND in BETWEEN low AND high"); err != nil {
			return nil, err
		}
		hi, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		return &betweenExpr{pos: x.position(), x: x, lo: lo, hi: hi, not: not}, nil
	case t.is("IN"):
		p.next()
		if _, err := p.expect(tLParen, "\"(\" after IN"); err != nil {
			return nil, err
		}
		if n := p.peek(); n.is("SELECT") {
			return nil, p.unsupported(n.pos, "a subquery in IN")
		}
		list, err := p.parseList(tRParen, "\")\" to close the IN list")
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, p.errAt(t.pos, "IN needs at least one value")
		}
		return &inExpr{pos: x.position(), x: x, list: list, not: not}, nil
	case t.is("LIKE"):
		p.next()
		pat, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		l := &likeExpr{pos: x.position(), x: x, pat: pat, not: not}
		if p.acceptKw("ESCAPE") {
			e, err := p.expect(tString, "a one-character string after ESCAPE")
			if err != nil {
				return nil, err
			}
			if utf8.RuneCountInString(e.str) != 1 {
				return nil, p.errAt(e.pos, "ESCAPE needs exactly one character")
			}
			l.escape, _ = utf8.DecodeRuneInString(e.str)
		}
		return l, nil
	}
	return x, nil
}

// The binary levels, loosest first: each is its operands (the next level)
// joined by its operators, left-associative. Bitwise operators parse at
// their level only to be refused there with their position.
func (p *parser) parseConcat() (expr, error) {
	return p.binaryLevel(p.parseEquality, []tokKind{tConcat}, tAmp, tPipe, tCaret)
}

func (p *parser) parseEquality() (expr, error) {
	return p.binaryLevel(p.parseRelational, []tokKind{tEq, tNe})
}

func (p *parser) parseRelational() (expr, error) {
	return p.binaryLevel(p.parseAdditive, []tokKind{tLt, tLe, tGt, tGe}, tShl, tShr, tShrZ)
}

func (p *parser) parseAdditive() (expr, error) {
	return p.binaryLevel(p.parseMultiplicative, []tokKind{tPlus, tMinus})
}

func (p *parser) parseMultiplicative() (expr, error) {
	return p.binaryLevel(p.parseUnary, []tokKind{tStar, tSlash, tPercent})
}

// binaryLevel parses operand (op operand)* for the operators ops, and
// refuses the bitwise operators given.
func (p *parser) binaryLevel(operand func() (expr, error), ops []tokKind, bitwise ...tokKind) (expr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if slices.Contains(bitwise, t.kind) {
			return nil, p.unsupported(t.pos, "the bitwise operator "+t.text)
		}
		if !slices.Contains(ops, t.kind) {
			return l, nil
		}
		p.next()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: l.position(), op: t.kind, l: l, r: r}
	}
}

func (p *parser) parseUnary() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errAt(p.peek().pos, "the expression nests too deeply")
	}
	t := p.peek()
	switch {
	case t.kind == tMinus || t.kind == tPlus:
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if lit, ok := x.(*litExpr); ok {
			if f, ok := lit.val.(float64); ok {
				if t.kind == tMinus {
					f = -f
				}
				return &litExpr{pos: t.pos, val: f}, nil
			}
		}
		return &unaryExpr{pos: t.pos, op: t.kind, x: x}, nil
	case t.kind == tTilde:
		return nil, p.unsupported(t.pos, "the bitwise operator ~")
	case t.is("NOT"):
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{pos: t.pos, op: tIdent, x: x}, nil
	}
	return p.parsePostfix()
}

func (p *parser) parsePostfix() (expr, error) {
	x, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for {
		switch t := p.peek(); t.kind {
		case tDot:
			p.next()
			n := p.peek()
			if n.kind != tIdent {
				return nil, p.unexpected(n, "a property name after \".\"")
			}
			p.next()
			x = &propExpr{pos: x.position(), x: x, name: n.text}
		case tLBrack:
			p.next()
			idx, err := p.parseScalar()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tRBrack, "\"]\""); err != nil {
				return nil, err
			}
			if lit, ok := idx.(*litExpr); ok {
				if s, ok := lit.val.(string); ok {
					x = &propExpr{pos: x.position(), x: x, name: s}
					continue
				}
			}
			x = &indexExpr{pos: x.position(), x: x, index: idx}
		default:
			return x, nil
		}
	}
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tNumber:
		return &litExpr{pos: t.pos, val: t.num}, nil
	case tString:
		return &litExpr{pos: t.pos, val: t.str}, nil
	case tParam:
		return &paramExpr{pos: t.pos, name: t.str}, nil
	case tLBrack:
		elems, err := p.parseList(tRBrack, "\",\" or \"]\" in the array")
		if err != nil {
			return nil, err
		}
		return &arrayExpr{pos: t.pos, elems: elems}, nil
	case tLBrace:
		return p.parseObject(t)
	case tLParen:
		if n := p.peek(); n.is("SELECT") {
			return nil, p.unsupported(t.pos, "a subquery")
		}
		x, err := p.parseScalar()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "\")\""); err != nil {
			return nil, err
		}
		return x, nil
	case tIdent:
		return p.parseIdent(t)
	case tEOF:
		return nil, p.unexpected(t, "an expression")
	}
	return nil, p.unexpected(t, "an expression")
}

func (p *parser) parseIdent(t token) (expr, error) {
	up := strings.ToUpper(t.text)
	next := p.peek()
	switch up {
	case "TRUE":
		return &litExpr{pos: t.pos, val: true}, nil
	case "FALSE":
		return &litExpr{pos: t.pos, val: false}, nil
	case "NULL":
		return &litExpr{pos: t.pos, val: nil}, nil
	case "UNDEFINED":
		return &litExpr{pos: t.pos, val: undef}, nil
	case "UDF":
		if next.kind == tDot {
			name := "udf." + p.peekAt(1).text
			return nil, p.unsupported(t.pos, "the user-defined function "+name)
		}
	case "EXISTS", "ARRAY":
		if next.kind == tLParen {
			return nil, p.unsupported(t.pos, up+" with a subquery")
		}
	case "ALL", "FIRST", "LAST":
		if next.kind == tLParen && p.peekAt(1).is("SELECT") {
			return nil, p.unsupported(t.pos, up+" with a subquery")
		}
	case "SELECT":
		return nil, p.unsupported(t.pos, "a subquery")
	}
	if next.kind == tLParen && (!isReserved(t.text) || up == "LEFT" || up == "RIGHT") {
		p.next()
		if n := p.peek(); n.kind == tStar {
			return nil, p.errAt(n.pos, "%s(*) is not valid; write %s(1)", up, up)
		}
		args, err := p.parseList(tRParen, "\",\" or \")\" in the arguments of "+up)
		if err != nil {
			return nil, err
		}
		return &callExpr{pos: t.pos, name: up, args: args}, nil
	}
	if isReserved(t.text) {
		return nil, p.unexpected(t, "an expression")
	}
	return &identExpr{pos: t.pos, name: t.text}, nil
}

// parseList reads comma-separated expressions up to the closing token.
func (p *parser) parseList(end tokKind, want string) ([]expr, error) {
	var list []expr
	if p.accept(end) {
		return list, nil
	}
	for {
		x, err := p.parseScalar()
		if err != nil {
			return nil, err
		}
		list = append(list, x)
		if p.accept(end) {
			return list, nil
		}
		if _, err := p.expect(tComma, want); err != nil {
			return nil, err
		}
	}
}

// parseObject reads { key: value, ... }; keys are strings or identifiers.
func (p *parser) parseObject(open token) (expr, error) {
	o := &objectExpr{pos: open.pos}
	if p.accept(tRBrace) {
		return o, nil
	}
	for {
		k := p.next()
		var key string
		switch k.kind {
		case tString:
			key = k.str
		case tIdent:
			key = k.text
		default:
			return nil, p.unexpected(k, "a property name")
		}
		if _, err := p.expect(tColon, "\":\" after the property name"); err != nil {
			return nil, err
		}
		v, err := p.parseScalar()
		if err != nil {
			return nil, err
		}
		o.keys, o.kpos, o.vals = append(o.keys, key), append(o.kpos, k.pos), append(o.vals, v)
		if p.accept(tRBrace) {
			return o, nil
		}
		if _, err := p.expect(tComma, "\",\" or \"}\" in the object"); err != nil {
			return nil, err
		}
	}
}
