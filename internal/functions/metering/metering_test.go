package metering

import (
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"
)

const MB = 1 << 20

func TestUnits(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	for _, c := range []struct {
		d    time.Duration
		mem  int64
		want int64
	}{
		{ms(1), 10 * MB, 100 * 128},           // both minima
		{ms(250.4), 200 * MB, 251 * 256},      // both rounded up
		{ms(250), 256 * MB, 250 * 256},        // exact
		{ms(250), 256*MB + 1, 250 * 384},      // one byte over a step
		{ms(100.000001), 128 * MB, 101 * 128}, // a nanosecond over a millisecond
		{ms(99.9), 0, 100 * 128},              // unknown memory bills the minimum
		{0, 0, 100 * 128},
		{-time.Second, -1, 100 * 128},
		{time.Second, 5 << 30, 1000 * 1536}, // 5 GB caps at 1536 MB
		{time.Second, 1536 * MB, 1000 * 1536},
		{time.Second, 1536*MB + 1, 1000 * 1536},
		{time.Minute, 512 * MB, 60000 * 512},
	} {
		if got := Units(c.d, c.mem); got != c.want {
			t.Errorf("Units(%v, %d) = %d, want %d", c.d, c.mem, got, c.want)
		}
	}
	// The largest duration does not overflow.
	if got := Units(time.Duration(math.MaxInt64), math.MaxInt64); got <= 0 {
		t.Errorf("Units(max, max) = %d", got)
	}
}

func TestGBSeconds(t *testing.T) {
	// 1 s at 1 GB is one GB-second: 1000 ms × 1024 MB.
	u := FunctionUsage{ExecutionUnits: 1000 * 1024}
	if got := u.GBSeconds(); got != 1 {
		t.Fatalf("GBSeconds = %v, want 1", got)
	}
}

func TestBuckets(t *testing.T) {
	if BucketBound(0) != time.Microsecond {
		t.Fatalf("BucketBound(0) = %v", BucketBound(0))
	}
	if BucketBound(4) != 2*time.Microsecond || BucketBound(40) != 1024*time.Microsecond {
		t.Fatalf("bounds %v %v", BucketBound(4), BucketBound(40))
	}
	for i := 1; i < NumBuckets; i++ {
		if BucketBound(i) <= BucketBound(i-1) {
			t.Fatalf("bounds not increasing at %d", i)
		}
		if got := bucketOf(BucketBound(i)); got != i {
			t.Fatalf("bucketOf(bound %d) = %d", i, got)
		}
		if got := bucketOf(BucketBound(i-1) + 1); got != i {
			t.Fatalf("bucketOf(bound %d + 1ns) = %d", i-1, got)
		}
	}
	if bucketOf(0) != 0 || bucketOf(1000*time.Hour) != NumBuckets-1 {
		t.Fatal("ends")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram")
	}
	// 1..1000 ms.
	for i := 1; i <= 1000; i++ {
		h.Add(time.Duration(i) * time.Millisecond)
	}
	if h.Count != 1000 || h.Max != time.Second || h.Sum != 500500*time.Millisecond {
		t.Fatalf("count %d max %v sum %v", h.Count, h.Max, h.Sum)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.001, time.Millisecond}} {
		got := h.Quantile(c.q)
		// The bucket's upper bound: at least the true value, at most one bucket (2^¼) above it.
		if got < c.want || float64(got) > float64(c.want)*math.Pow(2, 0.25)*1.0001 {
			t.Errorf("Quantile(%v) = %v, want within a bucket above %v", c.q, got, c.want)
		}
	}
	if h.Quantile(1) != time.Second || h.Quantile(2) != time.Second {
		t.Errorf("Quantile(1) = %v, want Max", h.Quantile(1))
	}
	if h.Quantile(0) != h.Quantile(0.001) || h.Quantile(math.NaN()) != h.Quantile(0) {
		t.Errorf("Quantile(0) = %v", h.Quantile(0))
	}
	if h.Mean() != 500500*time.Microsecond {
		t.Errorf("Mean = %v", h.Mean())
	}
	var one Histogram
	one.Add(3 * time.Millisecond)
	if one.Quantile(0.5) != 3*time.Millisecond { // capped at Max, so exact for one value
		t.Errorf("single value: %v", one.Quantile(0.5))
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b, all Histogram
	for i := range 500 {
		d := time.Duration(i*i) * time.Microsecond
		all.Add(d)
		if i%3 == 0 {
			a.Add(d)
		} else {
			b.Add(d)
		}
	}
	a.Merge(b)
	ja, _ := json.Marshal(a)
	jall, _ := json.Marshal(all)
	if string(ja) != string(jall) {
		t.Fatalf("merged %s\nwant   %s", ja, jall)
	}
	var empty Histogram
	empty.Merge(all)
	if empty.Quantile(0.5) != all.Quantile(0.5) || empty.Count != all.Count {
		t.Fatal("merge into empty")
	}
	// Merging does not alias the other histogram's buckets.
	empty.Add(time.Microsecond)
	if all.Buckets[0] == empty.Buckets[0] {
		t.Fatal("buckets aliased")
	}
}

