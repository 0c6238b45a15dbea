package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// roles returns username → role of the organization's members.
func roles(t *testing.T, s gatehouse.Store, orgID int64) map[string]gatehouse.OrgRole {
	t.Helper()
	ms, err := s.OrgMembers(t.Context(), orgID)
	must(t, err)
	r := make(map[string]gatehouse.OrgRole, len(ms))
	for _, m := range ms {
		r[m.Username] = m.Role
	}
	return r
}

func wantLastOwnerRefusal(t *testing.T, err error) {
	t.Helper()
	wantCode(t, err, gatehouse.EINVALID)
	if msg := gatehouse.ErrorMessage(err); !strings.Contains(msg, "owner") {
		t.Errorf("message %q does not say an owner must remain", msg)
	}
}

var orgTests = []test{
	{"creating an organization sets its ID and makes its creator the only owner", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		o := mkOrg(t, s, "acme", alice.ID)
		if o.ID <= 0 {
			t.Fatalf("ID = %d after CreateOrg", o.ID)
		}
		got, err := s.OrgByName(t.Context(), "acme")
		must(t, err)
		equal(t, "OrgByName", *got, gatehouse.Org{ID: o.ID, Name: "acme", CreatedAt: stored(t0)})
		m, err := s.OrgMember(t.Context(), o.ID, alice.ID)
		must(t, err)
		equal(t, "the creator's membership", *m, gatehouse.Membership{OrgID: o.ID, OrgName: "acme",
			UserID: alice.ID, Username: "alice", Role: gatehouse.OrgOwner, AddedAt: stored(t0)})
		equal(t, "members", roles(t, s, o.ID), map[string]gatehouse.OrgRole{"alice": gatehouse.OrgOwner})
	}},
	{"creating an organization for an unknown owner is not found and writes nothing", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		wantCode(t, s.CreateOrg(t.Context(), &gatehouse.Org{Name: "acme", CreatedAt: t0}, alice.ID+1000), gatehouse.ENOTFOUND)
		_, err := s.OrgByName(t.Context(), "acme")
		wantCode(t, err, gatehouse.ENOTFOUND)
		// The name was not kept either.
		mkUser(t, s, "acme")
	}},
	{"reading an unknown organization or membership is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		o := mkOrg(t, s, "acme", alice.ID)
		_, err := s.OrgByName(t.Context(), "nope")
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.OrgByName(t.Context(), "alice") // a user's name is no organization
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.OrgMember(t.Context(), o.ID, bob.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.OrgMember(t.Context(), o.ID+1000, alice.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"memberships list a user's organizations by name and an organization's members by username", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		carol := mkUser(t, s, "a-carol")
		zeta := mkOrg(t, s, "zeta", alice.ID)
		mkOrg(t, s, "beta", alice.ID)
		mkOrg(t, s, "b-eta", bob.ID)
		must(t, s.PutOrgMember(t.Context(), zeta.ID, bob.ID, gatehouse.OrgMember))
		must(t, s.PutOrgMember(t.Context(), zeta.ID, carol.ID, gatehouse.OrgAdmin))

		ms, err := s.UserOrgs(t.Context(), alice.ID)
		must(t, err)
		var orgs []string
		for _, m := range ms {
			orgs = append(orgs, m.OrgName+":"+string(m.Role))
			if m.UserID != alice.ID || m.Username != "alice" {
				t.Errorf("membership %+v is not alice's", m)
			}
		}
		equal(t, "alice's organizations", orgs, []string{"beta:owner", "zeta:owner"})

		ms, err = s.OrgMembers(t.Context(), zeta.ID)
		must(t, err)
		var members []string
		for _, m := range ms {
			members = append(members, m.Username+":"+string(m.Role))
			if m.OrgID != zeta.ID || m.OrgName != "zeta" {
				t.Errorf("membership %+v is not of zeta", m)
			}
		}
		equal(t, "zeta's members", members, []string{"a-carol:admin", "alice:owner", "bob:member"})

		ms, err = s.UserOrgs(t.Context(), alice.ID+1000)
		must(t, err)
		equal(t, "organizations of an unknown user", len(ms), 0)
	}},
	{"putting a member adds them, and putting them again changes their role", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		o := mkOrg(t, s, "acme", alice.ID)
		must(t, s.PutOrgMember(t.Context(), o.ID, bob.ID, gatehouse.OrgMember))
		m, err := s.OrgMember(t.Context(), o.ID, bob.ID)
		must(t, err)
		if m.Role != gatehouse.OrgMember || m.AddedAt.IsZero() || m.AddedAt.Location() != time.UTC {
			t.Errorf("new membership = %+v, want role member and an AddedAt in UTC", m)
		}
		for _, r := range []gatehouse.OrgRole{gatehouse.OrgAdmin, gatehouse.OrgOwner, gatehouse.OrgMember} {
			must(t, s.PutOrgMember(t.Context(), o.ID, bob.ID, r))
			equal(t, "roles", roles(t, s, o.ID), map[string]gatehouse.OrgRole{"alice": gatehouse.OrgOwner, "bob": r})
		}
		again, err := s.OrgMember(t.Context(), o.ID, bob.ID)
		must(t, err)
		equal(t, "AddedAt after role changes", again.AddedAt, m.AddedAt)
	}},
	{"putting a member with an unknown role is invalid", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		o := mkOrg(t, s, "acme", alice.ID)
		for _, r := range []gatehouse.OrgRole{"", "Owner", "superuser"} {
			wantCode(t, s.PutOrgMember(t.Context(), o.ID, bob.ID, r), gatehouse.EINVALID)
		}
		equal(t, "members", roles(t, s, o.ID), map[string]gatehouse.OrgRole{"alice": gatehouse.OrgOwner})
	}},
	{"putting a member into an unknown organization, or an unknown user, is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		o := mkOrg(t, s, "acme", alice.ID)
		wantCode(t, s.PutOrgMember(t.Context(), o.ID+1000, alice.ID, gatehouse.OrgMember), gatehouse.ENOTFOUND)
		wantCode(t, s.PutOrgMember(t.Context(), o.ID, alice.ID+1000, gatehouse.OrgMember), gatehouse.ENOTFOUND)
	}},
	{"demoting the last owner is refused with a sentence that says an owner must remain", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		o := mkOrg(t, s, "acme", alice.ID)
		must(t, s.PutOrgMember(t.Context(), o.ID, bob.ID, gatehouse.OrgAdmin))
		wantLastOwnerRefusal(t, s.PutOrgMember(t.Context(), o.ID, alice.ID, gatehouse.OrgAdmin))
		wantLastOwnerRefusal(t, s.PutOrgMember(t.Context(), o.ID, alice.ID, gatehouse.OrgMember))
		must(t, s.PutOrgMember(t.Context(), o.ID, alice.ID, gatehouse.OrgOwner)) // owner to owner is no demotion
		equal(t, "roles", roles(t, s, o.ID), map[string]gatehouse.OrgRole{"alice": gatehouse.OrgOwner, "bob": gatehouse.OrgAdmin})
	}},
	{"demoting an owner succeeds while another owner remains", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		o := mkOrg(t, s, "acme", alice.ID)
		must(t, s.PutOrgMember(t.Context(), o.ID, bob.ID, gatehouse.OrgOwner))
		must(t, s.PutOrgMember(t.Context(), o.ID, alice.ID, gatehouse.OrgMember))
		equal(t, "roles", roles(t, s, o.ID), map[string]gatehouse.OrgRole{"alice": gatehouse.OrgMember, "bob": gatehouse.OrgOwner})
		wantLastOwnerRefusal(t, s.PutOrgMember(t.Context(), o.ID, bob.ID, gatehouse.OrgMember))
	}},
	{"removing someone who is not a member is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		o := mkOrg(t, s, "acme", alice.ID)
		wantCode(t, s.RemoveOrgMember(t.Context(), o.ID, bob.ID), gatehouse.ENOTFOUND)
		wantCode(t, s.RemoveOrgMember(t.Context(), o.ID+1000, alice.ID), gatehouse.ENOTFOUND)
	}},
	{"removing the last owner is refused, and removing anyone else succeeds", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		carol := mkUser(t, s, "carol")
		o := mkOrg(t, s, "acme", alice.ID)
		must(t, s.PutOrgMember(t.Context(), o.ID, bob.ID, gatehouse.OrgAdmin))
		must(t, s.PutOrgMember(t.Context(), o.ID, carol.ID, gatehouse.OrgOwner))
		must(t, s.RemoveOrgMember(t.Context(), o.ID, bob.ID))
		must(t, s.RemoveOrgMember(t.Context(), o.ID, alice.ID))
		wantLastOwnerRefusal(t, s.RemoveOrgMember(t.Context(), o.ID, carol.ID))
		equal(t, "members", roles(t, s, o.ID), map[string]gatehouse.OrgRole{"carol": gatehouse.OrgOwner})
		_, err := s.OrgMember(t.Context(), o.ID, bob.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"owners removed and demoted all at once always leave exactly one owner", func(t *testing.T, s gatehouse.Store) {
		const n = 8
		var owners []*gatehouse.User
		for i := range n {
			owners = append(owners, mkUser(t, s, name("owner", i)))
		}
		// Several rounds: the later ones run on warm connections, where
		// the calls overlap most.
		for round := range raceRounds {
			o := mkOrg(t, s, name("acme", round), owners[0].ID)
			for _, u := range owners[1:] {
				must(t, s.PutOrgMember(t.Context(), o.ID, u.ID, gatehouse.OrgOwner))
			}
			errs := parallel(n, func(i int) error {
				if i%2 == 0 {
					return s.RemoveOrgMember(t.Context(), o.ID, owners[i].ID)
				}
				return s.PutOrgMember(t.Context(), o.ID, owners[i].ID, gatehouse.OrgMember)
			})
			refused := 0
			for _, err := range errs {
				if err != nil {
					wantLastOwnerRefusal(t, err)
					refused++
				}
			}
			left := 0
			for _, r := range roles(t, s, o.ID) {
				if r == gatehouse.OrgOwner {
					left++
				}
			}
			if refused != 1 || left != 1 {
				t.Fatalf("round %d: %d changes refused and %d owners left, want 1 and 1", round, refused, left)
			}
		}
	}},
}
