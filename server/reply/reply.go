// Package reply is the one error path of Gatehouse's HTTP layer: one table
// from error code to status, one place that logs internal errors, and the
// small encoders every answer goes through: JSON for the API, the
// {reason, message} refusal conda prints on channel URLs, and the RFC 6749
// error of the OAuth endpoints. HTML pages take their status and message
// from Page. Clients only ever see an error's code, reason and message,
// never the text of a wrapped error.
package reply

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// statusOf maps error codes to HTTP statuses. A code missing here is a
// 500: Status never answers 0.
var statusOf = map[string]int{
	gatehouse.EINVALID:      http.StatusBadRequest,
	gatehouse.ECONFLICT:     http.StatusConflict,
	gatehouse.ENOTFOUND:     http.StatusNotFound,
	gatehouse.EUNAUTHORIZED: http.StatusUnauthorized,
	gatehouse.EFORBIDDEN:    http.StatusForbidden,
	gatehouse.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	gatehouse.ERATELIMITED:  http.StatusTooManyRequests,
	gatehouse.EQUOTA:        http.StatusForbidden,
	gatehouse.EUNAVAILABLE:  http.StatusServiceUnavailable,
	gatehouse.EFULL:         http.StatusInsufficientStorage,
	gatehouse.EINTERNAL:     http.StatusInternalServerError,
}

// Status returns the HTTP status of err's code.
func Status(err error) int {
	if s, ok := statusOf[gatehouse.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Replier writes error answers and logs the internal ones.
type Replier struct {
	log *slog.Logger
}

// New returns a Replier that logs internal errors to log.
func New(log *slog.Logger) *Replier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Replier{log: log}
}

// status is Status, logging err when it is internal: the one place that
// does.
func (rp *Replier) status(r *http.Request, err error) int {
	if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
		rp.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", RedactPath(r.URL.Path), "err", err)
	}
	return Status(err)
}

// retryAfter sets Retry-After for errors that say when to try again.
func retryAfter(w http.ResponseWriter, err error) {
	var e *gatehouse.Error
	if asError(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+999_999_999)/1_000_000_000)))
	}
}

// Page returns the status and message of an HTML error page for err.
func (rp *Replier) Page(r *http.Request, err error) (int, string) {
	return rp.status(r, err), gatehouse.ErrorMessage(err)
}

// apiError is the JSON body of every error from /api: {code, message,
// field} (and reason for refused credentials). The nested error.code is
// what anaconda-auth reads ("auth_required" on 401, which it shows as
// "Your provided API Key or login token is invalid").
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

// API answers an /api request with err. A 401 carries WWW-Authenticate.
func (rp *Replier) API(w http.ResponseWriter, r *http.Request, err error) {
	status := rp.status(r, err)
	code := gatehouse.ErrorCode(err)
	body := apiError{Code: code, Message: gatehouse.ErrorMessage(err)}
	body.Error = apiErrorInner{Code: code, Message: body.Message}
	var e *gatehouse.Error
	if asError(err, &e) {
		body.Field = e.Field
		if code == gatehouse.EUNAUTHORIZED || code == gatehouse.ERATELIMITED {
			body.Reason = e.Reason
		}
	}
	retryAfter(w, err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		body.Error.Code = "auth_required"
	}
	JSON(w, status, body)
}

// Refusal is the JSON conda prints on a 403 or 404 for a channel URL.
type Refusal struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// condaReasons are the reasons of refusals that carry none of their own.
var condaReasons = map[string]string{
	gatehouse.ENOTFOUND:    "NOT FOUND",
	gatehouse.ERATELIMITED: "TOO MANY ATTEMPTS",
	gatehouse.EUNAVAILABLE: "UNAVAILABLE",
	gatehouse.EFULL:        "INSUFFICIENT STORAGE",
	gatehouse.EINTERNAL:    "INTERNAL ERROR",
	gatehouse.EINVALID:     "BAD REQUEST",
}

// Conda answers a channel request with err (protocols.md). A refused
// credential is a 403, not a 401, because conda would print a 401's URL,
// key and all; not-found stays 404 (clients read a missing subdir as
// empty), rate limits 429 and outages 503, which conda retries by itself.
// Refusals depend on who asks, so shared caches must not keep them.
func (rp *Replier) Conda(w http.ResponseWriter, r *http.Request, err error) {
	status := rp.status(r, err)
	code := gatehouse.ErrorCode(err)
	reason, ok := condaReasons[code]
	if !ok {
		status, reason = http.StatusForbidden, "ACCESS DENIED"
	}
	if rs := gatehouse.ErrorReason(err); rs != "" {
		reason = rs
	}
	retryAfter(w, err)
	w.Header().Set("Cache-Control", "no-store")
	JSON(w, status, Refusal{Reason: reason, Message: gatehouse.ErrorMessage(err)})
}

// OAuth answers a token or device endpoint request with err as RFC 6749
// §5.2 says: {"error", "error_description"}, 400 unless the store is down
// (503, temporarily_unavailable), the caller is over its budget (429) or
// it is a bug (500, server_error).
func (rp *Replier) OAuth(w http.ResponseWriter, r *http.Request, err error) {
	status := Status(err)
	reason := gatehouse.ErrorReason(err)
	switch code := gatehouse.ErrorCode(err); {
	case code == gatehouse.EUNAVAILABLE:
		reason = "temporarily_unavailable"
	case code == gatehouse.ERATELIMITED:
		if reason == "" || reason == "TOO MANY ATTEMPTS" {
			reason = "invalid_request"
		}
	case reason != "" || code == gatehouse.EINVALID:
		status = http.StatusBadRequest
		if reason == "" {
			reason = "invalid_request"
		}
	default:
		// Not the client's doing: a bug, or a store answer no flow
		// expects. Logged here, never shown.
		rp.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", RedactPath(r.URL.Path), "err", err)
		status, reason = http.StatusInternalServerError, "server_error"
		err = errors.New("hidden") // ErrorMessage shows the generic sentence
	}
	retryAfter(w, err)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	JSON(w, status, map[string]string{"error": reason, "error_description": gatehouse.ErrorMessage(err)})
}

// JSON writes v as the body of a JSON answer with status.
func JSON(w http.ResponseWriter, status int, v any) {
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

// tokenPath matches the /t/<key>/ segment conda puts in channel URLs, and
// keyLike anything shaped like one of our keys, wherever it appears.
var (
	tokenPath = regexp.MustCompile(`/t/[^/]*`)
	keyLike   = regexp.MustCompile(`gk-[0-9A-Za-z]+`)
)

// RedactPath removes credentials from a path before it is logged
// (checklist J1, J2).
func RedactPath(p string) string {
	if !strings.Contains(p, "/t/") && !strings.Contains(p, "gk-") {
		return p // nearly every path: no regexp runs on the hot path
	}
	p = tokenPath.ReplaceAllString(p, "/t/<redacted>")
	return keyLike.ReplaceAllString(p, "gk-<redacted>")
}

func asError[T error](err error, target *T) bool {
	return err != nil && errors.As(err, target)
}
