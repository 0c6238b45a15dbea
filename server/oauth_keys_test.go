package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/service/login"
	"golang.org/x/oauth2"
)

// login runs the code flow for username (already a user) and returns the
// access token. scope is the OAuth scope parameter; machine the
// client_name ("" for none).
func (e *oauthEnv) login(t *testing.T, username, scope, machine string) string {
	t.Helper()
	b := e.browser()
	b.signIn(username, webTestPassword)
	cfg := e.cliConfig(t, strings.Fields(scope)...)
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if machine != "" {
		opts = append(opts, oauth2.SetAuthURLParam("client_name", machine))
	}
	q := e.approveCode(t, b, cfg.AuthCodeURL("s", opts...))
	tok, err := cfg.Exchange(e.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok.AccessToken
}

// cliKey posts to /api/iam/api-keys with the token and returns the answer.
func (e *oauthEnv) cliKey(t *testing.T, auth, body, hostname string) *webResp {
	t.Helper()
	var h http.Header
	if hostname != "" {
		h = http.Header{"X-Client-Hostname": {hostname}}
	}
	return e.apiCall(http.MethodPost, "/api/iam/api-keys", auth, body, h)
}

func TestCLIKeyScopesAndNames(t *testing.T) {
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	cases := []struct {
		name       string
		loginScope string
		machine    string
		body       string
		hostname   string
		wantScopes []any
		wantName   string
	}{
		{"anaconda-auth's scopes map to User resources and Platform channels", "", "", `{"scopes": ["cloud:read", "cloud:write", "repo:read"], "tags": ["anaconda-auth/v0.15.1"]}`, "buildhost",
			[]any{"user", "channels"}, "cli-buildhost"},
		{"cloud:read alone is User resources", "", "", `{"scopes": ["cloud:read"]}`, "", []any{"user"}, "cli"},
		{"our own names work", "", "", `{"scopes": ["channels"]}`, "", []any{"channels"}, "cli"},
		{"no scopes means what the login granted", "repo:read", "", `{}`, "", []any{"channels"}, "cli"},
		{"an empty body is allowed", "", "", ``, "", []any{"user", "channels"}, "cli"},
		{"the body's name wins", "", "cli-laptop", `{"name": "my laptop"}`, "laptop", []any{"user", "channels"}, "my laptop"},
		{"the hostname header is cleaned", "", "", `{}`, "build host!.example.com\n", []any{"user", "channels"}, "cli-buildhost.example.com"},
		{"without a hostname, the machine named at login", "", "cli-ci-7", `{}`, "", []any{"user", "channels"}, "cli-ci-7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := e.login(t, "alice", c.loginScope, c.machine)
			r := e.cliKey(t, "Bearer "+tok, c.body, c.hostname)
			if r.StatusCode != http.StatusCreated {
				t.Fatalf("%d %s", r.StatusCode, r.Body)
			}
			m := jsonOf(t, r)
			if !equalJSON(m["scopes"], c.wantScopes) || m["name"] != c.wantName {
				t.Errorf("key scopes %v name %q, want %v %q", m["scopes"], m["name"], c.wantScopes, c.wantName)
			}
			if _, leaked := m["key"]; leaked {
				t.Error("the answer holds the key twice")
			}
		})
	}
}

