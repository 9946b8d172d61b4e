package docdb

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lapisdev/lapis/internal/substrate"
)

// Partition key kinds: Hash takes one path, MultiHash (hierarchical
// partition keys) up to three.
const (
	KindHash      = "Hash"
	KindMultiHash = "MultiHash"
)

// maxPKPaths is the most paths a hierarchical partition key has.
const maxPKPaths = 3

// PartitionKeyDefinition is a container's partitionKey.
type PartitionKeyDefinition struct {
	Paths   []string `json:"paths"`
	Kind    string   `json:"kind"`
	Version int      `json:"version,omitempty"`
	// SystemKey is echoed when given.
	SystemKey *bool `json:"systemKey,omitempty"`
}

// normalize validates the definition and fills in its defaults: Hash for
// one path, MultiHash for more, version 2.
func (d *PartitionKeyDefinition) normalize() *Error {
	if len(d.Paths) == 0 {
		return badRequest("The partition key definition must have at least one path, such as /id or /customerId: partitionKey.paths is empty.")
	}
	if len(d.Paths) > maxPKPaths {
		return badRequest("A partition key can have at most %d paths (hierarchical partition keys); partitionKey.paths has %d.", maxPKPaths, len(d.Paths))
	}
	for _, p := range d.Paths {
		if _, err := parsePKPath(p); err != nil {
			return err
		}
	}
	switch {
	case d.Kind == "" && len(d.Paths) == 1:
		d.Kind = KindHash
	case d.Kind == "":
		d.Kind = KindMultiHash
	case strings.EqualFold(d.Kind, KindHash):
		d.Kind = KindHash
	case strings.EqualFold(d.Kind, KindMultiHash):
		d.Kind = KindMultiHash
	case strings.EqualFold(d.Kind, "Range"):
		return badRequest("Partition key kind 'Range' is not supported: use Hash, or MultiHash for hierarchical partition keys.")
	default:
		return badRequest("Partition key kind '%s' is not valid: use Hash or MultiHash.", d.Kind)
	}
	if d.Kind == KindHash && len(d.Paths) != 1 {
		return badRequest("A Hash partition key has exactly one path; use kind MultiHash for %d paths.", len(d.Paths))
	}
	switch d.Version {
	case 0:
		d.Version = 2
	case 1, 2:
	default:
		return badRequest("Partition key version %d is not valid: use 1 or 2.", d.Version)
	}
	if d.Kind == KindMultiHash && d.Version != 2 {
		return badRequest("Hierarchical (MultiHash) partition keys need version 2.")
	}
	return nil
}

// parsePKPath splits a partition key path such as /customerId, /a/b or
// /"odd name" into its property names.
func parsePKPath(p string) ([]string, *Error) {
	bad := func(why string) *Error {
		return badRequest("The partition key path '%s' is not valid: %s. A path is /property or /nested/property.", p, why)
	}
	if !strings.HasPrefix(p, "/") {
		return nil, bad("it must start with /")
	}
	var segs []string
	rest := p[1:]
	for {
		var seg string
		more := false
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, bad("a quoted name is not closed")
			}
			seg, rest = rest[1:end+1], rest[end+2:]
			if rest != "" {
				if rest[0] != '/' {
					return nil, bad("a quoted name must be followed by / or the end")
				}
				rest, more = rest[1:], true
			}
		} else {
			seg, rest, more = strings.Cut(rest, "/")
			if strings.ContainsAny(seg, `"*[]`) {
				return nil, bad("property names cannot contain \", *, [ or ]")
			}
		}
		if seg == "" {
			return nil, bad("a property name is empty")
		}
		segs = append(segs, seg)
		if !more {
			return segs, nil
		}
		if rest == "" {
			return nil, bad("it must not end with /")
		}
	}
}

// Undefined is the partition key component of a document that has no value
// at the key's path ({} in the x-ms-documentdb-partitionkey header, None in
// the SDKs).
type Undefined struct{}

// PartitionKey is a partition key value: one component per path, each a
// string, a float64, a bool, nil (JSON null) or Undefined.
type PartitionKey []any

