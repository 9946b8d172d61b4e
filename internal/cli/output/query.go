package output

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/jmespath-community/go-jmespath/pkg/functions"
	"github.com/jmespath-community/go-jmespath/pkg/interpreter"
	"github.com/jmespath-community/go-jmespath/pkg/parsing"
)

// Compiled is a parsed --query expression. It is safe for concurrent use.
type Compiled struct {
	expr string
	ast  parsing.ASTNode
}

// QueryError reports a --query expression that does not parse, or that
// failed while it was evaluated against a result.
type QueryError struct {
	Expr string // the expression as given
	// Offset is the byte offset in Expr where parsing failed, or -1 when it
	// is not known (always -1 for evaluation errors).
	Offset  int
	Runtime bool  // the expression parsed but its evaluation failed
	Err     error // the underlying problem
}

func (e *QueryError) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "SyntaxError: ")
	}
	if e.Runtime {
		return fmt.Sprintf("argument --query: evaluating %s failed: %s", pyQuote(e.Expr), msg)
	}
	if e.Offset >= 0 {
		msg = fmt.Sprintf("%s (at offset %d)", msg, e.Offset)
	}
	// az: "argument --query: invalid jmespath_type value: '[?'"; the parse
	// problem is added so the user does not have to guess.
	return fmt.Sprintf("argument --query: invalid jmespath_type value: %s: %s", pyQuote(e.Expr), msg)
}

func (e *QueryError) Unwrap() error { return e.Err }

// Highlight returns the expression with a caret under the place where
// parsing failed, or "" when that place is not known.
func (e *QueryError) Highlight() string {
	if e.Offset < 0 || e.Offset > len(e.Expr) {
		return ""
	}
	return e.Expr + "\n" + strings.Repeat(" ", e.Offset) + "^"
}

// Query compiles a JMESPath expression (the jmespath-community dialect, a
// superset of the JMESPath az uses). The error is a *QueryError naming the
// expression and the parse problem. An empty expression is an error, as it
// is in az; pass a nil *Compiled to Write when no --query was given.
func Query(expr string) (c *Compiled, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, &QueryError{Expr: expr, Offset: -1, Err: fmt.Errorf("parser failure: %v", r)}
		}
	}()
	if strings.TrimSpace(expr) == "" {
		return nil, &QueryError{Expr: expr, Offset: 0, Err: errors.New("empty expression")}
	}
	ast, err := parsing.NewParser().Parse(expr)
	if err != nil {
		qe := &QueryError{Expr: expr, Offset: -1, Err: err}
		var se parsing.SyntaxError
		if errors.As(err, &se) {
			qe.Offset = se.Offset
		}
		return nil, qe
	}
	return &Compiled{expr: expr, ast: rewriteHashes(ast)}, nil
}

// String returns the expression as given to Query.
func (c *Compiled) String() string { return c.expr }

// Search normalises v like Write does (a JSON round trip) and returns the
// result of the query: nil, bool, float64, string, []any or map[string]any.
func (c *Compiled) Search(v any) (any, error) {
	data, err := normalize(v)
	if err != nil {
		return nil, err
	}
	res, book, err := c.search(data)
	if err != nil {
		return nil, err
	}
	return canon(res, book)
}

// search evaluates the query on already normalised data. The returned book
// remembers the key order of the objects built by multi-select hashes.
func (c *Compiled) search(data any) (res any, book *orderBook, err error) {
	book = &orderBook{index: map[uintptr]int{}}
	defer func() {
		if r := recover(); r != nil {
			res, book, err = nil, nil, &QueryError{Expr: c.expr, Offset: -1, Runtime: true,
				Err: fmt.Errorf("internal error: %v", r)}
		}
	}()
	caller := interpreter.NewFunctionCaller(append(slices.Clip(baseFunctions), functions.FunctionEntry{
		Name:    hashFunction,
		Handler: book.hash,
	})...)
	res, err = interpreter.NewInterpreter(data, caller, nil).Execute(c.ast, data)
	if err != nil {
		return nil, nil, &QueryError{Expr: c.expr, Offset: -1, Runtime: true, Err: err}
	}
	return res, book, nil
}

// hashFunction is the internal function multi-select hashes are rewritten
// to. The colon makes it impossible to call from an expression.
const hashFunction = "lapis:hash"

