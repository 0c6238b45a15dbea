// Package usercode makes and reads the user codes of the device login
// (RFC 8628), the short codes a person types on the device page. It is
// pure: the standard library only.
package usercode

import (
	"crypto/rand"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// A user code is eight letters a person types, shown as "XXXX-XXXX". The
// alphabet has no vowels (no words) and none of the letters people
// confuse; 20^8 ≈ 2^34.6 codes.
const (
	Alphabet    = "BCDFGHJKLMNPQRSTVWXZ"
	codeLetters = 8
	// MaxInput bounds what Normalize reads.
	MaxInput = 64
)

// New returns a random user code, "XXXX-XXXX".
func New() string {
	var out [codeLetters + 1]byte
	var buf [16]byte
	n := 0
	for n < codeLetters {
		rand.Read(buf[:])
		for _, b := range buf {
			// 240 = 12*20: bytes above it would favour the first letters.
			if b >= 240 || n == codeLetters {
				continue
			}
			i := n
			if n >= 4 {
				i++
			}
			out[i] = Alphabet[b%20]
			n++
		}
	}
	out[4] = '-'
	return string(out[:])
}

// Normalize turns what a person typed into the stored form
// "XXXX-XXXX": case, dashes and spaces do not matter. ok is false unless
// exactly eight letters of the alphabet remain.
func Normalize(typed string) (code string, ok bool) {
	if len(typed) > MaxInput {
		return "", false
	}
	var out [codeLetters + 1]byte
	n := 0
	for _, r := range typed {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			continue
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		if r > unicode.MaxASCII || strings.IndexByte(Alphabet, byte(r)) < 0 || n == codeLetters {
			return "", false
		}
		i := n
		if n >= 4 {
			i++
		}
		out[i] = byte(r)
		n++
	}
	if n != codeLetters {
		return "", false
	}
	out[4] = '-'
	return string(out[:]), true
}

// Problem says, in a sentence a person can act on, why typed is
// not a user code: which characters are not allowed (naming the allowed
// ones), or how many letters it has. It returns "" for a well-formed code.
func Problem(typed string) string {
	if _, ok := Normalize(typed); ok {
		return ""
	}
	if len(typed) > MaxInput {
		return "That is too long for a code: a code is 8 letters, such as BCDF-GHJK. Type the code your terminal shows."
	}
	var bad []string
	n := 0
	for _, r := range typed {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			continue
		}
		u := unicode.ToUpper(r)
		if u > unicode.MaxASCII || strings.IndexByte(Alphabet, byte(u)) < 0 {
			if s := strconv.QuoteRune(r); !slices.Contains(bad, s) {
				bad = append(bad, s)
			}
			continue
		}
		n++
	}
	allowed := "Codes use only the letters " + strings.Join(strings.Split(Alphabet, ""), " ") +
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
