package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

// Issue 11: what a newcomer tripped over in the web pages, one test per
// item.

// Item 12: the Create API Key dialog opens with the defaults every key
// has (the CLI's too): both scopes, 90 days.
func TestKeyDialogOpensWithTheDefaultsEveryKeyHas(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("alice", false)
	b := e.browser()
	b.signIn("alice", webTestPassword)
	page := b.get("/settings/keys?create")
	assertContains(t, "the dialog", page.Body, `id="scope-user" checked`, `id="scope-channels" checked`, `<option value="90" selected>`)
	if gatehouse.DefaultKeyScopes != gatehouse.ScopeUser|gatehouse.ScopeChannels || gatehouse.DefaultKeyDays != 90 {
		t.Errorf("defaults %v, %d days", gatehouse.DefaultKeyScopes, gatehouse.DefaultKeyDays)
	}
	if strings.Contains(page.Body, `<option value="30" selected>`) {
		t.Error("30 days is still the dialog's default")
	}
	_ = http.StatusOK
}
