// Command docdb measures the document store through the real azcosmos
// client: point writes/s and point reads/s (with latency percentiles) at a
// given concurrency, then the latency of a filtered query over a container
// of 100,000 documents, single-partition and cross-partition.
//
//	go run ./bench/docdb -docs 100000 -c 16
//
// The platform runs in this process with its own data directory; the
// client talks to it over HTTP on loopback, with the emulator account's
// connection string, as an application would.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/lapisdev/lapis/bench/internal/load"
	"github.com/lapisdev/lapis/internal/docdb/account"
	"github.com/lapisdev/lapis/internal/platform"
)

func main() {
	docs := flag.Int("docs", 100000, "documents to write (and then read and query)")
	reads := flag.Int("reads", 50000, "point reads")
	conc := flag.Int("c", 16, "concurrent operations")
	queries := flag.Int("queries", 30, "runs of each query")
	verbose := flag.Bool("v", false, "log the platform")
	flag.Parse()
	if err := run(*docs, *reads, *conc, *queries, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "docdb bench:", err)
		os.Exit(1)
	}
}

type order struct {
	ID       string  `json:"id"`
	Customer string  `json:"customerId"`
	Status   string  `json:"status"`
	Amount   float64 `json:"amount"`
	Items    int     `json:"items"`
}

func run(n, reads, conc, queries int, verbose bool) error {
	dir, err := os.MkdirTemp("", "lapis-bench-docdb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := platform.Defaults()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Ports = platform.Ports{Functions: -1, EventGrid: -1}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	srv, err := platform.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { cancel(); srv.Wait() }()
	endpoint := srv.Info().Endpoints["cosmos"]
	if endpoint == "" {
		return fmt.Errorf("the platform serves no cosmos endpoint")
	}
	if !strings.HasSuffix(endpoint, "/") {
		endpoint += "/"
	}
	cred, err := azcosmos.NewKeyCredential(account.EmulatorKey)
	if err != nil {
		return err
	}
	client, err := azcosmos.NewClientWithKey(endpoint, cred, &azcosmos.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		return err
	}
	if _, err := client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: "bench"}, nil); err != nil {
		return err
	}
	db, err := client.NewDatabase("bench")
	if err != nil {
		return err
	}
	if _, err := db.CreateContainer(ctx, azcosmos.ContainerProperties{ID: "orders",
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{Paths: []string{"/customerId"}}}, nil); err != nil {
		return err
	}
	c, err := db.NewContainer("orders")
	if err != nil {
		return err
	}
	const customers = 100
	statuses := []string{"new", "paid", "processed", "shipped"}
	doc := func(i int) order {
		return order{ID: fmt.Sprintf("order-%06d", i), Customer: fmt.Sprintf("customer-%03d", i%customers),
			Status: statuses[i%len(statuses)], Amount: float64(i%1000) / 10, Items: 1 + i%7}
	}
	fmt.Printf("Document store through azcosmos over loopback HTTP: %d documents, %d customers (partition key /customerId), %d concurrent, GOMAXPROCS=%d\n",
		n, customers, conc, runtime.GOMAXPROCS(0))

	var failed atomic.Int64
	report := func(name string, ops int, rate float64, lat []time.Duration) {
		slices.Sort(lat)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("%-40s %8d ops  %8.0f ops/s  p50 %7.2f ms  p99 %7.2f ms  (%d failed)  heap %d MB\n",
			name, ops, rate, load.Pct(lat, 50), load.Pct(lat, 99), failed.Load(), ms.HeapAlloc>>20)
	}

	// Point writes (creates).
	rate, lat := load.Run(n, conc, func(i int) {
		d := doc(i)
		b, _ := json.Marshal(d)
		if _, err := c.CreateItem(ctx, azcosmos.NewPartitionKeyString(d.Customer), b, nil); err != nil {
			failed.Add(1)
		}
	})
	report("point writes (create)", n, rate, lat)

	// Point reads.
	failed.Store(0)
	rate, lat = load.Run(reads, conc, func(i int) {
		d := doc((i * 7919) % n)
		if _, err := c.ReadItem(ctx, azcosmos.NewPartitionKeyString(d.Customer), d.ID, nil); err != nil {
			failed.Add(1)
		}
	})
	report("point reads", reads, rate, lat)

	// A filtered query, in one partition and across all of them.
	for _, q := range []struct {
		name string
		pk   azcosmos.PartitionKey
		text string
	}{
		{"query, one partition", azcosmos.NewPartitionKeyString("customer-042"), "SELECT * FROM c WHERE c.status = 'processed' AND c.amount > 50"},
		{"query, cross-partition", azcosmos.NewPartitionKey(), "SELECT * FROM c WHERE c.status = 'processed' AND c.amount > 99.5"},
		{"count, cross-partition", azcosmos.NewPartitionKey(), "SELECT VALUE COUNT(1) FROM c WHERE c.status = 'processed' AND c.amount > 50"},
	} {
		failed.Store(0)
		var qlat []time.Duration
		results := 0
		start := time.Now()
		for range queries {
			t0 := time.Now()
			got := 0
			pager := c.NewQueryItemsPager(q.text, q.pk, &azcosmos.QueryOptions{PageSizeHint: 1000})
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					failed.Add(1)
					break
				}
				got += len(page.Items)
			}
			qlat = append(qlat, time.Since(t0))
			results = got
		}
		report(fmt.Sprintf("%s (%d rows)", q.name, results), queries, float64(queries)/time.Since(start).Seconds(), qlat)
	}
	return nil
}
