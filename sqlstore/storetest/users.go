package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

var userTests = []test{
	{"creating a user sets its ID, and reading it by ID or by name returns what was written", func(t *testing.T, s gatehouse.Store) {
		ctx := t.Context()
		u := &gatehouse.User{Username: "alice", Email: "alice@example.com", PasswordHash: "$argon2id$x",
			IsAdmin: true, CreatedAt: t0, PasswordChangedAt: t0.Add(time.Minute)}
		must(t, s.CreateUser(ctx, u))
		if u.ID <= 0 {
			t.Fatalf("ID = %d after CreateUser", u.ID)
		}
		want := gatehouse.User{ID: u.ID, Username: "alice", Email: "alice@example.com", PasswordHash: "$argon2id$x",
			IsAdmin: true, CreatedAt: stored(t0), PasswordChangedAt: stored(t0.Add(time.Minute))}
		equal(t, "the user as CreateUser left it", *u, want)
		byID, err := s.UserByID(ctx, u.ID)
		must(t, err)
		equal(t, "UserByID", *byID, want)
		byName, err := s.UserByName(ctx, "alice")
		must(t, err)
		equal(t, "UserByName", *byName, want)
	}},
	{"creating a user with a zero creation time records the current time", func(t *testing.T, s gatehouse.Store) {
		before := time.Now().Add(-time.Second)
		u := &gatehouse.User{Username: "bob"}
		must(t, s.CreateUser(t.Context(), u))
		got, err := s.UserByID(t.Context(), u.ID)
		must(t, err)
		if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("CreatedAt = %v, want about now", got.CreatedAt)
		}
		if !got.PasswordChangedAt.IsZero() {
			t.Errorf("PasswordChangedAt = %v, want zero", got.PasswordChangedAt)
		}
	}},
	{"creating a user refuses a name another user has", func(t *testing.T, s gatehouse.Store) {
		mkUser(t, s, "alice")
		wantCode(t, s.CreateUser(t.Context(), &gatehouse.User{Username: "alice", CreatedAt: t0}), gatehouse.ECONFLICT)
		n, err := s.CountUsers(t.Context())
		must(t, err)
		equal(t, "user count", n, 1)
	}},
	{"creating a user refuses a name an organization has", func(t *testing.T, s gatehouse.Store) {
		owner := mkUser(t, s, "alice")
		mkOrg(t, s, "acme", owner.ID)
		wantCode(t, s.CreateUser(t.Context(), &gatehouse.User{Username: "acme", CreatedAt: t0}), gatehouse.ECONFLICT)
		_, err := s.UserByName(t.Context(), "acme")
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"creating an organization refuses a name a user or another organization has", func(t *testing.T, s gatehouse.Store) {
		owner := mkUser(t, s, "alice")
		mkOrg(t, s, "acme", owner.ID)
		wantCode(t, s.CreateOrg(t.Context(), &gatehouse.Org{Name: "alice", CreatedAt: t0}, owner.ID), gatehouse.ECONFLICT)
		wantCode(t, s.CreateOrg(t.Context(), &gatehouse.Org{Name: "acme", CreatedAt: t0}, owner.ID), gatehouse.ECONFLICT)
		ms, err := s.UserOrgs(t.Context(), owner.ID)
		must(t, err)
		equal(t, "organizations of the owner", len(ms), 1)
	}},
	{"creating a user or an organization refuses a name that breaks the naming rule", func(t *testing.T, s gatehouse.Store) {
		owner := mkUser(t, s, "alice")
		for _, bad := range []string{"", "Alice", "al ice", "-alice", "a/b", "../x", "ünï", "a234567890123456789012345678901234567890"} {
			wantCode(t, s.CreateUser(t.Context(), &gatehouse.User{Username: bad, CreatedAt: t0}), gatehouse.EINVALID)
			wantCode(t, s.CreateOrg(t.Context(), &gatehouse.Org{Name: bad, CreatedAt: t0}, owner.ID), gatehouse.EINVALID)
		}
	}},
	{"reading an unknown user is not found", func(t *testing.T, s gatehouse.Store) {
		u := mkUser(t, s, "alice")
		_, err := s.UserByID(t.Context(), u.ID+1000)
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.UserByName(t.Context(), "bob")
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.UserByName(t.Context(), "ALICE")
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"listing users orders them by name byte by byte, and counting agrees", func(t *testing.T, s gatehouse.Store) {
		// '-' < '0' < '_' < 'a' in bytes; a locale collation would ignore
		// the punctuation and order these differently.
		names := []string{"ab", "a_b", "b", "a-c", "a0", "a", "a-b", "zz9"}
		for _, n := range names {
			mkUser(t, s, n)
		}
		slices.Sort(names)
		users, err := s.ListUsers(t.Context())
		must(t, err)
		var got []string
		for _, u := range users {
			got = append(got, u.Username)
		}
		equal(t, "usernames in order", got, names)
		n, err := s.CountUsers(t.Context())
		must(t, err)
		equal(t, "CountUsers", n, len(names))
	}},
	{"an empty store lists no users and counts zero", func(t *testing.T, s gatehouse.Store) {
		users, err := s.ListUsers(t.Context())
		must(t, err)
		equal(t, "number of users", len(users), 0)
		n, err := s.CountUsers(t.Context())
		must(t, err)
		equal(t, "CountUsers", n, 0)
	}},
	{"setting a password replaces the hash and records when", func(t *testing.T, s gatehouse.Store) {
		u := mkUser(t, s, "alice")
		at := t0.Add(time.Hour)
		must(t, s.SetPassword(t.Context(), u.ID, "$argon2id$new", at))
		got, err := s.UserByID(t.Context(), u.ID)
		must(t, err)
		equal(t, "PasswordHash", got.PasswordHash, "$argon2id$new")
		equal(t, "PasswordChangedAt", got.PasswordChangedAt, stored(at))
		wantCode(t, s.SetPassword(t.Context(), u.ID+1000, "x", at), gatehouse.ENOTFOUND)

		before := time.Now().Add(-time.Second)
		must(t, s.SetPassword(t.Context(), u.ID, "$argon2id$newer", time.Time{}))
		got, err = s.UserByID(t.Context(), u.ID)
		must(t, err)
		if got.PasswordChangedAt.Before(before) || got.PasswordChangedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("PasswordChangedAt = %v after a zero time, want about now", got.PasswordChangedAt)
		}
	}},
	{"updating a user saves admin, disabled and email, and nothing else", func(t *testing.T, s gatehouse.Store) {
		u := mkUser(t, s, "alice")
		want := *u
		change := *u
		change.IsAdmin, change.Disabled, change.Email = true, true, "new@example.com"
		change.Username, change.PasswordHash, change.CreatedAt = "mallory", "stolen", t0.Add(time.Hour)
		must(t, s.UpdateUser(t.Context(), &change))
		want.IsAdmin, want.Disabled, want.Email = true, true, "new@example.com"
		got, err := s.UserByID(t.Context(), u.ID)
		must(t, err)
		equal(t, "user after UpdateUser", *got, want)

		change.IsAdmin, change.Disabled = false, false
		must(t, s.UpdateUser(t.Context(), &change))
		got, err = s.UserByID(t.Context(), u.ID)
		must(t, err)
		if got.IsAdmin || got.Disabled {
			t.Errorf("flags not cleared: admin=%v disabled=%v", got.IsAdmin, got.Disabled)
		}
	}},
	{"updating an unknown user is not found", func(t *testing.T, s gatehouse.Store) {
		wantCode(t, s.UpdateUser(t.Context(), &gatehouse.User{ID: 4242, Username: "ghost"}), gatehouse.ENOTFOUND)
	}},
	{"users and organizations racing for one name leave exactly one holder of it", func(t *testing.T, s gatehouse.Store) {
		owner := mkUser(t, s, "owner")
		const n = 8
		for round := range raceRounds {
			contested := name("contested", round)
			errs := parallel(n, func(i int) error {
				if i%2 == 0 {
					return s.CreateUser(t.Context(), &gatehouse.User{Username: contested, CreatedAt: t0})
				}
				return s.CreateOrg(t.Context(), &gatehouse.Org{Name: contested, CreatedAt: t0}, owner.ID)
			})
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
				} else {
					wantCode(t, err, gatehouse.ECONFLICT)
				}
			}
			equal(t, "successful creations", wins, 1)
			_, userErr := s.UserByName(t.Context(), contested)
			_, orgErr := s.OrgByName(t.Context(), contested)
			if (userErr == nil) == (orgErr == nil) {
				t.Errorf("want exactly one of user and organization; user err %v, org err %v", userErr, orgErr)
			}
		}
	}},
}
