package runtime

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lapisdev/lapis/internal/functions/metering"
)

// metrics are the functions service's Prometheus metrics.
type metrics struct {
	executions *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	coldStarts *prometheus.CounterVec
	coldStart  *prometheus.HistogramVec
	units      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, rt *Runtime) (*metrics, error) {
	m := &metrics{
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lapis_functions_executions_total",
			Help: "Function executions by app, function and result (success or failure)."}, []string{"app", "function", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lapis_functions_duration_seconds",
			Help: "Function execution time.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14)}, []string{"app", "function"}),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lapis_functions_cold_starts_total",
			Help: "Invocations that had to wait for a worker instance to start."}, []string{"app", "function"}),
		coldStart: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lapis_functions_cold_start_seconds",
			Help: "How long cold-started invocations waited for their instance.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"app", "function"}),
		units: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lapis_functions_execution_units_total",
			Help: "Consumption meter in MB-milliseconds (Azure's FunctionExecutionUnits); divide by 1,024,000 for GB-s."}, []string{"app", "function"}),
	}
	instances := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lapis_functions_instances",
		Help: "Worker instances running on this node, all apps."}, func() float64 {
		rt.mu.Lock()
		apps := slices.Collect(maps.Values(rt.apps))
		rt.mu.Unlock()
		n := 0
		for _, a := range apps {
			if r := a.cur.Load(); r != nil {
				n += r.host.Instances()
			}
		}
		return float64(n)
	})
	for _, c := range []prometheus.Collector{m.executions, m.duration, m.coldStarts, m.coldStart, m.units, instances} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(app string, e metering.Execution) {
	result := "success"
	if !e.Succeeded {
		result = "failure"
	}
	m.executions.WithLabelValues(app, e.Function, result).Inc()
	m.duration.WithLabelValues(app, e.Function).Observe(e.Duration.Seconds())
	m.units.WithLabelValues(app, e.Function).Add(float64(metering.Units(e.Duration, e.MemoryBytes)))
	if e.ColdStart > 0 {
		m.coldStarts.WithLabelValues(app, e.Function).Inc()
		m.coldStart.WithLabelValues(app, e.Function).Observe(e.ColdStart.Seconds())
	}
}

// flushLoop merges every app's meter into the stored usage every flushInterval.
func (rt *Runtime) flushLoop() {
	defer rt.wg.Done()
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-rt.ctx.Done():
			return
		case <-t.C:
			rt.flush(rt.ctx)
		}
	}
}

func (rt *Runtime) flush(ctx context.Context) {
	rt.mu.Lock()
	apps := slices.Collect(maps.Values(rt.apps))
	rt.mu.Unlock()
	for _, a := range apps {
		rt.flushApp(ctx, a)
	}
}

// flushApp stores what a's meter gathered; what cannot be stored now is kept for the next flush.
func (rt *Runtime) flushApp(ctx context.Context, a *app) {
	a.pendingMu.Lock()
	defer a.pendingMu.Unlock()
	if a.pending == nil {
		a.pending = map[string]metering.FunctionUsage{}
	}
	for n, u := range a.meter.Delta() {
		cur := a.pending[n]
		cur.Merge(u)
		a.pending[n] = cur
	}
	if len(a.pending) == 0 {
		return
	}
	now := time.Now()
	if rt.env.Clock != nil {
		now = rt.env.Clock()
	}
	if err := rt.store.AddUsage(ctx, a.key, rt.env.Node, a.pending, now); err != nil {
		rt.log.Warn("usage not stored yet; will retry", "site", a.key, "err", err)
		return
	}
	a.pending = nil
}
