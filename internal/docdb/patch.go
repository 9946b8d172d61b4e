package docdb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// maxPatchOperations is the most operations one patch may have, as in
// Cosmos DB.
const maxPatchOperations = 10

// patchOp is one operation of a partial document update.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	From  string          `json:"from,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`

	segs, fromSegs []string
	value          any
	hasValue       bool
}

// patchRequest is a PATCH body: {"operations":[...],"condition":"from c where ..."}.
type patchRequest struct {
	Operations []*patchOp `json:"operations"`
	Condition  string     `json:"condition,omitempty"`
}

// parsePatch reads and checks a patch body.
func parsePatch(body []byte) (*patchRequest, *Error) {
	var p patchRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return nil, badRequest("The patch request is not valid JSON: %v. Send {\"operations\":[{\"op\":\"set\",\"path\":\"/a\",\"value\":1}]}.", err)
	}
	if len(p.Operations) == 0 {
		return nil, badRequest("The patch request has no operations.")
	}
	if len(p.Operations) > maxPatchOperations {
		return nil, badRequest("A patch request can have at most %d operations; this one has %d.", maxPatchOperations, len(p.Operations))
	}
	for i, op := range p.Operations {
		if op == nil {
			return nil, badRequest("Patch operation %d is null.", i)
		}
		op.Op = strings.ToLower(op.Op)
		switch op.Op {
		case "add", "set", "replace", "incr":
			if len(op.Value) == 0 {
				return nil, badRequest("Patch operation %d (%s %s) needs a value.", i, op.Op, op.Path)
			}
		case "remove":
		case "move":
			fs, err := parsePatchPath(op.From)
			if err != nil {
				return nil, badRequest("Patch operation %d (move): from: %v.", i, err)
			}
			op.fromSegs = fs
		default:
			return nil, badRequest("Patch operation %d has op '%s': use add, set, replace, remove, incr or move.", i, op.Op)
		}
		segs, err := parsePatchPath(op.Path)
		if err != nil {
			return nil, badRequest("Patch operation %d (%s): %v.", i, op.Op, err)
		}
		op.segs = segs
		if len(op.Value) > 0 {
			d := json.NewDecoder(bytes.NewReader(op.Value))
			d.UseNumber()
			if err := d.Decode(&op.value); err != nil {
				return nil, badRequest("Patch operation %d (%s %s) has an invalid value: %v.", i, op.Op, op.Path, err)
			}
			op.hasValue = true
		}
		if op.Op == "incr" {
			if _, ok := op.value.(json.Number); !ok {
				return nil, badRequest("Patch operation %d (incr %s) needs a number value.", i, op.Path)
			}
		}
	}
	return &p, nil
}

