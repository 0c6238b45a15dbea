package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// mkChannel creates a channel owned by the user or, if ownerUserID is 0,
// by the organization.
func mkChannel(t *testing.T, s gatehouse.Store, name string, ownerUserID, ownerOrgID int64, v gatehouse.Visibility) *gatehouse.Channel {
	t.Helper()
	c := &gatehouse.Channel{Name: name, Visibility: v, OwnerUserID: ownerUserID, OwnerOrgID: ownerOrgID, CreatedAt: t0}
	must(t, s.CreateChannel(t.Context(), c))
	return c
}

// channel reads the channel back by name.
func channel(t *testing.T, s gatehouse.Store, name string) *gatehouse.Channel {
	t.Helper()
	c, err := s.ChannelByName(t.Context(), name)
	must(t, err)
	return c
}

// roleOf is ChannelRoleOf that must succeed.
func roleOf(t *testing.T, s gatehouse.Store, channelID, userID int64) gatehouse.ChannelRole {
	t.Helper()
	r, err := s.ChannelRoleOf(t.Context(), channelID, userID)
	must(t, err)
	return r
}

// grants returns username → role of the channel's grants, in order.
func grants(t *testing.T, s gatehouse.Store, channelID int64) []string {
	t.Helper()
	gs, err := s.ChannelGrants(t.Context(), channelID)
	must(t, err)
	var out []string
	for _, g := range gs {
		out = append(out, g.Username+":"+g.Role.String())
	}
	return out
}

