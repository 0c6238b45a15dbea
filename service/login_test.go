package service

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/service/login"
)

// BenchmarkOAuthPrincipal is the cost a login token adds to an API
// request: the format check, a hash and one SQLite lookup.
func BenchmarkOAuthPrincipal(b *testing.B) {
	f := newFixture(b, nil)
	u := f.user("alice", false)
	token := login.AccessTokenPrefix + secret.Token()
	now := f.clock.Now()
	if err := f.store.CreateAccessToken(b.Context(), &gatehouse.AccessToken{Hash: secret.Hash(token), UserID: u.ID,
		Scopes: cliDefaultScopes, CreatedAt: now, ExpiresAt: now.Add(login.AccessTokenLifetime)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Auth.Authenticate(b.Context(), gatehouse.Credential{Key: token}, testAddr); err != nil {
			b.Fatal(err)
		}
	}
}
