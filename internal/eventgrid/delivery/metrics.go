package delivery

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's per-subscription counters, on /metrics as
// lapis_eventgrid_* with the subscription's resource id as a label.
type Metrics struct {
	delivered, failed, deadLettered, dropped *prometheus.CounterVec
	pending                                  *prometheus.GaugeVec
	latency                                  *prometheus.HistogramVec

	mu   sync.Mutex
	subs map[string]*subMetrics
}

// NewMetrics makes the collectors and registers them with reg (if set).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	label := []string{"subscription"}
	m := &Metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lapis_eventgrid_delivered_total",
			Help: "Events delivered to an event subscription's destination."}, label),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lapis_eventgrid_failed_attempts_total",
			Help: "Delivery attempts that failed (each is retried or dead-lettered)."}, label),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lapis_eventgrid_deadlettered_total",
			Help: "Events written to the dead-letter container."}, label),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lapis_eventgrid_dropped_total",
			Help: "Undeliverable events dropped for want of a (working) dead-letter destination."}, label),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lapis_eventgrid_pending_retries",
			Help: "Events waiting for another delivery attempt."}, label),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lapis_eventgrid_delivery_latency_seconds",
			Help:    "Time from an event's publish to its successful delivery.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 10, 60, 600, 3600}}, label),
		subs: map[string]*subMetrics{},
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.delivered, m.failed, m.deadLettered, m.dropped, m.pending, m.latency} {
			_ = reg.Register(c)
		}
	}
	return m
}

// Stats are a subscription's counts since the engine started.
type Stats struct {
	Delivered, FailedAttempts, DeadLettered, Dropped, PendingRetries int64
}

// Stats returns the counts of the subscription with this id.
func (m *Metrics) Stats(id string) Stats {
	m.mu.Lock()
	s := m.subs[strings.ToLower(id)]
	m.mu.Unlock()
	if s == nil {
		return Stats{}
	}
	return Stats{Delivered: s.nDelivered.Load(), FailedAttempts: s.nFailed.Load(), DeadLettered: s.nDead.Load(),
		Dropped: s.nDropped.Load(), PendingRetries: s.nPending.Load()}
}

type subMetrics struct {
	deliveredC, failedC, deadC, droppedC prometheus.Counter
	pending                              prometheus.Gauge
	latency                              prometheus.Observer

	nDelivered, nFailed, nDead, nDropped, nPending atomic.Int64
}

func (m *Metrics) sub(id string) *subMetrics {
	key := strings.ToLower(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.subs[key]; s != nil {
		return s
	}
	s := &subMetrics{deliveredC: m.delivered.WithLabelValues(id), failedC: m.failed.WithLabelValues(id),
		deadC: m.deadLettered.WithLabelValues(id), droppedC: m.dropped.WithLabelValues(id),
		pending: m.pending.WithLabelValues(id), latency: m.latency.WithLabelValues(id)}
	m.subs[key] = s
	return s
}

func (m *Metrics) forget(id string) {
	m.mu.Lock()
	s := m.subs[strings.ToLower(id)]
	delete(m.subs, strings.ToLower(id))
	m.mu.Unlock()
	if s != nil {
		for _, v := range []interface{ DeleteLabelValues(...string) bool }{m.delivered, m.failed, m.deadLettered, m.dropped, m.pending, m.latency} {
			v.DeleteLabelValues(id)
		}
	}
}

func (s *subMetrics) delivered(latency time.Duration) {
	s.nDelivered.Add(1)
	s.deliveredC.Inc()
	s.latency.Observe(latency.Seconds())
}
func (s *subMetrics) failed()       { s.nFailed.Add(1); s.failedC.Inc() }
func (s *subMetrics) deadLettered() { s.nDead.Add(1); s.deadC.Inc() }
func (s *subMetrics) dropped()      { s.nDropped.Add(1); s.droppedC.Inc() }
func (s *subMetrics) retryPending() { s.nPending.Add(1); s.pending.Inc() }
func (s *subMetrics) retryDone()    { s.nPending.Add(-1); s.pending.Dec() }