var channelTests = []test{
	{"creating a channel owned by a user sets its ID, revision 1 and owner's name, and it reads back by name", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := &gatehouse.Channel{Name: "tools", Visibility: gatehouse.Public, OwnerUserID: alice.ID, CreatedAt: t0, Revision: 42}
		must(t, s.CreateChannel(t.Context(), c))
		if c.ID <= 0 {
			t.Fatalf("ID = %d after CreateChannel", c.ID)
		}
		want := gatehouse.Channel{ID: c.ID, Name: "tools", Visibility: gatehouse.Public, OwnerUserID: alice.ID,
			Owner: "alice", CreatedAt: stored(t0), Revision: 1}
		equal(t, "the channel as CreateChannel left it", *c, want)
		equal(t, "ChannelByName", *channel(t, s, "tools"), want)
	}},
	{"a channel owned by an organization has the organization's name as owner", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		c := mkChannel(t, s, "acme-internal", 0, acme.ID, gatehouse.Private)
		equal(t, "ChannelByName", *channel(t, s, "acme-internal"), gatehouse.Channel{ID: c.ID, Name: "acme-internal",
			Visibility: gatehouse.Private, OwnerOrgID: acme.ID, Owner: "acme", CreatedAt: stored(t0), Revision: 1})
	}},
	{"a channel without a visibility is private, and one without a time is created now", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		before := time.Now().Add(-time.Second)
		c := &gatehouse.Channel{Name: "x", OwnerUserID: alice.ID}
		must(t, s.CreateChannel(t.Context(), c))
		got := channel(t, s, "x")
		equal(t, "visibility", got.Visibility, gatehouse.Private)
		if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt = %v, want now in UTC", got.CreatedAt)
		}
		equal(t, "CreatedAt as CreateChannel left it", c.CreatedAt, got.CreatedAt)
	}},
	{"channel names are unique whoever owns them, and apart from user and organization names", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		acme := mkOrg(t, s, "acme", bob.ID)
		first := mkChannel(t, s, "shared", alice.ID, 0, gatehouse.Public)
		wantCode(t, s.CreateChannel(t.Context(), &gatehouse.Channel{Name: "shared", OwnerUserID: bob.ID, CreatedAt: t0}), gatehouse.ECONFLICT)
		wantCode(t, s.CreateChannel(t.Context(), &gatehouse.Channel{Name: "shared", OwnerOrgID: acme.ID, CreatedAt: t0}), gatehouse.ECONFLICT)
		equal(t, "the first channel", channel(t, s, "shared").ID, first.ID)
		// A channel may carry a user's or an organization's name.
		mkChannel(t, s, "bob", alice.ID, 0, gatehouse.Public)
		mkChannel(t, s, "acme", alice.ID, 0, gatehouse.Public)
	}},
	{"a channel needs exactly one owner", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		wantCode(t, s.CreateChannel(t.Context(), &gatehouse.Channel{Name: "none", CreatedAt: t0}), gatehouse.EINVALID)
		wantCode(t, s.CreateChannel(t.Context(), &gatehouse.Channel{Name: "both", OwnerUserID: alice.ID, OwnerOrgID: acme.ID, CreatedAt: t0}), gatehouse.EINVALID)
		cs, err := s.ListChannels(t.Context())
		must(t, err)
		equal(t, "channels", len(cs), 0)
	}},
	{"creating a channel for an unknown user or organization is not found and writes nothing", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		wantCode(t, s.CreateChannel(t.Context(), &gatehouse.Channel{Name: "x", OwnerUserID: alice.ID + 1000, CreatedAt: t0}), gatehouse.ENOTFOUND)
		wantCode(t, s.CreateChannel(t.Context(), &gatehouse.Channel{Name: "x", OwnerOrgID: acme.ID + 1000, CreatedAt: t0}), gatehouse.ENOTFOUND)
		_, err := s.ChannelByName(t.Context(), "x")
		wantCode(t, err, gatehouse.ENOTFOUND)
		mkChannel(t, s, "x", alice.ID, 0, gatehouse.Public) // the name was not kept
	}},
	{"creating a channel refuses names that break conda's rule, and unknown visibilities", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		for _, n := range []string{"", "Upper", "t", ".hidden", "-dash", "a/b", "spa ce", "nul\x00", "bad\xff"} {
			wantCode(t, s.CreateChannel(t.Context(), &gatehouse.Channel{Name: n, OwnerUserID: alice.ID, CreatedAt: t0}), gatehouse.EINVALID)
		}
		for _, v := range []gatehouse.Visibility{"Public", "secret", "internal"} {
			wantCode(t, s.CreateChannel(t.Context(), &gatehouse.Channel{Name: "x", Visibility: v, OwnerUserID: alice.ID, CreatedAt: t0}), gatehouse.EINVALID)
		}
		cs, err := s.ListChannels(t.Context())
		must(t, err)
		equal(t, "channels", len(cs), 0)
	}},
	{"reading an unknown channel, or a name that is not text, is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		for _, n := range append([]string{"nope", "TOOLS", "alice"}, badTexts...) {
			_, err := s.ChannelByName(t.Context(), n)
			wantCode(t, err, gatehouse.ENOTFOUND)
		}
	}},
	{"channels list by name, byte by byte, with their owners", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		// Distinct names, not look-alikes of one another, whose bytes
		// sort '-' < '.' < '0' < '_' < 'a'.
		for _, n := range []string{"b_z", "ba", "b.y", "a", "b-x", "b0"} {
			if n == "ba" {
				mkChannel(t, s, n, 0, acme.ID, gatehouse.Private)
			} else {
				mkChannel(t, s, n, alice.ID, 0, gatehouse.Public)
			}
		}
		cs, err := s.ListChannels(t.Context())
		must(t, err)
		var got []string
		for _, c := range cs {
			got = append(got, c.Name+"@"+c.Owner+":"+string(c.Visibility))
		}
		equal(t, "channels", got, []string{"a@alice:public", "b-x@alice:public", "b.y@alice:public",
			"b0@alice:public", "b_z@alice:public", "ba@acme:private"})
	}},
	{"a name that looks like a taken one (_ for -, a trailing . or -) is taken too (checklist G6)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		mkChannel(t, s, "conda-forge", alice.ID, 0, gatehouse.Public)
		for _, n := range []string{"conda_forge", "conda-forge.", "conda-forge-", "conda_forge._"} {
			err := s.CreateChannel(t.Context(), &gatehouse.Channel{Name: n, Visibility: gatehouse.Public, OwnerUserID: alice.ID, CreatedAt: t0})
			wantCode(t, err, gatehouse.ECONFLICT)
		}
		mkChannel(t, s, "conda-forge2", alice.ID, 0, gatehouse.Public) // a different name is free
		cs, err := s.ListChannels(t.Context())
		must(t, err)
		equal(t, "channels", len(cs), 2)
	}},
	{"setting the visibility changes only the visibility; an unknown channel is not found, an unknown visibility invalid", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		must(t, s.SetChannelVisibility(t.Context(), c.ID, gatehouse.Private))
		want := *c
		want.Visibility = gatehouse.Private
		equal(t, "after SetChannelVisibility", *channel(t, s, "tools"), want)
		must(t, s.SetChannelVisibility(t.Context(), c.ID, gatehouse.Private)) // no change is no error
		wantCode(t, s.SetChannelVisibility(t.Context(), c.ID+1000, gatehouse.Public), gatehouse.ENOTFOUND)
		for _, v := range []gatehouse.Visibility{"", "PUBLIC", "world"} {
			wantCode(t, s.SetChannelVisibility(t.Context(), c.ID, v), gatehouse.EINVALID)
		}
		equal(t, "after refused changes", *channel(t, s, "tools"), want)
	}},
}

