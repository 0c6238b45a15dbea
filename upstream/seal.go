package upstream

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse"
)

// Sealer encrypts upstream credentials with AES-256-GCM under a key from
// the server's configuration, so the database never holds them in clear.
// The channel ID is bound as additional data: a sealed token copied to
// another channel's row does not open.
type Sealer struct{ aead cipher.AEAD }

// NewSealer takes a 32-byte key, given as 64 hex digits or base64.
func NewSealer(key string) (*Sealer, error) {
	var raw []byte
	if b, err := base64.StdEncoding.DecodeString(key); err == nil && len(b) == 32 {
		raw = b
	} else if len(key) == 64 {
		raw = make([]byte, 32)
		if _, err := fmt.Sscanf(key, "%64x", &raw); err != nil {
			raw = nil
		}
	}
	if len(raw) != 32 {
		return nil, errors.New("the upstream credential key must be 32 bytes, as 64 hex digits or base64")
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead}, nil
}

func aad(channelID int64) []byte { return fmt.Appendf(nil, "gatehouse-upstream:%d", channelID) }

// Seal encrypts token for the channel: nonce then ciphertext.
func (s *Sealer) Seal(channelID int64, token string) ([]byte, error) {
	if s == nil {
		return nil, gatehouse.FieldErrorf("upstream.token", "This server has no key to store upstream credentials with; start it with --upstream-key (32 random bytes, hex or base64).")
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(token), aad(channelID)), nil
}

// Open decrypts what Seal made for the channel.
func (s *Sealer) Open(channelID int64, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	if s == nil {
		return "", errors.New("an upstream credential is stored but the server has no --upstream-key to open it")
	}
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("a stored upstream credential is damaged")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad(channelID))
	if err != nil {
		return "", errors.New("a stored upstream credential does not open with this server's --upstream-key")
	}
	return string(plain), nil
}
