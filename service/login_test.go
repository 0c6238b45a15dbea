package service

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
)

// BenchmarkOAuthPrincipal is the cost a login token adds to an API
// request: the format check, a hash and one SQLite lookup.
func BenchmarkOAuthPrincipal(b *testing.B) {
	f := newFixture(b, nil)
	u := f.user("alice", false)
	token := AccessTokenPrefix + secret.Token()
	now := f.clock.Now()
	if err := f.store.CreateAccessToken(b.Context(), &gatehouse.AccessToken{Hash: secret.Hash(token), UserID: u.ID,
		Scopes: cliDefaultScopes, CreatedAt: now, ExpiresAt: now.Add(accessTokenLifetime)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Auth.Authenticate(b.Context(), gatehouse.Credential{Key: token}, testAddr); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPKCEAcceptsOnlyTheVerifierOfTheChallenge(t *testing.T) {
	verifier := "a-verifier-of-at-least-forty-three-characters-long"
	challenge := "IVwqw-RbcfSCohPiwFj5_rcK5SITNl8PHeuEfqi9ouM" // base64url(SHA-256(verifier))
	if !pkceMatches(verifier, challenge) {
		t.Fatal("the verifier of the challenge was refused")
	}
	for _, bad := range []string{"", "short", verifier + "x", verifier[:42], verifier + "\x00"} {
		if pkceMatches(bad, challenge) {
			t.Errorf("verifier %q accepted", bad)
		}
	}
}
