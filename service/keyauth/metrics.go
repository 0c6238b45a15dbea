package keyauth

import "github.com/prometheus/client_golang/prometheus"

// metrics are the services' Prometheus series. Labels never hold keys,
// names or user input (checklist J1): only outcomes.
type metrics struct {
	keyChecks    *prometheus.CounterVec
	keyOK        prometheus.Counter // keyChecks{outcome="ok"}, resolved once for the hot path
	keyCacheHits prometheus.Counter
	rateLimited  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
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
	m.keyOK = m.keyChecks.WithLabelValues("ok")
	if reg != nil {
		reg.MustRegister(m.keyChecks, m.keyCacheHits, m.rateLimited)
	}
	return m
}
