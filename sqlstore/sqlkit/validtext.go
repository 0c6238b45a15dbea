package sqlkit

import (
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
)

// PostgreSQL refuses a NUL byte or invalid UTF-8 in a TEXT value, where
// SQLite keeps it. So that both backends give the same answer, text a
// caller chose (a key's name, an email) is refused with EINVALID before it
// reaches the database, and text that comes from outside as it is (the
// name someone tried to sign in with, a user agent) is cleaned and cut
// instead, because recording it must not fail.

// Limits, in bytes, on text from outside.
const (
	MaxAuditText  = 1024 // actor, action, target, IP of an audit event
	MaxAuditInfo  = 4096 // an audit event's detail
	MaxUserAgent  = 512
	MaxSessionIP  = 64 // an IPv6 address with a zone fits
	replacementCh = "\uFFFD"
)

// TextOK reports whether s can be stored as it is on either backend.
func TextOK(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// RequireText takes pairs of field name and value and refuses the first
// value that is not storable text.
func RequireText(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !TextOK(pairs[i+1]) {
			return gatehouse.FieldErrorf(pairs[i], "The %s must be UTF-8 text without NUL characters.", strings.ReplaceAll(pairs[i], "_", " "))
		}
	}
	return nil
}

// OutsideText makes s storable: invalid UTF-8 and NUL become U+FFFD, and
// the result is cut to at most max bytes, between characters.
func OutsideText(s string, max int) string {
	if !TextOK(s) {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, replacementCh), "\x00", replacementCh)
	}
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
