package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// oauthEnv is a webEnv served on a real socket too, so that an OAuth
// client library (golang.org/x/oauth2) can talk to it as a CLI would,
// while test browsers sign in and approve in process.
type oauthEnv struct {
	*webEnv
	ts  *httptest.Server
	ctx context.Context // carries the HTTP client x/oauth2 uses
}

// loopback is the redirect URI the tests' CLI listens on (nothing needs
// to listen: the test reads the browser's redirect).
const loopback = "http://127.0.0.1:43117/callback"

func newOAuthEnv(t *testing.T) *oauthEnv {
	t.Helper()
	var env *webEnv
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { env.srv.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	env = newWebEnv(t, ts.URL)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client())
	return &oauthEnv{webEnv: env, ts: ts, ctx: ctx}
}

// discover reads the discovery document into an x/oauth2 endpoint.
func (e *oauthEnv) discover(t *testing.T) (oauth2.Endpoint, map[string]any) {
	t.Helper()
	res, err := e.ts.Client().Get(e.ts.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("discovery: status %d, %v", res.StatusCode, err)
	}
	str := func(k string) string { s, _ := doc[k].(string); return s }
	return oauth2.Endpoint{AuthURL: str("authorization_endpoint"), TokenURL: str("token_endpoint"),
		DeviceAuthURL: str("device_authorization_endpoint"), AuthStyle: oauth2.AuthStyleInParams}, doc
}

// cliConfig is the client side of login, as a CLI configures it.
func (e *oauthEnv) cliConfig(t *testing.T, scopes ...string) *oauth2.Config {
	t.Helper()
	ep, _ := e.discover(t)
	return &oauth2.Config{ClientID: "gatehouse-cli", Endpoint: ep, RedirectURL: loopback, Scopes: scopes}
}

// local turns an absolute URL of the server into the path and query a
// test browser requests.
func (e *oauthEnv) local(t *testing.T, abs string) string {
	t.Helper()
	if !strings.HasPrefix(abs, e.ts.URL+"/") {
		t.Fatalf("%q is not on the server %s", abs, e.ts.URL)
	}
	return strings.TrimPrefix(abs, e.ts.URL)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formFields returns the hidden fields of the page's forms.
func formFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// consent opens authURL in the browser and returns the consent page,
// failing unless it is one.
func (e *oauthEnv) consent(t *testing.T, b *webBrowser, authURL string) *webResp {
	t.Helper()
	r := b.get(e.local(t, authURL))
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="consent-form"`) {
		t.Fatalf("GET authorize: status %d, Location %q, no consent form:\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	return r
}

// decide submits the consent page's form with decision, as the browser
// would, and returns the answer.
func decide(b *webBrowser, page *webResp, action, decision string) *webResp {
	form := formFields(page.Body)
	form.Set("decision", decision)
	return b.do(http.MethodPost, action, form)
}

// approveCode runs the browser half of the code flow and returns the
// redirect's query.
func (e *oauthEnv) approveCode(t *testing.T, b *webBrowser, authURL string) url.Values {
	t.Helper()
	r := decide(b, e.consent(t, b, authURL), "/oauth/authorize", "approve")
	return redirectQuery(t, r)
}

// redirectQuery checks r is a 303 to the loopback redirect URI and
// returns its query.
func redirectQuery(t *testing.T, r *webResp) url.Values {
	t.Helper()
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, loopback+"?") {
		t.Fatalf("status %d, Location %q; want 303 to %s; body:\n%s", r.StatusCode, loc, loopback, r.Body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// postForm posts a form to the server over the socket, as a CLI does,
// and returns the status and the JSON body.
func (e *oauthEnv) postForm(t *testing.T, path string, form url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	res, err := e.ts.Client().PostForm(e.ts.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("POST %s: status %d, body is not JSON: %s", path, res.StatusCode, raw)
	}
	return res.StatusCode, m, res.Header
}

// apiCall sends a JSON request with an Authorization header in process.
func (e *oauthEnv) apiCall(method, path, authorization string, body string, header http.Header) *webResp {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	res := rec.Result()
	raw, _ := io.ReadAll(res.Body)
	return &webResp{Response: res, Body: string(raw)}
}

func jsonOf(t *testing.T, r *webResp) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("status %d, body is not JSON: %s", r.StatusCode, r.Body)
	}
	return m
}

// rows returns the number of rows of a table.
func (e *oauthEnv) rows(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.store.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// s256 is the PKCE challenge of a verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
