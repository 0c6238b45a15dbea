package service

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
	hs := &hookStore{}
	f := newFixture(t, func(s gatehouse.Store) gatehouse.Store { hs.Store = s; return hs })
	key := f.key(f.admin, "ci", gatehouse.ScopeUser, time.Hour)
	h := apikey.Hash(key)
	hs.during = func() { f.svc.core.keys.Forget(h[:]) }
	if _, err := f.svc.Auth.Authenticate(t.Context(), gatehouse.Credential{Key: key}, testAddr); err != nil {
		t.Fatal(err)
	}
	if f.svc.CachedKey(h[:]) {
		t.Error("a lookup that raced an eviction was cached")
	}
	hs.during = nil
	if _, err := f.svc.Auth.Authenticate(t.Context(), gatehouse.Credential{Key: key}, testAddr); err != nil {
		t.Fatal(err)
	}
	if !f.svc.CachedKey(h[:]) {
		t.Error("an undisturbed lookup was not cached")
	}
}
