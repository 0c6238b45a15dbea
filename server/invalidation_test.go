package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
	"github.com/gatehouse-dev/gatehouse/sqlstore/pgtest"
)

// feedBound is how long a test waits for a notification to cross from one
// replica to another. It takes about a millisecond; the bound only keeps
// a failing test from hanging.
const feedBound = 2 * time.Second

// feedProbe is the store as a replica gets it, which also tells the test
// each change once the server has applied it.
type feedProbe struct {
	*sqlstore.DB
	applied chan gatehouse.Change
}

func (p *feedProbe) Changes(ctx context.Context, fn func(gatehouse.Change)) error {
	return p.DB.Changes(ctx, func(c gatehouse.Change) {
		fn(c)
		select {
		case p.applied <- c:
		case <-ctx.Done():
		}
	})
}

// waitFor returns how long it took until a change matching want was
// applied, failing the test if none is within feedBound.
func (p *feedProbe) waitFor(t *testing.T, what string, want func(gatehouse.Change) bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(feedBound)
	for {
		select {
		case c := <-p.applied:
			if want(c) {
				return time.Since(start)
			}
		case <-deadline:
			t.Fatalf("%s: not applied within %v", what, feedBound)
		}
	}
}

// newReplica starts a server on its own connection pool to dsn, as another
// process would, sharing the test's clock, which never moves: nothing here
// expires. With feed false the server gets the store without its change
// feed, as on a backend that has none.
func newReplica(t *testing.T, dsn string, clock *fakeClock, feed bool) (*fixture, *feedProbe) {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, store: &countingStore{Store: db}, clock: clock, logs: &syncBuffer{}}
	cfg := Config{
		Store:     f.store, // hides the feed
		Logger:    slog.New(slog.NewTextHandler(f.logs, nil)),
		Clock:     clock.Now,
		PublicURL: &url.URL{Scheme: "http", Host: "gatehouse.test"},
		TempDir:   t.TempDir(),
	}
	var probe *feedProbe
	if feed {
		probe = &feedProbe{DB: db, applied: make(chan gatehouse.Change, 1024)}
		cfg.Store = probe
	}
	if f.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.srv.Close() })
	if probe != nil {
		probe.waitFor(t, "the feed's start", func(c gatehouse.Change) bool { return c.Kind == gatehouse.ChangeAll })
	}
	return f, probe
}

func (f *fixture) must(c call, status int) {
	f.t.Helper()
	if a := f.do(c); a.status != status {
		f.t.Fatalf("%s %s: %d, want %d: %s", c.method, c.path, a.status, status, a.body)
	}
}

