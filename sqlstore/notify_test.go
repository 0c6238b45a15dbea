package sqlstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/pgtest"
)

// deliveryBound is how long a test waits for a notification that must
// come. Delivery takes about a millisecond; the bound only keeps a
// failing test from hanging.
const deliveryBound = 5 * time.Second

// feed is a running Changes loop whose deliveries a test reads in order.
type feed struct{ ch chan gatehouse.Change }

// startFeed runs db.Changes until the test ends, and waits for the first
// ChangeAll, which says the listener is in place.
func startFeed(t testing.TB, db *DB) *feed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &feed{ch: make(chan gatehouse.Change, 1024)}
	done := make(chan error, 1)
	go func() {
		done <- db.Changes(ctx, func(c gatehouse.Change) {
			select {
			case f.ch <- c:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Changes returned %v when its context ended, want context.Canceled", err)
			}
		case <-time.After(deliveryBound):
			t.Errorf("Changes did not return within %v of its context ending", deliveryBound)
		}
	})
	if c := f.next(t); c.Kind != gatehouse.ChangeAll || c.Err != nil {
		t.Fatalf("first change = %+v, want ChangeAll with no error", c)
	}
	return f
}

// next returns the next change delivered, failing the test if none comes
// within deliveryBound.
func (f *feed) next(t testing.TB) gatehouse.Change {
	t.Helper()
	select {
	case c := <-f.ch:
		return c
	case <-time.After(deliveryBound):
		t.Fatalf("no change delivered within %v", deliveryBound)
		return gatehouse.Change{}
	}
}

// expect fails the test unless the next change delivered is want.
func (f *feed) expect(t testing.TB, want gatehouse.Change) {
	t.Helper()
	if got := f.next(t); !sameChange(got, want) {
		t.Fatalf("next change = %s (err %v), want %s", encodeChange(got), got.Err, encodeChange(want))
	}
}

func sameChange(a, b gatehouse.Change) bool {
	return a.Kind == b.Kind && bytes.Equal(a.KeyHash, b.KeyHash) && a.UserID == b.UserID &&
		a.ChannelID == b.ChannelID && a.Err == nil && b.Err == nil
}

// marker commits a change nobody else sends (the user ID is never
// issued) and returns it. Notifications reach a listener in commit order,
// so when the marker is the next change delivered, nothing was sent
// between the previous one and it.
func marker(t testing.TB, db *DB) gatehouse.Change {
	t.Helper()
	m := gatehouse.Change{Kind: gatehouse.ChangeUser, UserID: 1 << 60}
	tx, err := db.SQL().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.notify(t.Context(), tx, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return m
}

func randomHash() []byte {
	h := make([]byte, hashLen)
	rand.Read(h)
	return h
}

func newKey(userID int64, name string, hash []byte) *gatehouse.APIKey {
	t0 := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	return &gatehouse.APIKey{UserID: userID, Name: name, Hash: hash, Hint: "gk-ab…yz",
		Scopes: gatehouse.ScopeUser | gatehouse.ScopeChannels, CreatedAt: t0,
		ExpiresAt: t0.Add(24 * time.Hour), CreatedVia: string(gatehouse.AuthSession)}
}

// twoReplicas opens one fresh PostgreSQL database twice, as two replicas
// would, and listens on the second.
func twoReplicas(t *testing.T) (writer *DB, listener *feed) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	return a, startFeed(t, b)
}

