package storetest

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
)

// Text PostgreSQL cannot store but SQLite can: a store must treat it the
// same way on every backend.
var badTexts = []string{"nul\x00byte", "bad\xffutf8", "\xc3"}

var textTests = []test{
	{"text a caller chose that holds NUL or is not UTF-8 is refused as invalid", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		for _, bad := range badTexts {
			wantCode(t, s.CreateUser(t.Context(), &gatehouse.User{Username: "bob", Email: bad, CreatedAt: t0}), gatehouse.EINVALID)
			wantCode(t, s.CreateUser(t.Context(), &gatehouse.User{Username: "bob", PasswordHash: bad, CreatedAt: t0}), gatehouse.EINVALID)
			wantCode(t, s.SetPassword(t.Context(), alice.ID, bad, t0), gatehouse.EINVALID)
			u := *alice
			u.Email = bad
			wantCode(t, s.UpdateUser(t.Context(), &u), gatehouse.EINVALID)
			k := newKey(alice.ID, bad, t0)
			_, err := s.CreateKey(t.Context(), k)
			wantCode(t, err, gatehouse.EINVALID)
			k = newKey(alice.ID, "ci", t0)
			k.Hint = bad
			_, err = s.CreateKey(t.Context(), k)
			wantCode(t, err, gatehouse.EINVALID)
		}
		// Nothing was written.
		got, err := s.UserByID(t.Context(), alice.ID)
		must(t, err)
		equal(t, "alice after refused changes", *got, *alice)
		keys, err := s.ListKeys(t.Context(), alice.ID)
		must(t, err)
		equal(t, "keys", len(keys), 0)
		_, err = s.UserByName(t.Context(), "bob")
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"looking up a name that is not text is simply not found", func(t *testing.T, s gatehouse.Store) {
		mkUser(t, s, "alice")
		for _, bad := range badTexts {
			_, err := s.UserByName(t.Context(), bad)
			wantCode(t, err, gatehouse.ENOTFOUND)
			_, err = s.OrgByName(t.Context(), bad)
			wantCode(t, err, gatehouse.ENOTFOUND)
			events, err := s.ListAudit(t.Context(), gatehouse.AuditFilter{Action: bad})
			must(t, err)
			equal(t, "events with action "+bad, len(events), 0)
		}
	}},
	{"text from outside is kept cleaned and cut, never refused", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		long := strings.Repeat("é", 5000) // 2 bytes each
		e := &gatehouse.AuditEvent{Time: t0, Actor: "mal\x00lory\xff", Action: gatehouse.AuditSignIn,
			Target: long, IP: "192.0.2.1\x00", Detail: long}
		must(t, s.AppendAudit(t.Context(), e))
		got, err := s.ListAudit(t.Context(), gatehouse.AuditFilter{})
		must(t, err)
		if len(got) != 1 {
			t.Fatalf("%d events, want 1", len(got))
		}
		equal(t, "stored event", *got[0], *e)
		equal(t, "actor", got[0].Actor, "mal\uFFFDlory\uFFFD")
		for what, v := range map[string]string{"target": got[0].Target, "detail": got[0].Detail} {
			if !utf8.ValidString(v) || len(v) > 4096 || len(v) < 1000 || !strings.HasPrefix(long, v) {
				t.Errorf("%s kept as %d bytes (valid UTF-8 %v), want a prefix of the input of 1000 to 4096 bytes", what, len(v), utf8.ValidString(v))
			}
		}

		se := &gatehouse.Session{Hash: randomHash(), UserID: alice.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
			IP: "2001:db8::1\xff", UserAgent: "curl\x00/8 " + long}
		must(t, s.CreateSession(t.Context(), se))
		gotS, _, err := s.SessionByHash(t.Context(), se.Hash)
		must(t, err)
		equal(t, "stored session", *gotS, *se)
		equal(t, "IP", gotS.IP, "2001:db8::1\uFFFD")
		if !strings.HasPrefix(gotS.UserAgent, "curl\uFFFD/8 é") || len(gotS.UserAgent) > 1024 || !utf8.ValidString(gotS.UserAgent) {
			t.Errorf("user agent kept as %q… (%d bytes)", gotS.UserAgent[:min(20, len(gotS.UserAgent))], len(gotS.UserAgent))
		}
	}},
	{"any valid UTF-8 is kept exactly, emoji and right-to-left text included", func(t *testing.T, s gatehouse.Store) {
		name := "🔑 clé ключ مفتاح \u200f"
		u := &gatehouse.User{Username: "alice", Email: "ünï@example.com", PasswordHash: "$argon2id$…", CreatedAt: t0}
		must(t, s.CreateUser(t.Context(), u))
		k := mkKey(t, s, u.ID, name, t0)
		got, err := s.KeyByID(t.Context(), u.ID, k.ID)
		must(t, err)
		equal(t, "key name", got.Name, name)
		gotU, err := s.UserByName(t.Context(), "alice")
		must(t, err)
		equal(t, "user", *gotU, *u)
	}},
}
