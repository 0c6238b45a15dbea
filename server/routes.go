package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/api"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// healthRoutes registers /healthz, /readyz and /metrics. Metrics tell how
// the server is used, so on the public listener they need an
// administrator's credential (checklist J6); a scraper without one reads
// them from the listener of --metrics-listen (MetricsHandler).
func (s *Server) healthRoutes(mux *recordingMux, jsonAPI *api.API) {
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	metrics := s.MetricsHandler()
	mux.Handle("GET /metrics", jsonAPI.Authenticated(gatehouse.ScopeAdmin, func(w http.ResponseWriter, r *http.Request, _ *gatehouse.Principal) error {
		metrics.ServeHTTP(w, r)
		return nil
	}))
}

// MetricsHandler serves the Prometheus metrics without a credential, for a
// listener of their own that only the monitoring network reaches.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.Warn("readyz: database unreachable", "err", err)
		http.Error(w, "database unreachable\n", http.StatusServiceUnavailable)
		return
	}
	if err := s.cfg.Blobs.Ping(ctx); err != nil {
		s.log.Warn("readyz: package storage unreachable", "err", err)
		http.Error(w, "package storage unreachable\n", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, "ok")
}
