package upstream

import (
	"errors"
	"strconv"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
)

// Sealer keeps upstream credentials sealed with the server's secret key
// (secret.Sealer, AES-256-GCM), so the database never holds them in clear.
// The channel ID is the sealed value's context: a token copied to another
// channel's row does not open there.
type Sealer struct{ s *secret.Sealer }

// NewSealer uses the server's secret key (see secret.ParseSealKey).
func NewSealer(s *secret.Sealer) *Sealer {
	if s == nil {
		return nil
	}
	return &Sealer{s}
}

func sealContext(channelID int64) string {
	return "gatehouse-upstream:" + strconv.FormatInt(channelID, 10)
}

// Seal encrypts token for the channel.
func (s *Sealer) Seal(channelID int64, token string) ([]byte, error) {
	if s == nil {
		return nil, gatehouse.FieldErrorf("upstream.token", "This server has no key to store upstream credentials with; start it with --secret-key (32 random bytes: openssl rand -base64 32).")
	}
	return []byte(s.s.Seal(token, sealContext(channelID))), nil
}

// Open decrypts what Seal made for the channel.
func (s *Sealer) Open(channelID int64, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	if s == nil {
		return "", errors.New("an upstream credential is stored but the server has no --secret-key to open it")
	}
	token, err := s.s.Open(string(sealed), sealContext(channelID))
	if err != nil {
		return "", errors.New("a stored upstream credential does not open with this server's --secret-key")
	}
	return token, nil
}
