package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// Conda channel URLs. A channel is served at /repo/<channel>/, and a key
// may sit where conda puts it (/repo/t/<key>/<channel>/...) or where
// hand-written URLs put it (/t/<key>/repo/<channel>/...).
//
// Every request passes three steps in order (architecture.md): the
// credential (a bad one is refused, never treated as anonymous), the
// registration gate, then authorization. Every refusal is a 403 with the
// JSON {reason, message} body conda shows (protocols.md): a 401 would make
// conda print the key itself.

// repoRequest is a parsed channel URL.
type repoRequest struct {
	pathKey string // from /t/<key>/, "" if none
	channel string
	rest    string // what follows the channel: "", "channeldata.json", "linux-64/repodata.json", ...
}

// parseRepoPath splits a channel URL; ok is false for paths that are not
// channel URLs at all.
func parseRepoPath(p string) (rr repoRequest, ok bool) {
	switch {
	case strings.HasPrefix(p, "/t/"):
		key, after, found := strings.Cut(p[len("/t/"):], "/")
		if !found || !strings.HasPrefix(after, "repo/") {
			return rr, false
		}
		rr.pathKey, p = key, "/"+after
		if rr.pathKey == "" {
			return rr, false
		}
	case strings.HasPrefix(p, "/repo/t/"):
		key, after, found := strings.Cut(p[len("/repo/t/"):], "/")
		if !found || key == "" {
			return rr, false
		}
		rr.pathKey, p = key, "/repo/"+after
	}
	if !strings.HasPrefix(p, "/repo/") {
		return rr, false
	}
	rr.channel, rr.rest, _ = strings.Cut(p[len("/repo/"):], "/")
	return rr, rr.channel != ""
}

// channelRefusal is the JSON conda prints on a 403 or 404.
type channelRefusal struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// refuse answers a channel request. Credential failures keep their
// reason; everything becomes a 403 except not-found (404, so clients
// treat a missing subdir as empty), rate limits (429) and outages (503),
// which conda retries by itself.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	code := gatehouse.ErrorCode(err)
	status := http.StatusForbidden
	reason := "ACCESS DENIED"
	switch code {
	case gatehouse.ENOTFOUND:
		status, reason = http.StatusNotFound, "NOT FOUND"
	case gatehouse.ERATELIMITED:
		status, reason = http.StatusTooManyRequests, "TOO MANY ATTEMPTS"
	case gatehouse.EUNAVAILABLE:
		status, reason = http.StatusServiceUnavailable, "UNAVAILABLE"
	case gatehouse.EINTERNAL:
		status, reason = http.StatusInternalServerError, "INTERNAL ERROR"
		s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", redactPath(r.URL.Path), "err", err)
	case gatehouse.EINVALID:
		status, reason = http.StatusBadRequest, "BAD REQUEST"
	}
	var ce *credError
	if asError(err, &ce) {
		if ce.Reason != "" {
			reason = ce.Reason
		}
		if ce.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ce.RetryAfter))
		}
	}
	var rr *refusalError
	if asError(err, &rr) {
		reason = rr.Reason
	}
	// Refusals depend on who asks: shared caches must not keep them.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, channelRefusal{Reason: reason, Message: gatehouse.ErrorMessage(err)})
}

// refusalError is a channel-level refusal with its protocols.md reason.
type refusalError struct {
	Err    *gatehouse.Error
	Reason string
}

func (e *refusalError) Error() string { return e.Err.Error() }
func (e *refusalError) Unwrap() error { return e.Err }

func refusal(reason, format string, args ...any) error {
	return &refusalError{Err: gatehouse.Errorf(gatehouse.EFORBIDDEN, format, args...), Reason: reason}
}