// TestChangesOnOneReplicaApplyOnAnotherAtOnce is checklist A6 and A10
// across replicas: A and B are two servers on one PostgreSQL database.
// What B has cached (a key, its owner, a channel, a role) stops working on
// B's first request after A's change reaches it, with no clock moved past
// the cache period. C, a third replica without the feed, still trusts its
// cache then, which shows the test measures the feed, not an expiry.
func TestChangesOnOneReplicaApplyOnAnotherAtOnce(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	clock := &fakeClock{t: time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("X", -7*3600))}
	a, _ := newReplica(t, dsn, clock, false)
	b, probe := newReplica(t, dsn, clock, true)
	c, _ := newReplica(t, dsn, clock, false)
	a.admin = a.user("admin", true)
	adminKey, _ := a.createKey("admin", "ops", []string{"user", "admin", "channels"}, time.Hour)
	admin := bearer(adminKey) // a key, so no password hashing slows A's side
	marker := a.user("marker", false)

	// caughtUp waits until every change A has committed so far has reached
	// B, by committing one more and waiting for it: they arrive in
	// commit order.
	caughtUp := func(t *testing.T) {
		t.Helper()
		if err := a.store.UpdateUser(t.Context(), marker); err != nil {
			t.Fatal(err)
		}
		probe.waitFor(t, "the marker", func(ch gatehouse.Change) bool {
			return ch.Kind == gatehouse.ChangeUser && ch.UserID == marker.ID
		})
	}

	tests := []struct {
		name string
		// setup prepares through A and returns the request B serves from
		// its cache until change, and the status it gets after.
		setup  func(t *testing.T, n string) (use call, refused int)
		change func(t *testing.T, n string, use call)
		kind   gatehouse.ChangeKind
	}{
		{"a key revoked on A is refused by B", func(t *testing.T, n string) (call, int) {
			a.user(n, false)
			key, _ := a.createKey(n, "ci", []string{"user"}, time.Hour)
			return call{method: "GET", path: "/api/account", auth: bearer(key)}, http.StatusUnauthorized
		}, func(t *testing.T, n string, use call) {
			a.must(call{method: "DELETE", path: fmt.Sprintf("/api/keys/%d", lastKeyID(t, a, n)), auth: use.auth}, http.StatusNoContent)
		}, gatehouse.ChangeKey},
		{"a key replaced on A by one of the same name is refused by B", func(t *testing.T, n string) (call, int) {
			a.user(n, false)
			a.must(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": n, "visibility": "private"}}, http.StatusCreated)
			a.must(call{method: "PUT", path: "/api/channels/" + n + "/members/" + n, auth: admin, body: map[string]any{"role": "read"}}, http.StatusNoContent)
			key, _ := a.createKey(n, "laptop", []string{"user", "channels"}, time.Hour)
			return call{method: "GET", path: "/repo/" + n + "/noarch/repodata.json", auth: bearer(key)}, http.StatusForbidden
		}, func(t *testing.T, n string, use call) {
			a.must(call{method: "POST", path: "/api/keys", auth: use.auth,
				body: map[string]any{"name": "laptop", "scopes": []string{"channels"}, "expires_at": a.expiry(time.Minute)}}, http.StatusCreated)
		}, gatehouse.ChangeKey},
		{"a user disabled on A is refused by B", func(t *testing.T, n string) (call, int) {
			a.user(n, false)
			key, _ := a.createKey(n, "ci", []string{"user"}, time.Hour)
			return call{method: "GET", path: "/api/account", auth: bearer(key)}, http.StatusUnauthorized
		}, func(t *testing.T, n string, _ call) {
			a.must(call{method: "PATCH", path: "/api/admin/users/" + n, auth: admin, body: map[string]any{"disabled": true}}, http.StatusOK)
		}, gatehouse.ChangeUser},
		{"an administrator demoted on A loses the admin API on B", func(t *testing.T, n string) (call, int) {
			a.user(n, true)
			key, _ := a.createKey(n, "ops", []string{"user", "admin"}, time.Hour)
			return call{method: "GET", path: "/api/admin/users", auth: bearer(key)}, http.StatusForbidden
		}, func(t *testing.T, n string, _ call) {
			a.must(call{method: "PATCH", path: "/api/admin/users/" + n, auth: admin, body: map[string]any{"is_admin": false}}, http.StatusOK)
		}, gatehouse.ChangeUser},
		{"a grant removed on A closes the channel on B", func(t *testing.T, n string) (call, int) {
			a.user(n, false)
			a.must(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": n, "visibility": "private"}}, http.StatusCreated)
			a.must(call{method: "PUT", path: "/api/channels/" + n + "/members/" + n, auth: admin, body: map[string]any{"role": "read"}}, http.StatusNoContent)
			key, _ := a.createKey(n, "conda", []string{"channels"}, time.Hour)
			return call{method: "GET", path: "/repo/" + n + "/noarch/repodata.json", auth: bearer(key)}, http.StatusForbidden
		}, func(t *testing.T, n string, _ call) {
			a.must(call{method: "DELETE", path: "/api/channels/" + n + "/members/" + n, auth: admin}, http.StatusNoContent)
		}, gatehouse.ChangeChannel},
		{"a channel made private on A is closed to anonymous requests on B", func(t *testing.T, n string) (call, int) {
			a.must(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": n, "visibility": "public"}}, http.StatusCreated)
			return call{method: "GET", path: "/repo/" + n + "/noarch/repodata.json"}, http.StatusForbidden
		}, func(t *testing.T, n string, _ call) {
			a.must(call{method: "PATCH", path: "/api/channels/" + n, auth: admin, body: map[string]any{"visibility": "private"}}, http.StatusOK)
		}, gatehouse.ChangeChannel},
		{"a member removed from an organization on A loses its channels on B", func(t *testing.T, n string) (call, int) {
			a.user(n, false)
			a.must(call{method: "POST", path: "/api/orgs", auth: admin, body: map[string]any{"name": n + "-org"}}, http.StatusCreated)
			a.must(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": n + "-org-ch", "visibility": "private", "owner": n + "-org"}}, http.StatusCreated)
			a.must(call{method: "PUT", path: "/api/orgs/" + n + "-org/members/" + n, auth: admin, body: map[string]any{"role": "member"}}, http.StatusNoContent)
			key, _ := a.createKey(n, "conda", []string{"channels"}, time.Hour)
			return call{method: "GET", path: "/repo/" + n + "-org-ch/noarch/repodata.json", auth: bearer(key)}, http.StatusForbidden
		}, func(t *testing.T, n string, _ call) {
			a.must(call{method: "DELETE", path: "/api/orgs/" + n + "-org/members/" + n, auth: admin}, http.StatusNoContent)
		}, gatehouse.ChangeRoles},
	}
	var latencies []time.Duration
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []*fixture{a, b, c} {
				f.t = t
			}
			n := fmt.Sprintf("u%d", i)
			use, refused := tt.setup(t, n)
			caughtUp(t) // the setup's own changes are behind us
			b.must(use, http.StatusOK)
			c.must(use, http.StatusOK)
			if h := credentialHash(use); h != nil && !b.srv.Services().CachedKey(h) {
				t.Fatal("B did not cache the key: the test would prove nothing")
			}
			start := time.Now()
			tt.change(t, n, use)
			probe.waitFor(t, string(tt.kind)+" change", func(ch gatehouse.Change) bool { return ch.Kind == tt.kind })
			latencies = append(latencies, time.Since(start))
			if got := b.do(use); got.status != refused {
				t.Errorf("B's first request after the change arrived: %d, want %d: %s", got.status, refused, got.body)
			}
			if got := c.do(use); got.status != http.StatusOK {
				t.Errorf("C, without the feed, answered %d before its cache expired: this test would not tell the feed apart", got.status)
			}
		})
	}
	slices.Sort(latencies)
	t.Logf("A's change (HTTP request and commit) to B applying it: min %v, median %v, max %v",
		latencies[0], latencies[len(latencies)/2], latencies[len(latencies)-1])
}

