package server

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

func TestALoginTokenMintsOneKey(t *testing.T) {
	// checklist D9: the token is spent in the key's transaction; a second
	// mint, sequential or racing, is refused and creates nothing.
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	tok := e.login(t, "alice", "", "laptop")
	if r := e.cliKey(t, "Bearer "+tok, `{}`, ""); r.StatusCode != http.StatusCreated {
		t.Fatalf("the first key: %d %s", r.StatusCode, r.Body)
	}
	if r := e.cliKey(t, "Bearer "+tok, `{"name": "second"}`, ""); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "TOKEN USED") {
		t.Errorf("a second key from one login: %d %s, want 401 TOKEN USED", r.StatusCode, r.Body)
	}
	racing := e.login(t, "alice", "", "ci")
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := range 8 {
		wg.Go(func() {
			if r := e.cliKey(t, "Bearer "+racing, `{"name": "race-`+itoa(i)+`"}`, ""); r.StatusCode == http.StatusCreated {
				mu.Lock()
				created++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("eight racing mints with one token made %d keys, want 1", created)
	}
	if n := e.rows(t, "api_keys"); n != 2 {
		t.Errorf("%d keys exist, want one per login", n)
	}
}

func TestAReplayedCodeTakesBackWhatItIssued(t *testing.T) {
	// checklist D9: the code comes back after its token made a key. Either
	// the first use or the replay is a thief's; the key is revoked and
	// stops working at once.
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	l := e.approvedCode(t, b)
	tok, err := l.cfg.Exchange(e.ctx, l.code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatal(err)
	}
	r := e.cliKey(t, "Bearer "+tok.AccessToken, `{}`, "")
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("the key: %d %s", r.StatusCode, r.Body)
	}
	key := jsonOf(t, r)["api_key"].(string)
	if a := e.apiCall(http.MethodGet, "/api/account", "Bearer "+key, "", nil); a.StatusCode != http.StatusOK {
		t.Fatalf("the fresh key: %d", a.StatusCode)
	}
	if _, err := l.cfg.Exchange(e.ctx, l.code, oauth2.VerifierOption(l.verifier)); err == nil {
		t.Fatal("the replay was accepted")
	}
	a := e.apiCall(http.MethodGet, "/api/account", "Bearer "+key, "", nil)
	if a.StatusCode != http.StatusUnauthorized || !strings.Contains(a.Body, "revoked") {
		t.Errorf("the key after the replay: %d %s, want 401 revoked", a.StatusCode, a.Body)
	}
}

func TestACodeReplayedWithoutItsVerifierRevokesNothing(t *testing.T) {
	// checklist D1, D9: the code alone (from a browser's history) mints
	// nothing and cannot take the user's key away either.
	e := newOAuthEnv(t)
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	l := e.approvedCode(t, b)
	tok, err := l.cfg.Exchange(e.ctx, l.code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		t.Fatal(err)
	}
	key := jsonOf(t, e.cliKey(t, "Bearer "+tok.AccessToken, `{}`, ""))["api_key"].(string)
	if _, err := l.cfg.Exchange(e.ctx, l.code, oauth2.VerifierOption(strings.Repeat("v", 43))); err == nil {
		t.Fatal("the replay with a wrong verifier was accepted")
	}
	if a := e.apiCall(http.MethodGet, "/api/account", "Bearer "+key, "", nil); a.StatusCode != http.StatusOK {
		t.Errorf("the key after a replay without the verifier: %d, want it untouched", a.StatusCode)
	}
}
