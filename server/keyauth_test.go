package server

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

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
	f.clock.Advance(f.srv.Services().KeyCacheTTL())
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
	f.srv.Close() // flush the last-used writes
	k, err := f.store.KeyByID(context.Background(), f.admin.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if !k.LastUsedAt.Equal(f.clock.Now().UTC().Truncate(time.Microsecond)) {
		t.Errorf("LastUsedAt = %v, want %v", k.LastUsedAt, f.clock.Now())
	}
}
