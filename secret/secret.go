// Package secret makes and keeps the random secrets Gatehouse hands out
// besides API keys: session tokens, OAuth codes and access tokens, CSRF
// tokens, login state, generated passwords. One generator, one hash, one
// comparison, so every secret gets the same treatment: 256 bits from the
// operating system, stored only as SHA-256, compared in constant time.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// TokenLen is the length of a Token: 32 random bytes in base64url.
const TokenLen = 43

// Token returns 32 random bytes as unpadded base64url (43 characters),
// safe in URLs, cookies and form fields. crypto/rand never fails on the
// platforms Go supports (since Go 1.24 it would crash the program first).
func Token() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// IsToken reports whether s has a Token's shape, so a lookup can be
// skipped for anything else.
func IsToken(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Hash is how a secret is stored: its SHA-256.
func Hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Equal compares two secrets in constant time (for equal lengths).
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
