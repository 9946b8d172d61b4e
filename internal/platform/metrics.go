package platform

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lapisdev/lapis/internal/substrate"
	"github.com/lapisdev/lapis/internal/version"
)

// metrics is the server's Prometheus registry.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(sub *substrate.Substrate) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lapis_http_requests_total", Help: "HTTP requests served, by endpoint, method and status code.",
		}, []string{"endpoint", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lapis_http_request_duration_seconds", Help: "HTTP request latency, by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint"}),
	}
	m.reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lapis_build_info", Help: "Always 1; the version label says which Lapis.",
			ConstLabels: prometheus.Labels{"version": version.String()}}, func() float64 { return 1 }),
		&jetstreamCollector{sub: sub},
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// instrument counts and times the requests of one endpoint.
func (m *metrics) instrument(endpoint string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		m.requests.WithLabelValues(endpoint, r.Method, strconv.Itoa(sw.code)).Inc()
		m.duration.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// jetstreamCollector reports the substrate's usage at scrape time.
type jetstreamCollector struct{ sub *substrate.Substrate }

var (
	jsStreams   = prometheus.NewDesc("lapis_jetstream_streams", "JetStream streams.", nil, nil)
	jsConsumers = prometheus.NewDesc("lapis_jetstream_consumers", "JetStream consumers.", nil, nil)
	jsMessages  = prometheus.NewDesc("lapis_jetstream_messages", "Messages held in all streams.", nil, nil)
	jsBytes     = prometheus.NewDesc("lapis_jetstream_bytes", "Bytes held in all streams.", nil, nil)
	jsStore     = prometheus.NewDesc("lapis_jetstream_store_bytes", "JetStream file storage in use.", nil, nil)
	jsMemory    = prometheus.NewDesc("lapis_jetstream_memory_bytes", "JetStream memory storage in use.", nil, nil)
	jsUp        = prometheus.NewDesc("lapis_jetstream_up", "1 when JetStream answered the scrape.", nil, nil)
)

func (c *jetstreamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jsStreams, jsConsumers, jsMessages, jsBytes, jsStore, jsMemory, jsUp} {
		ch <- d
	}
}

func (c *jetstreamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	u, err := c.sub.Usage(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(jsUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(jsUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(jsStreams, prometheus.GaugeValue, float64(u.Streams))
	ch <- prometheus.MustNewConstMetric(jsConsumers, prometheus.GaugeValue, float64(u.Consumers))
	ch <- prometheus.MustNewConstMetric(jsMessages, prometheus.GaugeValue, float64(u.Messages))
	ch <- prometheus.MustNewConstMetric(jsBytes, prometheus.GaugeValue, float64(u.Bytes))
	ch <- prometheus.MustNewConstMetric(jsStore, prometheus.GaugeValue, float64(u.Store))
	ch <- prometheus.MustNewConstMetric(jsMemory, prometheus.GaugeValue, float64(u.Memory))
}
