package docdb

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParsePartitionKey: any header parses or fails without panicking, and
// a parsed key's canonical form parses back to itself.
func FuzzParsePartitionKey(f *testing.F) {
	for _, s := range []string{`["a"]`, `[1.5]`, `[null]`, `[{}]`, `[]`, `["a",true,3]`, `[1e400]`, `[{"a":1}]`, `x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		k, err := ParsePartitionKey(h)
		if err != nil {
			return
		}
		again, err := ParsePartitionKey(k.String())
		if err != nil || again.String() != k.String() {
			t.Fatalf("%q: canonical %s reparsed as %s, %v", h, k, again, err)
		}
		tok := k.token()
		if tok == "" || strings.ContainsAny(tok, ". *>") {
			t.Fatalf("%q: token %q is not a key token", h, tok)
		}
	})
}

// FuzzParsePKPath: partition key paths parse or fail without panicking;
// a parsed path has no empty segment.
func FuzzParsePKPath(f *testing.F) {
	for _, s := range []string{"/id", "/a/b", `/"a b"/c`, "/", "", `/"`, "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, err := parsePKPath(p)
		if err != nil {
			return
		}
		for _, s := range segs {
			if s == "" {
				t.Fatalf("%q: empty segment in %q", p, segs)
			}
		}
	})
}

// escapePointer is parsePatchPath's inverse.
func escapePointer(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// FuzzParsePatchPath: patch paths parse or fail without panicking, and
// escape back to an equivalent path.
func FuzzParsePatchPath(f *testing.F) {
	for _, s := range []string{"/a", "/a/0", "/a~1b/~0c", "/", "", "a", "/a//b", "/~2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, err := parsePatchPath(p)
		if err != nil {
			return
		}
		again, err := parsePatchPath(escapePointer(segs))
		if err != nil || strings.Join(again, "\x00") != strings.Join(segs, "\x00") {
			t.Fatalf("%q: %q reparsed as %q, %v", p, segs, again, err)
		}
	})
}

// FuzzPatch: any patch body applied to a document fails cleanly or gives a
// document that still parses, keeps its id and partition key.
func FuzzPatch(f *testing.F) {
	f.Add(`{"id":"1","pk":"p","a":[1,{"b":2}],"n":1}`, `{"operations":[{"op":"add","path":"/a/1/c","value":3},{"op":"incr","path":"/n","value":2}]}`)
	f.Add(`{"id":"1","pk":"p"}`, `{"operations":[{"op":"move","from":"/pk","path":"/x"}]}`)
	f.Add(`{"id":"1","pk":"p","a":[]}`, `{"operations":[{"op":"remove","path":"/a/-"}]}`)
	c := &coll{c: &Container{ContainerSpec: ContainerSpec{PartitionKey: PartitionKeyDefinition{Paths: []string{"/pk"}, Kind: KindHash}}}}
	s := &Service{}
	f.Fuzz(func(t *testing.T, doc, patch string) {
		o, err := parseObject([]byte(doc))
		if err != nil {
			return
		}
		p, perr := parsePatch([]byte(patch))
		if perr != nil {
			return
		}
		for _, op := range p.Operations {
			if p.Condition != "" || op == nil {
				return
			}
		}
		idBefore, _ := o.str("id")
		out, err := s.applyPatch(c, o, p)
		if err != nil {
			return
		}
		b := out.marshal()
		again, err := parseObject(b)
		if err != nil {
			t.Fatalf("patched document %s does not parse: %v", b, err)
		}
		if id, _ := again.str("id"); id != idBefore {
			t.Fatalf("id changed from %q to %q", idBefore, id)
		}
	})
}

// FuzzParseContinuation: tokens parse or fail without panicking, and a
// parsed token encodes back to itself.
func FuzzParseContinuation(f *testing.F) {
	f.Add(continuation{Kind: "q", Offset: 3, Hash: 99}.String())
	f.Add(continuation{Kind: "f", Seq: 1 << 40}.String())
	f.Add("")
	f.Add("AXEA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseContinuation(s)
		if err != nil {
			return
		}
		back, err := parseContinuation(c.String())
		if err != nil || back != c {
			t.Fatalf("%q: %+v re-encoded as %+v, %v", s, c, back, err)
		}
	})
}

// FuzzParseAuthToken: Authorization headers parse or fail without
// panicking.
func FuzzParseAuthToken(f *testing.F) {
	f.Add("type%3Dmaster%26ver%3D1.0%26sig%3Dabc%2B%2F%3D")
	f.Add("type=master&ver=1.0&sig=abc+/=")
	f.Add("%")
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := parseAuthToken(h)
		if err == nil && (tok.Type == "" || tok.Sig == "") {
			t.Fatalf("%q parsed without type or sig: %+v", h, tok)
		}
	})
}

// FuzzParseObject: documents parse or fail without panicking, and a parsed
// document writes back to JSON that parses to the same properties.
func FuzzParseObject(f *testing.F) {
	f.Add(`{"id":"a","n":1.50,"o":{"x":[1,2]}}`)
	f.Add(`{"a":1,"a":2}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, doc string) {
		o, err := parseObject([]byte(doc))
		if err != nil {
			return
		}
		b := o.marshal()
		if !json.Valid(b) {
			t.Fatalf("%q wrote invalid JSON %s", doc, b)
		}
		again, err := parseObject(b)
		if err != nil || len(again.keys) != len(o.keys) {
			t.Fatalf("%q: %s reparsed with %v, %v", doc, b, again, err)
		}
		for k, v := range o.vals {
			if !bytes.Equal(again.vals[k], v) {
				t.Fatalf("%q: %s changed from %s to %s", doc, k, v, again.vals[k])
			}
		}
	})
}
