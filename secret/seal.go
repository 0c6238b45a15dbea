package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// Sealer encrypts small secrets the server must keep and use again (an
// identity provider's client secret) with AES-256-GCM under a key from the
// server's configuration. Each sealed value carries its own nonce and is
// bound to a context string (which row it belongs to), so a value copied
// into another row does not open there.
type Sealer struct{ aead cipher.AEAD }

// SealedPrefix starts every sealed value; the version lets the format
// change later.
const SealedPrefix = "sealed:v1:"

// ErrSealKey is returned for a key that is not 32 bytes.
var ErrSealKey = errors.New("the secret key must be 32 bytes (44 characters of base64, or 64 hex digits)")

// ParseSealKey decodes a key written as 64 hex digits or as standard or
// URL-safe base64.
func ParseSealKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == 32 {
			return k, nil
		}
	}
	return nil, ErrSealKey
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, ErrSealKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to context.
func (s *Sealer) Seal(plaintext, context string) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return SealedPrefix + base64.RawURLEncoding.EncodeToString(out)
}

// ErrUnseal is returned for a value that does not open with this key and
// context.
var ErrUnseal = errors.New("the sealed secret does not open with this server's key")

// Open decrypts a value Seal made with the same context.
func (s *Sealer) Open(sealed, context string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, SealedPrefix)
	if !ok {
		return "", ErrUnseal
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) < s.aead.NonceSize()+s.aead.Overhead() {
		return "", ErrUnseal
	}
	n := s.aead.NonceSize()
	pt, err := s.aead.Open(nil, b[:n], b[n:], []byte(context))
	if err != nil {
		return "", ErrUnseal
	}
	return string(pt), nil
}
