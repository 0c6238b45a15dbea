package server

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
)

// hookStore runs during a key lookup, as another replica's revocation
// would land while the query is in flight.
type hookStore struct {
	gatehouse.Store
	during func()
}

func (h *hookStore) KeyByHash(ctx context.Context, hash []byte) (*gatehouse.APIKey, *gatehouse.User, error) {
	k, u, err := h.Store.KeyByHash(ctx, hash)
	if h.during != nil {
		h.during()
	}
	return k, u, err
}

func TestALookupThatRacesAnEvictionIsNotCached(t *testing.T) {
	// checklist A6: an answer read before a revocation was applied here
	// must not outlive that request in the cache.
	f := newFixture(t)
	key, _ := f.createKey("admin", "ci", []string{"user"}, time.Hour)
	hs := &hookStore{Store: f.store}
	ka := newKeyAuth(hs, f.clock.Now, time.Minute, f.srv.log, f.srv.metrics)
	defer ka.close()
	h := apikey.Hash(key)
	hs.during = func() { ka.forget(h[:]) }
	if _, err := ka.authenticate(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	ka.mu.RLock()
	_, cached := ka.cache[h]
	ka.mu.RUnlock()
	if cached {
		t.Error("a lookup that raced an eviction was cached")
	}
	hs.during = nil
	if _, err := ka.authenticate(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	ka.mu.RLock()
	_, cached = ka.cache[h]
	ka.mu.RUnlock()
	if !cached {
		t.Error("an undisturbed lookup was not cached")
	}
}
