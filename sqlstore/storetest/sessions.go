package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

var sessionTests = []test{
	{"creating a session sets its ID, and reading it by hash returns it with its user", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		se := &gatehouse.Session{Hash: randomHash(), UserID: alice.ID, CreatedAt: t0,
			ExpiresAt: t0.Add(gatehouse.SessionIdleTimeout), IP: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11)"}
		must(t, s.CreateSession(t.Context(), se))
		if se.ID <= 0 {
			t.Fatalf("ID = %d after CreateSession", se.ID)
		}
		want := gatehouse.Session{ID: se.ID, Hash: se.Hash, UserID: alice.ID, CreatedAt: stored(t0),
			ExpiresAt: stored(t0.Add(gatehouse.SessionIdleTimeout)), IP: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11)"}
		equal(t, "the session as CreateSession left it", *se, want)
		got, u, err := s.SessionByHash(t.Context(), se.Hash)
		must(t, err)
		equal(t, "SessionByHash session", *got, want)
		equal(t, "SessionByHash user", *u, *alice)
	}},
	{"reading an unknown session is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		mkSession(t, s, alice.ID, t0.Add(time.Hour))
		_, _, err := s.SessionByHash(t.Context(), randomHash())
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, _, err = s.SessionByHash(t.Context(), nil)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"creating a session for an unknown user is not found", func(t *testing.T, s gatehouse.Store) {
		err := s.CreateSession(t.Context(), &gatehouse.Session{Hash: randomHash(), UserID: 4242, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"creating a session refuses a hash that is not 32 bytes, or one another session has", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		first := mkSession(t, s, alice.ID, t0.Add(time.Hour))
		err := s.CreateSession(t.Context(), &gatehouse.Session{Hash: make([]byte, 16), UserID: alice.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		wantCode(t, err, gatehouse.EINVALID)
		err = s.CreateSession(t.Context(), &gatehouse.Session{Hash: bytes.Clone(first.Hash), UserID: alice.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		wantCode(t, err, gatehouse.ECONFLICT)
	}},
	{"extending a session moves its expiry, and extending an unknown one is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		se := mkSession(t, s, alice.ID, t0.Add(time.Hour))
		later := t0.Add(2 * time.Hour)
		must(t, s.ExtendSession(t.Context(), se.ID, later))
		got, _, err := s.SessionByHash(t.Context(), se.Hash)
		must(t, err)
		equal(t, "ExpiresAt", got.ExpiresAt, stored(later))
		wantCode(t, s.ExtendSession(t.Context(), se.ID+1000, later), gatehouse.ENOTFOUND)
	}},
	{"deleting a session ends it, and deleting it again succeeds", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		se := mkSession(t, s, alice.ID, t0.Add(time.Hour))
		keep := mkSession(t, s, alice.ID, t0.Add(time.Hour))
		must(t, s.DeleteSession(t.Context(), se.Hash))
		_, _, err := s.SessionByHash(t.Context(), se.Hash)
		wantCode(t, err, gatehouse.ENOTFOUND)
		must(t, s.DeleteSession(t.Context(), se.Hash))
		_, _, err = s.SessionByHash(t.Context(), keep.Hash)
		must(t, err)
	}},
	{"deleting a user's sessions ends all of theirs and no one else's (checklist A10)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		a1 := mkSession(t, s, alice.ID, t0.Add(time.Hour))
		a2 := mkSession(t, s, alice.ID, t0.Add(time.Hour))
		b := mkSession(t, s, bob.ID, t0.Add(time.Hour))
		must(t, s.DeleteUserSessions(t.Context(), alice.ID))
		for _, se := range []*gatehouse.Session{a1, a2} {
			_, _, err := s.SessionByHash(t.Context(), se.Hash)
			wantCode(t, err, gatehouse.ENOTFOUND)
		}
		_, u, err := s.SessionByHash(t.Context(), b.Hash)
		must(t, err)
		equal(t, "owner of the session left", u.Username, "bob")
		must(t, s.DeleteUserSessions(t.Context(), alice.ID)) // none left: still fine
	}},
	{"deleting expired sessions removes those that expired before the time, and counts them", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		cut := t0.Add(time.Hour)
		gone1 := mkSession(t, s, alice.ID, cut.Add(-time.Microsecond))
		gone2 := mkSession(t, s, alice.ID, cut.Add(-time.Hour))
		atCut := mkSession(t, s, alice.ID, cut) // expires at the time, not before it
		later := mkSession(t, s, alice.ID, cut.Add(time.Microsecond))
		n, err := s.DeleteExpiredSessions(t.Context(), cut.In(time.UTC))
		must(t, err)
		equal(t, "sessions deleted", n, int64(2))
		for _, se := range []*gatehouse.Session{gone1, gone2} {
			_, _, err := s.SessionByHash(t.Context(), se.Hash)
			wantCode(t, err, gatehouse.ENOTFOUND)
		}
		for _, se := range []*gatehouse.Session{atCut, later} {
			_, _, err := s.SessionByHash(t.Context(), se.Hash)
			must(t, err)
		}
		n, err = s.DeleteExpiredSessions(t.Context(), cut)
		must(t, err)
		equal(t, "sessions deleted the second time", n, int64(0))
	}},
	{"reading a session shows its user as they are now, disabled included (checklist A10)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		se := mkSession(t, s, alice.ID, t0.Add(time.Hour))
		alice.Disabled = true
		must(t, s.UpdateUser(t.Context(), alice))
		_, u, err := s.SessionByHash(t.Context(), se.Hash)
		must(t, err)
		if !u.Disabled {
			t.Error("the session's user is not shown as disabled")
		}
	}},
}
