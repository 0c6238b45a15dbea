package idp

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

func jwt(payload string) string {
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
}

func TestPeekIssuerReadsOnlyWellFormedTokens(t *testing.T) {
	tests := []struct {
		name, token, want string
	}{
		{"a JWT with an issuer", jwt(`{"iss":"https://token.actions.githubusercontent.com","aud":"x"}`), "https://token.actions.githubusercontent.com"},
		{"a JWT without an issuer", jwt(`{"aud":"x"}`), ""},
		{"two parts", "a.b", ""},
		{"a payload that is not JSON", "a." + base64.RawURLEncoding.EncodeToString([]byte("nope")) + ".c", ""},
		{"a payload with trailing data", jwt(`{"iss":"x"} {}`), ""},
		{"an issuer that is a number", jwt(`{"iss":5}`), ""},
		{"a token over 16 KiB", jwt(`{"iss":"x","pad":"` + strings.Repeat("a", MaxTokenSize) + `"}`), ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PeekIssuer(tt.token)
			if got != tt.want || (tt.want == "") != (err != nil) {
				t.Errorf("PeekIssuer = %q, %v", got, err)
			}
			if err != nil && gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
				t.Errorf("error code %q", gatehouse.ErrorCode(err))
			}
		})
	}
}

func TestIssuersMustUseHTTPSExceptOnThisMachine(t *testing.T) {
	for issuer, ok := range map[string]bool{
		"https://accounts.example.com":        true,
		"https://login.example.com/tenant/v2": true,
		"http://127.0.0.1:5556/dex":           true,
		"http://localhost:8080":               true,
		"http://[::1]:9000":                   true,
		"http://idp.example.com":              false,
		"https://idp.example.com?x=1":         false,
		"https://user:pw@idp.example.com":     false,
		"ftp://idp.example.com":               false,
		"idp.example.com":                     false,
	} {
		if err := ValidateIssuer("issuer", issuer); (err == nil) != ok {
			t.Errorf("ValidateIssuer(%q) = %v, want ok=%v", issuer, err, ok)
		}
	}
}

// FuzzPeekIssuer: PeekIssuer reads tokens from anyone who calls the
// trusted-publishing exchange. It must never panic, and what it accepts
// has an issuer.
func FuzzPeekIssuer(f *testing.F) {
	for _, s := range []string{jwt(`{"iss":"https://x"}`), "a.b.c", "..", jwt(`{"iss":["a"]}`), jwt(`null`), jwt(`{"iss":"\u0000"}`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		iss, err := PeekIssuer(tok)
		if err == nil && iss == "" {
			t.Fatalf("accepted %q without an issuer", tok)
		}
	})
}
