// Package orgtoken defines organization registration tokens, the secret an
// organization deploys to its machines so that their conda clients count as
// registered (the anaconda-anon-usage "o/" token), and reads the tokens
// that plugin adds to conda's User-Agent.
//
// A token is "gor-", then 28 base62 characters drawn from crypto/rand (166
// bits), then 4 base62 characters of the CRC-32 (IEEE) of everything
// before them: 36 characters in all. That fits the plugin's token pattern
// [A-Za-z0-9_-]{1,36}, and, having neither "_" nor ".", conda's /t/<token>/
// parser too, so the same token also works as a credential for clients
// without the plugin. The checksum drops typos and look-alikes before any
// lookup; only the SHA-256 of a token is stored.
//
// The package is pure: it imports only the standard library and apikey,
// whose base62 alphabet and checksum it shares.
package orgtoken

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/apikey"
)

const (
	// Prefix starts every token; it tells a registration token from an
	// API key ("gk-") wherever a credential is read.
	Prefix = "gor-"
	// Len is the length of every token.
	Len = len(Prefix) + bodyLen + sumLen

	bodyLen   = 28 // 28 × log2(62) ≈ 166.7 bits
	sumLen    = 4
	sumStart  = len(Prefix) + bodyLen
	hintChars = 3 // with the prefix, 7 characters: no piece of 8 (checklist A4)
)

// Errors returned by Check; they never contain the token.
var (
	ErrMalformed = errors.New("this is not a Gatehouse organization registration token: tokens start with \"gor-\" followed by 32 letters and digits")
	ErrChecksum  = errors.New("this organization registration token has a typo: its checksum does not match; copy the whole token again")
)

// Generate returns a new token from crypto/rand.
func Generate() (string, error) { return GenerateFrom(rand.Reader) }

// GenerateFrom returns a token drawn from r: each body character is one
// byte of r below 248 taken modulo 62 (bytes 248 to 255 are skipped, so
// every character is equally likely).
func GenerateFrom(r io.Reader) (string, error) {
	var tok [Len]byte
	copy(tok[:], Prefix)
	var buf [64]byte
	n := len(Prefix)
	for n < sumStart {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("orgtoken: reading random bytes: %w", err)
		}
		for _, b := range buf {
			if b >= 248 || n == sumStart {
				continue
			}
			tok[n] = apikey.Alphabet[b%62]
			n++
		}
	}
	sum := checksum(string(tok[:sumStart]))
	copy(tok[sumStart:], sum[:])
	return string(tok[:]), nil
}

// Looks reports whether s is meant as a registration token (it has the
// prefix), whatever its validity: the credential readers route on it.
func Looks(s string) bool { return len(s) >= len(Prefix) && s[:len(Prefix)] == Prefix }

// Check reports whether s has the format and a matching checksum, without
// a database. It does not allocate.
func Check(s string) error {
	if len(s) != Len || !Looks(s) {
		return ErrMalformed
	}
	for i := len(Prefix); i < Len; i++ {
		if apikey.Digit(s[i]) < 0 {
			return ErrMalformed
		}
	}
	if want := checksum(s[:sumStart]); string(want[:]) != s[sumStart:] {
		return ErrChecksum
	}
	return nil
}

// Hash returns the SHA-256 of the token, the only form stored. It does not
// allocate for strings up to Len bytes.
func Hash(s string) [32]byte {
	if len(s) <= Len {
		var buf [Len]byte
		n := copy(buf[:], s)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(s))
}

// Equal compares two hashes in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// Hint is what lists show of a token: the prefix and its first three body
// characters (7 in all, under the 8 that count as a piece of a secret, checklist A4), then "…". "" for what is not a token.
func Hint(s string) string {
	if len(s) != Len || !Looks(s) {
		return ""
	}
	return s[:len(Prefix)+hintChars] + "…"
}

// checksum is the CRC-32 of s in sumLen base62 digits, as API keys have
// theirs (in more digits).
func checksum(s string) (out [sumLen]byte) {
	apikey.PutChecksum(out[:], s)
	return out
}