// TestChangesReachAnotherReplica is checklist A6 and A10 across replicas:
// each store change that must end cached access is delivered to a
// listener on another connection pool, once committed, and failed or
// idempotent calls deliver nothing.
func TestChangesReachAnotherReplica(t *testing.T) {
	db, f := twoReplicas(t)
	ctx := t.Context()
	alice := &gatehouse.User{Username: "alice", Email: "alice@example.com"}
	bob := &gatehouse.User{Username: "bob"}
	for _, u := range []*gatehouse.User{alice, bob} {
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	org := &gatehouse.Org{Name: "acme"}
	if err := db.CreateOrg(ctx, org, alice.ID); err != nil {
		t.Fatal(err)
	}
	ch := &gatehouse.Channel{Name: "internal", OwnerUserID: alice.ID}
	if err := db.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	ci := newKey(alice.ID, "ci", randomHash())
	if _, err := db.CreateKey(ctx, ci); err != nil {
		t.Fatal(err)
	}

	keyChange := func(h []byte) gatehouse.Change { return gatehouse.Change{Kind: gatehouse.ChangeKey, KeyHash: h} }
	userChange := func(id int64) gatehouse.Change { return gatehouse.Change{Kind: gatehouse.ChangeUser, UserID: id} }
	chanChange := gatehouse.Change{Kind: gatehouse.ChangeChannel, ChannelID: ch.ID}
	roles := gatehouse.Change{Kind: gatehouse.ChangeRoles}
	wantCode := func(t *testing.T, what string, err error, code string) {
		t.Helper()
		if gatehouse.ErrorCode(err) != code {
			t.Fatalf("%s: %v, want %s", what, err, code)
		}
	}
	mustDo := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var laptop *gatehouse.APIKey // bob's key named "laptop" that is active

	// Each case makes its change and returns what must be delivered, in
	// order; then a marker proves nothing else was.
	tests := []struct {
		name string
		do   func(t *testing.T) []gatehouse.Change
	}{
		{"revoking a key sends its hash", func(t *testing.T) []gatehouse.Change {
			_, err := db.RevokeKey(ctx, alice.ID, ci.ID, time.Time{}, gatehouse.RevokedByUser)
			mustDo(t, err)
			return []gatehouse.Change{keyChange(ci.Hash)}
		}},
		{"revoking it again sends nothing", func(t *testing.T) []gatehouse.Change {
			_, err := db.RevokeKey(ctx, alice.ID, ci.ID, time.Time{}, gatehouse.RevokedByUser)
			mustDo(t, err)
			return nil
		}},
		{"revoking another user's key sends nothing", func(t *testing.T) []gatehouse.Change {
			_, err := db.RevokeKey(ctx, bob.ID, ci.ID, time.Time{}, gatehouse.RevokedByUser)
			wantCode(t, "revoking another user's key", err, gatehouse.ENOTFOUND)
			return nil
		}},
		{"creating a key that replaces none sends nothing", func(t *testing.T) []gatehouse.Change {
			laptop = newKey(bob.ID, "laptop", randomHash())
			_, err := db.CreateKey(ctx, laptop)
			mustDo(t, err)
			return nil
		}},
		{"replacing a key by name sends the old key's hash", func(t *testing.T) []gatehouse.Change {
			old := laptop
			laptop = newKey(bob.ID, "laptop", randomHash())
			_, err := db.CreateKey(ctx, laptop)
			mustDo(t, err)
			return []gatehouse.Change{keyChange(old.Hash)}
		}},
		{"a key creation rolled back after revoking the replaced key sends nothing", func(t *testing.T) []gatehouse.Change {
			// The name revokes bob's laptop key and queues its
			// notification; the duplicate hash then rolls it all back.
			_, err := db.CreateKey(ctx, newKey(bob.ID, "laptop", ci.Hash))
			wantCode(t, "creating a key with a duplicate hash", err, gatehouse.ECONFLICT)
			return nil
		}},
		{"disabling a user sends the user", func(t *testing.T) []gatehouse.Change {
			bob.Disabled = true
			mustDo(t, db.UpdateUser(ctx, bob))
			return []gatehouse.Change{userChange(bob.ID)}
		}},
		{"demoting an administrator sends the user", func(t *testing.T) []gatehouse.Change {
			alice.IsAdmin = false
			mustDo(t, db.UpdateUser(ctx, alice))
			return []gatehouse.Change{userChange(alice.ID)}
		}},
		{"updating a user who does not exist sends nothing", func(t *testing.T) []gatehouse.Change {
			wantCode(t, "updating a missing user", db.UpdateUser(ctx, &gatehouse.User{ID: 1 << 40}), gatehouse.ENOTFOUND)
			return nil
		}},
		{"adding an organization member sends roles", func(t *testing.T) []gatehouse.Change {
			mustDo(t, db.PutOrgMember(ctx, org.ID, bob.ID, gatehouse.OrgMember))
			return []gatehouse.Change{roles}
		}},
		{"refusing to demote the last owner sends nothing", func(t *testing.T) []gatehouse.Change {
			wantCode(t, "demoting the last owner", db.PutOrgMember(ctx, org.ID, alice.ID, gatehouse.OrgMember), gatehouse.EINVALID)
			return nil
		}},
		{"removing an organization member sends roles", func(t *testing.T) []gatehouse.Change {
			mustDo(t, db.RemoveOrgMember(ctx, org.ID, bob.ID))
			return []gatehouse.Change{roles}
		}},
		{"changing a channel's visibility sends the channel", func(t *testing.T) []gatehouse.Change {
			mustDo(t, db.SetChannelVisibility(ctx, ch.ID, gatehouse.Public))
			return []gatehouse.Change{chanChange}
		}},
		{"granting a role on a channel sends the channel", func(t *testing.T) []gatehouse.Change {
			mustDo(t, db.PutChannelGrant(ctx, ch.ID, bob.ID, gatehouse.ChannelRead, time.Time{}))
			return []gatehouse.Change{chanChange}
		}},
		{"removing the grant sends the channel", func(t *testing.T) []gatehouse.Change {
			mustDo(t, db.DeleteChannelGrant(ctx, ch.ID, bob.ID))
			return []gatehouse.Change{chanChange}
		}},
		{"removing a grant that does not exist sends nothing", func(t *testing.T) []gatehouse.Change {
			wantCode(t, "removing a missing grant", db.DeleteChannelGrant(ctx, ch.ID, bob.ID), gatehouse.ENOTFOUND)
			return nil
		}},
		// Issue 8: a package acknowledged on one replica is listed by
		// the others' repodata at once, not when their cached channel
		// (and its revision) expires.
		{"adding a package sends the channel", func(t *testing.T) []gatehouse.Change {
			_, err := db.AddPackage(ctx, testPkg(ch.ID, alice.ID, "noarch", "fresh-1-0.conda"), false)
			mustDo(t, err)
			return []gatehouse.Change{chanChange}
		}},
		{"a refused duplicate package sends nothing", func(t *testing.T) []gatehouse.Change {
			_, err := db.AddPackage(ctx, testPkg(ch.ID, alice.ID, "noarch", "fresh-1-0.conda"), false)
			wantCode(t, "adding a duplicate", err, gatehouse.ECONFLICT)
			return nil
		}},
		{"deleting a package sends the channel", func(t *testing.T) []gatehouse.Change {
			_, err := db.DeletePackage(ctx, ch.ID, "noarch", "fresh-1-0.conda")
			mustDo(t, err)
			return []gatehouse.Change{chanChange}
		}},
		{"granting on a channel that does not exist sends nothing", func(t *testing.T) []gatehouse.Change {
			err := db.PutChannelGrant(ctx, 1<<40, bob.ID, gatehouse.ChannelRead, time.Time{})
			wantCode(t, "granting on a missing channel", err, gatehouse.ENOTFOUND)
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, want := range tt.do(t) {
				f.expect(t, want)
			}
			f.expect(t, marker(t, db))
		})
	}
}

func TestARolledBackTransactionSendsNothing(t *testing.T) {
	db, f := twoReplicas(t)
	tx, err := db.SQL().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.notify(t.Context(), tx, gatehouse.Change{Kind: gatehouse.ChangeKey, KeyHash: randomHash()}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	f.expect(t, marker(t, db))
}

// TestChangesStartOverWhenTheListenerIsCut kills the listener's backend,
// as a database restart or a failover would: the feed says ChangeLost at
// once (issue 8: until it is back, changes go unheard, so caches must not
// be trusted), reconnects, says ChangeAll with the cause (notifications
// may have been lost meanwhile), and delivers what is committed
// afterwards.
func TestChangesStartOverWhenTheListenerIsCut(t *testing.T) {
	db, f := twoReplicas(t)
	var killed int
	err := db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, listenerName).Scan(&killed)
	if err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listener backends, want 1", killed)
	}
	if c := f.next(t); c.Kind != gatehouse.ChangeLost || c.Err == nil {
		t.Fatalf("when the listener was cut: %s (err %v), want ChangeLost with the cause", c.Kind, c.Err)
	}
	c := f.next(t)
	if c.Kind != gatehouse.ChangeAll || c.Err == nil {
		t.Fatalf("after the listener was cut: %s (err %v), want ChangeAll with the cause", encodeChange(c), c.Err)
	}
	t.Logf("cause reported: %v", c.Err)
	f.expect(t, marker(t, db))
}

