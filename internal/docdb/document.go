package docdb

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MaxDocumentSize is the largest document Cosmos DB stores: 2 MB.
const MaxDocumentSize = 2 << 20

// maxIDLength is the longest id, in characters.
const maxIDLength = 255

// System properties Cosmos DB adds to every item; a request's own values
// for them are ignored.
var systemProps = []string{"_rid", "_self", "_etag", "_attachments", "_ts"}

// object is a JSON object that keeps its properties' order and their values
// as they came, so that a stored document reads back as written.
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

// parseObject reads one JSON object. A duplicate property keeps its last
// value, where it first appeared.
func parseObject(b []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("the body is not JSON: %w", err)
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, errors.New("the body must be a JSON object")
	}
	o := &object{vals: map[string]json.RawMessage{}}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("the body is not valid JSON: %w", err)
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("the body is not valid JSON: %w", err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			return nil, fmt.Errorf("the body is not valid JSON: %w", err)
		}
		if _, dup := o.vals[k]; !dup {
			o.keys = append(o.keys, k)
		}
		o.vals[k] = c.Bytes()
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("the body is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the body has data after the JSON object")
	}
	return o, nil
}

func (o *object) get(k string) (json.RawMessage, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *object) set(k string, v json.RawMessage) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *object) del(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	for i, x := range o.keys {
		if x == k {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
}

// marshal writes the object back, in order.
func (o *object) marshal() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// str reads a string property.
func (o *object) str(k string) (string, bool) {
	v, ok := o.vals[k]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// int64Prop reads a whole-number property.
func (o *object) int64Prop(k string) (int64, bool) {
	v, ok := o.vals[k]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(v), 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, false
		}
		n = int64(f)
	}
	return n, true
}

// validateID applies Cosmos DB's rules for ids: a non-empty string of at
// most 255 characters without /, \, ? or #.
func validateID(id string) *Error {
	if id == "" {
		return badRequest("The input name '' is invalid. Ensure to provide a unique non-empty string less than '%d' characters.", maxIDLength)
	}
	if utf8.RuneCountInString(id) > maxIDLength {
		return badRequest("The input name '%s...' is invalid. Ensure to provide a unique non-empty string less than '%d' characters.", truncate(id, 40), maxIDLength)
	}
	if strings.ContainsAny(id, `/\?#`) {
		return badRequest("The input name '%s' is invalid: an id cannot contain '/', '\\', '?' or '#'.", id)
	}
	if strings.HasSuffix(id, " ") {
		return badRequest("The input name '%s' is invalid: an id cannot end with a space.", id)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// docID reads and validates a document's id.
func docID(o *object) (string, *Error) {
	raw, ok := o.get("id")
	if !ok {
		return "", badRequest("The input content is invalid because the required properties - 'id; ' - are missing")
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		return "", badRequest("The input content is invalid because the property 'id' must be a string, not %s.", truncate(string(raw), 40))
	}
	return id, validateID(id)
}

// newETag returns a new entity tag: quoted, unique to one write.
func newETag() string { return `"` + uuid.NewString() + `"` }

// ridEncoding is Cosmos DB's resource id alphabet: base64 with '-' for '/'.
func ridEncode(b []byte) string {
	return strings.ReplaceAll(base64.StdEncoding.EncodeToString(b), "/", "-")
}

func ridDecode(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.ReplaceAll(s, "-", "/"))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("docdb: no randomness: " + err.Error())
	}
	return b
}

// childRID makes a resource id below parent's: the parent's bytes and n
// random ones, as Cosmos DB nests its ids (database 4 bytes, container 8,
// document 16).
func childRID(parent string, n int) string {
	p, _ := ridDecode(parent)
	return ridEncode(append(p, randomBytes(n)...))
}

// stamp gives a document its system properties, after the user's.
func stamp(o *object, rid, self, etag string, ts int64) {
	for _, k := range systemProps {
		o.del(k)
	}
	q := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	o.set("_rid", q(rid))
	o.set("_self", q(self))
	o.set("_etag", q(etag))
	o.set("_attachments", q("attachments/"))
	o.set("_ts", json.RawMessage(strconv.FormatInt(ts, 10)))
}
