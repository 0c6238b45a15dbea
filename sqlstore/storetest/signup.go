package storetest

import (
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/signup"
)

// signupStore keeps sign-up requests (issue 11 item 25): sqlstore.DB
// embeds it from sqlstore/signupsql.
type signupStore interface {
	CreateSignupRequest(ctx context.Context, r *signup.Request) error
	SignupRequest(ctx context.Context, id int64) (*signup.Request, error)
	PendingSignupFor(ctx context.Context, username, email string) (*signup.Request, error)
	SignupRequests(ctx context.Context, status string, limit int) ([]*signup.Request, error)
	DecideSignupRequest(ctx context.Context, id int64, status, by string) (*signup.Request, error)
}

func signups(t *testing.T, s gatehouse.Store) signupStore {
	t.Helper()
	c, ok := s.(signupStore)
	if !ok {
		t.Fatalf("%T does not keep sign-up requests", s)
	}
	return c
}

var signupTests = []test{
	{"a request is kept with its hash and time in UTC, and one per name or email is pending", func(t *testing.T, s gatehouse.Store) {
		c := signups(t, s)
		r := &signup.Request{Username: "newbie", Email: "New@Example.com", PasswordHash: "$argon2id$v=19$x", IP: "192.0.2.7", CreatedAt: t0}
		must(t, c.CreateSignupRequest(t.Context(), r))
		got, err := c.SignupRequest(t.Context(), r.ID)
		must(t, err)
		equal(t, "username", got.Username, "newbie")
		equal(t, "hash", got.PasswordHash, "$argon2id$v=19$x")
		equal(t, "status", got.Status, signup.Pending)
		wantUTC(t, "created", got.CreatedAt, stored(t0))
		wantCode(t, c.CreateSignupRequest(t.Context(), &signup.Request{Username: "newbie", Email: "x@example.com", PasswordHash: "h"}), gatehouse.ECONFLICT)
		wantCode(t, c.CreateSignupRequest(t.Context(), &signup.Request{Username: "other", Email: "new@example.COM", PasswordHash: "h"}), gatehouse.ECONFLICT)
		wantCode(t, c.CreateSignupRequest(t.Context(), &signup.Request{Username: "bad\x00", Email: "a@b", PasswordHash: "h"}), gatehouse.EINVALID)
		p, err := c.PendingSignupFor(t.Context(), "nobody", "NEW@example.com")
		must(t, err)
		if p == nil || p.ID != r.ID {
			t.Errorf("the pending request by email: %+v", p)
		}
		_, err = c.SignupRequest(t.Context(), r.ID+100)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"a request is decided once; a new one may follow", func(t *testing.T, s gatehouse.Store) {
		c := signups(t, s)
		r := &signup.Request{Username: "newbie", Email: "n@example.com", PasswordHash: "h", CreatedAt: t0}
		must(t, c.CreateSignupRequest(t.Context(), r))
		d, err := c.DecideSignupRequest(t.Context(), r.ID, signup.Denied, "root")
		must(t, err)
		equal(t, "status", d.Status, signup.Denied)
		equal(t, "decided by", d.DecidedBy, "root")
		if d.DecidedAt.IsZero() {
			t.Error("no decision time")
		}
		_, err = c.DecideSignupRequest(t.Context(), r.ID, signup.Approved, "root")
		wantCode(t, err, gatehouse.ECONFLICT)
		_, err = c.DecideSignupRequest(t.Context(), r.ID, "maybe", "root")
		wantCode(t, err, gatehouse.EINVALID)
		must(t, c.CreateSignupRequest(t.Context(), &signup.Request{Username: "newbie", Email: "n@example.com", PasswordHash: "h"}))
		pending, err := c.SignupRequests(t.Context(), signup.Pending, 0)
		must(t, err)
		all, err := c.SignupRequests(t.Context(), "", 0)
		must(t, err)
		equal(t, "pending and all", [2]int{len(pending), len(all)}, [2]int{1, 2})
	}},
}
