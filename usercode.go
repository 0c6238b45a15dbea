package gatehouse

import (
	"crypto/rand"
	"slices"
	"strconv"
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

// UserCodeProblem says, in a sentence a person can act on, why typed is
// not a user code: which characters are not allowed (naming the allowed
// ones), or how many letters it has. It returns "" for a well-formed code.
func UserCodeProblem(typed string) string {
	if _, ok := NormalizeUserCode(typed); ok {
		return ""
	}
	if len(typed) > MaxUserCodeInput {
		return "That is too long for a code: a code is 8 letters, such as BCDF-GHJK. Type the code your terminal shows."
	}
	var bad []string
	n := 0
	for _, r := range typed {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			continue
		}
		u := unicode.ToUpper(r)
		if u > unicode.MaxASCII || strings.IndexByte(UserCodeAlphabet, byte(u)) < 0 {
			if s := strconv.QuoteRune(r); !slices.Contains(bad, s) {
				bad = append(bad, s)
			}
			continue
		}
		n++
	}
	allowed := "Codes use only the letters " + strings.Join(strings.Split(UserCodeAlphabet, ""), " ") +
		" (no vowels, no Y)."
	if len(bad) > 0 {
		what := "character"
		if len(bad) > 1 {
			what = "characters"
		}
		return "The code has the " + what + " " + strings.Join(bad, ", ") + ", which codes never contain. " + allowed +
			" Check the code your terminal shows."
	}
	return "A code is 8 letters, and this has " + strconv.Itoa(n) + ". " + allowed + " Type the code your terminal shows, such as BCDF-GHJK."
}
