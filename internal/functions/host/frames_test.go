package host

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"testing"
)

// responseFrame encodes a response frame as the Go SDK does.
func responseFrame(status int, header [][2]string, body []byte) []byte {
	b := make([]byte, framePrefixLen)
	b = binary.AppendUvarint(b, uint64(status))
	for _, kv := range header {
		b = appendString(b, kv[0])
		b = appendString(b, kv[1])
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-framePrefixLen))
	binary.BigEndian.PutUint64(b[4:], uint64(len(body)))
	return append(b, body...)
}

func TestRequestFrame(t *testing.T) {
	o := &outbound{method: "POST", uri: "/api/x?y=1", host: "example.com", id: "inv-1", fn: "x", body: []byte("hello"),
		header: http.Header{"X-Multi": {"1", "2"}, "Connection": {"close"}, "X-Bad": {"a\r\nb"}}}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	var scratch []byte
	writeRequestFrame(w, o, &scratch)
	w.Flush()
	head, body, err := readFrame(bufio.NewReader(&buf), &scratch, maxFrameHead, maxFrameBody)
	if err != nil {
		t.Fatal(err)
	}
	var strs []string
	for s := string(head); s != ""; {
		v, rest, ok := nextString(s)
		if !ok {
			t.Fatalf("head %q", head)
		}
		strs, s = append(strs, v), rest
	}
	got := fmt.Sprint(strs)
	want := fmt.Sprint([]string{"POST", "/api/x?y=1", "example.com", "X-Multi", "1", "X-Multi", "2", "X-Lapis-Function", "x",
		"X-Azure-Functions-Invocationid", "inv-1", "X-Azure-Functions-Hostversion", HostVersion, "User-Agent", userAgent,
		"Content-Length", "5"})
	if got != want || string(body) != "hello" {
		t.Fatalf("head %s\nwant %s\nbody %q", got, want, body)
	}
}

func TestResponseFrame(t *testing.T) {
	big := bytes.Repeat([]byte("z"), 3<<20)
	for _, b := range [][]byte{nil, []byte("ok"), big} {
		f := responseFrame(201, [][2]string{{"x-multi", "1"}, {"X-Multi", "2"}, {"Content-Length", "2"}, {"Content-Type", "text/plain"}}, b)
		var scratch []byte
		head, body, err := readFrame(bufio.NewReader(bytes.NewReader(f)), &scratch, maxFrameHead, maxFrameBody)
		if err != nil {
			t.Fatal(err)
		}
		status, h, err := parseResponseHead(head, nil)
		if err != nil || status != 201 || !bytes.Equal(body, b) || fmt.Sprint(h["X-Multi"]) != "[1 2]" || h.Get("Content-Length") != "2" {
			t.Fatalf("%v %d %v %d bytes", err, status, h, len(body))
		}
		into := http.Header{}
		status, h, err = parseResponseHead(head, into)
		if err != nil || status != 201 || fmt.Sprint(into["X-Multi"]) != "[1 2]" || into.Get("Content-Length") != "" || into.Get("Content-Type") != "text/plain" {
			t.Fatalf("into: %v %d %v", err, status, into)
		}
	}
}

func TestBadFrames(t *testing.T) {
	good := responseFrame(200, [][2]string{{"A", "b"}}, []byte("body"))
	prefix := func(hl uint32, bl uint64) []byte {
		b := make([]byte, framePrefixLen)
		binary.BigEndian.PutUint32(b, hl)
		binary.BigEndian.PutUint64(b[4:], bl)
		return b
	}
	cases := map[string][]byte{
		"head too long":     prefix(maxFrameHead+1, 0),
		"body too long":     prefix(0, maxFrameBody+1),
		"max body, no data": prefix(0, maxFrameBody),
		"max head, no data": prefix(maxFrameHead, 0),
		"HTTP":              []byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"),
		"empty head":        prefix(0, 0),
	}
	for i := 0; i < len(good); i++ {
		cases[fmt.Sprintf("truncated at %d", i)] = good[:i]
	}
	for name, f := range cases {
		var scratch []byte
		head, _, err := readFrame(bufio.NewReader(bytes.NewReader(f)), &scratch, maxFrameHead, maxFrameBody)
		if err == nil {
			_, _, err = parseResponseHead(head, nil)
		}
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for _, head := range [][]byte{{}, {99}, {0xe8, 0x07}, {200, 1, 1, 'a'}, {200, 1, 5, 'a'}, {200, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}} {
		if _, _, err := parseResponseHead(head, nil); err == nil {
			t.Errorf("head %q: no error", head)
		}
	}
}

// FuzzFrame feeds arbitrary bytes to the response frame decoder: it returns an error or an answer, never panics,
// and allocates in proportion to its input, not to the lengths the input announces.
func FuzzFrame(f *testing.F) {
	f.Add(responseFrame(200, [][2]string{{"Content-Type", "application/json"}, {"A", "1"}, {"a", "2"}}, []byte(`{}`)))
	f.Add(responseFrame(204, nil, nil))
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\n"))
	f.Add(make([]byte, framePrefixLen))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReader(bytes.NewReader(in))
		var scratch []byte
		for {
			head, body, err := readFrame(br, &scratch, 1<<20, 1<<30)
			if err != nil {
				return
			}
			if cap(scratch) > 2*len(in)+(1<<20) || len(body) > len(in) {
				t.Fatalf("allocated %d+%d bytes for %d bytes of input", cap(scratch), len(body), len(in))
			}
			status, h, err := parseResponseHead(head, http.Header{})
			if err != nil {
				continue
			}
			if status < 100 || status > 999 || h == nil {
				t.Fatalf("status %d, header %v", status, h)
			}
		}
	})
}
