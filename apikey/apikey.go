// Package apikey defines the format of Gatehouse API keys: how they are
// generated, checked without a database, hashed for storage, and hinted at
// in lists.
//
// A key is "gk-", then 43 base62 characters holding 32 random bytes, then 6
// base62 characters holding the CRC-32 (IEEE) of everything before them:
//
//	gk-0hZ3…(43 body chars)…Wq1 + 6 checksum chars = 52 characters
//
// The alphabet after the prefix is [0-9A-Za-z], because conda's /t/<token>/
// parser only accepts [A-Za-z0-9-]. The fixed prefix lets secret scanners
// find leaked keys (Pattern), and the checksum rejects typos and random
// look-alikes before any database lookup (checklist B1, J5).
//
// The package is pure: it imports only the standard library.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"regexp"
)

const (
	// Prefix starts every key.
	Prefix = "gk-"
	// Len is the length of every key, in bytes (all of them ASCII).
	Len = len(Prefix) + bodyLen + sumLen

	randomBytes = 32 // 256 bits from crypto/rand
	bodyLen     = 43 // base62 digits needed for 256 bits: ceil(256 / log2(62))
	sumLen      = 6  // base62 digits needed for 32 bits: ceil(32 / log2(62))
	sumStart    = len(Prefix) + bodyLen
	hintChars   = 4
)

// Alphabet is in ASCII order, so fixed-width base62 strings sort like the
// numbers they encode.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Errors returned by Check. Their messages are safe to show a person: they
// never contain the key.
var (
	ErrMalformed = errors.New("this is not a Gatehouse API key: keys start with \"gk-\" followed by 49 letters and digits; copy the whole key again, or create a new one in Account Settings → API Keys")
	ErrChecksum  = errors.New("this API key has a typo: its checksum does not match; copy the whole key again, or create a new one in Account Settings → API Keys")
)

// Pattern finds keys in text, for secret scanners (checklist J5). It matches
// the format only; run Check on each match to drop look-alikes.
var Pattern = regexp.MustCompile(`\bgk-[0-9A-Za-z]{49}\b`)

// maxBody is the body of the largest 32-byte value. Bodies above it (which
// 43 base62 digits can hold) are never generated, so Check refuses them.
var maxBody = func() string {
	var all [randomBytes]byte
	for i := range all {
		all[i] = 0xff
	}
	var body [bodyLen]byte
	encodeBody(&body, all)
	return string(body[:])
}()

// Generate returns a new key made from 32 bytes of crypto/rand.
func Generate() (string, error) { return GenerateFrom(rand.Reader) }

// GenerateFrom returns a key made from the next 32 bytes of r. Use it with a
// fixed reader for deterministic tests; servers use Generate.
func GenerateFrom(r io.Reader) (string, error) {
	var random [randomBytes]byte
	if _, err := io.ReadFull(r, random[:]); err != nil {
		return "", fmt.Errorf("apikey: reading %d random bytes: %w", randomBytes, err)
	}
	var key [Len]byte
	copy(key[:], Prefix)
	encodeBody((*[bodyLen]byte)(key[len(Prefix):sumStart]), random)
	sum := checksum(string(key[:sumStart]))
	copy(key[sumStart:], sum[:])
	return string(key[:]), nil
}

// Check reports whether key has the format of a key and a matching checksum,
// without touching a database. It returns ErrMalformed or ErrChecksum. It
// does not allocate, and refuses input of the wrong length before reading it,
// so a 10 KB header costs nothing (checklist B1).
func Check(key string) error {
	if len(key) != Len || key[:len(Prefix)] != Prefix {
		return ErrMalformed
	}
	for i := len(Prefix); i < Len; i++ {
		if Digit(key[i]) < 0 {
			return ErrMalformed
		}
	}
	if key[len(Prefix):sumStart] > maxBody {
		return ErrMalformed
	}
	// A plain comparison: the checksum follows from the rest of the key,
	// so its timing reveals nothing secret.
	if want := checksum(key[:sumStart]); string(want[:]) != key[sumStart:] {
		return ErrChecksum
	}
	return nil
}

// Hash returns the SHA-256 of key: the only form of a key that is stored.
// It does not allocate for strings up to Len bytes.
func Hash(key string) [32]byte {
	if len(key) <= Len {
		// A copy on the stack keeps the []byte conversion from allocating.
		var buf [Len]byte
		n := copy(buf[:], key)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(key))
}

// Hint returns what lists show of a key: the prefix, the first four body
// characters, "…", and the last four characters (checklist A3). That is 11
// characters of the key in two pieces, none 8 or longer (checklist A4).
// A string that is not Len characters starting with Prefix gets "".
func Hint(key string) string {
	if len(key) != Len || key[:len(Prefix)] != Prefix {
		return ""
	}
	return key[:len(Prefix)+hintChars] + "…" + key[Len-hintChars:]
}

// Equal reports whether a and b are equal, in time that depends only on
// their lengths. Use it to compare key hashes.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// encodeBody writes random as a fixed-width, big-endian base62 number,
// left-padded with '0', by repeated division of the byte string by 62.
func encodeBody(dst *[bodyLen]byte, random [randomBytes]byte) {
	n := random // a copy: the division consumes it
	for i := bodyLen - 1; i >= 0; i-- {
		var rem uint32
		for j := range n {
			cur := rem<<8 | uint32(n[j])
			n[j] = byte(cur / 62)
			rem = cur % 62
		}
		dst[i] = Alphabet[rem]
	}
}

// checksum returns the CRC-32 (IEEE) of s as 6 fixed-width base62 digits.
func checksum(s string) (out [sumLen]byte) {
	PutChecksum(out[:], s)
	return out
}

// PutChecksum writes the CRC-32 (IEEE) of s into dst as len(dst)
// fixed-width base62 digits, the least significant last (with fewer than
// six, the high digits are dropped). It does not allocate.
func PutChecksum(dst []byte, s string) {
	// Bytewise over the standard table, because crc32.ChecksumIEEE takes a
	// []byte and converting s would allocate.
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	v := uint64(^crc)
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = Alphabet[v%62]
		v /= 62
	}
}

// Digit returns the value of base62 digit c, or -1.
func Digit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'Z':
		return int(c-'A') + 10
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}