var grantTests = []test{
	{"putting a grant adds it, and putting it again replaces the role and the time", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Private)
		must(t, s.PutChannelGrant(t.Context(), c.ID, bob.ID, gatehouse.ChannelRead, t0))
		gs, err := s.ChannelGrants(t.Context(), c.ID)
		must(t, err)
		if len(gs) != 1 {
			t.Fatalf("%d grants, want 1", len(gs))
		}
		equal(t, "the grant", *gs[0], gatehouse.ChannelGrant{ChannelID: c.ID, UserID: bob.ID, Username: "bob",
			Role: gatehouse.ChannelRead, GrantedAt: stored(t0)})
		later := t0.Add(time.Hour)
		must(t, s.PutChannelGrant(t.Context(), c.ID, bob.ID, gatehouse.ChannelWrite, later))
		gs, err = s.ChannelGrants(t.Context(), c.ID)
		must(t, err)
		if len(gs) != 1 {
			t.Fatalf("%d grants after the second put, want 1", len(gs))
		}
		equal(t, "the replaced grant", *gs[0], gatehouse.ChannelGrant{ChannelID: c.ID, UserID: bob.ID, Username: "bob",
			Role: gatehouse.ChannelWrite, GrantedAt: stored(later)})
	}},
	{"grants list by username and belong to their channel only", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Private)
		other := mkChannel(t, s, "other", alice.ID, 0, gatehouse.Private)
		given := []gatehouse.ChannelRole{gatehouse.ChannelAdmin, gatehouse.ChannelRead, gatehouse.ChannelWrite}
		for i, n := range []string{"zed", "b-ob", "bob"} {
			u := mkUser(t, s, n)
			must(t, s.PutChannelGrant(t.Context(), c.ID, u.ID, given[i], t0))
		}
		equal(t, "grants", grants(t, s, c.ID), []string{"b-ob:read", "bob:write", "zed:admin"})
		equal(t, "grants of another channel", grants(t, s, other.ID), []string(nil))
		equal(t, "grants of an unknown channel", grants(t, s, c.ID+1000), []string(nil))
	}},
	{"a grant of a role other than read, write or admin is invalid", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Private)
		for _, r := range []gatehouse.ChannelRole{gatehouse.NoAccess, -1, gatehouse.ChannelAdmin + 1} {
			wantCode(t, s.PutChannelGrant(t.Context(), c.ID, bob.ID, r, t0), gatehouse.EINVALID)
		}
		equal(t, "grants", grants(t, s, c.ID), []string(nil))
	}},
	{"a grant on an unknown channel, or for an unknown user, is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Private)
		wantCode(t, s.PutChannelGrant(t.Context(), c.ID+1000, alice.ID, gatehouse.ChannelRead, t0), gatehouse.ENOTFOUND)
		wantCode(t, s.PutChannelGrant(t.Context(), c.ID, alice.ID+1000, gatehouse.ChannelRead, t0), gatehouse.ENOTFOUND)
		equal(t, "grants", grants(t, s, c.ID), []string(nil))
	}},
	{"deleting a grant removes it and leaves the others; deleting a missing one is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		carol := mkUser(t, s, "carol")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Private)
		must(t, s.PutChannelGrant(t.Context(), c.ID, bob.ID, gatehouse.ChannelRead, t0))
		must(t, s.PutChannelGrant(t.Context(), c.ID, carol.ID, gatehouse.ChannelWrite, t0))
		must(t, s.DeleteChannelGrant(t.Context(), c.ID, bob.ID))
		equal(t, "grants", grants(t, s, c.ID), []string{"carol:write"})
		wantCode(t, s.DeleteChannelGrant(t.Context(), c.ID, bob.ID), gatehouse.ENOTFOUND)
		wantCode(t, s.DeleteChannelGrant(t.Context(), c.ID, alice.ID), gatehouse.ENOTFOUND) // the owner has no grant
		wantCode(t, s.DeleteChannelGrant(t.Context(), c.ID+1000, carol.ID), gatehouse.ENOTFOUND)
		equal(t, "role after the grant went", roleOf(t, s, c.ID, bob.ID), gatehouse.NoAccess)
	}},
	{"the effective role is the highest of owning the channel, a grant and the owning organization's role", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice") // owns acme and the channel "own"
		acme := mkOrg(t, s, "acme", alice.ID)
		other := mkOrg(t, s, "other", alice.ID)
		own := mkChannel(t, s, "own", alice.ID, 0, gatehouse.Private)
		orgCh := mkChannel(t, s, "acme-ch", 0, acme.ID, gatehouse.Private)
		cases := []struct {
			name    string
			channel *gatehouse.Channel
			org     gatehouse.OrgRole // in acme ("" for none)
			other   gatehouse.OrgRole // in other ("" for none)
			grant   gatehouse.ChannelRole
			want    gatehouse.ChannelRole
		}{
			{"a stranger has no access", orgCh, "", "", gatehouse.NoAccess, gatehouse.NoAccess},
			{"a read grant gives read", orgCh, "", "", gatehouse.ChannelRead, gatehouse.ChannelRead},
			{"a write grant gives write", orgCh, "", "", gatehouse.ChannelWrite, gatehouse.ChannelWrite},
			{"an organization member reads", orgCh, gatehouse.OrgMember, "", gatehouse.NoAccess, gatehouse.ChannelRead},
			{"an organization admin administers", orgCh, gatehouse.OrgAdmin, "", gatehouse.NoAccess, gatehouse.ChannelAdmin},
			{"an organization owner administers", orgCh, gatehouse.OrgOwner, "", gatehouse.NoAccess, gatehouse.ChannelAdmin},
			{"a member with a write grant writes", orgCh, gatehouse.OrgMember, "", gatehouse.ChannelWrite, gatehouse.ChannelWrite},
			{"a member with an admin grant administers", orgCh, gatehouse.OrgMember, "", gatehouse.ChannelAdmin, gatehouse.ChannelAdmin},
			{"an organization admin with a read grant still administers", orgCh, gatehouse.OrgAdmin, "", gatehouse.ChannelRead, gatehouse.ChannelAdmin},
			{"an owner of another organization has no access", orgCh, "", gatehouse.OrgOwner, gatehouse.NoAccess, gatehouse.NoAccess},
			{"membership means nothing on a user's channel", own, gatehouse.OrgOwner, gatehouse.OrgOwner, gatehouse.NoAccess, gatehouse.NoAccess},
			{"a grant on a user's channel counts", own, gatehouse.OrgOwner, "", gatehouse.ChannelWrite, gatehouse.ChannelWrite},
		}
		for i, c := range cases {
			u := mkUser(t, s, name("user", i))
			if c.org != "" {
				must(t, s.PutOrgMember(t.Context(), acme.ID, u.ID, c.org))
			}
			if c.other != "" {
				must(t, s.PutOrgMember(t.Context(), other.ID, u.ID, c.other))
			}
			if c.grant != gatehouse.NoAccess {
				must(t, s.PutChannelGrant(t.Context(), c.channel.ID, u.ID, c.grant, t0))
			}
			if got := roleOf(t, s, c.channel.ID, u.ID); got != c.want {
				t.Errorf("%s: role %v, want %v", c.name, got, c.want)
			}
		}
		equal(t, "the owning user", roleOf(t, s, own.ID, alice.ID), gatehouse.ChannelAdmin)
		must(t, s.PutChannelGrant(t.Context(), own.ID, alice.ID, gatehouse.ChannelRead, t0))
		equal(t, "the owning user with a read grant", roleOf(t, s, own.ID, alice.ID), gatehouse.ChannelAdmin)
		equal(t, "the owner of the owning organization", roleOf(t, s, orgCh.ID, alice.ID), gatehouse.ChannelAdmin)
	}},
	{"the role on an unknown channel, or of an unknown user, is no access", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		equal(t, "unknown channel", roleOf(t, s, c.ID+1000, alice.ID), gatehouse.NoAccess)
		equal(t, "unknown user", roleOf(t, s, c.ID, alice.ID+1000), gatehouse.NoAccess)
		equal(t, "no user", roleOf(t, s, c.ID, 0), gatehouse.NoAccess)
	}},
	{"a disabled user's role is still computed: refusing them is the auth layer's job", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Private)
		must(t, s.PutChannelGrant(t.Context(), c.ID, bob.ID, gatehouse.ChannelWrite, t0))
		for _, u := range []*gatehouse.User{alice, bob} {
			u.Disabled = true
			must(t, s.UpdateUser(t.Context(), u))
		}
		equal(t, "disabled owner", roleOf(t, s, c.ID, alice.ID), gatehouse.ChannelAdmin)
		equal(t, "disabled grantee", roleOf(t, s, c.ID, bob.ID), gatehouse.ChannelWrite)
	}},
	{"leaving or changing role in the organization changes access to its channels at once", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		acme := mkOrg(t, s, "acme", alice.ID)
		c := mkChannel(t, s, "acme-ch", 0, acme.ID, gatehouse.Private)
		must(t, s.PutOrgMember(t.Context(), acme.ID, bob.ID, gatehouse.OrgAdmin))
		equal(t, "as admin", roleOf(t, s, c.ID, bob.ID), gatehouse.ChannelAdmin)
		must(t, s.PutOrgMember(t.Context(), acme.ID, bob.ID, gatehouse.OrgMember))
		equal(t, "demoted to member", roleOf(t, s, c.ID, bob.ID), gatehouse.ChannelRead)
		must(t, s.RemoveOrgMember(t.Context(), acme.ID, bob.ID))
		equal(t, "removed from the organization", roleOf(t, s, c.ID, bob.ID), gatehouse.NoAccess)
		// An explicit grant is independent of membership.
		must(t, s.PutOrgMember(t.Context(), acme.ID, bob.ID, gatehouse.OrgAdmin))
		must(t, s.PutChannelGrant(t.Context(), c.ID, bob.ID, gatehouse.ChannelRead, t0))
		must(t, s.RemoveOrgMember(t.Context(), acme.ID, bob.ID))
		equal(t, "removed, with a read grant", roleOf(t, s, c.ID, bob.ID), gatehouse.ChannelRead)
	}},
	{"channel and grant times written in any zone come back as the same instant in UTC (checklist A12)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		for i, loc := range zones(t) {
			at := time.Date(2026, 3, 29, 1, 59, 59, 999999999, loc).Add(time.Duration(i) * time.Hour)
			c := &gatehouse.Channel{Name: name("ch", i), OwnerUserID: alice.ID, CreatedAt: at}
			must(t, s.CreateChannel(t.Context(), c))
			wantUTC(t, "channel CreatedAt in "+loc.String(), channel(t, s, c.Name).CreatedAt, at)
			must(t, s.PutChannelGrant(t.Context(), c.ID, bob.ID, gatehouse.ChannelRead, at.Add(time.Minute)))
			gs, err := s.ChannelGrants(t.Context(), c.ID)
			must(t, err)
			wantUTC(t, "grant GrantedAt in "+loc.String(), gs[0].GrantedAt, at.Add(time.Minute))
		}
		far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		wantCode(t, s.CreateChannel(t.Context(), &gatehouse.Channel{Name: "far", OwnerUserID: alice.ID, CreatedAt: far}), gatehouse.EINVALID)
		wantCode(t, s.PutChannelGrant(t.Context(), channel(t, s, "ch00").ID, bob.ID, gatehouse.ChannelRead, far), gatehouse.EINVALID)
	}},
}
