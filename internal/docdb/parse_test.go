package docdb

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/lapisdev/lapis/internal/docdb/account"
)

func TestSignature(t *testing.T) {
	// Vectors computed independently (Python's hmac) with the emulator's key.
	const date = "Thu, 27 Apr 2017 00:51:12 GMT"
	for _, tc := range []struct{ verb, rt, link, want string }{
		{"GET", "dbs", "dbs/testdb", "7AMHA4cc5jwSUmI/2jieU+QBY0EdhgZAyXiOAu+MEzs="},
		// The resource type and verb are lower-cased; the link keeps its case.
		{"POST", "DOCS", "dbs/My DB/colls/Orders", "SDnJF/i3LXKYEtwvMHTfIBS0hQkqxJdjsmSdLSYoxtw="},
	} {
		got, err := Signature(account.EmulatorKey, tc.verb, tc.rt, tc.link, date)
		if err != nil || got != tc.want {
			t.Errorf("Signature(%s %s %s) = %s, %v; want %s", tc.verb, tc.rt, tc.link, got, err, tc.want)
		}
	}
	h, _ := AuthHeader(account.EmulatorKey, "GET", "dbs", "dbs/testdb", date)
	tok, err := parseAuthToken(h)
	if err != nil || tok.Type != "master" || tok.Version != "1.0" || tok.Sig != "7AMHA4cc5jwSUmI/2jieU+QBY0EdhgZAyXiOAu+MEzs=" {
		t.Fatalf("parseAuthToken(%s) = %+v, %v", h, tok, err)
	}
	// Unescaped, as some clients send it.
	tok, err = parseAuthToken("type=master&ver=1.0&sig=7AMHA4cc5jwSUmI/2jieU+QBY0EdhgZAyXiOAu+MEzs=")
	if err != nil || tok.Sig != "7AMHA4cc5jwSUmI/2jieU+QBY0EdhgZAyXiOAu+MEzs=" {
		t.Fatalf("unescaped token: %+v %v", tok, err)
	}
	for _, bad := range []string{"", "garbage", "type=master", "sig=abc", "%zz"} {
		if _, err := parseAuthToken(bad); err == nil {
			t.Errorf("parseAuthToken(%q) succeeded", bad)
		}
	}
}

func TestResourceOf(t *testing.T) {
	for _, tc := range []struct {
		path     string
		rt, link string
	}{
		{"/", "", ""},
		{"/dbs", "dbs", ""},
		{"/dbs/db1", "dbs", "dbs/db1"},
		{"/dbs/db1/colls", "colls", "dbs/db1"},
		{"/dbs/db1/colls/c1/docs", "docs", "dbs/db1/colls/c1"},
		{"/dbs/db1/colls/c1/docs/a%20b", "docs", "dbs/db1/colls/c1/docs/a b"},
		{"/dbs/db1/colls/c1/pkranges", "pkranges", "dbs/db1/colls/c1"},
	} {
		segs, err := splitPath(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		rt, link := resourceOf(segs)
		if rt != tc.rt || link != tc.link {
			t.Errorf("resourceOf(%s) = %q %q, want %q %q", tc.path, rt, link, tc.rt, tc.link)
		}
	}
}

func TestParsePartitionKey(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{`["a"]`, `["a"]`},
		{` [ "a" ] `, `["a"]`},
		{`[1]`, `[1]`},
		{`[1.0]`, `[1]`},
		{`[1e2]`, `[100]`},
		{`[-0.5]`, `[-0.5]`},
		{`[true]`, `[true]`},
		{`[null]`, `[null]`},
		{`[{}]`, `[{}]`},
		{`[]`, `[{}]`},
		{`["a",2,false]`, `["a",2,false]`},
		{`["é\u00e9"]`, `["éé"]`},
	} {
		k, err := ParsePartitionKey(tc.in)
		if err != nil || k.String() != tc.want {
			t.Errorf("ParsePartitionKey(%s) = %s, %v; want %s", tc.in, k, err, tc.want)
		}
	}
	for _, bad := range []string{``, `a`, `"a"`, `null`, `[[1]]`, `[{"a":1}]`, `[1,2,3,4]`, `["a"] x`, `[nul]`, `[1e999]`} {
		if k, err := ParsePartitionKey(bad); err == nil {
			t.Errorf("ParsePartitionKey(%s) = %v, want an error", bad, k)
		} else if !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParsePartitionKey(%s): %v is not a bad request", bad, err)
		}
	}
}

