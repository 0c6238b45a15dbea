package server

import "github.com/prometheus/client_golang/prometheus"

// metrics are the server's Prometheus series. Labels never hold keys,
// paths or user input (checklist J1): only route patterns and outcomes.
type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	keyChecks    *prometheus.CounterVec
	keyOK        prometheus.Counter // keyChecks{outcome="ok"}, resolved once for the hot path
	keyCacheHits prometheus.Counter
	rateLimited  prometheus.Counter
	gateRefusals prometheus.Counter
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
		keyChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_api_key_checks_total", Help: "API key verifications by outcome.",
		}, []string{"outcome"}),
		keyCacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_api_key_cache_hits_total", Help: "API key verifications answered from the in-memory cache.",
		}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_rate_limited_total", Help: "Requests refused with 429 after too many failures.",
		}),
	}
	m.gateRefusals = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_registration_refusals_total", Help: "Channel requests refused because the network requires registration.",
	})
	m.keyOK = m.keyChecks.WithLabelValues("ok")
	reg.MustRegister(m.requests, m.duration, m.keyChecks, m.keyCacheHits, m.rateLimited, m.gateRefusals)
	return m
}
