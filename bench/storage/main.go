// Command storage runs one Blob and Queue workload against Lapis and
// against Azurite on the same machine, in one run, with the real Azure SDK
// clients, and prints both sets of figures and their ratios.
//
// Azurite is installed from npm into bench/storage/.azurite on first use
// (npm must be on the PATH); pass -azurite=false to measure Lapis alone.
//
//	go run ./bench/storage -n 2000 -c 8 -big 64
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/lapisdev/lapis/bench/internal/load"
)

const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	azuriteVer = "3.37.0"
)

func main() {
	n := flag.Int("n", 2000, "small operations per phase")
	conc := flag.Int("c", 8, "concurrent clients")
	bigMiB := flag.Int("big", 64, "size of the large blob, MiB")
	withAzurite := flag.Bool("azurite", true, "also run the workload against Azurite")
	flag.Parse()

	tmp, err := os.MkdirTemp("", "lapis-bench-storage")
	check(err)
	defer os.RemoveAll(tmp)

	targets := []*target{startLapis(tmp)}
	if *withAzurite {
		az, err := startAzurite(tmp)
		if err != nil {
			fmt.Fprintln(os.Stderr, "azurite not run:", err)
		} else {
			targets = append(targets, az)
		}
	}
	defer func() {
		for _, t := range targets {
			t.stop()
		}
	}()

	fmt.Printf("storage: %d small ops per phase, %d clients, %d MiB large blob\n", *n, *conc, *bigMiB)
	results := map[string]map[string]float64{}
	for _, t := range targets {
		results[t.name] = run(t, *n, *conc, *bigMiB)
	}
	if len(targets) == 2 {
		fmt.Println("ratio lapis/azurite (higher is better for Lapis):")
		for _, k := range []string{"1KiB PUT ops/s", "1KiB GET ops/s", "large upload MB/s", "large download MB/s", "queue put+get+delete msgs/s"} {
			fmt.Printf("  %-30s %6.2fx\n", k, results["lapis"][k]/results["azurite"][k])
		}
		fmt.Printf("  %-30s %6.2fx (lower is better for Lapis)\n", "peak RSS", results["lapis"]["peak RSS MB"]/results["azurite"]["peak RSS MB"])
	}
}

type target struct {
	name        string
	blob, queue string
	cmd         *exec.Cmd
}

func (t *target) stop() {
	if t.cmd != nil && t.cmd.Process != nil {
		_ = t.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { t.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.cmd.Process.Kill()
		}
	}
}

func (t *target) peakRSSMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", t.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startLapis(tmp string) *target {
	bin := filepath.Join(tmp, "lapis")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lapis")
	build.Stderr = os.Stderr
	check(build.Run())
	bp, qp := freePort(), freePort()
	cmd := exec.Command(bin, "start", "--data-dir", filepath.Join(tmp, "lapis-data"), "--management-port", "0",
		"--blob-port", strconv.Itoa(bp), "--queue-port", strconv.Itoa(qp), "--functions-port", "0", "--eventgrid-port", "0", "--cosmos-port", "0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+tmp)
	out, err := cmd.StdoutPipe()
	check(err)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "Ready in") {
	}
	go io.Copy(io.Discard, out)
	return &target{name: "lapis", cmd: cmd,
		blob:  fmt.Sprintf("http://127.0.0.1:%d/%s/", bp, devAccount),
		queue: fmt.Sprintf("http://127.0.0.1:%d/%s/", qp, devAccount)}
}

// startAzurite installs Azurite from npm (once) and starts it on loopback.
func startAzurite(tmp string) (*target, error) {
	dir, err := filepath.Abs(filepath.Join("bench", "storage", ".azurite"))
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "node_modules", ".bin", "azurite")
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintf(os.Stderr, "installing azurite@%s with npm into %s\n", azuriteVer, dir)
		inst := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "azurite@"+azuriteVer)
		inst.Stdout, inst.Stderr = os.Stderr, os.Stderr
		if err := inst.Run(); err != nil {
			return nil, fmt.Errorf("npm install azurite: %w", err)
		}
	}
	bp, qp := freePort(), freePort()
	cmd := exec.Command(bin, "--silent", "--skipApiVersionCheck", "--loose", "--location", filepath.Join(tmp, "azurite-data"),
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(bp), "--queueHost", "127.0.0.1", "--queuePort", strconv.Itoa(qp),
		"--tableHost", "127.0.0.1", "--tablePort", strconv.Itoa(freePort()))
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", qp)); err == nil {
			c.Close()
			return &target{name: "azurite", cmd: cmd,
				blob:  fmt.Sprintf("http://127.0.0.1:%d/%s/", bp, devAccount),
				queue: fmt.Sprintf("http://127.0.0.1:%d/%s/", qp, devAccount)}, nil
		}
	}
	cmd.Process.Kill()
	return nil, errors.New("azurite did not start in 30s")
}

