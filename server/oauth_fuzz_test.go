package server

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
)

func TestNormalizeUserCode(t *testing.T) {
	cases := []struct {
		typed, want string
	}{
		{"BCDF-GHJK", "BCDF-GHJK"},
		{"bcdfghjk", "BCDF-GHJK"},
		{" bcdf ghjk\t", "BCDF-GHJK"},
		{"BC-DF-GH-JK", "BCDF-GHJK"},
		{"bcdf–ghjk", "BCDF-GHJK"}, // an en dash, as some terminals paste
		{"BCDF-GHJ", ""},           // too short
		{"BCDF-GHJKL", ""},         // too long
		{"BCDF-GHJA", ""},          // a vowel is never in a code
		{"BCDF-GHJ1", ""},
		{"BCDF_GHJK", ""},
		{"ＢCDF-GHJK", ""}, // a full-width letter
		{strings.Repeat(" ", 100) + "BCDFGHJK", ""},
		{"", ""},
	}
	for _, c := range cases {
		got, ok := normalizeUserCode(c.typed)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("normalizeUserCode(%q) = %q, %v; want %q", c.typed, got, ok, c.want)
		}
	}
}

func TestNewUserCodesAreWellFormedAndVaried(t *testing.T) {
	seen := map[string]bool{}
	letters := map[rune]int{}
	for range 2000 {
		c := newUserCode()
		if !userCodeShape.MatchString(c) {
			t.Fatalf("newUserCode() = %q", c)
		}
		seen[c] = true
		for _, r := range strings.ReplaceAll(c, "-", "") {
			letters[r]++
		}
	}
	if len(seen) < 1999 {
		t.Errorf("%d distinct codes of 2000", len(seen))
	}
	// 16000 letters over 20: each about 800; a letter under 600 or over
	// 1000 means a skewed draw (p < 1e-12 for a fair one).
	for _, r := range userCodeAlphabet {
		if n := letters[r]; n < 600 || n > 1000 {
			t.Errorf("letter %c drawn %d times of 16000", r, n)
		}
	}
}

// FuzzNormalizeUserCode: whatever a person types, the answer is a code of
// the stored form or nothing, and normalizing is idempotent.
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdf ghjk", "BC–DF GH-JK", "BCDF-GHJA", "", "ＢCDF-GHJK", "\xff\xfe", strings.Repeat("B", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		code, ok := normalizeUserCode(typed)
		if !ok {
			if code != "" {
				t.Fatalf("not ok but code %q", code)
			}
			return
		}
		if !userCodeShape.MatchString(code) {
			t.Fatalf("normalizeUserCode(%q) = %q, not a code", typed, code)
		}
		if again, ok := normalizeUserCode(code); !ok || again != code {
			t.Fatalf("not idempotent: %q → %q → %q", typed, code, again)
		}
		if lower, ok := normalizeUserCode(strings.ToLower(strings.ReplaceAll(code, "-", " "))); !ok || lower != code {
			t.Fatalf("case and separators matter: %q vs %q", code, lower)
		}
	})
}

// FuzzParseOAuthForm: a token or device request body and Authorization
// header never panic the parser, and what it accepts has every parameter
// once, as text.
func FuzzParseOAuthForm(f *testing.F) {
	basicHdr := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	}
	seeds := []struct{ authorization, body string }{
		{"", "grant_type=authorization_code&client_id=gatehouse-cli&code=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A8000%2Fcb&code_verifier=v"},
		{"", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=x&client_id=gatehouse-cli"},
		{basicHdr("gatehouse-cli", ""), "grant_type=authorization_code&code=abc"},
		{basicHdr("gatehouse-cli", "secret"), "grant_type=authorization_code"},
		{basicHdr("a", ""), "client_id=b"},
		{"Bearer x", "a=b"},
		{"Basic !!!", "a=b"},
		{"", "code=1&code=2"},
		{"", "%zz=1"},
		{"", "a=%00"},
		{"", "a=%ff"},
		{"", ";;;&&&==="},
	}
	for _, s := range seeds {
		f.Add(s.authorization, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, authorization string, body []byte) {
		form, oerr := parseOAuthForm("application/x-www-form-urlencoded", authorization, body)
		if oerr != nil {
			if form != nil || oerr.Code == "" || oerr.Description == "" {
				t.Fatalf("error %+v with form %v", oerr, form)
			}
			return
		}
		for k, vs := range form {
			if len(vs) != 1 || !utf8.ValidString(k) || !utf8.ValidString(vs[0]) || strings.ContainsRune(vs[0], 0) {
				t.Fatalf("accepted parameter %q = %q", k, vs)
			}
		}
		if authorization != "" && !form.Has("client_id") {
			t.Fatalf("Basic client credentials accepted without a client_id: %q", authorization)
		}
	})
}

