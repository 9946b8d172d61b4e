package host

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// outbound is a request to a worker.
type outbound struct {
	method string
	uri    string      // path and query
	host   string      // Host header; "" for the worker's address
	header http.Header // a forwarded request's headers (read only), or nil
	ctype  string      // Content-Type, when header is nil
	fn     string      // X-Lapis-Function, for a forwarded request
	id     string      // X-Azure-Functions-InvocationId
	body   []byte
	// into, if not nil, receives the headers of a frame answer (but hop-by-hop ones), which sets intoDone.
	into     http.Header
	intoDone bool
}

// The headers the host sets itself, and hop-by-hop headers, which are not forwarded.
var notForwarded = map[string]bool{
	"Host": true, "Content-Length": true, "Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Transfer-Encoding": true, "Te": true, "Trailer": true, "Upgrade": true, "Expect": true,
	"X-Azure-Functions-Invocationid": true, "X-Azure-Functions-Hostversion": true, "User-Agent": true,
	"X-Lapis-Function": true,
}

// httpRequest builds o as a net/http request for base (http://host:port), for http.Transport.
func (o *outbound) httpRequest(ctx context.Context, base string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, o.method, base+o.uri, bytes.NewReader(o.body))
	if err != nil {
		return nil, err
	}
	if len(o.body) == 0 {
		req.Body, req.GetBody = http.NoBody, nil
	}
	if o.header != nil {
		req.Header = make(http.Header, len(o.header)+4)
		for k, v := range o.header {
			if !notForwarded[k] {
				req.Header[k] = v
			}
		}
	} else if o.ctype != "" {
		req.Header.Set("Content-Type", o.ctype)
	}
	if o.host != "" {
		req.Host = o.host
	}
	if o.fn != "" {
		req.Header.Set("X-Lapis-Function", o.fn)
	}
	req.Header.Set("X-Azure-Functions-InvocationId", o.id)
	req.Header.Set("X-Azure-Functions-HostVersion", HostVersion)
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

const userAgent = "Azure-Functions-Host/" + HostVersion

// sockClient is an HTTP/1.1 client for a Go SDK worker on its Unix-domain socket. A call writes the request and
// reads the answer on the calling goroutine, over a kept-alive connection: net/http's Transport hands each request
// to two goroutines of the connection, which costs more than the rest of the hop. The SDK's server never closes
// an idle connection, so a connection that fails was not stale: the worker is gone, or it broke the protocol.
type sockClient struct {
	path string
	// frames: the worker speaks the frame protocol (see frames.go); set by probe before the worker takes
	// invocations.
	frames bool
	mu     sync.Mutex
	idle   []*sockConn
	closed bool
}

type sockConn struct {
	c       net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	fresh   bool   // no request was sent on it yet
	scratch []byte // frame heads
}

// maxIdleSockConns bounds the connections kept per worker.
const maxIdleSockConns = 256

func (s *sockClient) get(ctx context.Context) (*sockConn, error) {
	s.mu.Lock()
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()
	c, err := (&net.Dialer{}).DialContext(ctx, "unix", s.path)
	if err != nil {
		return nil, err
	}
	return &sockConn{c: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(c, 4096), fresh: true}, nil
}

func (s *sockClient) put(c *sockConn) {
	s.mu.Lock()
	if s.closed || len(s.idle) >= maxIdleSockConns {
		s.mu.Unlock()
		c.c.Close()
		return
	}
	s.idle = append(s.idle, c)
	s.mu.Unlock()
}

// close closes the idle connections, and those put back later.
func (s *sockClient) close() {
	s.mu.Lock()
	s.closed = true
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, c := range idle {
		c.c.Close()
	}
}

// longAgo is a deadline in the past, to interrupt a connection's I/O.
var longAgo = time.Unix(1, 0)

// methodRequests are what http.ReadResponse needs to know of a request (its method), shared.
var methodRequests sync.Map // method → *http.Request

func methodRequest(m string) *http.Request {
	if r, ok := methodRequests.Load(m); ok {
		return r.(*http.Request)
	}
	r, _ := methodRequests.LoadOrStore(m, &http.Request{Method: m})
	return r.(*http.Request)
}

