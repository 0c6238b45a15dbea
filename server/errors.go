package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse"
)

// statusOf is the one table that maps error codes to HTTP statuses.
var statusOf = map[string]int{
	gatehouse.EINVALID:      http.StatusBadRequest,
	gatehouse.ECONFLICT:     http.StatusConflict,
	gatehouse.ENOTFOUND:     http.StatusNotFound,
	gatehouse.EUNAUTHORIZED: http.StatusUnauthorized,
	gatehouse.EFORBIDDEN:    http.StatusForbidden,
	gatehouse.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	gatehouse.ERATELIMITED:  http.StatusTooManyRequests,
	gatehouse.EUNAVAILABLE:  http.StatusServiceUnavailable,
	gatehouse.EINTERNAL:     http.StatusInternalServerError,
}

// apiError is the JSON body of every error from /api. `error.code` is what
// anaconda-auth looks for ("auth_required" on 401).
type apiError struct {
	Code    string        `json:"code"`
	Reason  string        `json:"reason,omitempty"`
	Message string        `json:"message"`
	Field   string        `json:"field,omitempty"`
	Error   apiErrorInner `json:"error"`
}

type apiErrorInner struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// credError is an authentication failure: the domain error plus the
// machine-readable reason of protocols.md ("API KEY EXPIRED", ...).
type credError struct {
	Err    *gatehouse.Error
	Reason string
	// RetryAfter is set on rate-limit refusals, in whole seconds.
	RetryAfter int
}

func (e *credError) Error() string { return e.Err.Error() }
func (e *credError) Unwrap() error { return e.Err }

// writeAPIError answers an /api request with err's status and message.
// Internal errors are logged here and never shown.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	code := gatehouse.ErrorCode(err)
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if code == gatehouse.EINTERNAL {
		s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", redactPath(r.URL.Path), "err", err)
	}
	body := apiError{Code: code, Message: gatehouse.ErrorMessage(err)}
	body.Error = apiErrorInner{Code: code, Message: body.Message}
	var fe *gatehouse.Error
	if asError(err, &fe) {
		body.Field = fe.Field
	}
	var ce *credError
	if asError(err, &ce) {
		body.Reason = ce.Reason
		if ce.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ce.RetryAfter))
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		body.Error.Code = "auth_required"
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"code":"internal","message":"encoding failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