func TestAnUnreadableNotificationFlushesEverything(t *testing.T) {
	// Anyone who can connect may NOTIFY; what we cannot read must fail
	// safe, and a newer replica's new kind of change too.
	db, f := twoReplicas(t)
	for _, payload := range []string{"key:zz", "package:12", strings.Repeat("x", 7000)} {
		if _, err := db.SQL().ExecContext(t.Context(), `SELECT pg_notify($1, $2)`, changesChannel, payload); err != nil {
			t.Fatal(err)
		}
		if c := f.next(t); c.Kind != gatehouse.ChangeAll || c.Err == nil {
			t.Errorf("payload %.20q: %s (err %v), want ChangeAll with the reason", payload, encodeChange(c), c.Err)
		} else if len(c.Err.Error()) > 200 {
			t.Errorf("the reason quotes %d bytes of the payload", len(c.Err.Error()))
		}
	}
	// An operator's manual flush.
	if _, err := db.SQL().ExecContext(t.Context(), `NOTIFY gatehouse_changes, 'all'`); err != nil {
		t.Fatal(err)
	}
	f.expect(t, gatehouse.Change{Kind: gatehouse.ChangeAll})
}

func TestSQLiteHasNoChangeFeed(t *testing.T) {
	db := openSQLiteTest(t)
	called := false
	err := db.Changes(t.Context(), func(gatehouse.Change) { called = true })
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Changes on SQLite = %v, want errors.ErrUnsupported", err)
	}
	if called {
		t.Error("Changes on SQLite delivered a change")
	}
	// And the writes that notify on PostgreSQL still work without.
	u := &gatehouse.User{Username: "carol"}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	u.Disabled = true
	if err := db.UpdateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
}

