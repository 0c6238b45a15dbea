package server

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the HTTP layer's Prometheus series. Labels never hold keys,
// paths or user input (checklist J1): only route patterns and outcomes.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// routes holds each route's series once looked up (*routeSeries by
	// pattern), so a request hashes no labels. Patterns are the mux's
	// own, a fixed set.
	routes sync.Map
}

// routeSeries are one route's series: its latency and a counter per
// status class, each made on first use so /metrics lists only classes
// that happened.
type routeSeries struct {
	duration prometheus.Observer
	classes  [6]struct {
		once    sync.Once
		counter prometheus.Counter
	}
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route pattern and status class.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// observe counts one request on route with its status and latency.
func (m *metrics) observe(route string, status int, elapsed time.Duration) {
	rs, ok := m.routes.Load(route)
	if !ok {
		rs, _ = m.routes.LoadOrStore(route, &routeSeries{duration: m.duration.WithLabelValues(route)})
	}
	series := rs.(*routeSeries)
	series.duration.Observe(elapsed.Seconds())
	class := status / 100
	if class < 1 || class > 5 {
		// Not a status HTTP defines: counted, uncached.
		m.requests.WithLabelValues(route, strconv.Itoa(class)+"xx").Inc()
		return
	}
	c := &series.classes[class]
	c.once.Do(func() { c.counter = m.requests.WithLabelValues(route, strconv.Itoa(class)+"xx") })
	c.counter.Inc()
}
