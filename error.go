package gatehouse

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. The HTTP layer maps each to one status in one table; a client
// only ever sees the code and the Message, never the text of a wrapped error.
const (
	EINVALID      = "invalid"              // the request is malformed or breaks a rule
	ECONFLICT     = "conflict"             // the thing already exists
	ENOTFOUND     = "not_found"            // no such thing, or not visible to the caller
	EUNAUTHORIZED = "unauthorized"         // no credential, or a bad one
	EFORBIDDEN    = "forbidden"            // a good credential without the right
	ETOOLARGE     = "too_large"            // a body or field over its limit
	ERATELIMITED  = "rate_limited"         // too many attempts; retry later
	EQUOTA        = "quota_exceeded"       // over a configured quota; free some up or ask an administrator
	EUNAVAILABLE  = "unavailable"          // a store is down; retry later
	EFULL         = "insufficient_storage" // the server's disk or storage is full; nothing was stored
	EINTERNAL     = "internal"             // a bug or an unexpected failure
)

// Error is the error type the domain speaks. Message is a sentence a person
// can act on; Field names the request field at fault, when there is one.
type Error struct {
	Code    string
	Message string
	Field   string
	// Reason is the machine-readable reason a protocol carries beside the
	// message: the conda refusal reasons of protocols.md ("API KEY
	// EXPIRED", "REGISTRATION REQUIRED") and OAuth error codes
	// ("invalid_grant"). Empty when the code says enough.
	Reason string
	// RetryAfter says, on ERATELIMITED and EUNAVAILABLE, when trying
	// again may succeed; zero when unknown.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("gatehouse error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("gatehouse error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error that names the field at fault.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Refusal returns an EFORBIDDEN *Error with a protocol reason.
func Refusal(reason, format string, args ...any) *Error {
	return &Error{Code: EFORBIDDEN, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// ErrorReason returns the Reason of the first *Error in err's chain, or "".
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, and a
// generic sentence for any other error, so internal details never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error. The server logged the details."
}