func TestHistogramJSON(t *testing.T) {
	var h Histogram
	h.Add(2 * time.Millisecond)
	h.Add(30 * time.Millisecond)
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Count != 2 || back.Sum != 32*time.Millisecond || back.Quantile(0.5) != h.Quantile(0.5) {
		t.Fatalf("round trip: %s → %+v", b, back)
	}
	for _, bad := range []string{
		`{"count":1,"buckets":[2]}`,
		`{"count":2,"buckets":[1]}`,
		`{"count":-1}`,
		`{"count":1,"buckets":[-1,2]}`,
		`{"count":0,"sumNs":-5}`,
		`{"count":"x"}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestFunctionUsage(t *testing.T) {
	var u FunctionUsage
	u.Add(Execution{Function: "f", Duration: 250 * time.Millisecond, MemoryBytes: 200 * MB, Succeeded: true})
	u.Add(Execution{Function: "f", Duration: time.Millisecond, ColdStart: 80 * time.Millisecond})
	if u.Executions != 2 || u.Successes != 1 || u.Failures != 1 || u.ColdStarts != 1 {
		t.Fatalf("%+v", u)
	}
	if u.ExecutionUnits != 250*256+100*128 {
		t.Fatalf("units %d", u.ExecutionUnits)
	}
	if u.ColdStartDuration.Count != 1 || u.ColdStartDuration.Max != 80*time.Millisecond || u.Duration.Count != 2 {
		t.Fatalf("histograms %+v %+v", u.Duration, u.ColdStartDuration)
	}
	v := u
	v.Duration = v.Duration.clone()
	v.ColdStartDuration = v.ColdStartDuration.clone()
	v.Merge(u)
	if v.Executions != 4 || v.ExecutionUnits != 2*u.ExecutionUnits || v.Duration.Count != 4 || v.ColdStarts != 2 {
		t.Fatalf("merge %+v", v)
	}
	b, _ := json.Marshal(u)
	var back FunctionUsage
	if err := json.Unmarshal(b, &back); err != nil || back.ExecutionUnits != u.ExecutionUnits || back.Duration.Count != 2 {
		t.Fatalf("round trip %s: %+v %v", b, back, err)
	}
}

func TestMeter(t *testing.T) {
	var m Meter
	if len(m.Snapshot()) != 0 || len(m.Delta()) != 0 {
		t.Fatal("zero Meter not empty")
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				m.Add(Execution{Function: []string{"a", "b"}[i%2], Duration: time.Duration(j) * time.Millisecond, Succeeded: j%10 != 0})
			}
		}()
	}
	wg.Wait()
	snap := m.Snapshot()
	if snap["a"].Executions != 400 || snap["b"].Failures != 40 || snap["a"].Successes != 360 {
		t.Fatalf("snapshot %+v", snap)
	}
	d := m.Delta()
	if d["a"].Executions != 400 || d["b"].Executions != 400 {
		t.Fatalf("delta %+v", d)
	}
	if len(m.Delta()) != 0 {
		t.Fatal("second Delta not empty")
	}
	m.Add(Execution{Function: "a", Duration: time.Millisecond})
	if d := m.Delta(); d["a"].Executions != 1 || len(d) != 1 {
		t.Fatalf("third delta %+v", d)
	}
	if s := m.Snapshot(); s["a"].Executions != 401 {
		t.Fatalf("totals %+v", s["a"])
	}
	// A snapshot does not share state with the meter.
	snap = m.Snapshot()
	a := snap["a"]
	a.Duration.Buckets[len(a.Duration.Buckets)-1] += 1000
	if m.Snapshot()["a"].Duration.Buckets[len(a.Duration.Buckets)-1] == a.Duration.Buckets[len(a.Duration.Buckets)-1] {
		t.Fatal("snapshot aliases the meter")
	}
}

func FuzzHistogramJSON(f *testing.F) {
	var h Histogram
	for _, d := range []time.Duration{0, time.Microsecond, 3 * time.Millisecond, time.Hour, 100 * time.Hour} {
		h.Add(d)
	}
	b, _ := json.Marshal(h)
	f.Add(b)
	f.Add([]byte(`{"count":1,"buckets":[0,0,1],"maxNs":5}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"count":3,"sumNs":9,"maxNs":1,"buckets":[3]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Histogram
		if json.Unmarshal(data, &h) != nil {
			return
		}
		var prev time.Duration
		for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.99, 1} {
			v := h.Quantile(q)
			if v < prev || v < 0 || v > h.Max {
				t.Fatalf("Quantile(%v) = %v after %v, max %v", q, v, prev, h.Max)
			}
			prev = v
		}
		out, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		var back Histogram
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-reading %s: %v", out, err)
		}
		if back.Count != h.Count || back.Quantile(0.5) != h.Quantile(0.5) {
			t.Fatalf("round trip changed %s", out)
		}
		m := h.clone()
		m.Merge(h)
		m.Add(time.Millisecond)
		if m.Count != 2*h.Count+1 {
			t.Fatalf("merge count %d", m.Count)
		}
		if q := m.Quantile(0.5); q < 0 {
			t.Fatalf("merged quantile %v", q)
		}
	})
}