func TestCLIKeyRefusals(t *testing.T) {
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	e.addUser("root", true)
	channelsOnly := e.login(t, "alice", "repo:read", "")
	both := e.login(t, "alice", "", "")
	rootLogin := e.login(t, "root", "", "")
	cases := []struct {
		name, auth, body string
		status           int
		field            string
	}{
		{"a channels-only login asking for User resources", "Bearer " + channelsOnly, `{"scopes": ["cloud:read", "repo:read"]}`, http.StatusForbidden, ""},
		{"an administrator's login asking for Administration", "Bearer " + rootLogin, `{"scopes": ["admin"]}`, http.StatusForbidden, ""},
		{"an unknown scope", "Bearer " + both, `{"scopes": ["repo:write"]}`, http.StatusBadRequest, "scopes"},
		{"an expiry past one year", "Bearer " + both, `{"expires_at": "` + e.clock().Add(gatehouse.MaxKeyLifetime+time.Hour).UTC().Format(time.RFC3339) + `"}`, http.StatusBadRequest, "expires_at"},
		{"an expiry not in UTC", "Bearer " + both, `{"expires_at": "2026-06-01T00:00:00+02:00"}`, http.StatusBadRequest, "expires_at"},
		{"an unknown field", "Bearer " + both, `{"scope": ["user"]}`, http.StatusBadRequest, ""},
		{"no credential", "", `{}`, http.StatusUnauthorized, ""},
		{"a token of the wrong shape", "Bearer gat-short", `{}`, http.StatusUnauthorized, ""},
		{"a token nobody issued", "Bearer " + login.AccessTokenPrefix + secret.Token(), `{}`, http.StatusUnauthorized, ""},
	}
	for _, c := range cases {
		t.Run(c.name+" is refused and creates nothing", func(t *testing.T) {
			r := e.cliKey(t, c.auth, c.body, "")
			if r.StatusCode != c.status {
				t.Fatalf("%d %s, want %d", r.StatusCode, r.Body, c.status)
			}
			if m := jsonOf(t, r); c.field != "" && m["field"] != c.field {
				t.Errorf("field %v, want %s", m["field"], c.field)
			}
			if c.status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	if n := e.rows(t, "api_keys"); n != 0 {
		t.Errorf("refused requests created %d keys", n)
	}
	t.Run("a login token expires after 10 minutes", func(t *testing.T) {
		e.advance(accessTokenLifetime)
		r := e.cliKey(t, "Bearer "+both, `{}`, "")
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "expired") {
			t.Errorf("%d %s", r.StatusCode, r.Body)
		}
	})
}

func TestCLIKeyRespectsAnExplicitExpiry(t *testing.T) {
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	tok := e.login(t, "alice", "", "")
	want := e.clock().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	r := e.cliKey(t, "Bearer "+tok, `{"expires_at": "`+want+`"}`, "")
	if r.StatusCode != http.StatusCreated || jsonOf(t, r)["expires_at"] != want {
		t.Errorf("%d %s, want expires_at %s", r.StatusCode, r.Body, want)
	}
}

// Logging in again from the same machine replaces its key: the old one is
// revoked at once (architecture.md: "creating a new API key invalidates
// the previously generated key").
func TestCLIKeyFromASecondLoginRevokesTheFirst(t *testing.T) {
	e := newOAuthEnv(t)
	alice := e.addUser("alice", false)
	first := jsonOf(t, e.cliKey(t, "Bearer "+e.login(t, "alice", "", "cli-buildhost"), `{}`, "buildhost"))
	oldKey, _ := first["api_key"].(string)
	if r := e.apiGet("/api/account", "Bearer "+oldKey); r.StatusCode != http.StatusOK {
		t.Fatalf("first key: %d", r.StatusCode)
	}
	r := e.cliKey(t, "Bearer "+e.login(t, "alice", "", "cli-buildhost"), `{}`, "buildhost")
	second := jsonOf(t, r)
	newKey, _ := second["api_key"].(string)
	replaced, _ := second["replaced"].(map[string]any)
	if r.StatusCode != http.StatusCreated || replaced == nil || replaced["id"] != first["id"] {
		t.Fatalf("second key: %d %v", r.StatusCode, second)
	}
	if r := e.apiGet("/api/account", "Bearer "+oldKey); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "replaced") {
		t.Errorf("the first key after the second login: %d %s", r.StatusCode, r.Body)
	}
	if r := e.apiGet("/api/account", "Bearer "+newKey); r.StatusCode != http.StatusOK {
		t.Errorf("the second key: %d", r.StatusCode)
	}
	if keys := e.keys(alice); len(keys) != 2 || keys[1].RevokeReason != gatehouse.RevokedReplaced {
		t.Errorf("keys %+v", keys)
	}
	assertAudited(t, e, gatehouse.AuditKeyReplace)
}

// A login token acts only within its scopes, never as an administrator,
// and any caller with User resources may create a CLI key too.
func TestLoginTokensOnTheAPI(t *testing.T) {
	e := newOAuthEnv(t)
	e.addUser("root", true)
	tok := e.login(t, "root", "repo:read cloud:read", "cli-admin-box")
	t.Run("the account answer shows the oauth method and the token's scopes", func(t *testing.T) {
		r := e.apiGet("/api/account", "Bearer "+tok)
		m := jsonOf(t, r)
		if r.StatusCode != http.StatusOK || m["auth_method"] != "oauth" || !equalJSON(m["scopes"], []any{"user", "channels"}) {
			t.Errorf("%d %v", r.StatusCode, m)
		}
	})
	t.Run("an administrator's login token cannot use the administrative API", func(t *testing.T) {
		if r := e.apiGet("/api/admin/users", "Bearer "+tok); r.StatusCode != http.StatusForbidden {
			t.Errorf("%d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("a token in HTTP Basic is no key: refused", func(t *testing.T) {
		if r := e.apiGet("/api/account", basic("root", tok)); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%d", r.StatusCode)
		}
	})
	t.Run("a key with User resources may create a CLI key; by default it expires with its creator", func(t *testing.T) {
		b := e.browser()
		b.signIn("root", webTestPassword)
		key, _ := b.createKeyInPage(keyForm2("ci", "30", "", "user", "channels"))
		r := e.cliKey(t, "Bearer "+key, `{}`, "runner")
		m := jsonOf(t, r)
		parent := e.keys(e.user("root"))[0]
		if r.StatusCode != http.StatusCreated || m["expires_at"] != parent.ExpiresAt.UTC().Format(time.RFC3339) {
			t.Errorf("%d %v; want the parent's expiry %v", r.StatusCode, m, parent.ExpiresAt)
		}
	})
	t.Run("a key without User resources may not", func(t *testing.T) {
		b := e.browser()
		b.signIn("root", webTestPassword)
		key, _ := b.createKeyInPage(keyForm2("conda", "30", "", "channels"))
		if r := e.cliKey(t, "Bearer "+key, `{}`, ""); r.StatusCode != http.StatusForbidden {
			t.Errorf("%d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("a disabled account's token stops working at once (checklist A10)", func(t *testing.T) {
		root := e.user("root")
		root.Disabled = true
		if err := e.store.UpdateUser(t.Context(), root); err != nil {
			t.Fatal(err)
		}
		if r := e.apiGet("/api/account", "Bearer "+tok); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%d", r.StatusCode)
		}
	})
}

func TestLoginTokensAreStoredHashed(t *testing.T) { // checklist A4
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	tok := e.login(t, "alice", "", "cli-buildhost")
	key := jsonOf(t, e.cliKey(t, "Bearer "+tok, `{}`, ""))["api_key"].(string)
	dump := e.dump()
	assertNoSecret(t, "the database", dump, strings.TrimPrefix(tok, login.AccessTokenPrefix))
	assertNoSecret(t, "the database", dump, key)
}
