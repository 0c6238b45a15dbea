package idp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// MaxTokenSize bounds the ID tokens read: real ones are a few KiB.
const MaxTokenSize = 16 << 10

var errNotAToken = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID ID TOKEN",
	Message: "This is not an OpenID Connect ID token (a JWT with an issuer)."}

// peekClaims decodes a JWT's payload without verifying it.
func peekClaims(raw string) (map[string]any, error) {
	if len(raw) == 0 || len(raw) > MaxTokenSize {
		return nil, errNotAToken
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, errNotAToken
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errNotAToken
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil || dec.More() {
		return nil, errNotAToken
	}
	return claims, nil
}
