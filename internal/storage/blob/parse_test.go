package blob

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestValidContainerName(t *testing.T) {
	for name, want := range map[string]bool{
		"abc": true, "a-b-c": true, "0container9": true, strings.Repeat("a", 63): true, "$root": true, "$logs": true,
		"ab": false, strings.Repeat("a", 64): false, "Abc": false, "a--b": false, "-abc": false, "abc-": false,
		"a_bc": false, "a.bc": false, "": false, "$other": false, "ünï": false,
	} {
		if got := ValidContainerName(name); got != want {
			t.Errorf("ValidContainerName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseRange(t *testing.T) {
	for in, want := range map[string]struct {
		r  byteRange
		ok bool
	}{
		"bytes=0-0":                   {byteRange{0, 0}, true},
		"bytes=5-":                    {byteRange{5, -1}, true},
		"bytes=10-20":                 {byteRange{10, 20}, true},
		" bytes=1-2 ":                 {byteRange{1, 2}, true},
		"bytes=-5":                    {ok: false},
		"bytes=5-4":                   {ok: false},
		"bytes=1-2,4-5":               {ok: false},
		"bytes=a-b":                   {ok: false},
		"bytes=+1-2":                  {ok: false},
		"items=1-2":                   {ok: false},
		"":                            {ok: false},
		"bytes=99999999999999999999-": {ok: false},
	} {
		r, ok := parseRange(in)
		if ok != want.ok || ok && r != want.r {
			t.Errorf("parseRange(%q) = %v %v, want %v %v", in, r, ok, want.r, want.ok)
		}
	}
}

func TestParseBlockList(t *testing.T) {
	id := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	got, err := parseBlockList([]byte(`<?xml version="1.0" encoding="utf-8"?>
<BlockList>
  <Committed>` + id("a") + `</Committed>
  <Uncommitted>` + id("b") + `</Uncommitted>
  <Latest> ` + id("c") + ` </Latest>
  <Committed>` + id("a") + `</Committed>
</BlockList>`))
	if err != nil {
		t.Fatal(err)
	}
	want := []blockLookup{{"Committed", id("a")}, {"Uncommitted", id("b")}, {"Latest", id("c")}, {"Committed", id("a")}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("entry %d: got %v, want %v", i, got[i], want[i])
		}
	}
	if got, err := parseBlockList([]byte("<BlockList/>")); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %v %v", got, err)
	}
	for _, bad := range []string{"", "<BlockList>", "<BlockList><Latest>x</Latest>", "<Other/>", "<BlockList><Latest><x/></Latest></BlockList>",
		"<BlockList><Foo>x</Foo></BlockList>", "<BlockList/><BlockList/>", "text", "<BlockList><Latest>a</Latest></BlockList>junk"} {
		if _, err := parseBlockList([]byte(bad)); err == nil {
			t.Errorf("parseBlockList(%q) accepted", bad)
		}
	}
}

func TestKeyTokens(t *testing.T) {
	short := "dir/file name.txt"
	if n, ok := lastToken(blobKey("acct", "c", short)); !ok || n != short {
		t.Fatalf("short name round trip: %q %v", n, ok)
	}
	long := strings.Repeat("é", 300)
	if _, ok := lastToken(blobKey("acct", "c", long)); ok {
		t.Fatal("a long name should be hashed")
	}
	if len(blobKey("acct", "c", long)) > 100 {
		t.Fatal("hashed key too long")
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=5-", "bytes=-5", "bytes=1-2,3-4", "bytes=18446744073709551615-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := parseRange(s)
		if !ok {
			return
		}
		if r.Start < 0 || r.End < -1 || r.End >= 0 && r.End < r.Start {
			t.Fatalf("parseRange(%q) = %+v", s, r)
		}
	})
}

func FuzzParseBlockList(f *testing.F) {
	f.Add([]byte(`<BlockList><Latest>AAAA</Latest><Committed>BBBB</Committed></BlockList>`))
	f.Add([]byte(`<?xml version="1.0"?><BlockList><Uncommitted>x</Uncommitted></BlockList>`))
	f.Add([]byte(`<BlockList><Latest>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := parseBlockList(b)
		if err != nil {
			return
		}
		for _, l := range list {
			switch l.List {
			case "Latest", "Committed", "Uncommitted":
			default:
				t.Fatalf("unexpected list kind %q", l.List)
			}
		}
	})
}

func FuzzContainerName(f *testing.F) {
	for _, s := range []string{"abc", "a--b", "-ab", "$root", "ABC", strings.Repeat("z", 63)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidContainerName(s) || strings.HasPrefix(s, "$") {
			return
		}
		if len(s) < 3 || len(s) > 63 || strings.Contains(s, "--") || s[0] == '-' || s[len(s)-1] == '-' || strings.ToLower(s) != s {
			t.Fatalf("ValidContainerName accepted %q", s)
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Fatalf("ValidContainerName accepted %q", s)
			}
		}
	})
}
