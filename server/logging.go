package server

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/api"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom passes bodies straight to the connection, so a file can go out
// with sendfile and large buffers in one write.
func (r *statusRecorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe logs each request (path redacted, no query string, no headers)
// and records metrics by route pattern.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		// Headers every answer carries (checklist E6, J3).
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if s.hsts {
			// Reached over HTTPS: browsers must never try plain HTTP
			// with its cookies again.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		// A body must keep coming (checklist I3: slow bodies); uploads
		// move this deadline forward while bytes arrive.
		_ = http.NewResponseController(w).SetReadDeadline(start.Add(api.BodyIdleTimeout))
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.status/100)+"xx").Inc()
		s.metrics.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		s.log.Info("request", "method", r.Method, "path", reply.RedactPath(r.URL.Path), "status", rec.status,
			"bytes", rec.bytes, "duration_ms", float64(elapsed.Microseconds())/1000, "ip", s.addrs.Client(r).String())
	})
}
