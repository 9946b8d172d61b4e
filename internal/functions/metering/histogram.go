package metering

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Bucket layout: bucket 0 holds durations up to 1 µs; bucket i holds durations in (BucketBound(i-1),
// BucketBound(i)], where BucketBound(i) is 1 µs × 2^(i/4). The last bucket also holds everything longer.
const (
	bucketsPerDoubling = 4
	doublings          = 36 // 2^36 µs is about 19 hours
	// NumBuckets is the number of buckets of a Histogram.
	NumBuckets = doublings*bucketsPerDoubling + 1
)

var bounds = func() [NumBuckets]time.Duration {
	var b [NumBuckets]time.Duration
	for i := range b {
		b[i] = time.Duration(math.Round(float64(time.Microsecond) * math.Exp2(float64(i)/bucketsPerDoubling)))
	}
	return b
}()

// BucketBound is the upper bound (inclusive) of bucket i, for 0 <= i < NumBuckets.
func BucketBound(i int) time.Duration { return bounds[i] }

func bucketOf(d time.Duration) int {
	i := sort.Search(NumBuckets, func(i int) bool { return bounds[i] >= d })
	return min(i, NumBuckets-1)
}

// Histogram summarises durations in fixed log-scale buckets (see NumBuckets and BucketBound). Histograms merge
// exactly, and Quantile is exact to within one bucket (about 19%). The zero value is empty and ready.
type Histogram struct {
	Count int64         `json:"count"`
	Sum   time.Duration `json:"sumNs"`
	Max   time.Duration `json:"maxNs"`
	// Buckets[i] counts the durations in bucket i; trailing empty buckets are left out.
	Buckets []int64 `json:"buckets,omitempty"`
}

// Add counts d (a negative d counts as 0).
func (h *Histogram) Add(d time.Duration) {
	d = max(d, 0)
	h.Count++
	h.Sum += d
	h.Max = max(h.Max, d)
	i := bucketOf(d)
	if i >= len(h.Buckets) {
		h.Buckets = append(h.Buckets, make([]int64, i+1-len(h.Buckets))...)
	}
	h.Buckets[i]++
}

// Merge adds o's durations to h.
func (h *Histogram) Merge(o Histogram) {
	h.Count += o.Count
	h.Sum += o.Sum
	h.Max = max(h.Max, o.Max)
	n := min(len(o.Buckets), NumBuckets)
	if n > len(h.Buckets) {
		h.Buckets = append(h.Buckets, make([]int64, n-len(h.Buckets))...)
	}
	for i, c := range o.Buckets {
		h.Buckets[min(i, NumBuckets-1)] += c
	}
}

// Quantile returns the q-quantile (0 <= q <= 1) of the durations: the upper bound of the bucket holding it,
// capped at Max, so Quantile(1) is Max. It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count <= 0 {
		return 0
	}
	if math.IsNaN(q) {
		q = 0
	}
	q = min(max(q, 0), 1)
	rank := int64(math.Ceil(q * float64(h.Count)))
	rank = min(max(rank, 1), h.Count)
	var seen int64
	for i, c := range h.Buckets {
		seen += c
		if seen >= rank {
			return min(bounds[min(i, NumBuckets-1)], h.Max)
		}
	}
	return h.Max
}

// Mean returns the mean duration, 0 for an empty histogram.
func (h *Histogram) Mean() time.Duration {
	if h.Count <= 0 {
		return 0
	}
	return h.Sum / time.Duration(h.Count)
}

func (h Histogram) clone() Histogram {
	if h.Buckets != nil {
		h.Buckets = append([]int64(nil), h.Buckets...)
	}
	return h
}

// UnmarshalJSON reads a histogram as MarshalJSON writes it, rejecting one that is inconsistent: more than
// NumBuckets buckets, negative values, or bucket counts that do not add up to count.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	type plain Histogram
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if len(p.Buckets) > NumBuckets {
		return fmt.Errorf("metering: histogram has %d buckets; at most %d", len(p.Buckets), NumBuckets)
	}
	if p.Count < 0 || p.Sum < 0 || p.Max < 0 {
		return errors.New("metering: histogram count, sum and max must not be negative")
	}
	var total int64
	for _, c := range p.Buckets {
		if c < 0 || c > p.Count-total {
			return errors.New("metering: histogram bucket counts must be non-negative and add up to count")
		}
		total += c
	}
	if total != p.Count {
		return fmt.Errorf("metering: histogram bucket counts add up to %d, not count %d", total, p.Count)
	}
	*h = Histogram(p)
	return nil
}
