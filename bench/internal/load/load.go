package load

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Run calls op(i) for every i in [0,n) from conc goroutines, each taking
// the next i when done. It returns operations per second and the sorted
// latencies.
func Run(n, conc int, op func(i int)) (float64, []time.Duration) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := time.Now()
				op(i)
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	slices.Sort(lat)
	return rate, lat
}

// Pct is the p-th percentile (0..100) of sorted latencies, in milliseconds.
func Pct(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)*p/100, len(sorted)-1)
	return MS(sorted[i])
}

// MS is d in milliseconds.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
