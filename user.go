package gatehouse

import (
	"regexp"
	"time"
	"unicode/utf8"
)

// User is an account on the platform. Users and organizations share one
// namespace of names, because both can own channels later.
type User struct {
	ID           int64     `json:"id"`
	Username     string    `json:"username"`
	Email        string    `json:"email,omitempty"`
	PasswordHash string    `json:"-"`
	IsAdmin      bool      `json:"is_admin"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
	// PasswordChangedAt is when the password was last set.
	PasswordChangedAt time.Time `json:"password_changed_at"`
	// MustChangePassword asks for a new password at the next web sign-in
	// (the first administrator's printed one); changing it clears the
	// flag. API keys and the CLI are unaffected.
	MustChangePassword bool `json:"must_change_password,omitempty"`
}

// nameRE is the rule for user and organization names: lowercase, because
// they become channel path parts, whose conda rule is ^[a-z0-9_][a-z0-9_.-]*$.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,38}$`)

// ValidateName checks a user or organization name.
func ValidateName(field, name string) error {
	if !nameRE.MatchString(name) {
		return FieldErrorf(field, "Names are 1 to 39 characters: lowercase letters, digits, '-' and '_', starting with a letter or digit.")
	}
	return nil
}

// Password length limits. The upper bound only protects the hasher; any
// Unicode is accepted unmodified (checklist E8).
const (
	MinPasswordLen   = 8    // characters
	MaxPasswordBytes = 1024 // bytes
)

// ValidatePassword checks a new password's length.
func ValidatePassword(field, pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return FieldErrorf(field, "Passwords must be at least %d characters long.", MinPasswordLen)
	}
	if len(pw) > MaxPasswordBytes {
		return FieldErrorf(field, "Passwords must be at most %d bytes long.", MaxPasswordBytes)
	}
	if !utf8.ValidString(pw) {
		return FieldErrorf(field, "Passwords must be valid UTF-8 text.")
	}
	return nil
}
