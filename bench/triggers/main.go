// Command triggers measures the storage triggers end to end on a running platform: the throughput of a
// queue-triggered no-op function (messages/s from the app's start until the queue is drained) and the latency
// from a blob upload being acknowledged to the blob-triggered function starting (p50/p99).
//
//	go run ./bench/triggers -n 20000 -blobs 200
//
// The platform runs in this process; the app is a Go SDK app deployed by zip to a Consumption function app, as a
// user would deploy it. Messages are put in process before the app starts, so the figure is the trigger's rate,
// not the producer's.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lapisdev/lapis/bench/internal/load"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/sdkdist"
	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/queue"
)

const mainGo = `package main

import (
	"time"

	"github.com/lapisdev/lapis/sdk/fn"
)

func main() {
	app := fn.NewApp()
	app.Queue("noop", "bench-in", func(ctx *fn.Context, msg fn.QueueMessage) error { return nil },
		fn.Connection("BenchStorage"))
	app.Blob("onblob", "bench-blobs/{name}", func(ctx *fn.Context, blob fn.BlobInfo) error {
		ctx.SetOutput("lat", map[string]any{"name": blob.Name, "started": time.Now().UnixNano()})
		return nil
	}, fn.Connection("BenchStorage"), fn.QueueOutput("lat", "bench-latency", fn.Connection("BenchStorage")))
	app.Run()
}
`

const hostJSON = `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "app"}, "enableForwardingHttpRequest": true},
 "extensions": {"queues": {"batchSize": 32, "newBatchThreshold": 16}}}`

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "triggers:", err)
		os.Exit(1)
	}
}

func main() {
	n := flag.Int("n", 20000, "queue messages to process")
	blobs := flag.Int("blobs", 200, "blobs to upload, one at a time, for the latency figure")
	verbose := flag.Bool("v", false, "print the platform's log on stderr")
	flag.Parse()

	dir, err := os.MkdirTemp("", "lapis-bench-triggers")
	check(err)
	defer os.RemoveAll(dir)
	check(os.Setenv("XDG_CONFIG_HOME", dir))

	cfg := platform.Defaults()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Ports = platform.Ports{}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := platform.Start(ctx, cfg)
	check(err)
	defer func() { cancel(); srv.Wait() }()
	info := srv.Info()
	token, err := platform.ReadAdminKey(cfg.DataDir)
	check(err)
	for !ready(info.Management) {
		time.Sleep(10 * time.Millisecond)
	}
	qs := srv.Service("queue").(*queue.Service)

	pkg := buildApp(dir)
	conn := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s/%s;QueueEndpoint=%s/%s",
		account.DevAccount, account.DevKey, info.Endpoints["blob"], account.DevAccount, info.Endpoints["queue"], account.DevAccount)
	m := mgmt{base: info.Management + "/subscriptions/" + info.Subscription, token: token}
	m.call("PUT", "/resourceGroups/bench?api-version=2021-04-01", `{"location":"westeurope"}`)
	site := "/resourceGroups/bench/providers/Microsoft.Web/sites/bench-app"
	m.call("PUT", site+"?api-version=2024-04-01", fmt.Sprintf(`{"location":"westeurope","kind":"functionapp,linux",
		"properties":{"siteConfig":{"appSettings":[{"name":"BenchStorage","value":%q}]}}}`, conn))
	for _, q := range []string{"bench-in", "bench-latency"} {
		_, err := qs.CreateQueue(ctx, account.DevAccount, q, nil)
		check(err)
	}

	// Queue: fill while the app is stopped, then start it and time the drain.
	m.call("POST", site+"/stop?api-version=2024-04-01", "")
	m.deploy(site, pkg)
	load.Run(*n, 8, func(i int) {
		_, err := qs.Put(ctx, account.DevAccount, "bench-in", fmt.Sprintf(`{"i":%d}`, i), 0, time.Hour)
		check(err)
	})
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	m.call("POST", site+"/start?api-version=2024-04-01", "")
	for {
		q, err := qs.GetQueue(ctx, account.DevAccount, "bench-in")
		check(err)
		if q.ApproximateMessages == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	fmt.Printf("triggers: %d queue messages, %d blobs, GOMAXPROCS %d\n", *n, *blobs, runtime.GOMAXPROCS(0))
	fmt.Printf("queue trigger, no-op function: %.0f messages/s end to end (%d in %s, app start included; goal >= 10000/s)\n",
		float64(*n)/elapsed.Seconds(), *n, elapsed.Round(time.Millisecond))

	// Blob: upload one at a time; the function reports when it started through a queue output.
	lat := blobLatency(ctx, conn, qs, *blobs)
	slices.Sort(lat)
	fmt.Printf("blob upload -> function start: p50 %.1f ms  p99 %.1f ms  max %.1f ms (goal p50 < 50 ms)\n",
		load.Pct(lat, 50), load.Pct(lat, 99), load.MS(lat[len(lat)-1]))
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Printf("platform heap in use after the run: %.1f MB\n", float64(after.HeapInuse)/(1<<20))
}

