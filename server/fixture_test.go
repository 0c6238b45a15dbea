package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
)

// fakeClock is a settable clock shared by the server and the test.
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

// countingStore counts key lookups, to prove malformed keys never reach
// the database (checklist B1).
type countingStore struct {
	gatehouse.Store
	keyLookups  atomic.Int64
	roleLookups atomic.Int64
}

func (c *countingStore) ChannelRoleOf(ctx context.Context, channelID, userID int64) (gatehouse.ChannelRole, error) {
	c.roleLookups.Add(1)
	return c.Store.ChannelRoleOf(ctx, channelID, userID)
}

func (c *countingStore) KeyByHash(ctx context.Context, h []byte) (*gatehouse.APIKey, *gatehouse.User, error) {
	c.keyLookups.Add(1)
	return c.Store.KeyByHash(ctx, h)
}

// syncBuffer is a log sink the test can read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	// discard drops what is written, for benchmarks: a buffer growing
	// with every request would be what they measure.
	discard bool
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.discard {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type fixture struct {
	t     testing.TB
	srv   *Server
	store *countingStore
	clock *fakeClock
	logs  *syncBuffer
	admin *gatehouse.User
	// blobDir holds the package files (file:// blob store).
	blobDir string
}

// The test password hasher is the real one; users are few per test.
const testPassword = "correct horse battery staple"

func newFixture(t *testing.T, mutate ...func(*Config)) *fixture {
	t.Helper()
	return newTestFixture(t, mutate...)
}

// newBenchFixture is newFixture for benchmarks.
func newBenchFixture(b *testing.B, mutate ...func(*Config)) *fixture {
	b.Helper()
	f := newTestFixture(b, mutate...)
	f.logs.discard = true
	return f
}

func newTestFixture(t testing.TB, mutate ...func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	// A non-UTC zone on the way in: the store and server must not care.
	clock := &fakeClock{t: time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("X", -7*3600))}
	f := &fixture{t: t, store: &countingStore{Store: db}, clock: clock, logs: &syncBuffer{}}
	f.blobDir = filepath.Join(t.TempDir(), "blobs")
	blobs, err := blobstore.Open(ctx, "file://"+f.blobDir)
	if err != nil {
		t.Fatalf("opening blob store: %v", err)
	}
	t.Cleanup(func() { blobs.Close() })
	spool := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Blobs:     blobs,
		TempDir:   spool,
		Store:     f.store,
		Logger:    slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:     clock.Now,
		PublicURL: &url.URL{Scheme: "http", Host: "gatehouse.test"},
		// Test upstreams listen on loopback, which upstream channels may
		// reach only when allowed (a test that checks the refusal
		// clears this).
		UpstreamAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	f.srv, err = New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { f.srv.Close() })
	f.admin = f.user("admin", true)
	return f
}

// user creates a user with testPassword.
func (f *fixture) user(name string, admin bool) *gatehouse.User {
	f.t.Helper()
	hash, err := password.Hash(testPassword)
	if err != nil {
		f.t.Fatal(err)
	}
	u := &gatehouse.User{Username: name, PasswordHash: hash, IsAdmin: admin, CreatedAt: f.clock.Now(), PasswordChangedAt: f.clock.Now()}
	if err := f.store.CreateUser(context.Background(), u); err != nil {
		f.t.Fatalf("creating user %s: %v", name, err)
	}
	return u
}

type call struct {
	method, path string
	body         any
	auth         string // full Authorization header value
	remote       string // RemoteAddr, default 192.0.2.1:1234
	header       http.Header
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer is not JSON (%d): %s", a.status, a.body)
	}
	return m
}

func (f *fixture) do(c call) answer {
	f.t.Helper()
	var body io.Reader
	switch b := c.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	r := httptest.NewRequest(c.method, c.path, body)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		r.Header.Set("Authorization", c.auth)
	}
	for k, v := range c.header {
		r.Header[k] = v
	}
	r.RemoteAddr = "192.0.2.1:1234"
	if c.remote != "" {
		r.RemoteAddr = c.remote
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return answer{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func basic(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

func bearer(key string) string { return "Bearer " + key }

func (f *fixture) expiry(d time.Duration) string {
	return f.clock.Now().Add(d).UTC().Format(time.RFC3339)
}

// createKey makes a key over the API with the user's password and returns
// the key and its id.
func (f *fixture) createKey(user, name string, scopes []string, ttl time.Duration) (string, int64) {
	f.t.Helper()
	a := f.do(call{method: "POST", path: "/api/keys", auth: basic(user, testPassword),
		body: map[string]any{"name": name, "scopes": scopes, "expires_at": f.expiry(ttl)}})
	if a.status != http.StatusCreated {
		f.t.Fatalf("creating key: %d %s", a.status, a.body)
	}
	m := a.json(f.t)
	return m["key"].(string), int64(m["id"].(float64))
}

func mustPrefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}
