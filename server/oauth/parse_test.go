package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
)

const loopback = "http://127.0.0.1:43117/callback"

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// knownClient knows the CLI only, as the LoginService does.
func knownClient(id string) (string, bool) {
	return "the Gatehouse command line", id == "gatehouse-cli"
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
		{"Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.e30.gk-x", "client_id=b4ad7f1d-c784-46b5-a9fe-106e50441f5a&scope=openid"},
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
			if form != nil || oerr.Reason == "" || oerr.Message == "" {
				t.Fatalf("error %+v with form %v", oerr, form)
			}
			return
		}
		for k, vs := range form {
			if len(vs) != 1 || !utf8.ValidString(k) || !utf8.ValidString(vs[0]) || strings.ContainsRune(vs[0], 0) {
				t.Fatalf("accepted parameter %q = %q", k, vs)
			}
		}
		if strings.HasPrefix(strings.ToLower(authorization), "basic") && !form.Has("client_id") {
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
		req, err := parseAuthorizeRequest(q, knownClient)
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

func BenchmarkParseAuthorizeRequest(b *testing.B) {
	q := url.Values{"response_type": {"code"}, "client_id": {"gatehouse-cli"}, "redirect_uri": {loopback}, "state": {"state-1234"},
		"code_challenge": {s256("a-verifier-of-at-least-forty-three-characters-long")}, "code_challenge_method": {"S256"},
		"scope": {"openid email profile offline_access"}, "client_name": {"cli-buildhost"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseAuthorizeRequest(q, knownClient); err != nil {
			b.Fatal(err)
		}
	}
}