// FuzzParseAuthorizeRequest: whatever the query, an error that goes back
// to the client only ever goes to a checked loopback address, and an
// accepted request has a loopback redirect, a known client, a state and
// an S256 challenge.
func FuzzParseAuthorizeRequest(f *testing.F) {
	good := url.Values{"response_type": {"code"}, "client_id": {"gatehouse-cli"}, "redirect_uri": {loopback}, "state": {"s"},
		"code_challenge": {s256("a-verifier-of-at-least-forty-three-characters-long")}, "code_challenge_method": {"S256"},
		"scope": {"openid repo:read"}, "client_name": {"cli-buildhost"}}
	f.Add(good.Encode())
	for _, redirect := range []string{"http://evil.example/", "http://127.0.0.1:80@evil.example/", "http://[::1]:1/", "http://localhost", `http://127.0.0.1\@x/`} {
		q := url.Values{}
		for k, v := range good {
			q[k] = v
		}
		q.Set("redirect_uri", redirect)
		f.Add(q.Encode())
	}
	f.Add("client_id=gatehouse-cli&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2F&state=%ff")
	f.Add("client_id=gatehouse-cli&client_id=gatehouse-cli")
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		req, err := parseAuthorizeRequest(q)
		var re *redirectError
		switch {
		case err == nil:
			if req.redirect == nil || req.State == "" || !validCodeChallenge(req.CodeChallenge) || req.Scopes == 0 || req.Scopes.Has(gatehouse.ScopeAdmin) {
				t.Fatalf("accepted %+v", req)
			}
		case errors.As(err, &re):
			if req == nil || req.redirect == nil {
				t.Fatalf("an error to redirect with no checked redirect URI: %v", err)
			}
		default:
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID || req != nil {
				t.Fatalf("error %v with request %+v", err, req)
			}
			return
		}
		if _, err := loopbackRedirect(req.redirect.String()); err != nil {
			t.Fatalf("the redirect %q does not check again: %v", req.redirect, err)
		}
		back, err := url.Parse(clientRedirect(req.redirect, url.Values{"code": {"c"}, "state": {req.State}}))
		if err != nil || back.Host != req.redirect.Host || back.Scheme != "http" || back.User != nil {
			t.Fatalf("the redirect %q became %v (%v)", req.redirect, back, err)
		}
	})
}

func BenchmarkNormalizeUserCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := normalizeUserCode(" bcdf ghjk "); !ok {
			b.Fatal("not a code")
		}
	}
}

func BenchmarkParseAuthorizeRequest(b *testing.B) {
	q := url.Values{"response_type": {"code"}, "client_id": {"gatehouse-cli"}, "redirect_uri": {loopback}, "state": {"state-1234"},
		"code_challenge": {s256("a-verifier-of-at-least-forty-three-characters-long")}, "code_challenge_method": {"S256"},
		"scope": {"openid email profile offline_access"}, "client_name": {"cli-buildhost"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseAuthorizeRequest(q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOAuthPrincipal is the cost a login token adds to an API
// request: the format check, a hash and one SQLite lookup.
func BenchmarkOAuthPrincipal(b *testing.B) {
	e := newWebEnv(b, "http://gatehouse.test")
	u := e.addUser("alice", false)
	token := accessTokenPrefix + randomToken()
	now := e.clock()
	if err := e.store.CreateAccessToken(b.Context(), &gatehouse.AccessToken{Hash: hashSecret(token), UserID: u.ID,
		Scopes: cliDefaultScopes, CreatedAt: now, ExpiresAt: now.Add(accessTokenLifetime)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.srv.oauthPrincipal(b.Context(), token, "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
}
