package fn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The frame protocol: a compact binary form of HTTP/1.1 that the Lapis host speaks to the worker on its
// Unix-domain socket, so that neither side formats or parses HTTP text. It carries exactly what HTTP does
// between them: one request and then its answer at a time on a connection, several connections for concurrency.
//
// A connection that starts with framePreamble speaks frames; any other is served as HTTP/1.1 (the host falls
// back to HTTP when the worker answers its preamble with anything but the preamble: an SDK that predates frames
// answers 400 Bad Request). The worker writes the preamble before its first answer. Then each message is a frame:
//
//	head length   4 bytes, big-endian
//	body length   8 bytes, big-endian
//	head          strings, each a uvarint length and its bytes:
//	              request:  method, request URI, Host, then header name and value pairs
//	              response: the status as a uvarint, then header name and value pairs
//	body
//
// A header with several values is one pair per value, in order. The connection closing is the end: the host
// closes it to abandon a request (which cancels the request's context), and the worker's exit closes it.
const (
	framePreamble  = "LAPIS-FRAMES/1\r\n"
	framePrefixLen = 12
	// maxFrameHead bounds a frame's head (the request line and headers); net/http allows 1 MB of headers.
	maxFrameHead = 16 << 20
	// maxFrameBody bounds a frame's body. Bodies are read as their bytes arrive, so a length the data does not
	// back cannot allocate much memory.
	maxFrameBody = 1 << 40
)

// EnvWorkerProtocol, set to "http", makes the worker serve only HTTP/1.1 on its socket, as SDKs did before the
// frame protocol; the host then talks HTTP to it. It is for diagnosing the host's transport.
const EnvWorkerProtocol = "LAPIS_WORKER_PROTOCOL"

var (
	errFrameTooLarge = errors.New("fn: frame too large")
	errFrameHead     = errors.New("fn: malformed frame head")
)

// readFrame reads one frame: its head into *scratch (reused) and its body into a new slice. io.EOF means the
// connection ended cleanly between frames.
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

// countStrings checks that s is a sequence of length-prefixed strings and counts them.
func countStrings(s string) (int, bool) {
	n := 0
	for s != "" {
		var ok bool
		if _, s, ok = nextString(s); !ok {
			return 0, false
		}
		n++
	}
	return n, true
}

// parseHeader reads the name and value pairs of s (n strings, checked) into a header with canonical names.
func parseHeader(s string, n int) http.Header {
	h := make(http.Header, n/2)
	vals := make([]string, n/2)
	for s != "" {
		k, rest, _ := nextString(s)
		v, rest, _ := nextString(rest)
		s = rest
		k = http.CanonicalHeaderKey(k)
		if vv, ok := h[k]; ok {
			h[k] = append(vv, v)
		} else {
			vals[0] = v
			h[k] = vals[:1:1]
			vals = vals[1:]
		}
	}
	return h
}

// frameRequest is a decoded request frame.
type frameRequest struct {
	method, uri, host string
	header            http.Header
	body              []byte
}

// parseRequestHead decodes a request frame's head.
func parseRequestHead(head []byte) (*frameRequest, error) {
	s := string(head)
	n, ok := countStrings(s)
	if !ok || n < 3 || (n-3)%2 != 0 {
		return nil, errFrameHead
	}
	r := &frameRequest{}
	r.method, s, _ = nextString(s)
	r.uri, s, _ = nextString(s)
	r.host, s, _ = nextString(s)
	r.header = parseHeader(s, n-3)
	return r, nil
}

// appendString appends s with its uvarint length.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// finishFrame fills in the prefix of a frame built in b (reserved framePrefixLen bytes at start) whose head ends
// at headEnd.
func finishFrame(b []byte, start, headEnd int) {
	binary.BigEndian.PutUint32(b[start:], uint32(headEnd-start-framePrefixLen))
	binary.BigEndian.PutUint64(b[start+4:], uint64(len(b)-headEnd))
}