// String is the key's canonical JSON, the form of the header:
// ["a"], [1], [null], [{}], ["a",2].
func (k PartitionKey) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, c := range k {
		if i > 0 {
			b.WriteByte(',')
		}
		switch v := c.(type) {
		case string:
			s, _ := json.Marshal(v)
			b.Write(s)
		case float64:
			b.WriteString(formatNumber(v))
		case bool:
			b.WriteString(strconv.FormatBool(v))
		case nil:
			b.WriteString("null")
		case Undefined:
			b.WriteString("{}")
		default:
			fmt.Fprintf(&b, "%q", fmt.Sprint(v))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// formatNumber writes a number as JSON does, so 1, 1.0 and 1e0 are one key.
func formatNumber(f float64) string {
	if f == 0 {
		f = 0 // -0 is 0
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// equal reports whether two keys are the same value.
func (k PartitionKey) equal(o PartitionKey) bool { return k.String() == o.String() }

// hasPrefix reports whether p is k or a prefix of k (a query scoped to the
// first levels of a hierarchical key).
func (k PartitionKey) hasPrefix(p PartitionKey) bool {
	if len(p) > len(k) {
		return false
	}
	return PartitionKey(k[:len(p)]).equal(p)
}

// maxPKToken is the longest a partition key's token may be in a document
// key; longer keys are hashed, so that keys stay well within NATS's limits.
const maxPKToken = 512

// token is the key's part of a document's key in its container's bucket.
// Long keys become "=H" and a SHA-256, which no Token output can be ("H" is
// not a hex digit).
func (k PartitionKey) token() string {
	s := k.String()
	t := substrate.Token(s)
	if len(t) <= maxPKToken {
		return t
	}
	sum := sha256.Sum256([]byte(s))
	return "=H" + hex.EncodeToString(sum[:])
}

// ParsePartitionKey parses the x-ms-documentdb-partitionkey header: a JSON
// array of strings, numbers, booleans, nulls and {} (undefined). An empty
// array means undefined too, as the SDKs' None.
func ParsePartitionKey(h string) (PartitionKey, error) {
	bad := func(why string) error {
		return badRequest("The partition key supplied in x-ms-partitionkey header is invalid: %s. It must be a JSON array such as [\"value\"].", why)
	}
	dec := json.NewDecoder(strings.NewReader(h))
	dec.UseNumber()
	var raw []json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, bad("it is not a JSON array")
	}
	if dec.More() {
		return nil, bad("there is data after the array")
	}
	if raw == nil {
		return nil, bad("it is null")
	}
	if len(raw) == 0 {
		return PartitionKey{Undefined{}}, nil
	}
	if len(raw) > maxPKPaths {
		return nil, bad(fmt.Sprintf("it has %d components, and a key has at most %d", len(raw), maxPKPaths))
	}
	k := make(PartitionKey, 0, len(raw))
	for _, r := range raw {
		v, err := pkComponent(r)
		if err != nil {
			return nil, bad(err.Error())
		}
		k = append(k, v)
	}
	return k, nil
}

// pkComponent decodes one component of a partition key.
func pkComponent(r json.RawMessage) (any, error) {
	r = bytes.TrimSpace(r)
	if len(r) == 0 {
		return nil, fmt.Errorf("a component is empty")
	}
	switch r[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r, &m); err != nil || len(m) != 0 {
			return nil, fmt.Errorf("an object component must be {} (undefined)")
		}
		return Undefined{}, nil
	case '[':
		return nil, fmt.Errorf("a component cannot be an array")
	case '"':
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, err
		}
		return s, nil
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(r, &b); err != nil {
			return nil, err
		}
		return b, nil
	case 'n':
		if string(r) != "null" {
			return nil, fmt.Errorf("%s is not a value", r)
		}
		return nil, nil
	default:
		f, err := strconv.ParseFloat(string(r), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%s is not a number", r)
		}
		return f, nil
	}
}

// ExtractPartitionKey extracts a document's partition key as a container
// with the partition key paths defines it: the value at each path, or
// Undefined where the document has none. Errors are *Error (BadRequest).
// Clients that send the key in x-ms-documentdb-partitionkey use it.
func ExtractPartitionKey(paths []string, doc []byte) (PartitionKey, error) {
	if len(paths) == 0 {
		return nil, badRequest("The container has no partition key paths.")
	}
	o, err := parseObject(doc)
	if err != nil {
		return nil, badRequest("The document is not valid: %v.", err)
	}
	k, perr := pkOf(&PartitionKeyDefinition{Paths: paths}, o.vals)
	if perr != nil {
		return nil, perr
	}
	return k, nil
}

// pkOf extracts a document's partition key: the value at each path, or
// Undefined where the document has none. A value that is an object or an
// array cannot be a partition key.
func pkOf(def *PartitionKeyDefinition, doc map[string]json.RawMessage) (PartitionKey, *Error) {
	k := make(PartitionKey, 0, len(def.Paths))
	for _, p := range def.Paths {
		segs, err := parsePKPath(p)
		if err != nil {
			return nil, err
		}
		v, e := valueAt(doc, segs)
		if e != nil {
			return nil, badRequest("The partition key value at %s is not valid: %v.", p, e)
		}
		k = append(k, v)
	}
	return k, nil
}

// valueAt reads the value at a path of property names in a JSON object.
func valueAt(doc map[string]json.RawMessage, segs []string) (any, error) {
	cur := doc
	for i, s := range segs {
		r, ok := cur[s]
		if !ok {
			return Undefined{}, nil
		}
		if i == len(segs)-1 {
			r = bytes.TrimSpace(r)
			if len(r) > 0 && (r[0] == '{' || r[0] == '[') {
				return nil, fmt.Errorf("it is an object or an array; a partition key must be a string, number, boolean or null")
			}
			return pkComponent(r)
		}
		var next map[string]json.RawMessage
		if err := json.Unmarshal(r, &next); err != nil {
			return Undefined{}, nil // not an object: nothing below
		}
		cur = next
	}
	return Undefined{}, nil
}

// pkOfDecoded is pkOf for a document encoding/json decoded; ok is false
// when a value at a path is not a partition key value.
func pkOfDecoded(def *PartitionKeyDefinition, m map[string]any) (PartitionKey, bool) {
	k := make(PartitionKey, 0, len(def.Paths))
	for _, p := range def.Paths {
		segs, err := parsePKPath(p)
		if err != nil {
			return nil, false
		}
		var cur any = m
		for _, s := range segs {
			obj, ok := cur.(map[string]any)
			if !ok {
				cur = Undefined{}
				break
			}
			if cur, ok = obj[s]; !ok {
				cur = Undefined{}
				break
			}
		}
		switch cur.(type) {
		case string, float64, bool, nil, Undefined:
		default:
			return nil, false
		}
		k = append(k, cur)
	}
	return k, true
}
