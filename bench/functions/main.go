// Command functions measures the Functions host in one run: warm HTTP
// trigger throughput and latency of a Go SDK app against the same handler
// served by a bare net/http server (the ratio is the figure), and the cold
// start of a Go SDK worker (from starting the host to the first answer).
//
//	go run ./bench/functions -n 5000 -c 8 -cold 9 -rounds 5
//
// -cpuprofile and -workerprofile write CPU profiles of the host process (with the load generator) and of the
// worker; the CPU time per request of both processes is printed on Linux.
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
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/lapisdev/lapis/bench/internal/load"
	"github.com/lapisdev/lapis/internal/functions/host"
	"github.com/lapisdev/lapis/internal/sdkdist"
)

const mainGo = `package main

import (
	"os"
	"runtime/pprof"

	"github.com/lapisdev/lapis/sdk/fn"
)

func main() {
	if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
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
	rounds := flag.Int("rounds", 5, "alternating rounds the warm requests are split into")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the warm host phase here")
	workerprofile := flag.String("workerprofile", "", "write a CPU profile of the warm phase's worker process here")
	memprofile := flag.String("memprofile", "", "write an allocation profile of the warm host phase here")
	workerEnv := flag.String("workerenv", "", "space-separated NAME=value settings for the worker (e.g. GOMAXPROCS=1)")
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

	settings := map[string]string{}
	if *workerprofile != "" {
		p, err := filepath.Abs(*workerprofile)
		check(err)
		settings["BENCH_CPUPROFILE"] = p
	}
	for _, kv := range strings.Fields(*workerEnv) {
		k, v, _ := strings.Cut(kv, "=")
		settings[k] = v
	}
	h, err := host.New(host.Options{Dir: app, Name: "bench", AuthDisabled: true, Settings: settings})
	check(err)
	check(h.Start(context.Background()))
	defer h.Close()
	hostURL := serve(h)

	if *cpuprofile != "" || *memprofile != "" {
		*rounds = 1 // profile the host phase alone
	}
	*rounds = max(*rounds, 1)
	fmt.Printf("functions: %d warm requests per target in %d alternating rounds, %d clients; %d cold starts\n", *n, *rounds, *conc, *cold)
	get(hostURL + "/api/hello?name=Azure")(0) // warm the worker

	// The targets run in alternating rounds (bare, host, host, bare, ...), so that a burst of load from other
	// processes on the machine does not fall on one target only; the ratio is the median of the rounds' ratios.
	type result struct {
		dur       time.Duration
		lat       []time.Duration
		self, kid time.Duration
		rates     []float64
	}
	var bareRes, hostRes result
	run := func(res *result, url string, n int, profile bool) {
		if profile && *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			check(err)
			check(pprof.StartCPUProfile(f))
			defer pprof.StopCPUProfile()
		}
		if profile && *memprofile != "" {
			runtime.MemProfileRate = 512
			defer func() {
				f, err := os.Create(*memprofile)
				check(err)
				check(pprof.Lookup("allocs").WriteTo(f, 0))
				f.Close()
			}()
		}
		self0, kid0 := usage()
		rate, lat := load.Run(n, *conc, get(url))
		self1, kid1 := usage()
		res.dur += time.Duration(float64(n) / rate * float64(time.Second))
		res.lat = append(res.lat, lat...)
		res.self += self1 - self0
		res.kid += kid1 - kid0
		res.rates = append(res.rates, rate)
	}
	var ratios []float64
	for r := range *rounds {
		per := *n / *rounds
		if r == *rounds-1 {
			per = *n - per*(*rounds-1)
		}
		if r%2 == 0 {
			run(&bareRes, bareURL+"/api/hello?name=Azure", per, false)
			run(&hostRes, hostURL+"/api/hello?name=Azure", per, true)
		} else {
			run(&hostRes, hostURL+"/api/hello?name=Azure", per, true)
			run(&bareRes, bareURL+"/api/hello?name=Azure", per, false)
		}
		ratios = append(ratios, hostRes.rates[r]/bareRes.rates[r])
	}
	slices.Sort(bareRes.lat)
	slices.Sort(hostRes.lat)
	slices.Sort(ratios)
	for _, t := range []struct {
		name string
		res  *result
	}{{"bare net/http", &bareRes}, {"lapis host + Go SDK worker", &hostRes}} {
		fmt.Printf("%-26s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n", t.name, float64(*n)/t.res.dur.Seconds(),
			load.Pct(t.res.lat, 50), load.Pct(t.res.lat, 99))
	}
	fmt.Printf("ratio host/bare throughput: %.2f (goal >= 0.5; median of %d rounds, %.2f to %.2f)\n",
		ratios[len(ratios)/2], len(ratios), ratios[0], ratios[len(ratios)-1])
	if bareRes.self >= 0 {
		per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(*n) }
		fmt.Printf("CPU per request: bare %.0f µs (client and server); host %.0f µs = %.0f µs client and host + %.0f µs worker\n",
			per(bareRes.self), per(hostRes.self+hostRes.kid), per(hostRes.self), per(hostRes.kid))
	}

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
	if len(colds) == 0 {
		return
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
