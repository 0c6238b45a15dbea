package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

var quotaTests = []test{
	{"active keys are counted without the revoked and the expired ones", func(t *testing.T, s gatehouse.Store) {
		alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
		mkKey(t, s, alice.ID, "a", t0)
		revoked := mkKey(t, s, alice.ID, "b", t0)
		_, err := s.RevokeKey(t.Context(), alice.ID, revoked.ID, t0, gatehouse.RevokedByUser)
		must(t, err)
		short := newKey(alice.ID, "c", t0)
		short.ExpiresAt = t0.Add(time.Minute)
		_, err = s.CreateKey(t.Context(), short)
		must(t, err)
		mkKey(t, s, bob.ID, "a", t0)
		n, err := s.CountActiveKeys(t.Context(), alice.ID, t0.Add(time.Second))
		must(t, err)
		equal(t, "alice's active keys, the short one alive", n, 2)
		n, err = s.CountActiveKeys(t.Context(), alice.ID, t0.Add(time.Hour))
		must(t, err)
		equal(t, "alice's active keys, the short one expired", n, 1)
	}},
	{"channels and package bytes are counted per owner, user or organization", func(t *testing.T, s gatehouse.Store) {
		alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
		acme := mkOrg(t, s, "acme", alice.ID)
		a1 := mkChannel(t, s, "a1", alice.ID, 0, gatehouse.Public)
		mkChannel(t, s, "a2", alice.ID, 0, gatehouse.Private)
		o1 := mkChannel(t, s, "o1", 0, acme.ID, gatehouse.Public)
		mkPkg(t, s, a1.ID, alice.ID, "noarch", "x-1.0-h0_0.conda")
		mkPkg(t, s, a1.ID, alice.ID, "linux-64", "y-1.0-h0_0.conda")
		mkPkg(t, s, o1.ID, alice.ID, "noarch", "z-1.0-h0_0.conda")
		for _, c := range []struct {
			name      string
			user, org int64
			channels  int
			bytes     int64
		}{{"alice", alice.ID, 0, 2, 2 * 1234}, {"acme", 0, acme.ID, 1, 1234}, {"bob", bob.ID, 0, 0, 0}} {
			n, err := s.CountChannels(t.Context(), c.user, c.org)
			must(t, err)
			equal(t, c.name+"'s channels", n, c.channels)
			b, err := s.OwnerBytes(t.Context(), c.user, c.org)
			must(t, err)
			equal(t, c.name+"'s package bytes", b, c.bytes)
		}
	}},
	{"a user's roles on all channels come in one read, as ChannelRoleOf gives them one by one", func(t *testing.T, s gatehouse.Store) {
		alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
		acme := mkOrg(t, s, "acme", alice.ID)
		must(t, s.PutOrgMember(t.Context(), acme.ID, bob.ID, gatehouse.OrgMember))
		own := mkChannel(t, s, "bobs", bob.ID, 0, gatehouse.Private)
		granted := mkChannel(t, s, "granted", alice.ID, 0, gatehouse.Private)
		must(t, s.PutChannelGrant(t.Context(), granted.ID, bob.ID, gatehouse.ChannelWrite, t0))
		org := mkChannel(t, s, "acmes", 0, acme.ID, gatehouse.Private)
		none := mkChannel(t, s, "alices", alice.ID, 0, gatehouse.Public)
		roles, err := s.ChannelRoles(t.Context(), bob.ID)
		must(t, err)
		equal(t, "bob's roles", roles, map[int64]gatehouse.ChannelRole{
			own.ID: gatehouse.ChannelAdmin, granted.ID: gatehouse.ChannelWrite, org.ID: gatehouse.ChannelRead})
		for _, ch := range []*gatehouse.Channel{own, granted, org, none} {
			one, err := s.ChannelRoleOf(t.Context(), ch.ID, bob.ID)
			must(t, err)
			equal(t, "ChannelRoleOf "+ch.Name, one, roles[ch.ID])
		}
		subdirs, err := s.AllChannelSubdirs(t.Context())
		must(t, err)
		equal(t, "subdirs with no packages", len(subdirs), 0)
		mkPkg(t, s, own.ID, bob.ID, "noarch", "x-1.0-h0_0.conda")
		mkPkg(t, s, own.ID, bob.ID, "linux-64", "y-1.0-h0_0.conda")
		mkPkg(t, s, own.ID, bob.ID, "linux-64", "z-1.0-h0_0.conda")
		subdirs, err = s.AllChannelSubdirs(t.Context())
		must(t, err)
		equal(t, "subdirs", subdirs, map[int64][]string{own.ID: {"linux-64", "noarch"}})
	}},
}
