package web

import (
	"errors"
	"slices"

	"github.com/gatehouse-dev/gatehouse"
)

// fieldErrors places a refusal where the person will look for it: under
// the form field the error names (gatehouse.Error.Field, the same names
// the JSON API uses), or at the head of the form ("") when it names none
// of the form's fields.
type fieldErrors map[string]string

// errorsAt returns err's message at its field, if fields holds it.
func errorsAt(err error, fields ...string) fieldErrors {
	var e *gatehouse.Error
	field := ""
	if errors.As(err, &e) && slices.Contains(fields, e.Field) {
		field = e.Field
	}
	return fieldErrors{field: gatehouse.ErrorMessage(err)}
}
