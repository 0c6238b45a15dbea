// Package storetest is the conformance suite of gatehouse.Store: one set of
// tests that every backend must pass, through the interface alone (in the
// manner of dex's storage/conformance). A backend is done when Run passes
// on it.
package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Kolkata must load on machines without zoneinfo

	"github.com/gatehouse-dev/gatehouse"
)

// Run runs the suite. open returns a new, empty store for one test and
// closes it in t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) gatehouse.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"users", userTests},
		{"organizations", orgTests},
		{"keys", keyTests},
		{"sessions", sessionTests},
		{"audit", auditTests},
		{"times", timeTests},
		{"channels", channelTests},
		{"channel grants", grantTests},
		{"packages", packageTests},
		{"package races", packageRaceTests},
		{"change log and upstreams", changeTests},
		{"held upstream records", heldTests},
		{"network rules", networkRuleTests},
		{"clients", clientTests},
		{"oauth", oauthTests},
		{"channel and gate times", gateTimeTests},
		{"channel and gate faults", channelFaultTests},
		{"text", textTests},
		{"faults", faultTests},
		{"transactions", atomicTests},
		{"quotas and bulk reads", quotaTests},
		{"key restrictions and organization keys", identityKeyTests},
		{"single sign-on", ssoStoreTests},
		{"trusted publishing", trustedPublisherTests},
		{"registration tokens and clients", registrationTests},
		{"package browsing", catalogTests},
		{"sign-up requests", signupTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s gatehouse.Store)
}

// zoneX is a zone west of UTC with no DST, so wall clock and instant
// differ in every test that uses it (checklist A12).
var zoneX = time.FixedZone("X", -7*3600)

// t0 is the suite's "now": in zoneX, with nanoseconds the store drops.
var t0 = time.Date(2026, 5, 4, 10, 30, 15, 123456789, zoneX)

// stored is what a store must give back for t: the same instant in UTC,
// truncated to microseconds.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func randomHash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// wantCode fails unless err carries code. The message must be a sentence a
// person can act on, with nothing of the SQL underneath.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
	msg := gatehouse.ErrorMessage(err)
	if msg == "" {
		t.Fatalf("error %v has no message", err)
	}
	for _, leak := range []string{"sql", "select", "insert", "constraint", "pgx", "violat"} {
		if strings.Contains(strings.ToLower(msg), leak) {
			t.Errorf("error message %q shows database internals (%q)", msg, leak)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// mkUser creates a user named name.
func mkUser(t *testing.T, s gatehouse.Store, name string) *gatehouse.User {
	t.Helper()
	u := &gatehouse.User{Username: name, Email: name + "@example.com", PasswordHash: "$argon2id$" + name, CreatedAt: t0}
	must(t, s.CreateUser(t.Context(), u))
	return u
}

// mkOrg creates an organization named name, owned by ownerID.
func mkOrg(t *testing.T, s gatehouse.Store, name string, ownerID int64) *gatehouse.Org {
	t.Helper()
	o := &gatehouse.Org{Name: name, CreatedAt: t0}
	must(t, s.CreateOrg(t.Context(), o, ownerID))
	return o
}

// newKey returns an unsaved key of the user.
func newKey(userID int64, name string, created time.Time) *gatehouse.APIKey {
	return &gatehouse.APIKey{
		UserID: userID, Name: name, Hash: randomHash(), Hint: "gk-ab…yz",
		Scopes: gatehouse.ScopeUser | gatehouse.ScopeChannels, CreatedAt: created,
		ExpiresAt: created.Add(30 * 24 * time.Hour), CreatedVia: string(gatehouse.AuthSession),
	}
}

// mkKey creates a key and checks it replaced nothing.
func mkKey(t *testing.T, s gatehouse.Store, userID int64, name string, created time.Time) *gatehouse.APIKey {
	t.Helper()
	k := newKey(userID, name, created)
	replaced, err := s.CreateKey(t.Context(), k)
	must(t, err)
	if replaced != nil {
		t.Fatalf("creating key %q replaced key %d", name, replaced.ID)
	}
	return k
}

func mkSession(t *testing.T, s gatehouse.Store, userID int64, expires time.Time) *gatehouse.Session {
	t.Helper()
	se := &gatehouse.Session{Hash: randomHash(), UserID: userID, CreatedAt: t0, ExpiresAt: expires, IP: "192.0.2.1", UserAgent: "test"}
	must(t, s.CreateSession(t.Context(), se))
	return se
}

// raceRounds is how many times each race test runs its race.
const raceRounds = 5

// parallel runs fn(i) for i in [0, n) at once and returns the errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
	return errs
}

// expired returns a context whose deadline has passed.
func expired(t *testing.T) context.Context {
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	t.Cleanup(cancel)
	return ctx
}

func name(prefix string, i int) string { return fmt.Sprintf("%s%02d", prefix, i) }
