package host

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
)

// The frame protocol between the host and a Go SDK worker on its Unix-domain socket: HTTP/1.1's messages in a
// compact binary form, so that neither side formats or parses HTTP text. See the package documentation, and
// sdk/fn/frames.go for the worker's side.
//
// A connection starts with framePreamble from the host; the worker answers it with the same preamble before its
// first answer, or, if it predates frames, with an HTTP 400. Then each message is a frame:
//
//	head length   4 bytes, big-endian
//	body length   8 bytes, big-endian
//	head          strings, each a uvarint length and its bytes:
//	              request:  method, request URI, Host, then header name and value pairs
//	              response: the status as a uvarint, then header name and value pairs
//	body
const (
	framePreamble  = "LAPIS-FRAMES/1\r\n"
	framePrefixLen = 12
	// maxFrameHead bounds a frame's head.
	maxFrameHead = 16 << 20
	// maxFrameBody bounds a frame's body. Bodies are read as their bytes arrive, so a length the data does not
	// back cannot allocate much memory.
	maxFrameBody = 1 << 40
)

var (
	errFrameTooLarge = errors.New("frame too large")
	errFrameHead     = errors.New("malformed frame head")
	// errNotFrames: the worker answered the preamble with something else; it speaks HTTP only.
	errNotFrames = errors.New("the worker does not speak frames")
)

// appendString appends s with its uvarint length.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendRequestHead appends the head of o's request frame, with the same headers as writeRequest.
func appendRequestHead(b []byte, o *outbound) []byte {
	b = appendString(b, o.method)
	b = appendString(b, o.uri)
	if o.host != "" && validValue(o.host) {
		b = appendString(b, o.host)
	} else {
		b = appendString(b, "localhost")
	}
	if o.header != nil {
		for k, vs := range o.header {
			if notForwarded[k] || !validName(k) {
				continue
			}
			for _, v := range vs {
				if validValue(v) {
					b = appendString(b, k)
					b = appendString(b, v)
				}
			}
		}
	} else if o.ctype != "" {
		b = appendString(b, "Content-Type")
		b = appendString(b, o.ctype)
	}
	if o.fn != "" {
		b = appendString(b, "X-Lapis-Function")
		b = appendString(b, o.fn)
	}
	b = appendString(b, "X-Azure-Functions-Invocationid")
	b = appendString(b, o.id)
	b = appendString(b, "X-Azure-Functions-Hostversion")
	b = appendString(b, HostVersion)
	b = appendString(b, "User-Agent")
	b = appendString(b, userAgent)
	if len(o.body) > 0 || o.method == http.MethodPost || o.method == http.MethodPut || o.method == http.MethodPatch {
		var nb [20]byte
		n := strconv.AppendInt(nb[:0], int64(len(o.body)), 10)
		b = appendString(b, "Content-Length")
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
	}
	return b
}

// writeRequestFrame writes o as a request frame; scratch is reused for its head.
func writeRequestFrame(w *bufio.Writer, o *outbound, scratch *[]byte) {
	b := append((*scratch)[:0], make([]byte, framePrefixLen)...)
	b = appendRequestHead(b, o)
	binary.BigEndian.PutUint32(b, uint32(len(b)-framePrefixLen))
	binary.BigEndian.PutUint64(b[4:], uint64(len(o.body)))
	w.Write(b)
	w.Write(o.body)
	*scratch = b[:0]
}

// readFrame reads one frame: its head into *scratch (reused) and its body into a new slice.
func readFrame(r *bufio.Reader, scratch *[]byte, maxHead int, maxBody int64) (head, body []byte, err error) {
	var prefix [framePrefixLen]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, nil, err
	}
	hl := binary.BigEndian.Uint32(prefix[:4])
	bl := binary.BigEndian.Uint64(prefix[4:])
	if uint64(hl) > uint64(maxHead) || bl > uint64(maxBody) {
		return nil, nil, errFrameTooLarge
	}
	head, err = readN(r, (*scratch)[:0], int(hl))
	*scratch = head[:0]
	if err != nil {
		return nil, nil, noEOF(err)
	}
	if bl > 0 {
		if body, err = readN(r, nil, int(bl)); err != nil {
			return nil, nil, noEOF(err)
		}
	}
	return head, body, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readN reads n bytes into buf's capacity. Beyond 1 MiB it grows buf as the bytes arrive, so that memory follows
// the data rather than the length announced.
func readN(r io.Reader, buf []byte, n int) ([]byte, error) {
	const chunk = 1 << 20
	if n <= cap(buf) || n <= chunk {
		if n > cap(buf) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		_, err := io.ReadFull(r, buf)
		return buf, err
	}
	buf = buf[:0]
	for len(buf) < n {
		step := min(n-len(buf), max(len(buf), chunk))
		buf = slices.Grow(buf, step)
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// uvarint decodes a uvarint at the start of s, returning its value and length (0 if s holds none).
func uvarint(s string) (uint64, int) {
	var v uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			return 0, 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// nextString takes the next length-prefixed string from s.
func nextString(s string) (v, rest string, ok bool) {
	n, k := uvarint(s)
	if k == 0 || n > uint64(len(s)-k) {
		return "", "", false
	}
	return s[k : k+int(n)], s[k+int(n):], true
}

// parseResponseHead decodes a response frame's head: the status and the headers, with canonical names. With into
// not nil, the headers are added to it, except hop-by-hop ones, and into is returned.
func parseResponseHead(head []byte, into http.Header) (int, http.Header, error) {
	s := string(head)
	status, k := uvarint(s)
	if k == 0 || status < 100 || status > 999 {
		return 0, nil, errFrameHead
	}
	s = s[k:]
	n := 0
	for rest := s; rest != ""; n++ {
		var ok bool
		if _, rest, ok = nextString(rest); !ok {
			return 0, nil, errFrameHead
		}
	}
	if n%2 != 0 {
		return 0, nil, errFrameHead
	}
	h := into
	if h == nil {
		h = make(http.Header, n/2)
	}
	vals := make([]string, n/2)
	for s != "" {
		k, rest, _ := nextString(s)
		v, rest, _ := nextString(rest)
		s = rest
		k = http.CanonicalHeaderKey(k)
		if into != nil && hopByHop[k] {
			continue
		}
		if vv, ok := h[k]; ok {
			h[k] = append(vv, v)
		} else {
			vals[0] = v
			h[k] = vals[:1:1]
			vals = vals[1:]
		}
	}
	return int(status), h, nil
}

// hopByHop are the headers of a worker's answer that are not passed on.
var hopByHop = map[string]bool{"Connection": true, "Transfer-Encoding": true, "Content-Length": true, "Keep-Alive": true}