var clientOpts = policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}

func run(t *target, n, conc, bigMiB int) map[string]float64 {
	ctx := context.Background()
	cred, err := azblob.NewSharedKeyCredential(devAccount, devKey)
	check(err)
	bc, err := azblob.NewClientWithSharedKeyCredential(t.blob, cred, &azblob.ClientOptions{ClientOptions: clientOpts})
	check(err)
	qcred, err := azqueue.NewSharedKeyCredential(devAccount, devKey)
	check(err)
	qs, err := azqueue.NewServiceClientWithSharedKeyCredential(t.queue, qcred, &azqueue.ClientOptions{ClientOptions: clientOpts})
	check(err)
	_, err = bc.CreateContainer(ctx, "bench", nil)
	check(err)
	out := map[string]float64{}
	report := func(name string, rate float64, lat []time.Duration, unit string) {
		out[name] = rate
		if lat != nil {
			fmt.Printf("%-8s %-30s %10.0f %-6s p50 %6.2f ms  p99 %6.2f ms\n", t.name, name, rate, unit, load.Pct(lat, 50), load.Pct(lat, 99))
		} else {
			fmt.Printf("%-8s %-30s %10.1f %s\n", t.name, name, rate, unit)
		}
	}

	small := make([]byte, 1024)
	_, _ = rand.Read(small)
	rate, lat := load.Run(n, conc, func(i int) {
		_, err := bc.UploadBuffer(ctx, "bench", fmt.Sprintf("small/%06d", i), small, nil)
		check(err)
	})
	report("1KiB PUT ops/s", rate, lat, "ops/s")
	rate, lat = load.Run(n, conc, func(i int) {
		buf := make([]byte, 1024)
		_, err := bc.DownloadBuffer(ctx, "bench", fmt.Sprintf("small/%06d", i), buf, nil)
		check(err)
	})
	report("1KiB GET ops/s", rate, lat, "ops/s")

	big := make([]byte, bigMiB<<20)
	_, _ = rand.Read(big)
	start := time.Now()
	_, err = bc.UploadStream(ctx, "bench", "big", bytes.NewReader(big), &azblob.UploadStreamOptions{BlockSize: 8 << 20, Concurrency: 4})
	check(err)
	report("large upload MB/s", float64(len(big))/(1<<20)/time.Since(start).Seconds(), nil, "MB/s")
	got := make([]byte, len(big))
	start = time.Now()
	_, err = bc.DownloadBuffer(ctx, "bench", "big", got, &azblob.DownloadBufferOptions{BlockSize: 8 << 20, Concurrency: 4})
	check(err)
	report("large download MB/s", float64(len(big))/(1<<20)/time.Since(start).Seconds(), nil, "MB/s")
	if !bytes.Equal(got, big) {
		check(errors.New("large download differs from the upload"))
	}

	_, err = qs.CreateQueue(ctx, "bench", nil)
	check(err)
	q := qs.NewQueueClient("bench")
	var done atomic.Int64
	rate, lat = load.Run(n, conc, func(i int) {
		_, err := q.EnqueueMessage(ctx, fmt.Sprintf("message %d", i), nil)
		check(err)
		for {
			resp, err := q.DequeueMessage(ctx, &azqueue.DequeueMessageOptions{VisibilityTimeout: to.Ptr[int32](30)})
			check(err)
			if len(resp.Messages) == 0 {
				continue // another client took the one just put; take the next
			}
			m := resp.Messages[0]
			_, err = q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil)
			check(err)
			done.Add(1)
			return
		}
	})
	report("queue put+get+delete msgs/s", rate, lat, "msgs/s")
	out["peak RSS MB"] = t.peakRSSMB()
	fmt.Printf("%-8s %-30s %10.1f MB\n", t.name, "peak RSS", out["peak RSS MB"])
	return out
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "storage bench:", err)
		os.Exit(1)
	}
}