func ready(mgmt string) bool {
	resp, err := http.Get(mgmt + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

type mgmt struct{ base, token string }

func (m mgmt) do(method, path string, body io.Reader, ctype string) []byte {
	req, err := http.NewRequest(method, m.base+path, body)
	check(err)
	req.Header.Set("Authorization", "Bearer "+m.token)
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	check(err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		check(fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b))
	}
	return b
}

func (m mgmt) call(method, path, body string) []byte {
	return m.do(method, path, strings.NewReader(body), "application/json")
}

func (m mgmt) deploy(site string, pkg []byte) {
	m.do("POST", site+"/extensions/zipdeploy?api-version=2024-04-01", bytes.NewReader(pkg), "application/zip")
}

// buildApp builds the bench app with the SDK the binary carries and zips it.
func buildApp(dir string) []byte {
	app := filepath.Join(dir, "app")
	check(os.MkdirAll(app, 0o755))
	sdk, err := sdkdist.Install(filepath.Join(dir, "sdk"))
	check(err)
	check(os.WriteFile(filepath.Join(app, "go.mod"), []byte("module benchapp\n\ngo 1.26\n\nrequire github.com/lapisdev/lapis/sdk v0.0.0\n\nreplace github.com/lapisdev/lapis/sdk => "+sdk+"\n"), 0o644))
	check(os.WriteFile(filepath.Join(app, "main.go"), []byte(mainGo), 0o644))
	check(os.WriteFile(filepath.Join(app, "host.json"), []byte(hostJSON), 0o644))
	cmd := exec.Command("go", "build", "-o", "app", ".")
	cmd.Dir = app
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		check(fmt.Errorf("go build: %v\n%s", err, out))
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	check(filepath.WalkDir(app, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "go.mod") {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := zip.FileInfoHeader(fi)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(app, p)
		hdr.Name, hdr.Method = filepath.ToSlash(rel), zip.Deflate
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}))
	check(zw.Close())
	return buf.Bytes()
}

// blobLatency uploads n blobs one after another through the REST storage client and matches each with the
// function's report of when it started; the figure runs from the start of the upload to the function's start.
func blobLatency(ctx context.Context, conn string, qs *queue.Service, n int) []time.Duration {
	acct, err := storageclient.NewREST(storageclient.RESTOptions{}).Account(ctx, conn)
	check(err)
	check(acct.CreateContainer(ctx, "bench-blobs"))
	sent := map[string]time.Time{}
	var mu sync.Mutex
	var out []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(out) < n {
			msgs, err := qs.Receive(ctx, account.DevAccount, "bench-latency", 32, time.Minute)
			if err != nil {
				return
			}
			for _, m := range msgs {
				var r struct {
					Name    string
					Started int64
				}
				text := m.Text
				if b, err := base64.StdEncoding.DecodeString(text); err == nil {
					text = string(b)
				}
				if json.Unmarshal([]byte(text), &r) == nil {
					mu.Lock()
					if t, ok := sent[path.Base(r.Name)]; ok { // the SDK's Name is container/blob
						out = append(out, time.Unix(0, r.Started).Sub(t))
					}
					mu.Unlock()
				}
				_ = qs.Delete(ctx, account.DevAccount, "bench-latency", m.ID, m.PopReceipt)
			}
		}
	}()
	for i := range n {
		name := fmt.Sprintf("b%05d.bin", i)
		mu.Lock()
		sent[name] = time.Now()
		mu.Unlock()
		check(acct.WriteBlob(ctx, "bench-blobs", name, []byte("hello"), "application/octet-stream"))
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		fmt.Fprintf(os.Stderr, "triggers: only %d of %d blob functions reported\n", len(out), n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(out) == 0 {
		check(fmt.Errorf("no blob function reported"))
	}
	return slices.Clone(out)
}