// frameServer serves frame connections: the socket's connections that start with the preamble.
type frameServer struct {
	app  *App
	base context.Context

	mu       sync.Mutex
	conns    map[*frameConn]struct{}
	closing  bool
	sweeping bool          // the sweeper runs
	drained  chan struct{} // closed when closing and the last connection ends
}

func newFrameServer(a *App, base context.Context) *frameServer {
	return &frameServer{app: a, base: base, conns: map[*frameConn]struct{}{}, drained: make(chan struct{})}
}

// frameConn is one connection. Requests are served on its goroutine, one at a time. A request that runs longer
// than about watchDelay gets a watcher, a goroutine that reads the connection so that the host closing it
// (abandoning the request) cancels the request's context; quick requests, the most, need no second goroutine.
type frameConn struct {
	nc     net.Conn
	br     *bufio.Reader
	remote string
	srv    *frameServer

	// Guarded by srv.mu.
	active    bool               // a request is being served
	wstate    int                // watchIdle, watchArmed, watchOn
	seq, seen uint64             // requests served; seq as the sweeper last saw it
	cancel    context.CancelFunc // the request in flight's
	watchDone chan struct{}      // closed when the watcher ends

	scratch  []byte // frame heads
	out      []byte // answers
	preamble bool   // the preamble was written
}

// The watcher's states.
const (
	watchIdle  = iota // no request in flight
	watchArmed        // a request is in flight; the sweeper may start the watcher
	watchOn           // the watcher reads the connection
)

// watchDelay is the period of the sweeper, which runs while requests are in flight and starts the watcher of a
// request it sees twice: a request is watched after 2 to 4 ms.
const watchDelay = 2 * time.Millisecond

// aLongTimeAgo is a deadline in the past, to interrupt the watcher's read.
var aLongTimeAgo = time.Unix(1, 0)

// sniff reads the start of a connection accepted on the socket: a frame connection is served here, any other is
// handed to the HTTP server.
func (l *sniffListener) sniff(nc net.Conn) {
	br := bufio.NewReaderSize(nc, 4096)
	if p, err := br.Peek(1); err == nil && p[0] == framePreamble[0] {
		if p, err := br.Peek(len(framePreamble)); err == nil && string(p) == framePreamble {
			br.Discard(len(framePreamble))
			l.frames.serveConn(nc, br)
			return
		}
	}
	select {
	case l.http <- &peekedConn{Conn: nc, r: br}:
	case <-l.closed:
		nc.Close()
	}
}

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (s *frameServer) serveConn(nc net.Conn, br *bufio.Reader) {
	c := &frameConn{nc: nc, br: br, srv: s}
	if a := nc.RemoteAddr(); a != nil {
		c.remote = a.String()
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		nc.Close()
		s.mu.Lock()
		delete(s.conns, c)
		if s.closing && len(s.conns) == 0 {
			close(s.drained)
		}
		s.mu.Unlock()
	}()
	for {
		head, body, err := readFrame(br, &c.scratch, maxFrameHead, maxFrameBody)
		var r *frameRequest
		if err == nil {
			r, err = parseRequestHead(head)
		}
		if err != nil {
			return // the host closed the connection, or broke the protocol
		}
		r.body = body
		ok := c.serve(r)
		s.mu.Lock()
		c.active = false
		if s.closing {
			ok = false
		}
		s.mu.Unlock()
		if !ok {
			return
		}
	}
}

// serve serves one request and writes its answer. It reports whether the connection can go on.
func (c *frameConn) serve(fr *frameRequest) bool {
	w, ok := c.run(fr)
	return ok && w.finish() == nil
}