func TestChangePayloads(t *testing.T) {
	h := bytes.Repeat([]byte{0xab}, hashLen)
	roundTrips := []struct {
		name    string
		change  gatehouse.Change
		payload string
	}{
		{"a key is its hash in hex", gatehouse.Change{Kind: gatehouse.ChangeKey, KeyHash: h}, "key:" + strings.Repeat("ab", hashLen)},
		{"a user is its ID", gatehouse.Change{Kind: gatehouse.ChangeUser, UserID: 42}, "user:42"},
		{"a channel is its ID", gatehouse.Change{Kind: gatehouse.ChangeChannel, ChannelID: 7}, "channel:7"},
		{"roles stand alone", gatehouse.Change{Kind: gatehouse.ChangeRoles}, "roles"},
		{"all stands alone", gatehouse.Change{Kind: gatehouse.ChangeAll}, "all"},
	}
	for _, tt := range roundTrips {
		t.Run(tt.name, func(t *testing.T) {
			if got := encodeChange(tt.change); got != tt.payload {
				t.Errorf("encode = %q, want %q", got, tt.payload)
			}
			got, err := parseChange(tt.payload)
			if err != nil || !sameChange(got, tt.change) {
				t.Errorf("parse(%q) = %+v, %v", tt.payload, got, err)
			}
		})
	}
	for _, p := range []string{"", "key:", "key:" + strings.Repeat("AB", hashLen), "key:" + strings.Repeat("ab", hashLen-1),
		"user:", "user:0", "user:-1", "user:+1", "user:01", "user:1 ", "user:99999999999999999999", "channel:x",
		"roles:1", "all:", "ALL", "package:1", "key:" + strings.Repeat("ab", hashLen) + ":1"} {
		t.Run("refuses "+p, func(t *testing.T) {
			if c, err := parseChange(p); err == nil {
				t.Errorf("parse(%q) = %+v, want an error", p, c)
			}
		})
	}
}

// FuzzParseChange: a payload is either refused or read as exactly one
// change, which encodes back to the same payload.
func FuzzParseChange(f *testing.F) {
	for _, s := range []string{"key:" + strings.Repeat("0f", hashLen), "user:1", "channel:9223372036854775807",
		"roles", "all", "user:01", "key:", "channel:-3", "\x00", "all:all"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := parseChange(p)
		if err != nil {
			if c.Kind != "" {
				t.Fatalf("refused %q but returned %+v", p, c)
			}
			return
		}
		if !slices.Contains([]gatehouse.ChangeKind{gatehouse.ChangeKey, gatehouse.ChangeUser, gatehouse.ChangeChannel,
			gatehouse.ChangeRoles, gatehouse.ChangeAll}, c.Kind) {
			t.Fatalf("parse(%q) kind %q", p, c.Kind)
		}
		if c.Kind == gatehouse.ChangeKey && len(c.KeyHash) != hashLen {
			t.Fatalf("parse(%q) hash of %d bytes", p, len(c.KeyHash))
		}
		if back := encodeChange(c); back != p {
			t.Fatalf("parse(%q) encodes back as %q", p, back)
		}
	})
}

// BenchmarkChangeDelivery measures what a revocation on one replica costs
// until another has it: the committing transaction (UpdateUser with its
// pg_notify) and the notification's trip to the listener of another pool.
func BenchmarkChangeDelivery(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	open := func() *DB {
		db, err := Open(b.Context(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	}
	db, f := open(), startFeed(b, open())
	u := &gatehouse.User{Username: "alice"}
	if err := db.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	// The commit alone, for comparison; its notifications are drained.
	b.Run("commit", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if err := db.UpdateUser(b.Context(), u); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.StopTimer()
		for range n {
			f.next(b)
		}
	})
	b.Run("commit-and-delivery", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := db.UpdateUser(b.Context(), u); err != nil {
				b.Fatal(err)
			}
			if c := f.next(b); c.Kind != gatehouse.ChangeUser || c.UserID != u.ID {
				b.Fatalf("delivered %s", encodeChange(c))
			}
		}
	})
}
