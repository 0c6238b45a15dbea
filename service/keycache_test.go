package service

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// BenchmarkAuthenticate measures the key check on the request path: the
// cached case is what nearly every request pays; the uncached case adds the
// database lookup a key costs once per cache period.
func BenchmarkAuthenticate(b *testing.B) {
	f := newFixture(b, nil)
	key := f.key(f.admin, "bench", gatehouse.ScopeUser|gatehouse.ScopeChannels, 24*time.Hour)
	ctx := context.Background()
	c := gatehouse.Credential{Key: key}
	if _, err := f.svc.Auth.Authenticate(ctx, c, testAddr); err != nil {
		b.Fatal(err)
	}
	keys := f.svc.core.keys
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := keys.Authenticate(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached with the address limiter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.svc.Auth.Authenticate(ctx, c, testAddr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			keys.ForgetAll()
			if _, err := keys.Authenticate(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("malformed", func(b *testing.B) {
		b.ReportAllocs()
		bad := key[:len(key)-1] + "!"
		for b.Loop() {
			if _, err := keys.Authenticate(ctx, bad); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}
