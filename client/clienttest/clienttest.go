// Package clienttest runs a real Gatehouse server (SQLite in a temporary
// directory, package files on disk) behind httptest, for tests of the
// client and of the CLI. It is what net/http/httptest is to net/http: a
// helper for tests, never imported by the program.
package clienttest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/ratelimit"
	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
)

// Password is every test user's password.
const Password = "correct horse battery staple"

// Clock is a settable clock shared by the server and the test. It starts
// at the real time, so keys made with time.Now() expiries are valid.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Server is a running Gatehouse server.
type Server struct {
	t     testing.TB
	URL   string // base URL, http://127.0.0.1:PORT
	Store gatehouse.Store
	Srv   *server.Server
	HTTP  *httptest.Server
	Clock *Clock
	Logs  *SyncBuffer
}

// SyncBuffer is a log sink tests can read while the server writes.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// New starts a server; mutate may change its configuration. It is closed
// when the test ends.
func New(t testing.TB, mutate ...func(*server.Config)) *Server {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.Open(ctx, "file://"+filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatalf("opening blob store: %v", err)
	}
	t.Cleanup(func() { blobs.Close() })
	spool := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}

	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	pu, _ := url.Parse(base)
	s := &Server{t: t, URL: base, Store: db, HTTP: hs, Clock: &Clock{t: time.Now().UTC()}, Logs: &SyncBuffer{}}
	cfg := server.Config{
		Store: db, Blobs: blobs, TempDir: spool, PublicURL: pu, Clock: s.Clock.Now,
		Logger:       slog.New(slog.NewTextHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ToolsChannel: "gatehouse-tools",
		// Tests send many bad keys on purpose.
		FailureBudget: ratelimit.FailureBudget{FailureLimit: 10_000, AccountFailureLimit: 10_000},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s.Srv, err = server.New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs.Config.Handler = s.Srv
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		s.Srv.Close()
	})
	return s
}

// User creates a user with Password.
func (s *Server) User(name string, admin bool) *gatehouse.User {
	s.t.Helper()
	hash, err := password.Hash(Password)
	if err != nil {
		s.t.Fatal(err)
	}
	now := s.Clock.Now()
	u := &gatehouse.User{Username: name, PasswordHash: hash, IsAdmin: admin, CreatedAt: now, PasswordChangedAt: now}
	if err := s.Store.CreateUser(context.Background(), u); err != nil {
		s.t.Fatalf("creating user %s: %v", name, err)
	}
	return u
}

// Key creates a key for user over the API (HTTP Basic with Password) and
// returns it with its ID.
func (s *Server) Key(user, name string, scopes []string, ttl time.Duration) (string, int64) {
	s.t.Helper()
	body := map[string]any{"name": name, "scopes": scopes, "expires_at": s.Clock.Now().Add(ttl).UTC().Format(time.RFC3339)}
	var out struct {
		Key string `json:"key"`
		ID  int64  `json:"id"`
	}
	status, raw := s.Do("POST", "/api/keys", BasicAuth(user, Password), body, &out)
	if status != http.StatusCreated {
		s.t.Fatalf("creating key %s for %s: %d %s", name, user, status, raw)
	}
	return out.Key, out.ID
}

// Do sends a JSON request with the Authorization value auth and decodes
// the answer into out (when not nil). It returns the status and the body.
func (s *Server) Do(method, path, auth string, body, out any) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, raw
}

// BasicAuth is an Authorization value for HTTP Basic.
func BasicAuth(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

// Fixture returns the path of a real package file from conda/testdata,
// such as "noarch/gh-data-1.0.0-0.conda".
func Fixture(t testing.TB, rel string) string {
	t.Helper()
	// This file lives in client/clienttest; the fixtures in conda/testdata.
	for _, dir := range []string{"../conda/testdata/pkgs", "../../conda/testdata/pkgs", "../../../conda/testdata/pkgs"} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if _, err := os.Stat(p); err == nil {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	t.Fatalf("fixture %s not found in conda/testdata/pkgs", rel)
	return ""
}