func TestPartitionKeyOfDocument(t *testing.T) {
	def := &PartitionKeyDefinition{Paths: []string{"/a/b", "/c"}, Kind: KindMultiHash}
	for _, tc := range []struct{ doc, want string }{
		{`{"a":{"b":"x"},"c":1}`, `["x",1]`},
		{`{"a":{"b":null}}`, `[null,{}]`},
		{`{"a":"not an object","c":true}`, `[{},true]`},
		{`{}`, `[{},{}]`},
	} {
		o, err := parseObject([]byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		k, perr := pkOf(def, o.vals)
		if perr != nil || k.String() != tc.want {
			t.Errorf("pkOf(%s) = %s, %v; want %s", tc.doc, k, perr, tc.want)
		}
	}
	o, _ := parseObject([]byte(`{"a":{"b":[1]}}`))
	if _, perr := pkOf(def, o.vals); perr == nil {
		t.Error("an array partition key value was accepted")
	}
}

func TestPartitionKeyPaths(t *testing.T) {
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/id", []string{"id"}},
		{"/a/b/c", []string{"a", "b", "c"}},
		{`/"a b"/c`, []string{"a b", "c"}},
		{`/"x/y"`, []string{"x/y"}},
	} {
		got, err := parsePKPath(tc.path)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parsePKPath(%s) = %v, %v", tc.path, got, err)
		}
	}
	for _, bad := range []string{"", "id", "/", "/a/", "//a", "/a//b", `/"a`, `/"a"b`, "/a*", "/a[0]"} {
		if got, err := parsePKPath(bad); err == nil {
			t.Errorf("parsePKPath(%q) = %v, want an error", bad, got)
		}
	}
	d := PartitionKeyDefinition{Paths: []string{"/a", "/b"}}
	if err := d.normalize(); err != nil || d.Kind != KindMultiHash || d.Version != 2 {
		t.Errorf("normalize: %+v %v", d, err)
	}
	d = PartitionKeyDefinition{Paths: []string{"/a", "/b"}, Kind: "Hash"}
	if err := d.normalize(); err == nil {
		t.Error("a Hash key with two paths was accepted")
	}
}

