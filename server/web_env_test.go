package server

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
)

// webEnv is a server on a real SQLite store with a clock the test moves,
// and a few users. Browsers talk to it in process (no sockets), so cookies
// marked Secure can be tested on a https PublicURL too.
type webEnv struct {
	t     testing.TB
	srv   *Server
	store *sqlstore.DB

	mu  sync.Mutex
	now time.Time
}

// webTestPassword is every test user's password.
const webTestPassword = "correct horse battery staple"

// webStart is the tests' "now": a moment late in a UTC day, so that "end
// of day" and "tomorrow" are easy to get wrong.
var webStart = time.Date(2026, 3, 10, 22, 30, 15, 0, time.UTC)

func newWebEnv(t testing.TB, publicURL string) *webEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &webEnv{t: t, store: st, now: webStart}
	pu, err := url.Parse(publicURL)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Store: st, Clock: e.clock, PublicURL: pu})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	e.srv = srv
	return e
}

func (e *webEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *webEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// hashOnce caches the one password hash all users share: argon2id is
// slow on purpose.
var hashOnce = sync.OnceValues(func() (string, error) { return password.Hash(webTestPassword) })

// addUser creates a user with webTestPassword.
func (e *webEnv) addUser(name string, admin bool) *gatehouse.User {
	e.t.Helper()
	h, err := hashOnce()
	if err != nil {
		e.t.Fatal(err)
	}
	u := &gatehouse.User{Username: name, PasswordHash: h, IsAdmin: admin, CreatedAt: e.clock(), PasswordChangedAt: e.clock()}
	if err := e.store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatalf("creating user %s: %v", name, err)
	}
	return u
}

// keys returns the user's keys, newest first.
func (e *webEnv) keys(u *gatehouse.User) []*gatehouse.APIKey {
	e.t.Helper()
	ks, err := e.store.ListKeys(context.Background(), u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ks
}

// dump returns every row of every table, as text: the state a GET must
// not change (checklist E5) and where no key may be stored (A4).
func (e *webEnv) dump() string {
	e.t.Helper()
	return dumpDB(e.t, e.store.SQL())
}

func dumpDB(t testing.TB, db *sql.DB) string {
	t.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		fmt.Fprintf(&b, "== %s\n", table)
		rs, err := db.QueryContext(ctx, fmt.Sprintf("SELECT * FROM %q ORDER BY 1", table))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					vals[i] = fmt.Sprintf("%x|%s", bs, bs)
				}
			}
			fmt.Fprintln(&b, vals...)
		}
		rs.Close()
	}
	return b.String()
}

// webBrowser keeps cookies like a browser and sends requests in process.
type webBrowser struct {
	t       testing.TB
	env     *webEnv
	cookies map[string]string
	// headers go on every request (Sec-Fetch-Site, Origin, ...).
	headers http.Header
}

func (e *webEnv) browser() *webBrowser {
	return &webBrowser{t: e.t, env: e, cookies: map[string]string{}, headers: http.Header{}}
}

// webResp is an answer with its body read.
type webResp struct {
	*http.Response
	Body string
}

func (b *webBrowser) do(method, path string, form url.Values) *webResp {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range b.headers {
		req.Header[k] = vs
	}
	for name, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: v})
	}
	rec := httptest.NewRecorder()
	b.env.srv.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	raw, _ := io.ReadAll(res.Body)
	return &webResp{Response: res, Body: string(raw)}
}

func (b *webBrowser) get(path string) *webResp { return b.do(http.MethodGet, path, nil) }

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the CSRF token that the page at path puts in its forms.
func (b *webBrowser) csrf(path string) string {
	b.t.Helper()
	r := b.get(path)
	m := csrfField.FindStringSubmatch(r.Body)
	if m == nil {
		b.t.Fatalf("GET %s (status %d) has no csrf_token field", path, r.StatusCode)
	}
	return html.UnescapeString(m[1])
}

// post submits form to path with the CSRF token of the page at from, as
// a browser submitting that page's form would.
func (b *webBrowser) post(from, path string, form url.Values) *webResp {
	b.t.Helper()
	form.Set("csrf_token", b.csrf(from))
	return b.do(http.MethodPost, path, form)
}

// signIn signs in through the login form and fails the test if it fails.
func (b *webBrowser) signIn(username, pw string) *webResp {
	b.t.Helper()
	r := b.post("/login?email="+url.QueryEscape(username), "/login", url.Values{"username": {username}, "password": {pw}})
	if r.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("signing in as %s: status %d, want 303; body:\n%s", username, r.StatusCode, r.Body)
	}
	return r
}

// apiGet calls the JSON API with an Authorization header.
func (e *webEnv) apiGet(path, authorization string) *webResp {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", authorization)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Result().Body)
	return &webResp{Response: rec.Result(), Body: string(raw)}
}

var newKeyCode = regexp.MustCompile(`<code id="new-key" class="secret">([^<]+)</code>`)

// createKeyInPage submits the Create API Key form and returns the key the
// answer shows.
func (b *webBrowser) createKeyInPage(form url.Values) (string, *webResp) {
	b.t.Helper()
	r := b.post("/settings/keys", "/settings/keys", form)
	m := newKeyCode.FindStringSubmatch(r.Body)
	if r.StatusCode != http.StatusOK || m == nil {
		b.t.Fatalf("creating a key: status %d, no #new-key; body:\n%s", r.StatusCode, r.Body)
	}
	return m[1], r
}

// assertNoSecret fails if text holds the key or any 8-character piece of
// it (checklist A3, A4). The hint (first 7 and last 4 characters) passes.
func assertNoSecret(t *testing.T, where, text, key string) {
	t.Helper()
	for i := 0; i+8 <= len(key); i++ {
		if strings.Contains(text, key[i:i+8]) {
			t.Errorf("%s holds %q, a piece of the key at offset %d", where, key[i:i+8], i)
			return
		}
	}
}

func assertContains(t *testing.T, where, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q", where, w)
		}
	}
}
