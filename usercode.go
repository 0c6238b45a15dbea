package gatehouse

import (
	"crypto/rand"
	"strings"
	"unicode"
)

// User codes of the device login (RFC 8628): eight letters a person types,
// shown as "XXXX-XXXX". The alphabet has no vowels (no words) and none of
// the letters people confuse; 20^8 ≈ 2^34.6 codes.
const (
	UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLetters  = 8
	// MaxUserCodeInput bounds what NormalizeUserCode reads.
	MaxUserCodeInput = 64
)

// NewUserCode returns a random user code, "XXXX-XXXX".
func NewUserCode() string {
	var out [userCodeLetters + 1]byte
	var buf [16]byte
	n := 0
	for n < userCodeLetters {
		rand.Read(buf[:])
		for _, b := range buf {
			// 240 = 12*20: bytes above it would favour the first letters.
			if b >= 240 || n == userCodeLetters {
				continue
			}
			i := n
			if n >= 4 {
				i++
			}
			out[i] = UserCodeAlphabet[b%20]
			n++
		}
	}
	out[4] = '-'
	return string(out[:])
}

// NormalizeUserCode turns what a person typed into the stored form
// "XXXX-XXXX": case, dashes and spaces do not matter. ok is false unless
// exactly eight letters of the alphabet remain.
func NormalizeUserCode(typed string) (code string, ok bool) {
	if len(typed) > MaxUserCodeInput {
		return "", false
	}
	var out [userCodeLetters + 1]byte
	n := 0
	for _, r := range typed {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			continue
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		if r > unicode.MaxASCII || strings.IndexByte(UserCodeAlphabet, byte(r)) < 0 || n == userCodeLetters {
			return "", false
		}
		i := n
		if n >= 4 {
			i++
		}
		out[i] = byte(r)
		n++
	}
	if n != userCodeLetters {
		return "", false
	}
	out[4] = '-'
	return string(out[:]), true
}