// run runs the handler. A panic ends the connection, as in net/http.
func (c *frameConn) run(fr *frameRequest) (w *frameWriter, ok bool) {
	s := c.srv
	ctx, cancel := context.WithCancel(s.base)
	s.mu.Lock()
	c.active = true
	c.cancel = cancel
	c.wstate = watchArmed
	c.seq++
	if !s.sweeping {
		s.sweeping = true
		go s.sweep()
	}
	s.mu.Unlock()
	w = &frameWriter{c: c, header: http.Header{}, clen: -1, head: fr.method == http.MethodHead}
	defer func() {
		c.unwatch()
		cancel()
		if p := recover(); p != nil {
			w.done = true
			if p != http.ErrAbortHandler {
				fmt.Fprintf(s.app.errOut, "fn: panic serving %s %s: %v\n%s", fr.method, fr.uri, p, debug.Stack())
			}
			ok = false
		}
	}()
	r, err := c.request(ctx, fr)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error(), nil)
	} else {
		s.app.ServeHTTP(w, r)
	}
	return w, true
}

// sweep runs while requests are in flight: every watchDelay it starts the watcher of each request it saw in
// flight the time before.
func (s *frameServer) sweep() {
	for {
		time.Sleep(watchDelay)
		s.mu.Lock()
		busy := false
		for c := range s.conns {
			if c.wstate != watchArmed {
				continue
			}
			busy = true
			if c.seq == c.seen {
				c.wstate = watchOn
				c.watchDone = make(chan struct{})
				go c.watch(c.cancel, c.watchDone)
			}
			c.seen = c.seq
		}
		if !busy {
			s.sweeping = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// watch reads the connection while a request is in flight: the host closing it cancels the request. The host
// sends nothing else before it has the answer.
func (c *frameConn) watch(cancel context.CancelFunc, done chan struct{}) {
	defer close(done)
	if _, err := c.br.Peek(1); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		cancel()
	}
}

// unwatch stops the watcher, if it runs, before the connection is used again.
func (c *frameConn) unwatch() {
	s := c.srv
	s.mu.Lock()
	st, done := c.wstate, c.watchDone
	c.wstate, c.watchDone, c.cancel = watchIdle, nil, nil
	s.mu.Unlock()
	if st == watchOn {
		c.nc.SetReadDeadline(aLongTimeAgo)
		<-done
		c.nc.SetReadDeadline(time.Time{})
	}
}

type frameBody struct{ bytes.Reader }

func (*frameBody) Close() error { return nil }

// request builds the *http.Request of a request frame, as net/http's server would.
func (c *frameConn) request(ctx context.Context, fr *frameRequest) (*http.Request, error) {
	if fr.method == "" || strings.ContainsAny(fr.method, " \t\r\n") {
		return nil, fmt.Errorf("invalid method %q", fr.method)
	}
	u, err := url.ParseRequestURI(fr.uri)
	if err != nil {
		return nil, fmt.Errorf("invalid request URI %q", fr.uri)
	}
	host := fr.host
	if host == "" {
		host = "localhost"
	}
	r := &http.Request{
		Method:        fr.method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        fr.header,
		Body:          http.NoBody,
		ContentLength: int64(len(fr.body)),
		Host:          host,
		RemoteAddr:    c.remote,
		RequestURI:    fr.uri,
	}
	if len(fr.body) > 0 {
		b := &frameBody{}
		b.Reset(fr.body)
		r.Body = b
	}
	return r.WithContext(ctx), nil
}

// frameWriter is the http.ResponseWriter of a frame request: it buffers the whole answer and writes it as one
// frame when the handler returns.
type frameWriter struct {
	c       *frameConn
	header  http.Header
	status  int // 0 until the header is written
	head    bool
	start   int   // where the frame starts in c.out
	headEnd int   // where its head ends
	clen    int64 // the Content-Length the handler declared, or -1
	written int64
	done    bool
}

var errWriteAfterReturn = errors.New("fn: write after the handler returned")

func (w *frameWriter) Header() http.Header { return w.header }

func (w *frameWriter) WriteHeader(code int) {
	if w.status != 0 || w.done {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return // informational answers are not forwarded
	}
	w.commit(code)
}

// commit writes the status and the headers into the frame's head.
func (w *frameWriter) commit(code int) {
	w.status = code
	c := w.c
	if !c.preamble {
		c.out = append(c.out[:0], framePreamble...)
	} else {
		c.out = c.out[:0]
	}
	w.start = len(c.out)
	b := append(c.out, make([]byte, framePrefixLen)...)
	b = binary.AppendUvarint(b, uint64(code))
	for k, vs := range w.header {
		if k == "Trailer" || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		for _, v := range vs {
			b = appendString(b, k)
			b = appendString(b, v)
		}
	}
	w.headEnd = len(b)
	c.out = b
	if vs := w.header["Content-Length"]; len(vs) == 1 {
		if n, err := strconv.ParseInt(vs[0], 10, 64); err == nil && n >= 0 {
			w.clen = n
		}
	}
}

func (w *frameWriter) bodyAllowed() bool {
	s := w.status
	return !(s >= 100 && s <= 199 || s == http.StatusNoContent || s == http.StatusNotModified)
}

func (w *frameWriter) Write(p []byte) (int, error) {
	if err := w.prepare(len(p)); err != nil || w.head {
		return len(p) * btoi(err == nil), err
	}
	w.c.out = append(w.c.out, p...)
	w.written += int64(len(p))
	return len(p), nil
}

func (w *frameWriter) WriteString(s string) (int, error) {
	if err := w.prepare(len(s)); err != nil || w.head {
		return len(s) * btoi(err == nil), err
	}
	w.c.out = append(w.c.out, s...)
	w.written += int64(len(s))
	return len(s), nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (w *frameWriter) prepare(n int) error {
	if w.done {
		return errWriteAfterReturn
	}
	if w.status == 0 {
		w.commit(http.StatusOK)
	}
	if !w.bodyAllowed() {
		return http.ErrBodyNotAllowed
	}
	if w.clen >= 0 && w.written+int64(n) > w.clen {
		return http.ErrContentLength
	}
	return nil
}

// Flush commits the status and headers; the body is sent whole when the handler returns.
func (w *frameWriter) Flush() {
	if w.status == 0 && !w.done {
		w.commit(http.StatusOK)
	}
}

// finish writes the answer.
func (w *frameWriter) finish() error {
	if w.status == 0 {
		w.commit(http.StatusOK)
	}
	w.done = true
	c := w.c
	finishFrame(c.out, w.start, w.headEnd)
	_, err := c.nc.Write(c.out)
	c.preamble = true
	if cap(c.out) > 64<<10 {
		c.out = nil // do not keep a large answer's buffer
	}
	return err
}

// shutdown stops serving frame connections: idle ones close now, busy ones after their answer. It returns when
// all are closed, or with ctx's error.
func (s *frameServer) shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		if len(s.conns) == 0 {
			close(s.drained)
		}
	}
	for c := range s.conns {
		if !c.active {
			c.nc.Close()
		}
	}
	s.mu.Unlock()
	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close closes every frame connection now.
func (s *frameServer) close() {
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
}

// sniffListener accepts the socket's connections, serves frame connections itself and passes the others on to
// the HTTP server, for which it is the listener.
type sniffListener struct {
	net.Listener
	frames *frameServer
	http   chan net.Conn
	errc   chan error
	once   sync.Once
	closed chan struct{}
}

func newSniffListener(ln net.Listener, fs *frameServer) *sniffListener {
	l := &sniffListener{Listener: ln, frames: fs, http: make(chan net.Conn), errc: make(chan error, 1), closed: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *sniffListener) acceptLoop() {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.errc <- err
			return
		}
		go l.sniff(nc)
	}
}

// Accept returns the next HTTP connection.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.http:
		return c, nil
	case err := <-l.errc:
		l.errc <- err
		return nil, err
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *sniffListener) Close() error {
	err := net.ErrClosed
	l.once.Do(func() {
		close(l.closed)
		err = l.Listener.Close()
	})
	return err
}
