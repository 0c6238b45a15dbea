package service

import (
	"context"
	"net/netip"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/service/keyauth"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
)

// The service tests run the rules without HTTP, on a real SQLite store
// and a fake clock.

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     testing.TB
	svc   *Services
	store gatehouse.Store
	clock *fakeClock
	admin *gatehouse.User
}

const testPassword = "correct horse battery staple"

// newFixture builds the services over a fresh database. wrap, if given,
// wraps the store the services use (a test double over the real one).
func newFixture(t testing.TB, wrap func(gatehouse.Store) gatehouse.Store) *fixture {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	// A non-UTC zone on the way in: the services must not care.
	clock := &fakeClock{t: time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("X", -7*3600))}
	var store gatehouse.Store = db
	if wrap != nil {
		store = wrap(db)
	}
	svc, err := New(Config{Settings: keyauth.Settings{Store: store, Clock: clock.Now, PublicURL: &url.URL{Scheme: "http", Host: "gatehouse.test"},
		KeyCacheTTL: time.Minute}, Blobs: blobs, Spool: ""})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	f := &fixture{t: t, svc: svc, store: db, clock: clock}
	f.admin = f.user("admin", true)
	return f
}

var testAddr = netip.MustParseAddr("192.0.2.1")

// user creates a user with testPassword, straight in the store.
func (f *fixture) user(name string, admin bool) *gatehouse.User {
	f.t.Helper()
	hash, err := password.Hash(testPassword)
	if err != nil {
		f.t.Fatal(err)
	}
	u := &gatehouse.User{Username: name, PasswordHash: hash, IsAdmin: admin, CreatedAt: f.clock.Now(), PasswordChangedAt: f.clock.Now()}
	if err := f.store.CreateUser(context.Background(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// session is u acting through a browser session.
func (f *fixture) session(u *gatehouse.User) *gatehouse.Principal {
	return &gatehouse.Principal{User: u, Method: gatehouse.AuthSession, Addr: testAddr}
}

// key creates a key for u through the service and returns its secret.
func (f *fixture) key(u *gatehouse.User, name string, scopes gatehouse.Scopes, ttl time.Duration) string {
	f.t.Helper()
	nk, err := f.svc.Keys.CreateKey(context.Background(), f.session(u), gatehouse.KeyRequest{Name: name, Scopes: scopes, ExpiresAt: f.clock.Now().Add(ttl)})
	if err != nil {
		f.t.Fatal(err)
	}
	return nk.Secret
}

// auditActions returns the actions in the audit log, oldest first.
func (f *fixture) auditActions() []string {
	f.t.Helper()
	events, err := f.store.ListAudit(context.Background(), gatehouse.AuditFilter{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]string, len(events))
	for i, e := range events {
		out[len(events)-1-i] = e.Action
	}
	return out
}
