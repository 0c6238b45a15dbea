package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// wantKey is what a store must give back for k as written.
func wantKey(k *gatehouse.APIKey) gatehouse.APIKey {
	w := *k
	w.CreatedAt, w.ExpiresAt = stored(k.CreatedAt), stored(k.ExpiresAt)
	w.LastUsedAt, w.RevokedAt = stored(k.LastUsedAt), stored(k.RevokedAt)
	return w
}

var keyTests = []test{
	{"creating a key sets its ID, and it reads back by ID, and by hash with its owner", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := newKey(alice.ID, "ci", t0)
		k.Scopes = gatehouse.ScopeUser | gatehouse.ScopeChannels | gatehouse.ScopeAdmin
		k.CreatedVia = string(gatehouse.AuthOAuth)
		replaced, err := s.CreateKey(t.Context(), k)
		must(t, err)
		if replaced != nil {
			t.Fatalf("a key with a new name replaced key %d", replaced.ID)
		}
		if k.ID <= 0 {
			t.Fatalf("ID = %d after CreateKey", k.ID)
		}
		want := wantKey(k)
		byID, err := s.KeyByID(t.Context(), alice.ID, k.ID)
		must(t, err)
		equal(t, "KeyByID", *byID, want)
		byHash, owner, err := s.KeyByHash(t.Context(), k.Hash)
		must(t, err)
		equal(t, "KeyByHash key", *byHash, want)
		equal(t, "KeyByHash owner", *owner, *alice)
	}},
	{"creating a key with the name of an active key revokes that key as replaced at the new key's creation time, and returns it", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		old := mkKey(t, s, alice.ID, "laptop", t0)
		other := mkKey(t, s, alice.ID, "ci", t0)
		at := t0.Add(time.Hour).In(time.UTC)
		k := newKey(alice.ID, "laptop", at)
		replaced, err := s.CreateKey(t.Context(), k)
		must(t, err)
		wantOld := wantKey(old)
		wantOld.RevokedAt, wantOld.RevokeReason = stored(at), gatehouse.RevokedReplaced
		if replaced == nil {
			t.Fatal("CreateKey returned no replaced key")
		}
		equal(t, "the replaced key returned", *replaced, wantOld)
		got, err := s.KeyByID(t.Context(), alice.ID, old.ID)
		must(t, err)
		equal(t, "the replaced key as stored", *got, wantOld)
		got, err = s.KeyByID(t.Context(), alice.ID, other.ID)
		must(t, err)
		equal(t, "the key of another name", *got, wantKey(other))
		got, err = s.KeyByID(t.Context(), alice.ID, k.ID)
		must(t, err)
		equal(t, "the new key", got.Status(at), gatehouse.KeyActive)
	}},
	{"creating a key does not replace a revoked key of the same name, nor another user's", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		old := mkKey(t, s, alice.ID, "laptop", t0)
		_, err := s.RevokeKey(t.Context(), alice.ID, old.ID, t0.Add(time.Minute), gatehouse.RevokedByUser)
		must(t, err)
		bobs := mkKey(t, s, bob.ID, "laptop", t0)
		mkKey(t, s, alice.ID, "laptop", t0.Add(time.Hour)) // fails if it replaced anything
		got, err := s.KeyByID(t.Context(), alice.ID, old.ID)
		must(t, err)
		equal(t, "reason of the earlier revocation", got.RevokeReason, gatehouse.RevokedByUser)
		equal(t, "time of the earlier revocation", got.RevokedAt, stored(t0.Add(time.Minute)))
		got, err = s.KeyByID(t.Context(), bob.ID, bobs.ID)
		must(t, err)
		equal(t, "bob's key", *got, wantKey(bobs))
	}},
	{"creating a key refuses a hash that is not 32 bytes", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		for _, h := range [][]byte{nil, make([]byte, 31), make([]byte, 33), []byte("gk-not-a-hash")} {
			k := newKey(alice.ID, "x", t0)
			k.Hash = h
			_, err := s.CreateKey(t.Context(), k)
			wantCode(t, err, gatehouse.EINVALID)
		}
	}},
	{"creating a key refuses a hash another key has, and leaves that key alone", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		first := mkKey(t, s, alice.ID, "one", t0)
		dup := newKey(bob.ID, "two", t0)
		dup.Hash = bytes.Clone(first.Hash)
		_, err := s.CreateKey(t.Context(), dup)
		wantCode(t, err, gatehouse.ECONFLICT)
		_, owner, err := s.KeyByHash(t.Context(), first.Hash)
		must(t, err)
		equal(t, "owner of the hash", owner.Username, "alice")
		// The failed creation left no half-replaced key behind either.
		same := newKey(alice.ID, "one", t0)
		same.Hash = bytes.Clone(first.Hash)
		_, err = s.CreateKey(t.Context(), same)
		wantCode(t, err, gatehouse.ECONFLICT)
		got, err := s.KeyByID(t.Context(), alice.ID, first.ID)
		must(t, err)
		equal(t, "the first key after a refused replacement", *got, wantKey(first))
	}},
	{"creating a key for an unknown user is not found", func(t *testing.T, s gatehouse.Store) {
		_, err := s.CreateKey(t.Context(), newKey(4242, "ci", t0))
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"reading a key by hash returns revoked and expired keys too, and an unknown hash is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		revoked := mkKey(t, s, alice.ID, "revoked", t0)
		_, err := s.RevokeKey(t.Context(), alice.ID, revoked.ID, t0, gatehouse.RevokedLogout)
		must(t, err)
		expired := mkKey(t, s, alice.ID, "expired", t0.Add(-60*24*time.Hour))
		k, _, err := s.KeyByHash(t.Context(), revoked.Hash)
		must(t, err)
		equal(t, "status of the revoked key", k.Status(t0), gatehouse.KeyRevoked)
		equal(t, "revoke reason", k.RevokeReason, gatehouse.RevokedLogout)
		k, _, err = s.KeyByHash(t.Context(), expired.Hash)
		must(t, err)
		equal(t, "status of the expired key", k.Status(t0), gatehouse.KeyExpired)
		_, _, err = s.KeyByHash(t.Context(), randomHash())
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, _, err = s.KeyByHash(t.Context(), nil)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"reading a key by hash shows its owner as they are now, disabled included (checklist A10)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		alice.Disabled, alice.IsAdmin = true, true
		must(t, s.UpdateUser(t.Context(), alice))
		_, owner, err := s.KeyByHash(t.Context(), k.Hash)
		must(t, err)
		if !owner.Disabled || !owner.IsAdmin {
			t.Errorf("owner = %+v, want disabled admin", owner)
		}
	}},
	{"reading another user's key by ID is not found, exactly like a key that does not exist (checklist A7)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		k := mkKey(t, s, alice.ID, "ci", t0)
		_, errOther := s.KeyByID(t.Context(), bob.ID, k.ID)
		wantCode(t, errOther, gatehouse.ENOTFOUND)
		_, errMissing := s.KeyByID(t.Context(), bob.ID, k.ID+1000)
		wantCode(t, errMissing, gatehouse.ENOTFOUND)
		equal(t, "messages for another's key and a missing key", gatehouse.ErrorMessage(errOther), gatehouse.ErrorMessage(errMissing))
	}},
	{"listing keys returns the user's keys newest first, revoked included, and no one else's", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		a := mkKey(t, s, alice.ID, "a", t0)
		b := mkKey(t, s, alice.ID, "b", t0.Add(2*time.Hour))
		c := mkKey(t, s, alice.ID, "c", t0.Add(time.Hour))
		mkKey(t, s, bob.ID, "a", t0.Add(3*time.Hour))
		_, err := s.RevokeKey(t.Context(), alice.ID, b.ID, t0.Add(3*time.Hour), gatehouse.RevokedByUser)
		must(t, err)
		keys, err := s.ListKeys(t.Context(), alice.ID)
		must(t, err)
		var ids []int64
		for _, k := range keys {
			ids = append(ids, k.ID)
		}
		equal(t, "key IDs", ids, []int64{b.ID, c.ID, a.ID})
		if len(keys) == 3 {
			equal(t, "the revoked key in the list", keys[0].Status(t0), gatehouse.KeyRevoked)
			equal(t, "the oldest key in the list", *keys[2], wantKey(a))
		}
		keys, err = s.ListKeys(t.Context(), alice.ID+1000)
		must(t, err)
		equal(t, "keys of an unknown user", len(keys), 0)
	}},
	{"revoking a key records when and why, and returns the key", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		at := t0.Add(time.Hour)
		got, err := s.RevokeKey(t.Context(), alice.ID, k.ID, at, gatehouse.RevokedByUser)
		must(t, err)
		want := wantKey(k)
		want.RevokedAt, want.RevokeReason = stored(at), gatehouse.RevokedByUser
		equal(t, "returned key", *got, want)
		read, _, err := s.KeyByHash(t.Context(), k.Hash)
		must(t, err)
		equal(t, "stored key", *read, want)
	}},
	{"revoking a revoked key succeeds and changes nothing (checklist A7)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		first, err := s.RevokeKey(t.Context(), alice.ID, k.ID, t0.Add(time.Hour), gatehouse.RevokedByUser)
		must(t, err)
		second, err := s.RevokeKey(t.Context(), alice.ID, k.ID, t0.Add(2*time.Hour), gatehouse.RevokedLogout)
		must(t, err)
		equal(t, "key after the second revocation", *second, *first)
	}},
	{"revoking another user's key is not found and leaves the key active (checklist A7)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		k := mkKey(t, s, alice.ID, "ci", t0)
		_, err := s.RevokeKey(t.Context(), bob.ID, k.ID, t0, gatehouse.RevokedByUser)
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.RevokeKey(t.Context(), bob.ID, k.ID+1000, t0, gatehouse.RevokedByUser)
		wantCode(t, err, gatehouse.ENOTFOUND)
		got, err := s.KeyByID(t.Context(), alice.ID, k.ID)
		must(t, err)
		equal(t, "alice's key", *got, wantKey(k))
	}},
	{"revoking with an unknown reason is invalid", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		for _, reason := range []string{"", "because", "Revoked"} {
			_, err := s.RevokeKey(t.Context(), alice.ID, k.ID, t0, reason)
			wantCode(t, err, gatehouse.EINVALID)
		}
		got, err := s.KeyByID(t.Context(), alice.ID, k.ID)
		must(t, err)
		equal(t, "status", got.Status(t0), gatehouse.KeyActive)
	}},
	{"touching a key moves its last use forward, never back", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		steps := []struct {
			at, want time.Time
		}{
			{t0.Add(time.Minute), t0.Add(time.Minute)},
			{t0.Add(time.Second), t0.Add(time.Minute)}, // earlier: ignored
			{t0.Add(time.Minute), t0.Add(time.Minute)}, // equal: no change
			{t0.Add(time.Hour), t0.Add(time.Hour)},
		}
		for _, st := range steps {
			must(t, s.TouchKey(t.Context(), k.ID, st.at))
			got, err := s.KeyByID(t.Context(), alice.ID, k.ID)
			must(t, err)
			equal(t, "LastUsedAt after touching at "+st.at.String(), got.LastUsedAt, stored(st.want))
		}
		wantCode(t, s.TouchKey(t.Context(), k.ID+1000, t0), gatehouse.ENOTFOUND)
	}},
	{"twenty concurrent creations of one name leave exactly one active key, every other revoked as replaced", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		const n = 20
		// Several rounds: the later ones run on warm connections, where
		// the calls overlap most.
		for round := range raceRounds {
			keyName := name("deploy", round)
			keys := make([]*gatehouse.APIKey, n)
			replaced := make([]*gatehouse.APIKey, n)
			errs := parallel(n, func(i int) error {
				keys[i] = newKey(alice.ID, keyName, t0.Add(time.Duration(i)*time.Second))
				var err error
				replaced[i], err = s.CreateKey(t.Context(), keys[i])
				return err
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: creation %d failed: %v", round, i, err)
				}
			}
			all, err := s.ListKeys(t.Context(), alice.ID)
			must(t, err)
			stored, active := 0, 0
			for _, k := range all {
				switch {
				case k.Name != keyName:
				case k.RevokedAt.IsZero():
					stored++
					active++
				case k.RevokeReason != gatehouse.RevokedReplaced:
					t.Errorf("key %d revoked as %q, want %q", k.ID, k.RevokeReason, gatehouse.RevokedReplaced)
				default:
					stored++
				}
			}
			if stored != n || active != 1 {
				t.Fatalf("round %d: %d keys stored, %d active; want %d and 1", round, stored, active, n)
			}
			// Each replaced key was replaced by exactly one creation.
			seen := map[int64]bool{}
			for _, r := range replaced {
				if r == nil {
					continue
				}
				if seen[r.ID] {
					t.Errorf("round %d: key %d was replaced twice", round, r.ID)
				}
				seen[r.ID] = true
			}
			equal(t, "creations that replaced a key", len(seen), n-1)
		}
	}},
}
