package server

import (
	"net/http"
	"net/url"
	"testing"
)

func TestPasswordPage(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("alice", false)
	const newPassword = "a much longer passphrase, ünïcode too"

	b := e.browser()
	b.signIn("alice", webTestPassword)
	other := e.browser() // alice on another device
	other.signIn("alice", webTestPassword)

	page := b.get("/settings/password")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET /settings/password: %d", page.StatusCode)
	}
	assertContains(t, "the password tab", page.Body, `id="tab-password" aria-current="page"`, `name="current_password"`,
		`name="new_password"`, `name="confirm_password"`, `autocomplete="new-password"`)

	refused := []struct {
		name                  string
		current, newPW, again string
		status                int
		msg                   string
	}{
		{"a wrong current password is refused", "wrong password", newPassword, newPassword, http.StatusBadRequest, "The current password is wrong."},
		{"a confirmation that differs is refused", webTestPassword, newPassword, newPassword + "!", http.StatusBadRequest, "differ"},
		{"a short new password is refused", webTestPassword, "short", "short", http.StatusBadRequest, "at least 8 characters"},
	}
	for _, tc := range refused {
		t.Run(tc.name+" on the same page", func(t *testing.T) {
			r := b.post("/settings/password", "/settings/password",
				url.Values{"current_password": {tc.current}, "new_password": {tc.newPW}, "confirm_password": {tc.again}})
			if r.StatusCode != tc.status {
				t.Errorf("status %d, want %d", r.StatusCode, tc.status)
			}
			assertContains(t, "the answer", r.Body, `id="page-error"`, tc.msg, `id="password-form"`)
		})
	}
	if r := other.get("/settings/password"); r.StatusCode != http.StatusOK {
		t.Fatalf("a refused change signed the other device out: %d", r.StatusCode)
	}

	t.Run("a good change keeps this browser signed in with a new session", func(t *testing.T) {
		oldCookie := b.cookies["gatehouse_session"]
		r := b.post("/settings/password", "/settings/password",
			url.Values{"current_password": {webTestPassword}, "new_password": {newPassword}, "confirm_password": {newPassword}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/password?changed" {
			t.Fatalf("status %d Location %q", r.StatusCode, r.Header.Get("Location"))
		}
		if c := b.cookies["gatehouse_session"]; c == "" || c == oldCookie {
			t.Fatal("no new session cookie after the change")
		}
		done := b.get("/settings/password?changed")
		if done.StatusCode != http.StatusOK {
			t.Fatalf("after the change: %d", done.StatusCode)
		}
		assertContains(t, "the page after the change", done.Body, "Your password was changed")
		if r := other.get("/settings/keys"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("the other device is still signed in: %d", r.StatusCode)
		}
	})
	t.Run("the new password signs in and the old one does not", func(t *testing.T) {
		e.browser().signIn("alice", newPassword)
		r := e.browser().post("/login?email=alice", "/login", url.Values{"username": {"alice"}, "password": {webTestPassword}})
		if r.StatusCode != http.StatusUnauthorized {
			t.Errorf("the old password: status %d", r.StatusCode)
		}
	})
}
