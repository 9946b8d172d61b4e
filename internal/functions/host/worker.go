package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// tail keeps the last n bytes written to it.
type tail struct {
	mu  sync.Mutex
	n   int
	buf []byte
	// also, if not nil, receives every write (e.g. the host's log)
	also func([]byte)
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.n:]...)
	}
	t.mu.Unlock()
	if t.also != nil {
		t.also(p)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}

// worker is one running worker process.
type worker struct {
	id      string
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port (also over the socket: the worker ignores the host name)
	network string // "unix" when the worker answers on its socket (then sc is set), else "tcp" (then tr is used)
	sc      *sockClient
	stderr  *tail
	done    chan struct{} // closed when the process has exited
	exitErr error         // set before done is closed
	// tr keeps connections to this worker alive across invocations: the
	// default transport keeps only two per host, which under concurrent
	// load means a new connection for most calls.
	tr *http.Transport
	// gone is cancelled when the process has exited, so that invocations
	// in flight can fail at once without a goroutine each watching done.
	gone     context.Context
	markGone context.CancelFunc

	// Guarded by Host.mu.
	inflight  int       // invocations on this instance
	idleSince time.Time // when inflight last dropped to 0 (Options.Clock)
	started   time.Time // when it joined the pool (Options.Clock)

	// Resident memory, read at most once a second.
	memAt atomic.Int64 // UnixNano of the last read; 0: never
	mem   atomic.Int64
}

// exited reports whether the process has exited.
func (w *worker) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// memory returns the instance's resident memory in bytes, as of at most about a second ago; 0 when unknown.
func (w *worker) memory() int64 {
	now := time.Now().UnixNano()
	if at := w.memAt.Load(); at != 0 && now-at < int64(time.Second) {
		return w.mem.Load()
	}
	w.memAt.Store(now)
	if m := residentMemory(w.cmd.Process.Pid); m > 0 {
		w.mem.Store(m)
	}
	return w.mem.Load()
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	var s [36]byte
	hex.Encode(s[0:8], b[:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// exitReason describes how the worker ended.
func (w *worker) exitReason() string {
	if w.exitErr == nil {
		return "exited (exit status 0)"
	}
	return "exited (" + w.exitErr.Error() + ")"
}

func (w *worker) stderrTail() string {
	s := w.stderr.String()
	if s == "" {
		return "(no output on stderr)"
	}
	return s
}

// EnvWorkerSocket is the variable that offers a worker a Unix-domain socket to listen on instead of its port; the
// Go SDK does, other custom handlers ignore it. The host talks to the worker over whichever it answers on.
const EnvWorkerSocket = "LAPIS_WORKER_SOCKET"

// maxSocketPath keeps a socket path within every platform's sun_path limit.
const maxSocketPath = 100

func newTransport() *http.Transport {
	return &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
}

// startWorker starts the worker process and waits until it answers GET /, on its socket or its port.
func (h *Host) startWorker(ctx context.Context) (*worker, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("functions host: finding a port for the worker: %w", err)
	}
	w := &worker{id: newID(), base: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{}), tr: newTransport()}
	w.gone, w.markGone = context.WithCancel(context.Background())
	w.stderr = &tail{n: 4096, also: func(p []byte) { h.workerOutput("stderr", p) }}
	cmd := exec.Command(h.exe, h.args...)
	cmd.Dir = h.workDir
	cmd.Env = append(h.env(),
		"FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port),
		"FUNCTIONS_CUSTOMHANDLER_WORKER_ID="+w.id,
	)
	var sockDir string
	var unix *sockClient
	if d, err := os.MkdirTemp("", "lapis-w"); err == nil {
		sockDir = d
		if path := filepath.Join(d, "w.sock"); len(path) <= maxSocketPath {
			cmd.Env = append(cmd.Env, EnvWorkerSocket+"="+path)
			unix = &sockClient{path: path}
		}
	}
	cmd.Stdout = &tail{n: 1024, also: func(p []byte) { h.workerOutput("stdout", p) }}
	cmd.Stderr = w.stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		if sockDir != "" {
			os.RemoveAll(sockDir)
		}
		return nil, fmt.Errorf("functions host: starting worker %s: %w", h.exe, err)
	}
	w.cmd = cmd
	tcp := w.tr
	go func() {
		w.exitErr = cmd.Wait()
		tcp.CloseIdleConnections()
		if unix != nil {
			unix.close()
		}
		if sockDir != "" {
			os.RemoveAll(sockDir)
		}
		w.markGone()
		close(w.done)
	}()

	timeout := h.opts.StartTimeout
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// Poll often at first: most workers are ready within a few milliseconds, and the wait is a cold start.
	wait := time.Millisecond
	tick := time.NewTimer(wait)
	defer tick.Stop()
	probeSocket := func() bool {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return unix.probe(pctx, time.Now().Add(time.Second)) == nil
	}
	probe := func(tr *http.Transport) bool {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(pctx, http.MethodGet, w.base+"/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		// Any HTTP answer counts as ready, as in Azure, unless it came from another process that took the port
		// first (where the system can tell).
		if owned, known := portOwner(cmd.Process.Pid, port); known && !owned {
			h.log.Warn("another process answers on the worker's port; waiting for the worker", "app", h.opts.Name, "port", port)
			return false
		}
		return true
	}
	for {
		if unix != nil && probeSocket() {
			w.sc, w.network = unix, "unix"
			return w, nil
		}
		if probe(tcp) {
			w.network = "tcp"
			return w, nil
		}
		select {
		case <-w.done:
			return nil, fmt.Errorf("functions host: worker %s %s before it was ready; stderr: %s", h.exe, w.exitReason(), w.stderrTail())
		case <-deadline.C:
			w.kill()
			return nil, fmt.Errorf("functions host: worker %s did not answer on %s within %s; stderr: %s", h.exe, w.base, timeout, w.stderrTail())
		case <-ctx.Done():
			w.kill()
			return nil, ctx.Err()
		case <-tick.C:
			wait = min(wait*3/2, 10*time.Millisecond)
			tick.Reset(wait)
		}
	}
}

// protocol names how the host talks to w: "frames" (a Go SDK worker on its socket) or "http".
func (w *worker) protocol() string {
	if w.sc != nil && w.sc.frames {
		return "frames"
	}
	return "http"
}

// kill stops the process and waits for it to exit.
func (w *worker) kill() {
	if w.cmd.Process != nil {
		_ = w.cmd.Process.Kill()
	}
	<-w.done
}

// stop asks the process to stop (SIGTERM where supported), then kills it after grace.
func (w *worker) stop(grace time.Duration) {
	if w.cmd.Process != nil {
		if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
			_ = w.cmd.Process.Kill()
		}
	}
	select {
	case <-w.done:
	case <-time.After(grace):
		w.kill()
	}
}

// resolveExecutable finds the worker executable: relative to the app root if it exists there, else on PATH.
func resolveExecutable(root, p string) (string, error) {
	if filepath.IsAbs(p) {
		return p, nil
	}
	cand := filepath.Join(root, p)
	if st, err := os.Stat(cand); err == nil && !st.IsDir() {
		return cand, nil
	}
	if st, err := os.Stat(cand + ".exe"); err == nil && !st.IsDir() {
		return cand + ".exe", nil
	}
	lp, err := exec.LookPath(p)
	if err != nil {
		return "", fmt.Errorf("functions host: customHandler.description.defaultExecutablePath %q is neither a file in the app (%s) nor on PATH", p, root)
	}
	return lp, nil
}

var errWorkerGone = errors.New("worker process exited")