// do sends o and reads the whole answer. The connection's I/O stops at deadline (if not zero) or when ctx ends,
// with an error wrapping os.ErrDeadlineExceeded.
func (s *sockClient) do(ctx context.Context, o *outbound, deadline time.Time) (int, http.Header, []byte, error) {
	c, err := s.get(ctx)
	if err != nil {
		return 0, nil, nil, err
	}
	_ = c.c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(longAgo) })
	reusable := false
	defer func() {
		if stop() && reusable {
			s.put(c)
		} else {
			c.c.Close()
		}
	}()
	if s.frames {
		status, hdr, body, err := c.roundTripFrame(o)
		reusable = err == nil
		return status, hdr, body, err
	}
	writeRequest(c.bw, o)
	if err := c.bw.Flush(); err != nil {
		return 0, nil, nil, err
	}
	req := methodRequest(o.method)
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			return 0, nil, nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		// An informational answer (100 Continue, 103 Early Hints) precedes the real one.
	}
	var body []byte
	switch n := resp.ContentLength; {
	case resp.Body == http.NoBody:
	case n >= 0 && n <= 64<<20:
		body = make([]byte, n)
		_, err = io.ReadFull(resp.Body, body)
	default:
		body, err = io.ReadAll(resp.Body)
	}
	resp.Body.Close()
	if err != nil {
		return 0, nil, nil, err
	}
	reusable = !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols
	return resp.StatusCode, resp.Header, body, nil
}

// writeRequest writes o as an HTTP/1.1 request with a Content-Length.
func writeRequest(w *bufio.Writer, o *outbound) {
	w.WriteString(o.method)
	w.WriteByte(' ')
	w.WriteString(o.uri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	if o.host != "" && validValue(o.host) {
		w.WriteString(o.host)
	} else {
		w.WriteString("localhost")
	}
	w.WriteString("\r\n")
	if o.header != nil {
		for k, vs := range o.header {
			if notForwarded[k] || !validName(k) {
				continue
			}
			for _, v := range vs {
				if validValue(v) {
					w.WriteString(k)
					w.WriteString(": ")
					w.WriteString(v)
					w.WriteString("\r\n")
				}
			}
		}
	} else if o.ctype != "" {
		w.WriteString("Content-Type: ")
		w.WriteString(o.ctype)
		w.WriteString("\r\n")
	}
	if o.fn != "" {
		w.WriteString("X-Lapis-Function: ")
		w.WriteString(o.fn)
		w.WriteString("\r\n")
	}
	w.WriteString("X-Azure-Functions-InvocationId: ")
	w.WriteString(o.id)
	w.WriteString("\r\nX-Azure-Functions-HostVersion: " + HostVersion + "\r\nUser-Agent: " + userAgent + "\r\n")
	if len(o.body) > 0 || o.method == http.MethodPost || o.method == http.MethodPut || o.method == http.MethodPatch {
		var buf [20]byte
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(buf[:0], int64(len(o.body)), 10))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	w.Write(o.body)
}

// validName reports whether s is an HTTP token (a header name).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validValue reports whether s can be written as a header value: no line breaks or other control characters but
// tab.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// roundTripFrame sends o as a request frame and reads the answer frame. On a new connection it sends the preamble
// first and checks the worker's: errNotFrames if the worker answers anything else.
func (c *sockConn) roundTripFrame(o *outbound) (int, http.Header, []byte, error) {
	fresh := c.fresh
	c.fresh = false
	if fresh {
		c.bw.WriteString(framePreamble)
	}
	writeRequestFrame(c.bw, o, &c.scratch)
	if err := c.bw.Flush(); err != nil {
		return 0, nil, nil, err
	}
	if fresh {
		p, err := c.br.Peek(len(framePreamble))
		if string(p) != framePreamble {
			if len(p) > 0 || errors.Is(err, os.ErrDeadlineExceeded) {
				err = errNotFrames
			}
			return 0, nil, nil, err
		}
		c.br.Discard(len(framePreamble))
	}
	head, body, err := readFrame(c.br, &c.scratch, maxFrameHead, maxFrameBody)
	if err != nil {
		return 0, nil, nil, err
	}
	status, hdr, err := parseResponseHead(head, o.into)
	if err != nil {
		return 0, nil, nil, err
	}
	o.intoDone = o.into != nil
	return status, hdr, body, nil
}

// probe checks that the worker answers GET / on its socket, learning whether it speaks frames: it tries the frame
// protocol, and HTTP if the worker answers the preamble with anything else.
func (s *sockClient) probe(ctx context.Context, deadline time.Time) error {
	s.frames = true
	_, _, _, err := s.do(ctx, &outbound{method: http.MethodGet, uri: "/"}, deadline)
	if err == nil || !errors.Is(err, errNotFrames) {
		return err
	}
	s.frames = false
	_, _, _, err = s.do(ctx, &outbound{method: http.MethodGet, uri: "/"}, deadline)
	return err
}
