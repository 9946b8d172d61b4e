// Command functions measures the Functions host in one run: warm HTTP
// trigger throughput and latency of a Go SDK app against the same handler
// served by a bare net/http server (the ratio is the figure), and the cold
// start of a Go SDK worker (from starting the host to the first answer).
//
//	go run ./bench/functions -n 5000 -c 8 -cold 9
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/lapisdev/lapis/bench/internal/load"
	"github.com/lapisdev/lapis/internal/functions/host"
	"github.com/lapisdev/lapis/internal/sdkdist"
)

const mainGo = `package main

import "github.com/lapisdev/lapis/sdk/fn"

func main() {
	app := fn.NewApp()
	app.HTTP("hello", fn.Route("hello"), fn.AuthLevel(fn.Anonymous), fn.Methods("GET"),
		func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
			name := req.Query.Get("name")
			if name == "" {
				name = "World"
			}
			return fn.JSON(200, map[string]string{"message": "Hello, " + name + "!"}), nil
		})
	app.Run()
}
`

func main() {
	n := flag.Int("n", 5000, "warm requests per target")
	conc := flag.Int("c", 8, "concurrent clients")
	cold := flag.Int("cold", 9, "cold starts")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the warm host phase here")
	flag.Parse()

	dir, err := os.MkdirTemp("", "lapis-bench-functions")
	check(err)
	defer os.RemoveAll(dir)
	app := buildApp(dir)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	get := func(url string) func(int) {
		return func(int) {
			resp, err := client.Get(url)
			check(err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				check(fmt.Errorf("%s: %s", url, resp.Status))
			}
		}
	}

	// The same handler on a bare net/http server.
	bare := http.NewServeMux()
	bare.HandleFunc("GET /api/hello", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		if name == "" {
			name = "World"
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"message":"Hello, %s!"}`, name)
	})
	bareURL := serve(bare)

	h, err := host.New(host.Options{Dir: app, Name: "bench", AuthDisabled: true})
	check(err)
	check(h.Start(context.Background()))
	defer h.Close()
	hostURL := serve(h)

	fmt.Printf("functions: %d warm requests per target, %d clients; %d cold starts\n", *n, *conc, *cold)
	get(hostURL + "/api/hello?name=Azure")(0) // warm the worker
	bareRate, bareLat := load.Run(*n, *conc, get(bareURL+"/api/hello?name=Azure"))
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
	}
	hostRate, hostLat := load.Run(*n, *conc, get(hostURL+"/api/hello?name=Azure"))
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	fmt.Printf("%-26s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n", "bare net/http", bareRate, load.Pct(bareLat, 50), load.Pct(bareLat, 99))
	fmt.Printf("%-26s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n", "lapis host + Go SDK worker", hostRate, load.Pct(hostLat, 50), load.Pct(hostLat, 99))
	fmt.Printf("ratio host/bare throughput: %.2f (goal >= 0.5)\n", hostRate/bareRate)

	// Cold starts: a new host and worker each time, timed to the first answer.
	var colds []time.Duration
	for range *cold {
		start := time.Now()
		ch, err := host.New(host.Options{Dir: app, Name: "cold", AuthDisabled: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		check(err)
		check(ch.Start(context.Background()))
		u := serve(ch)
		get(u + "/api/hello")(0)
		colds = append(colds, time.Since(start))
		check(ch.Close())
	}
	slices.Sort(colds)
	fmt.Printf("cold start (host start to first answer): p50 %.1f ms, min %.1f, max %.1f (goal p50 < 50 ms)\n",
		load.MS(colds[len(colds)/2]), load.MS(colds[0]), load.MS(colds[len(colds)-1]))
}

// buildApp writes and builds a Go SDK app with the hello function.
func buildApp(dir string) string {
	sdk, err := sdkdist.Install(filepath.Join(dir, "sdk"))
	check(err)
	app := filepath.Join(dir, "app")
	check(os.MkdirAll(app, 0o755))
	check(os.WriteFile(filepath.Join(app, "main.go"), []byte(mainGo), 0o644))
	check(os.WriteFile(filepath.Join(app, "go.mod"), []byte("module benchapp\n\ngo 1.26\n\nrequire github.com/lapisdev/lapis/sdk v0.0.0\n\nreplace github.com/lapisdev/lapis/sdk => "+sdk+"\n"), 0o644))
	check(os.WriteFile(filepath.Join(app, "host.json"), []byte(`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"app"}}}`), 0o644))
	build := exec.Command("go", "build", "-o", "app", ".")
	build.Dir, build.Stderr = app, os.Stderr
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	check(build.Run())
	return app
}

func serve(h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go http.Serve(ln, h)
	return "http://" + ln.Addr().String()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "functions bench:", err)
		os.Exit(1)
	}
}