// parsePatchPath splits a JSON Pointer such as /a/b/0 into its tokens (~1
// is /, ~0 is ~). The root itself cannot be patched.
func parsePatchPath(p string) ([]string, error) {
	if p == "" || p == "/" {
		return nil, fmt.Errorf("the path '%s' does not name a property", p)
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("the path '%s' must start with /", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		if s == "" {
			return nil, fmt.Errorf("the path '%s' has an empty segment", p)
		}
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(s, "~0", ""), "~1", ""), "~") {
			return nil, fmt.Errorf("the path '%s' has a ~ that is not ~0 or ~1", p)
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

// protected reports whether a path touches what a patch may not change:
// the id and the system properties.
func protected(segs []string) bool {
	return segs[0] == "id" || slices.Contains(systemProps, segs[0])
}

// applyPatch applies the operations to a copy of doc; it fails with 412
// when the condition does not hold, and with 400 when an operation cannot
// apply.
func (s *Service) applyPatch(c *coll, doc *object, p *patchRequest) (*object, error) {
	if p.Condition != "" {
		ok, err := matchCondition(p.Condition, doc.marshal())
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, preconditionFailed()
		}
	}
	out := doc.clone()
	for _, k := range systemProps {
		out.del(k)
	}
	pkBefore, _ := pkOf(&c.c.PartitionKey, out.vals)
	for i, op := range p.Operations {
		if protected(op.segs) || op.fromSegs != nil && protected(op.fromSegs) {
			return nil, badRequest("Patch operation %d (%s %s) cannot change the id or a system property.", i, op.Op, op.Path)
		}
		if err := applyOp(out, op); err != nil {
			return nil, badRequest("Patch operation %d (%s %s) failed: %v.", i, op.Op, op.Path, err)
		}
	}
	pkAfter, perr := pkOf(&c.c.PartitionKey, out.vals)
	if perr != nil || !pkAfter.equal(pkBefore) {
		return nil, badRequest("A patch cannot change the partition key of an item (%v).", c.c.PartitionKey.Paths)
	}
	if len(out.marshal()) > MaxDocumentSize {
		return nil, tooLarge()
	}
	return out, nil
}

// applyOp applies one operation to a document.
func applyOp(o *object, op *patchOp) error {
	if op.Op == "move" {
		v, err := removeAt(o, op.fromSegs)
		if err != nil {
			return err
		}
		return setAt(o, op.segs, func(parent any, cur any, exists bool) (any, error) { return v, nil }, "add")
	}
	if op.Op == "remove" {
		_, err := removeAt(o, op.segs)
		return err
	}
	return setAt(o, op.segs, func(_ any, cur any, exists bool) (any, error) {
		switch op.Op {
		case "replace":
			if !exists {
				return nil, fmt.Errorf("the path does not exist")
			}
		case "incr":
			if !exists {
				return op.value, nil
			}
			return increment(cur, op.value.(json.Number))
		}
		return op.value, nil
	}, op.Op)
}

// setAt sets the value at segs to what f returns (given the current value
// and whether there is one). The parent must exist. For an array element,
// add inserts (at an index up to the length, or "-" to append) and the
// other operations replace an existing element.
func setAt(o *object, segs []string, f func(parent, cur any, exists bool) (any, error), op string) error {
	top := segs[0]
	if len(segs) == 1 {
		raw, exists := o.get(top)
		var cur any
		if exists {
			cur = decodeNumber(raw)
		}
		v, err := f(nil, cur, exists)
		if err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		o.set(top, b)
		return nil
	}
	raw, ok := o.get(top)
	if !ok {
		return fmt.Errorf("the path's parent /%s does not exist", top)
	}
	root := decodeNumber(raw)
	root, err := setIn(root, segs[1:], f, op)
	if err != nil {
		return err
	}
	b, err := json.Marshal(root)
	if err != nil {
		return err
	}
	o.set(top, b)
	return nil
}

// setIn is setAt below a decoded value; it returns the changed value.
func setIn(v any, segs []string, f func(parent, cur any, exists bool) (any, error), op string) (any, error) {
	seg := segs[0]
	last := len(segs) == 1
	switch x := v.(type) {
	case map[string]any:
		cur, exists := x[seg]
		if !last {
			if !exists {
				return nil, fmt.Errorf("the path's parent '%s' does not exist", seg)
			}
			nv, err := setIn(cur, segs[1:], f, op)
			if err != nil {
				return nil, err
			}
			x[seg] = nv
			return x, nil
		}
		nv, err := f(x, cur, exists)
		if err != nil {
			return nil, err
		}
		x[seg] = nv
		return x, nil
	case []any:
		if seg == "-" && last && op == "add" {
			nv, err := f(x, nil, false)
			if err != nil {
				return nil, err
			}
			return append(x, nv), nil
		}
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 || i > len(x) || (i == len(x) && (!last || op != "add")) {
			return nil, fmt.Errorf("'%s' is not an index of the array (length %d)", seg, len(x))
		}
		if !last {
			nv, err := setIn(x[i], segs[1:], f, op)
			if err != nil {
				return nil, err
			}
			x[i] = nv
			return x, nil
		}
		if op == "add" {
			nv, err := f(x, nil, false)
			if err != nil {
				return nil, err
			}
			return slices.Insert(x, i, nv), nil
		}
		nv, err := f(x, x[i], true)
		if err != nil {
			return nil, err
		}
		x[i] = nv
		return x, nil
	default:
		return nil, fmt.Errorf("'%s' is below a value that is not an object or an array", seg)
	}
}

// removeAt removes the value at segs and returns it; it must exist.
func removeAt(o *object, segs []string) (any, error) {
	top := segs[0]
	raw, ok := o.get(top)
	if !ok {
		return nil, fmt.Errorf("the path /%s does not exist", top)
	}
	v := decodeNumber(raw)
	if len(segs) == 1 {
		o.del(top)
		return v, nil
	}
	var removed any
	nv, err := removeIn(v, segs[1:], &removed)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(nv)
	if err != nil {
		return nil, err
	}
	o.set(top, b)
	return removed, nil
}

func removeIn(v any, segs []string, removed *any) (any, error) {
	seg := segs[0]
	last := len(segs) == 1
	switch x := v.(type) {
	case map[string]any:
		cur, ok := x[seg]
		if !ok {
			return nil, fmt.Errorf("the path does not exist ('%s' is missing)", seg)
		}
		if last {
			*removed = cur
			delete(x, seg)
			return x, nil
		}
		nv, err := removeIn(cur, segs[1:], removed)
		if err != nil {
			return nil, err
		}
		x[seg] = nv
		return x, nil
	case []any:
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 || i >= len(x) {
			return nil, fmt.Errorf("'%s' is not an index of the array (length %d)", seg, len(x))
		}
		if last {
			*removed = x[i]
			return slices.Delete(x, i, i+1), nil
		}
		nv, err := removeIn(x[i], segs[1:], removed)
		if err != nil {
			return nil, err
		}
		x[i] = nv
		return x, nil
	default:
		return nil, fmt.Errorf("'%s' is below a value that is not an object or an array", seg)
	}
}

// decodeNumber decodes a JSON value keeping numbers as json.Number.
func decodeNumber(raw json.RawMessage) any {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	_ = d.Decode(&v)
	return v
}

// increment adds by to cur, which must be a number: whole numbers stay
// whole, as in Cosmos DB.
func increment(cur any, by json.Number) (any, error) {
	n, ok := cur.(json.Number)
	if !ok {
		return nil, fmt.Errorf("the value at the path is not a number")
	}
	a, errA := strconv.ParseInt(string(n), 10, 64)
	b, errB := strconv.ParseInt(string(by), 10, 64)
	if errA == nil && errB == nil {
		if s := a + b; (b >= 0) == (s >= a) {
			return json.Number(strconv.FormatInt(s, 10)), nil
		}
	}
	fa, err := n.Float64()
	if err != nil {
		return nil, fmt.Errorf("the value at the path is not a number")
	}
	fb, _ := by.Float64()
	sum := fa + fb
	if math.IsInf(sum, 0) {
		return nil, fmt.Errorf("the result is out of range")
	}
	return json.Number(strconv.FormatFloat(sum, 'g', -1, 64)), nil
}
