package server

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/apikey"
)

// checklist B1, B4, A4: the official anaconda-auth client decodes its API key as a JWT: keys
// created for it (its "anaconda-auth/v…" tag) are JWT-shaped, with exp
// and sub, accepted wherever keys are except conda's /t/ URLs; their
// claims are never trusted (the hash covers the whole token).
func TestJWTKeysForAnacondaAuth(t *testing.T) {
	e := newOAuthEnv(t)
	alice := e.addUser("alice", false)
	r := e.apiCall(http.MethodPost, "/api/auth/api-keys", "Bearer "+e.login(t, "alice", "", ""),
		`{"scopes": ["cloud:read", "cloud:write", "repo:read"], "tags": ["anaconda-auth/v0.15.1"]}`, nil)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("creating: %d %s", r.StatusCode, r.Body)
	}
	created := jsonOf(t, r)
	key, _ := created["api_key"].(string)
	claims, err := apikey.ParseClaims(key)
	if err != nil {
		t.Fatalf("the key is not JWT-shaped: %v", err)
	}
	t.Run("the claims are the key's expiry and the user's stable UUID", func(t *testing.T) {
		if claims.Expires.Format("2006-01-02T15:04:05Z") != created["expires_at"] {
			t.Errorf("exp %v, expires_at %v", claims.Expires, created["expires_at"])
		}
		if want := apikey.SubjectUUID(alice.ID, alice.CreatedAt); claims.Subject != want {
			t.Errorf("sub %q, want %q", claims.Subject, want)
		}
		if created["hint"] != apikey.HintAny(key) || strings.Count(r.Body, parts(key)) != 1 {
			t.Errorf("hint %v", created["hint"])
		}
	})
	t.Run("accepted as Bearer, token and the Basic password; whoami has user.email", func(t *testing.T) {
		for _, auth := range []string{"Bearer " + key, "token " + key, basic("alice", key), basic("anything", key)} {
			r := e.apiGet("/api/account", auth)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %s", strings.Fields(auth)[0], r.StatusCode, r.Body)
			}
			if !strings.Contains(r.Body, `"email":`) {
				t.Errorf("no user.email in %s", r.Body)
			}
		}
	})
	t.Run("an edited claim makes it an unknown key", func(t *testing.T) {
		parts := strings.Split(key, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged := strings.Replace(string(raw), `"exp":`, `"exp":1`, 1)
		token := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
		if r := e.apiGet("/api/account", "Bearer "+token); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("forged claims: %d %s", r.StatusCode, r.Body)
		}
		if r := e.apiGet("/api/account", "Bearer "+parts[2]); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("the bare last segment: %d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("refused in conda's /t/ URLs, which cannot carry it, with what to do", func(t *testing.T) {
		for _, p := range []string{"/repo/t/" + key + "/anything/noarch/repodata.json", "/t/" + key + "/repo/anything/noarch/repodata.json"} {
			r := e.apiGet(p, "")
			if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "INVALID API KEY") || !strings.Contains(r.Body, "Authorization: Bearer") {
				t.Errorf("%d %s", r.StatusCode, r.Body)
			}
			if strings.Contains(r.Body, parts(key)) {
				t.Error("the refusal echoes the key")
			}
		}
	})
	t.Run("a second login sends the stored key along: the device endpoint ignores it", func(t *testing.T) {
		r := e.apiCall(http.MethodPost, "/oauth/device/code", "Bearer "+key, "client_id=b4ad7f1d-c784-46b5-a9fe-106e50441f5a&scope=openid",
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "verification_uri_complete") {
			t.Errorf("%d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("other callers still get ordinary gk- keys", func(t *testing.T) {
		r := e.cliKey(t, "Bearer "+e.login(t, "alice", "", ""), `{"name": "laptop"}`, "")
		k, _ := jsonOf(t, r)["api_key"].(string)
		if apikey.Check(k) != nil {
			t.Errorf("gatehouse login's key %q is not a gk- key", k)
		}
	})
}

func parts(key string) string { return key[strings.LastIndexByte(key, '.')+1:] }

// anaconda-auth's browser login ends on https://<domain>/app/local-login-success
// (or -error): real pages, not a 404.
func TestAnacondaAuthLoginResultPages(t *testing.T) {
	e := newOAuthEnv(t)
	for path, want := range map[string]string{"/app/local-login-success": "You are logged in", "/app/local-login-error": "Login not completed"} {
		r := e.apiGet(path, "")
		if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, want) || !strings.Contains(r.Body, "gatehouse.css") {
			t.Errorf("%s: %d %s", path, r.StatusCode, r.Body)
		}
	}
}
