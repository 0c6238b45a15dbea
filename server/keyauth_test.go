package server

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
	f := newBenchFixture(b)
	key, _ := f.createKey("admin", "bench", []string{"user", "channels"}, 24*time.Hour)
	ctx := context.Background()
	if _, err := f.srv.keys.authenticate(ctx, key); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.srv.keys.authenticate(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.srv.keys.mu.Lock()
			clear(f.srv.keys.cache)
			f.srv.keys.mu.Unlock()
			if _, err := f.srv.keys.authenticate(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("malformed", func(b *testing.B) {
		b.ReportAllocs()
		bad := key[:len(key)-1] + "!"
		for b.Loop() {
			if _, err := f.srv.keys.authenticate(ctx, bad); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}

func TestKeyCacheBoundsHowLongAnotherReplicasRevocationTakes(t *testing.T) {
	// checklist A6, second half: a revocation written by another replica
	// (here: straight into the store, bypassing this server's eviction)
	// takes effect once the cache period has passed.
	f := newFixture(t)
	key, id := f.createKey("admin", "ci", []string{"user"}, time.Hour)
	if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(key)}); a.status != 200 {
		t.Fatalf("fresh key: %d", a.status)
	}
	if _, err := f.store.RevokeKey(context.Background(), f.admin.ID, id, f.clock.Now(), gatehouse.RevokedByUser); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(f.srv.cfg.KeyCacheTTL)
	if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(key)}); a.status != 401 {
		t.Errorf("a key revoked elsewhere still works after the cache period: %d", a.status)
	}
}

func TestLastUsedIsWrittenAtMostOncePerPeriod(t *testing.T) {
	// checklist I1: the hot path does not write on every request.
	f := newFixture(t)
	key, id := f.createKey("admin", "ci", []string{"user"}, time.Hour)
	for range 50 {
		f.do(call{method: "GET", path: "/api/account", auth: bearer(key)})
	}
	f.srv.keys.close() // flush
	k, err := f.store.KeyByID(context.Background(), f.admin.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if !k.LastUsedAt.Equal(f.clock.Now().UTC().Truncate(time.Microsecond)) {
		t.Errorf("LastUsedAt = %v, want %v", k.LastUsedAt, f.clock.Now())
	}
}
