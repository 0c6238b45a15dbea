package server

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/pgtest"
)

// Checklist A6, A10, H1 (issue 8, found by the soak test): after a
// PostgreSQL restart a replica's change feed takes a moment to reconnect,
// and a key revoked on another replica meanwhile stayed usable on it for
// the rest of the key cache period (the soak counted 15 uses of revoked
// keys 1 s after their revocation). From ChangeLost to the next ChangeAll
// the replica reads no cache: what it serves comes from the database; once
// the feed is back, caching resumes.
func TestAReplicaWhoseFeedIsLostTrustsNoCache(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	clock := &fakeClock{t: time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)}
	a, _ := newReplica(t, dsn, clock, false)
	// B hears of changes only through ApplyChange, as its feed would tell
	// it, so that the test decides when it is deaf.
	b, _ := newReplica(t, dsn, clock, false)
	a.admin = a.user("admin", true)
	adminKey, _ := a.createKey("admin", "ops", []string{"user", "admin", "channels"}, time.Hour)
	admin := bearer(adminKey)
	a.user("lee", false)
	a.must(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": "lab", "visibility": "private"}}, http.StatusCreated)
	a.must(call{method: "PUT", path: "/api/channels/lab/members/lee", auth: admin, body: map[string]any{"role": "read"}}, http.StatusNoContent)
	key, id := a.createKey("lee", "ci", []string{"user", "channels"}, time.Hour)
	use := call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(key)}

	b.srv.Services().ApplyChange(gatehouse.Change{Kind: gatehouse.ChangeLost})
	b.must(use, http.StatusOK)
	lookups := b.store.keyLookups.Load()
	b.must(use, http.StatusOK)
	if n := b.store.keyLookups.Load() - lookups; n != 1 {
		t.Errorf("a deaf replica looked the key up %d times for one request; want 1 (no cache)", n)
	}

	// Revoked on A; B is deaf, its clock has not moved: it must refuse
	// the key anyway, and a grant removed on A too.
	a.must(call{method: "DELETE", path: fmt.Sprintf("/api/keys/%d", id), auth: bearer(key)}, http.StatusNoContent)
	b.must(use, http.StatusForbidden)
	key2, _ := a.createKey("lee", "ci2", []string{"channels"}, time.Hour)
	use2 := call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(key2)}
	b.must(use2, http.StatusOK)
	a.must(call{method: "DELETE", path: "/api/channels/lab/members/lee", auth: admin}, http.StatusNoContent)
	b.must(use2, http.StatusForbidden)

	// The feed is back: B caches again.
	b.srv.Services().ApplyChange(gatehouse.Change{Kind: gatehouse.ChangeAll})
	b.must(call{method: "GET", path: "/api/account", auth: admin}, http.StatusOK)
	lookups = b.store.keyLookups.Load()
	b.must(call{method: "GET", path: "/api/account", auth: admin}, http.StatusOK)
	if n := b.store.keyLookups.Load() - lookups; n != 0 {
		t.Errorf("after ChangeAll the replica looked the key up %d more times; want 0 (cached)", n)
	}
}