// rewriteHashes replaces every multi-select hash {k1: e1, k2: e2} with a call
// lapis:hash(<literal [k1 k2]>, e1, e2), which evaluates e1 and e2 against
// the same current node exactly as the hash would, but lets us record the
// key order: the library builds a plain Go map and so forgets it, while az
// (jmespath.py with OrderedDict) keeps it for table and tsv output.
func rewriteHashes(n parsing.ASTNode) parsing.ASTNode {
	if len(n.Children) > 0 {
		kids := make([]parsing.ASTNode, len(n.Children))
		for i, k := range n.Children {
			kids[i] = rewriteHashes(k)
		}
		n.Children = kids
	}
	if n.NodeType != parsing.ASTMultiSelectHash {
		return n
	}
	keys := make([]string, 0, len(n.Children))
	args := []parsing.ASTNode{{NodeType: parsing.ASTLiteral}}
	for _, kv := range n.Children {
		key, ok := kv.Value.(string)
		if kv.NodeType != parsing.ASTKeyValPair || !ok || len(kv.Children) != 1 {
			return n // not the shape we know; leave it to the library
		}
		keys = append(keys, key)
		args = append(args, kv.Children[0])
	}
	args[0].Value = keys
	return parsing.ASTNode{NodeType: parsing.ASTFunctionExpression, Value: hashFunction, Children: args}
}

// orderBook maps objects built by multi-select hashes to their key order.
// It keeps those maps alive so that their addresses cannot be reused by
// other maps while the book is in use.
type orderBook struct {
	maps   []map[string]any
	orders [][]string
	index  map[uintptr]int
}

func (b *orderBook) hash(args []any) (any, error) {
	keys, ok := args[0].([]string)
	if !ok || len(args) != len(keys)+1 {
		return nil, errors.New("malformed multi-select hash")
	}
	m := make(map[string]any, len(keys))
	order := make([]string, 0, len(keys))
	for i, k := range keys {
		if _, dup := m[k]; !dup {
			order = append(order, k)
		}
		m[k] = args[i+1] // a repeated key keeps its first place and last value
	}
	b.add(m, order)
	return m, nil
}

func (b *orderBook) add(m map[string]any, order []string) {
	b.index[reflect.ValueOf(m).Pointer()] = len(b.maps)
	b.maps = append(b.maps, m)
	b.orders = append(b.orders, order)
}

// alias records that copy has the same key order as orig, if orig has one.
func (b *orderBook) alias(copy, orig map[string]any) {
	if b == nil {
		return
	}
	if i, ok := b.index[reflect.ValueOf(orig).Pointer()]; ok {
		order := make([]string, len(b.orders[i]))
		for j, k := range b.orders[i] {
			order[j] = strings.ToValidUTF8(k, "\uFFFD")
		}
		b.add(copy, order)
	}
}

// keys returns the keys of m in query order if a multi-select hash built m,
// otherwise sorted.
func (b *orderBook) keys(m map[string]any) []string {
	if b != nil {
		if i, ok := b.index[reflect.ValueOf(m).Pointer()]; ok && hasExactly(m, b.orders[i]) {
			return b.orders[i]
		}
	}
	return sortedKeys(m)
}

// hasExactly reports whether keys lists each key of m once.
func hasExactly(m map[string]any, keys []string) bool {
	if len(keys) != len(m) {
		return false
	}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if _, ok := m[k]; !ok || seen[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// maxPadWidth bounds pad_left/pad_right: a width such as 1e15 would
// otherwise make the library allocate without limit and kill the process.
const maxPadWidth = 1 << 20

// baseFunctions is the library's function table with the pad functions
// bounded. It is never modified after init.
var baseFunctions = func() []functions.FunctionEntry {
	fs := slices.Clone(functions.GetDefaultFunctions())
	for i, f := range fs {
		if f.Name != "pad_left" && f.Name != "pad_right" {
			continue
		}
		name, handler := f.Name, f.Handler
		fs[i].Handler = func(args []any) (any, error) {
			if len(args) > 1 {
				if w, ok := args[1].(float64); ok && w > maxPadWidth {
					return nil, fmt.Errorf("invalid value, the function '%s' expects its 'width' argument to be at most %d", name, maxPadWidth)
				}
			}
			return handler(args)
		}
	}
	return fs
}()
