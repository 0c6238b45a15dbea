package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// zones are the zones times are written in (checklist A12): UTC, one west
// of it, and one with a half-hour offset east of it.
func zones(t *testing.T) []*time.Location {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	must(t, err)
	return []*time.Location{time.UTC, zoneX, kolkata}
}

// wantUTC fails unless got is want's instant, truncated to microseconds,
// in UTC.
func wantUTC(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(stored(want)) {
		t.Errorf("%s = %v, want %v", what, got, stored(want))
	}
	if !want.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}

var timeTests = []test{
	{"times written in any zone come back as the same instant in UTC, to the microsecond (checklist A12)", func(t *testing.T, s gatehouse.Store) {
		for i, loc := range zones(t) {
			base := time.Date(2026, 3, 29, 1, 59, 59, 999999999, loc).Add(time.Duration(i) * time.Hour)
			u := &gatehouse.User{Username: name("user", i), CreatedAt: base, PasswordChangedAt: base.Add(time.Second)}
			must(t, s.CreateUser(t.Context(), u))
			gotU, err := s.UserByID(t.Context(), u.ID)
			must(t, err)
			wantUTC(t, "user CreatedAt in "+loc.String(), gotU.CreatedAt, base)
			wantUTC(t, "user PasswordChangedAt in "+loc.String(), gotU.PasswordChangedAt, base.Add(time.Second))
			equal(t, "user as CreateUser left it, in "+loc.String(), *u, *gotU)

			o := &gatehouse.Org{Name: name("org", i), CreatedAt: base}
			must(t, s.CreateOrg(t.Context(), o, u.ID))
			gotO, err := s.OrgByName(t.Context(), o.Name)
			must(t, err)
			wantUTC(t, "org CreatedAt in "+loc.String(), gotO.CreatedAt, base)

			k := newKey(u.ID, "k", base)
			k.LastUsedAt = base.Add(time.Minute)
			_, err = s.CreateKey(t.Context(), k)
			must(t, err)
			_, err = s.RevokeKey(t.Context(), u.ID, k.ID, base.Add(time.Hour), gatehouse.RevokedByUser)
			must(t, err)
			gotK, _, err := s.KeyByHash(t.Context(), k.Hash)
			must(t, err)
			wantUTC(t, "key CreatedAt in "+loc.String(), gotK.CreatedAt, base)
			wantUTC(t, "key ExpiresAt in "+loc.String(), gotK.ExpiresAt, k.ExpiresAt)
			wantUTC(t, "key LastUsedAt in "+loc.String(), gotK.LastUsedAt, base.Add(time.Minute))
			wantUTC(t, "key RevokedAt in "+loc.String(), gotK.RevokedAt, base.Add(time.Hour))

			se := &gatehouse.Session{Hash: randomHash(), UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
			must(t, s.CreateSession(t.Context(), se))
			gotS, _, err := s.SessionByHash(t.Context(), se.Hash)
			must(t, err)
			wantUTC(t, "session CreatedAt in "+loc.String(), gotS.CreatedAt, base)
			wantUTC(t, "session ExpiresAt in "+loc.String(), gotS.ExpiresAt, base.Add(time.Hour))

			e := &gatehouse.AuditEvent{Time: base, Action: gatehouse.AuditSignIn, ActorID: u.ID}
			must(t, s.AppendAudit(t.Context(), e))
			gotE, err := s.ListAudit(t.Context(), gatehouse.AuditFilter{ActorID: u.ID})
			must(t, err)
			if len(gotE) == 1 {
				wantUTC(t, "audit Time in "+loc.String(), gotE[0].Time, base)
			} else {
				t.Errorf("audit events of user %d: %d, want 1", u.ID, len(gotE))
			}
		}
	}},
	{"a key never used nor revoked comes back with zero LastUsedAt and RevokedAt", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		got, err := s.KeyByID(t.Context(), alice.ID, k.ID)
		must(t, err)
		if !got.LastUsedAt.IsZero() || !got.RevokedAt.IsZero() || got.RevokeReason != "" {
			t.Errorf("LastUsedAt %v, RevokedAt %v, RevokeReason %q: want zero values", got.LastUsedAt, got.RevokedAt, got.RevokeReason)
		}
	}},
	{"comparisons between times written in different zones compare instants (checklist A12)", func(t *testing.T, s gatehouse.Store) {
		kolkata := zones(t)[2]
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		noon := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		must(t, s.TouchKey(t.Context(), k.ID, noon))
		// 13:00 on the wall in Kolkata is 07:30 UTC: earlier, so no change,
		// though a comparison of wall clocks would say later.
		must(t, s.TouchKey(t.Context(), k.ID, time.Date(2026, 6, 1, 13, 0, 0, 0, kolkata)))
		got, err := s.KeyByID(t.Context(), alice.ID, k.ID)
		must(t, err)
		wantUTC(t, "LastUsedAt", got.LastUsedAt, noon)
		// 06:00 on the wall in zone X is 13:00 UTC: later.
		must(t, s.TouchKey(t.Context(), k.ID, time.Date(2026, 6, 1, 6, 0, 0, 0, zoneX)))
		got, err = s.KeyByID(t.Context(), alice.ID, k.ID)
		must(t, err)
		wantUTC(t, "LastUsedAt", got.LastUsedAt, noon.Add(time.Hour))

		// A session that expires at 12:30 UTC, written in Kolkata time.
		se := mkSession(t, s, alice.ID, noon.Add(30*time.Minute).In(kolkata))
		n, err := s.DeleteExpiredSessions(t.Context(), time.Date(2026, 6, 1, 5, 0, 0, 0, zoneX)) // 12:00 UTC
		must(t, err)
		equal(t, "sessions expired by 12:00 UTC", n, int64(0))
		n, err = s.DeleteExpiredSessions(t.Context(), time.Date(2026, 6, 1, 18, 31, 0, 0, kolkata)) // 13:01 UTC
		must(t, err)
		equal(t, "sessions expired by 13:01 UTC", n, int64(1))
		_, _, err = s.SessionByHash(t.Context(), se.Hash)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"times before year 1 or after year 9999 are invalid", func(t *testing.T, s gatehouse.Store) {
		far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		wantCode(t, s.CreateUser(t.Context(), &gatehouse.User{Username: "alice", CreatedAt: far}), gatehouse.EINVALID)
		alice := mkUser(t, s, "alice")
		k := newKey(alice.ID, "ci", t0)
		k.ExpiresAt = far
		_, err := s.CreateKey(t.Context(), k)
		wantCode(t, err, gatehouse.EINVALID)
		k = mkKey(t, s, alice.ID, "ci", t0)
		wantCode(t, s.TouchKey(t.Context(), k.ID, far), gatehouse.EINVALID)
		wantCode(t, s.TouchKey(t.Context(), k.ID, time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)), gatehouse.EINVALID)
	}},
}

var faultTests = []test{
	{"ping succeeds on an open store", func(t *testing.T, s gatehouse.Store) {
		must(t, s.Ping(t.Context()))
	}},
	{"calls whose deadline has passed fail as unavailable, never as not found (checklist H1)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		ctx := expired(t)
		_, _, err := s.KeyByHash(ctx, k.Hash)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, _, err = s.SessionByHash(ctx, randomHash())
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, err = s.CreateKey(ctx, newKey(alice.ID, "other", t0))
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		wantCode(t, s.CreateUser(ctx, &gatehouse.User{Username: "bob", CreatedAt: t0}), gatehouse.EUNAVAILABLE)
		wantCode(t, s.Ping(ctx), gatehouse.EUNAVAILABLE)
	}},
}