func TestObjectRoundTrip(t *testing.T) {
	in := `{ "z": 1, "a": {"nested": [1, 2.50, "x"]}, "id": "k", "big": 12345678901234567890 }`
	o, err := parseObject([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.keys, []string{"z", "a", "id", "big"}) {
		t.Fatalf("keys %v", o.keys)
	}
	stamp(o, "rid", "self", `"etag"`, 42)
	want := `{"z":1,"a":{"nested":[1,2.50,"x"]},"id":"k","big":12345678901234567890,"_rid":"rid","_self":"self","_etag":"\"etag\"","_attachments":"attachments/","_ts":42}`
	if got := string(o.marshal()); got != want {
		t.Fatalf("marshal\n got %s\nwant %s", got, want)
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{`, `{"a":1}x`, `{"a":}`} {
		if _, err := parseObject([]byte(bad)); err == nil {
			t.Errorf("parseObject(%q) succeeded", bad)
		}
	}
}

func TestPatch(t *testing.T) {
	c := &coll{c: &Container{ContainerSpec: ContainerSpec{PartitionKey: PartitionKeyDefinition{Paths: []string{"/pk"}, Kind: KindHash}}}}
	s := &Service{}
	doc := `{"id":"1","pk":"p","n":1,"f":1.5,"arr":[1,2,3],"obj":{"a":{"b":1}},"s":"x"}`
	for _, tc := range []struct {
		name, ops, want, err string
	}{
		{"set", `[{"op":"set","path":"/n","value":5},{"op":"set","path":"/new","value":"v"}]`, `"n":5`, ""},
		{"add to object", `[{"op":"add","path":"/obj/c","value":true}]`, `"obj":{"a":{"b":1},"c":true}`, ""},
		{"add inserts in an array", `[{"op":"add","path":"/arr/1","value":9}]`, `"arr":[1,9,2,3]`, ""},
		{"add appends", `[{"op":"add","path":"/arr/-","value":4}]`, `"arr":[1,2,3,4]`, ""},
		{"add at the length", `[{"op":"add","path":"/arr/3","value":4}]`, `"arr":[1,2,3,4]`, ""},
		{"set replaces an element", `[{"op":"set","path":"/arr/0","value":0}]`, `"arr":[0,2,3]`, ""},
		{"replace", `[{"op":"replace","path":"/obj/a/b","value":2}]`, `"obj":{"a":{"b":2}}`, ""},
		{"remove", `[{"op":"remove","path":"/arr/0"},{"op":"remove","path":"/s"}]`, `"arr":[2,3]`, ""},
		{"incr int", `[{"op":"incr","path":"/n","value":41}]`, `"n":42`, ""},
		{"incr float", `[{"op":"incr","path":"/f","value":1}]`, `"f":2.5`, ""},
		{"incr creates", `[{"op":"incr","path":"/m","value":-3}]`, `"m":-3`, ""},
		{"move", `[{"op":"move","from":"/s","path":"/t"}]`, `"t":"x"`, ""},
		{"escaped path", `[{"op":"set","path":"/a~1b~0c","value":1}]`, `"a/b~c":1`, ""},
		{"replace of a missing path", `[{"op":"replace","path":"/nope","value":1}]`, "", "does not exist"},
		{"remove of a missing path", `[{"op":"remove","path":"/obj/zz"}]`, "", "does not exist"},
		{"index out of range", `[{"op":"add","path":"/arr/9","value":1}]`, "", "not an index"},
		{"missing parent", `[{"op":"set","path":"/x/y","value":1}]`, "", "parent"},
		{"incr of a string", `[{"op":"incr","path":"/s","value":1}]`, "", "not a number"},
		{"the id", `[{"op":"set","path":"/id","value":"2"}]`, "", "id or a system property"},
		{"the partition key", `[{"op":"set","path":"/pk","value":"q"}]`, "", "partition key"},
		{"unknown op", `[{"op":"copy","path":"/n","value":1}]`, "", "use add"},
		{"no value", `[{"op":"set","path":"/n"}]`, "", "needs a value"},
		{"incr by a string", `[{"op":"incr","path":"/n","value":"1"}]`, "", "number value"},
		{"root", `[{"op":"set","path":"/","value":1}]`, "", "does not name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, perr := parsePatch([]byte(`{"operations":` + tc.ops + `}`))
			var err error
			var out *object
			if perr != nil {
				err = perr
			} else {
				o, _ := parseObject([]byte(doc))
				out, err = s.applyPatch(c, o, p)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out.marshal()); !strings.Contains(got, tc.want) {
				t.Fatalf("got %s, want it to contain %s", got, tc.want)
			}
		})
	}
	if _, err := parsePatch([]byte(`{"operations":[` + strings.Repeat(`{"op":"set","path":"/a","value":1},`, 10) + `{"op":"set","path":"/a","value":1}]}`)); err == nil {
		t.Error("11 operations were accepted")
	}
}

func TestContinuation(t *testing.T) {
	for _, c := range []continuation{{Kind: "q", Offset: 7, Hash: 1 << 63}, {Kind: "f", Seq: 123456789}} {
		got, err := parseContinuation(c.String())
		if err != nil || got != c {
			t.Errorf("round trip of %+v: %+v, %v", c, got, err)
		}
	}
	for _, bad := range []string{"", "x", "AQ", "AXE", "!!!!", continuation{Kind: "q"}.String() + "AA"} {
		if _, err := parseContinuation(bad); err == nil {
			t.Errorf("parseContinuation(%q) succeeded", bad)
		}
	}
}

func TestErrorShape(t *testing.T) {
	rec := &recorder{h: http.Header{}}
	writeError(rec, notFound(), "act-1")
	var body struct{ Code, Message string }
	if err := json.Unmarshal(rec.body, &body); err != nil {
		t.Fatal(err)
	}
	if rec.status != http.StatusNotFound || body.Code != "NotFound" || !strings.Contains(body.Message, "ActivityId: act-1") {
		t.Fatalf("%d %+v", rec.status, body)
	}
	if !errors.Is(notFound(), ErrNotFound) || errors.Is(conflict(), ErrNotFound) || !errors.Is(error(conflict()), ErrConflict) {
		t.Fatal("errors.Is on sentinels")
	}
}

type recorder struct {
	h      http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(b []byte) (int, error) { r.body = append(r.body, b...); return len(b), nil }

func TestExpiry(t *testing.T) {
	ttl := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name    string
		def     *int64
		doc     string
		expires bool
		at      int64
	}{
		{"ttl off", nil, `{"_ts":100,"ttl":5}`, false, 0},
		{"container default", ttl(60), `{"_ts":100}`, true, 160},
		{"item overrides", ttl(60), `{"_ts":100,"ttl":5}`, true, 105},
		{"item never", ttl(60), `{"_ts":100,"ttl":-1}`, false, 0},
		{"on, no default", ttl(-1), `{"_ts":100}`, false, 0},
		{"on, item ttl", ttl(-1), `{"_ts":100,"ttl":30}`, true, 130},
	} {
		c := &Container{ContainerSpec: ContainerSpec{DefaultTTL: tc.def}}
		o, _ := parseObject([]byte(tc.doc))
		at, ok := c.expiresAt(o)
		if ok != tc.expires || at != tc.at {
			t.Errorf("%s: expiresAt = %d, %v", tc.name, at, ok)
		}
	}
}
