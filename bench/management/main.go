// Command management measures the ARM-shaped management API: resource
// group and storage account writes and reads over real HTTP on loopback,
// with --sync interval and --sync always side by side in one run.
//
//	go run ./bench/management -n 2000 -c 8
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/lapisdev/lapis/bench/internal/load"
	"github.com/lapisdev/lapis/internal/platform"
	"github.com/lapisdev/lapis/internal/substrate"
)

func main() {
	n := flag.Int("n", 2000, "operations per phase")
	conc := flag.Int("c", 8, "concurrent clients")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}

	fmt.Printf("management API: %d ops per phase, %d concurrent clients, GOMAXPROCS %d\n", *n, *conc, runtime.GOMAXPROCS(0))
	fmt.Printf("%-8s %-22s %10s %9s %9s %9s\n", "sync", "operation", "ops/s", "p50 ms", "p99 ms", "max ms")
	results := map[substrate.SyncMode]map[string]float64{}
	for _, mode := range []substrate.SyncMode{substrate.SyncInterval, substrate.SyncAlways} {
		results[mode] = runMode(mode, *n, *conc)
	}
	fmt.Println("ratio always/interval (throughput):")
	for _, op := range []string{"PUT resourceGroup", "GET resourceGroup", "PUT storageAccount", "LIST storageAccounts"} {
		fmt.Printf("  %-22s %.2f\n", op, results[substrate.SyncAlways][op]/results[substrate.SyncInterval][op])
	}
}

func runMode(mode substrate.SyncMode, n, conc int) map[string]float64 {
	dir, err := os.MkdirTemp("", "lapis-bench-mgmt")
	check(err)
	defer os.RemoveAll(dir)
	os.Setenv("XDG_CONFIG_HOME", dir)
	cfg := platform.Defaults()
	cfg.DataDir, cfg.Ports, cfg.Sync = dir, platform.Ports{}, mode
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := platform.Start(ctx, cfg)
	check(err)
	defer func() { cancel(); srv.Wait() }()
	token, err := platform.ReadAdminKey(dir)
	check(err)
	base := srv.Info().Management + "/subscriptions/" + srv.Info().Subscription + "/resourcegroups/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	do := func(method, url, body string) {
		req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
		check(err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		check(err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			check(fmt.Errorf("%s %s: %s", method, url, resp.Status))
		}
	}
	out := map[string]float64{}
	phase := func(name string, op func(i int)) {
		rate, lat := load.Run(n, conc, op)
		out[name] = rate
		fmt.Printf("%-8s %-22s %10.0f %9.2f %9.2f %9.2f\n", mode, name, rate, load.Pct(lat, 50), load.Pct(lat, 99), load.Pct(lat, 100))
	}
	phase("PUT resourceGroup", func(i int) {
		do("PUT", fmt.Sprintf("%srg%d?api-version=2021-04-01", base, i), `{"location":"eastus","tags":{"bench":"1"}}`)
	})
	phase("GET resourceGroup", func(i int) { do("GET", fmt.Sprintf("%srg%d?api-version=2021-04-01", base, i), "") })
	phase("PUT storageAccount", func(i int) {
		do("PUT", fmt.Sprintf("%srg%d/providers/Microsoft.Storage/storageAccounts/acct%d?api-version=2023-05-01", base, i%10, i),
			`{"location":"eastus","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}`)
	})
	lists := max(n/100, 10)
	rate, lat := load.Run(lists, conc, func(i int) {
		do("GET", fmt.Sprintf("%srg%d/providers/Microsoft.Storage/storageAccounts?api-version=2023-05-01", base, i%10), "")
	})
	out["LIST storageAccounts"] = rate
	fmt.Printf("%-8s %-22s %10.0f %9.2f %9.2f %9.2f  (%d accounts per list)\n", mode, "LIST storageAccounts", rate,
		load.Pct(lat, 50), load.Pct(lat, 99), load.Pct(lat, 100), n/10)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Printf("%-8s heap in use %.1f MB, total alloc %.1f MB (server and client in one process)\n", mode,
		float64(m.HeapInuse)/(1<<20), float64(m.TotalAlloc)/(1<<20))
	return out
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "management bench:", err)
		os.Exit(1)
	}
}
