package web

import (
	"errors"
	"slices"

	"github.com/gatehouse-dev/gatehouse"
)

// FieldErrors places a refusal where the person will look for it: under
// the form field the error names (gatehouse.Error.Field, the same names
// the JSON API uses), or at the head of the form ("") when it names none
// of the form's fields.
type FieldErrors map[string]string

// ErrorsAt returns err's message at its field, if fields holds it.
func ErrorsAt(err error, fields ...string) FieldErrors {
	var e *gatehouse.Error
	field := ""
	if errors.As(err, &e) && slices.Contains(fields, e.Field) {
		field = e.Field
	}
	return FieldErrors{field: gatehouse.ErrorMessage(err)}
}