// lastKeyID returns the ID of the user's newest key.
func lastKeyID(t *testing.T, f *fixture, username string) int64 {
	t.Helper()
	u, err := f.store.UserByName(t.Context(), username)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := f.store.ListKeys(t.Context(), u.ID)
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys of %s: %v, %d", username, err, len(keys))
	}
	return keys[0].ID
}

// credentialHash is the hash of the key a call carries, nil if none.
func credentialHash(c call) []byte {
	const prefix = "Bearer "
	if len(c.auth) <= len(prefix) || c.auth[:len(prefix)] != prefix {
		return nil
	}
	h := apikey.Hash(c.auth[len(prefix):])
	return h[:]
}

func TestChangesFlushOrEvictWhatTheyName(t *testing.T) {
	// The feed's kinds against the caches, without a database round trip
	// per case: each change evicts what it names and nothing else; a
	// ChangeAll, or a kind this build does not know, evicts everything.
	f := newChannelFixture(t)
	f.user("bob", false)
	bobKey, _ := f.createKey("bob", "laptop", []string{"channels", "user"}, time.Hour)
	// Two private channels bob may read, so both have cached roles.
	f.must(call{method: "POST", path: "/api/channels", auth: bearer(f.key), body: map[string]any{"name": "lab2", "visibility": "private"}}, http.StatusCreated)
	for _, ch := range []string{"lab", "lab2"} {
		f.must(call{method: "PUT", path: "/api/channels/" + ch + "/members/bob", auth: bearer(f.key), body: map[string]any{"role": "read"}}, http.StatusNoContent)
	}
	fill := func() {
		for _, k := range []string{f.key, bobKey} {
			f.must(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(k)}, http.StatusOK)
			f.must(call{method: "GET", path: "/repo/lab2/noarch/repodata.json", auth: bearer(k)}, http.StatusOK)
		}
	}
	lab, err := f.store.ChannelByName(t.Context(), "lab")
	if err != nil {
		t.Fatal(err)
	}
	adminHash, bobHash := apikey.Hash(f.key), apikey.Hash(bobKey)
	type state struct{ adminKey, bobKey, lab, lab2, labRoles, lab2Roles bool }
	look := func() state {
		svc := f.srv.Services()
		lab2, err := f.store.ChannelByName(t.Context(), "lab2")
		if err != nil {
			t.Fatal(err)
		}
		var s state
		s.adminKey, s.bobKey = svc.CachedKey(adminHash[:]), svc.CachedKey(bobHash[:])
		s.lab, s.lab2 = svc.CachedChannel("lab"), svc.CachedChannel("lab2")
		s.labRoles, s.lab2Roles = svc.CachedRoles(lab.ID), svc.CachedRoles(lab2.ID)
		return s
	}
	full := state{true, true, true, true, true, true}
	tests := []struct {
		name   string
		change gatehouse.Change
		want   state
	}{
		{"a key change evicts that key only", gatehouse.Change{Kind: gatehouse.ChangeKey, KeyHash: bobHash[:]},
			state{adminKey: true, lab: true, lab2: true, labRoles: true, lab2Roles: true}},
		{"a user change evicts that user's keys only", gatehouse.Change{Kind: gatehouse.ChangeUser, UserID: f.admin.ID},
			state{bobKey: true, lab: true, lab2: true, labRoles: true, lab2Roles: true}},
		{"a channel change evicts that channel and its roles only", gatehouse.Change{Kind: gatehouse.ChangeChannel, ChannelID: lab.ID},
			state{adminKey: true, bobKey: true, lab2: true, lab2Roles: true}},
		{"a roles change evicts every role, no channel", gatehouse.Change{Kind: gatehouse.ChangeRoles},
			state{adminKey: true, bobKey: true, lab: true, lab2: true}},
		{"ChangeAll evicts everything", gatehouse.Change{Kind: gatehouse.ChangeAll}, state{}},
		{"an unknown kind evicts everything", gatehouse.Change{Kind: "package"}, state{}},
		{"a malformed key hash evicts nothing", gatehouse.Change{Kind: gatehouse.ChangeKey, KeyHash: []byte("short")}, full},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			fill()
			if got := look(); got != full {
				t.Fatalf("cache before = %+v, want everything in it", got)
			}
			f.srv.Services().ApplyChange(tt.change)
			if got := look(); got != tt.want {
				t.Errorf("cache after = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAStoreWithoutAFeedStartsNoListener(t *testing.T) {
	// SQLite's Changes says unsupported: the server goes on, logs no
	// error, and closes cleanly.
	db, err := sqlstore.Open(t.Context(), t.TempDir()+"/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	logs := &syncBuffer{}
	srv, err := New(Config{Store: db, PublicURL: &url.URL{Scheme: "http", Host: "gatehouse.test"},
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if s := logs.String(); s != "" {
		t.Errorf("logs: %s", s)
	}
}
