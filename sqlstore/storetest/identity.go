package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Conformance of the identity tables: channel restrictions and
// organization service keys on api_keys, key policies, single sign-on, and
// trusted publishing.

func newOrgKey(orgID, creatorID int64, name string, created time.Time) *gatehouse.APIKey {
	k := newKey(creatorID, name, created)
	k.OrgID = orgID
	k.Scopes = gatehouse.ScopeChannels
	k.ChannelAccess = gatehouse.ChannelWrite
	return k
}

func keyNames(keys []*gatehouse.APIKey) []string {
	out := []string{}
	for _, k := range keys {
		out = append(out, k.Name)
	}
	return out
}

var identityKeyTests = []test{
	{"a key's channel list and channel access read back as written, by hash, by ID and in lists", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := newKey(alice.ID, "ci", t0)
		k.Channels = []string{"lab", "lab.dev"}
		k.ChannelAccess = gatehouse.ChannelRead
		_, err := s.CreateKey(t.Context(), k)
		must(t, err)
		want := wantKey(k)
		byHash, _, err := s.KeyByHash(t.Context(), k.Hash)
		must(t, err)
		equal(t, "by hash", *byHash, want)
		byID, err := s.KeyByID(t.Context(), alice.ID, k.ID)
		must(t, err)
		equal(t, "by ID", *byID, want)
		list, err := s.ListKeys(t.Context(), alice.ID)
		must(t, err)
		equal(t, "listed", *list[0], want)
	}},
	{"a key without restrictions reads back with no channel list and no cap", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "laptop", t0)
		got, _, err := s.KeyByHash(t.Context(), k.Hash)
		must(t, err)
		if got.Channels != nil || got.ChannelAccess != gatehouse.NoAccess || got.OrgID != 0 {
			t.Errorf("key = %+v, want no restriction and no organization", got)
		}
	}},
	{"a channel name holding a comma is refused and nothing is written", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := newKey(alice.ID, "ci", t0)
		k.Channels = []string{"a,b"}
		_, err := s.CreateKey(t.Context(), k)
		wantCode(t, err, gatehouse.EINVALID)
		keys, err := s.ListKeys(t.Context(), alice.ID)
		must(t, err)
		equal(t, "keys", len(keys), 0)
	}},
	{"an organization key belongs to the organization: listed there, not among its creator's keys", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		ok := newOrgKey(acme.ID, alice.ID, "ci", t0)
		_, err := s.CreateKey(t.Context(), ok)
		must(t, err)
		personal := mkKey(t, s, alice.ID, "ci", t0) // same name, no replacement
		orgKeys, err := s.ListOrgKeys(t.Context(), acme.ID)
		must(t, err)
		equal(t, "organization keys", keyNames(orgKeys), []string{"ci"})
		equal(t, "organization key", *orgKeys[0], wantKey(ok))
		mine, err := s.ListKeys(t.Context(), alice.ID)
		must(t, err)
		if len(mine) != 1 || mine[0].ID != personal.ID {
			t.Errorf("alice's keys = %v, want only her personal key", keyNames(mine))
		}
		_, err = s.KeyByID(t.Context(), alice.ID, ok.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
		byHash, creator, err := s.KeyByHash(t.Context(), ok.Hash)
		must(t, err)
		equal(t, "org of the key by hash", byHash.OrgID, acme.ID)
		equal(t, "creator", creator.ID, alice.ID)
	}},
	{"an organization key with the name of an active one of the same organization replaces it", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		acme := mkOrg(t, s, "acme", alice.ID)
		other := mkOrg(t, s, "other", bob.ID)
		first := newOrgKey(acme.ID, alice.ID, "ci", t0)
		_, err := s.CreateKey(t.Context(), first)
		must(t, err)
		elsewhere := newOrgKey(other.ID, bob.ID, "ci", t0)
		replaced, err := s.CreateKey(t.Context(), elsewhere)
		must(t, err)
		if replaced != nil {
			t.Fatalf("another organization's key of the same name replaced %d", replaced.ID)
		}
		second := newOrgKey(acme.ID, bob.ID, "ci", t0.Add(time.Hour))
		replaced, err = s.CreateKey(t.Context(), second)
		must(t, err)
		if replaced == nil || replaced.ID != first.ID || replaced.RevokeReason != gatehouse.RevokedReplaced {
			t.Fatalf("replaced = %+v, want the first key, replaced", replaced)
		}
	}},
	{"revoking an organization key works once, for that organization only, and not through the personal path", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		acme := mkOrg(t, s, "acme", alice.ID)
		other := mkOrg(t, s, "other", bob.ID)
		k := newOrgKey(acme.ID, alice.ID, "ci", t0)
		_, err := s.CreateKey(t.Context(), k)
		must(t, err)
		_, err = s.RevokeKey(t.Context(), alice.ID, k.ID, t0, gatehouse.RevokedByUser)
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.RevokeOrgKey(t.Context(), other.ID, k.ID, t0, gatehouse.RevokedByUser)
		wantCode(t, err, gatehouse.ENOTFOUND)
		got, err := s.RevokeOrgKey(t.Context(), acme.ID, k.ID, t0.Add(time.Minute), gatehouse.RevokedByUser)
		must(t, err)
		equal(t, "revoked at", got.RevokedAt, stored(t0.Add(time.Minute)))
		again, err := s.RevokeOrgKey(t.Context(), acme.ID, k.ID, t0.Add(time.Hour), gatehouse.RevokedByUser)
		must(t, err)
		equal(t, "revoked at after a second revocation", again.RevokedAt, stored(t0.Add(time.Minute)))
	}},
	{"an organization key for an organization that does not exist is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		_, err := s.CreateKey(t.Context(), newOrgKey(9999, alice.ID, "ci", t0))
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"organizations read back by ID, users by email without regard to case", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		got, err := s.OrgByID(t.Context(), acme.ID)
		must(t, err)
		equal(t, "org", got.Name, "acme")
		_, err = s.OrgByID(t.Context(), acme.ID+100)
		wantCode(t, err, gatehouse.ENOTFOUND)
		us, err := s.UsersByEmail(t.Context(), "ALICE@example.com")
		must(t, err)
		if len(us) != 1 || us[0].ID != alice.ID {
			t.Errorf("UsersByEmail = %v", us)
		}
		us, err = s.UsersByEmail(t.Context(), "nobody@example.com")
		must(t, err)
		equal(t, "users of an unknown address", len(us), 0)
	}},
	{"key policies read back per organization, the zero policy when none was set", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		p, err := s.KeyPolicy(t.Context(), 0)
		must(t, err)
		equal(t, "unset server policy", p, gatehouse.KeyPolicy{})
		must(t, s.SetKeyPolicy(t.Context(), 0, gatehouse.KeyPolicy{MaxKeyLifetimeDays: 90, ExpiryWarningDays: 7}, t0))
		must(t, s.SetKeyPolicy(t.Context(), acme.ID, gatehouse.KeyPolicy{MaxKeyLifetimeDays: 30}, t0))
		must(t, s.SetKeyPolicy(t.Context(), 0, gatehouse.KeyPolicy{MaxKeyLifetimeDays: 180, ExpiryWarningDays: 10}, t0))
		p, err = s.KeyPolicy(t.Context(), 0)
		must(t, err)
		equal(t, "server policy", p, gatehouse.KeyPolicy{MaxKeyLifetimeDays: 180, ExpiryWarningDays: 10})
		p, err = s.KeyPolicy(t.Context(), acme.ID)
		must(t, err)
		equal(t, "organization policy", p, gatehouse.KeyPolicy{MaxKeyLifetimeDays: 30})
		err = s.SetKeyPolicy(t.Context(), 0, gatehouse.KeyPolicy{MaxKeyLifetimeDays: 400}, t0)
		wantCode(t, err, gatehouse.EINVALID)
	}},
}

func ssoConfig(orgID int64, domains ...string) *gatehouse.SSOConfig {
	c := &gatehouse.SSOConfig{OrgID: orgID, Issuer: "https://idp.example.com", ClientID: "gatehouse",
		ClientSecret: "sealed:v1:abc", Required: true, UpdatedAt: t0,
		GroupRoles:    map[string]gatehouse.OrgRole{"eng": gatehouse.OrgMember, "leads": gatehouse.OrgAdmin},
		GroupChannels: map[string]map[string]gatehouse.ChannelRole{"eng": {"lab": gatehouse.ChannelWrite}}}
	for _, d := range domains {
		c.Domains = append(c.Domains, gatehouse.SSODomain{Domain: d})
	}
	return c
}

var ssoStoreTests = []test{
	{"an SSO configuration reads back with its domain claims, unconfirmed", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		must(t, s.PutSSOConfig(t.Context(), ssoConfig(acme.ID, "acme.example", "acme.test")))
		got, err := s.SSOConfig(t.Context(), acme.ID)
		must(t, err)
		equal(t, "org", got.Org, "acme")
		equal(t, "secret as stored", got.ClientSecret, "sealed:v1:abc")
		equal(t, "group roles", got.GroupRoles["leads"], gatehouse.OrgAdmin)
		equal(t, "group channels", got.GroupChannels["eng"]["lab"], gatehouse.ChannelWrite)
		equal(t, "domains", len(got.Domains), 2)
		if got.Domains[0].Domain != "acme.example" || got.Domains[0].Confirmed {
			t.Errorf("first domain = %+v", got.Domains[0])
		}
		_, err = s.ConfirmedSSODomain(t.Context(), "acme.example")
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"confirming a claim makes the domain sign in at that organization, and a second organization's claim cannot be confirmed", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		evil := mkOrg(t, s, "evil", alice.ID)
		must(t, s.PutSSOConfig(t.Context(), ssoConfig(acme.ID, "acme.example")))
		must(t, s.PutSSOConfig(t.Context(), ssoConfig(evil.ID, "acme.example")))
		must(t, s.ConfirmSSODomain(t.Context(), "acme.example", acme.ID, "admin", t0))
		d, err := s.ConfirmedSSODomain(t.Context(), "acme.example")
		must(t, err)
		equal(t, "confirmed org", d.Org, "acme")
		equal(t, "confirmed by", d.ConfirmedBy, "admin")
		wantCode(t, s.ConfirmSSODomain(t.Context(), "acme.example", evil.ID, "admin", t0), gatehouse.ECONFLICT)
		wantCode(t, s.ConfirmSSODomain(t.Context(), "other.example", acme.ID, "admin", t0), gatehouse.ENOTFOUND)
		all, err := s.ListSSODomains(t.Context())
		must(t, err)
		equal(t, "claims", len(all), 2)
	}},
	{"changing the configuration keeps the confirmation of kept domains and drops removed ones", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		must(t, s.PutSSOConfig(t.Context(), ssoConfig(acme.ID, "a.example", "b.example")))
		must(t, s.ConfirmSSODomain(t.Context(), "a.example", acme.ID, "admin", t0))
		must(t, s.ConfirmSSODomain(t.Context(), "b.example", acme.ID, "admin", t0))
		must(t, s.PutSSOConfig(t.Context(), ssoConfig(acme.ID, "a.example", "c.example")))
		if _, err := s.ConfirmedSSODomain(t.Context(), "a.example"); err != nil {
			t.Errorf("a kept domain lost its confirmation: %v", err)
		}
		_, err := s.ConfirmedSSODomain(t.Context(), "b.example")
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.ConfirmedSSODomain(t.Context(), "c.example")
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"a sign-in state is taken once, and expired ones are swept", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		l := &gatehouse.SSOLogin{StateHash: randomHash(), BrowserHash: randomHash(), OrgID: acme.ID, Next: "/settings/keys",
			CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		must(t, s.CreateSSOLogin(t.Context(), l))
		got, err := s.TakeSSOLogin(t.Context(), l.StateHash)
		must(t, err)
		equal(t, "next", got.Next, "/settings/keys")
		equal(t, "browser hash", got.BrowserHash, l.BrowserHash)
		equal(t, "expires", got.ExpiresAt, stored(l.ExpiresAt))
		_, err = s.TakeSSOLogin(t.Context(), l.StateHash)
		wantCode(t, err, gatehouse.ENOTFOUND)
		old := &gatehouse.SSOLogin{StateHash: randomHash(), BrowserHash: randomHash(), OrgID: acme.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		must(t, s.CreateSSOLogin(t.Context(), old))
		n, err := s.DeleteExpiredSSOLogins(t.Context(), t0.Add(time.Hour))
		must(t, err)
		equal(t, "swept", n, int64(1))
	}},
	{"an identity link reads back with its groups and what they granted, and updates in place", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		acme := mkOrg(t, s, "acme", alice.ID)
		id := &gatehouse.SSOIdentity{Issuer: "https://idp.example.com", Subject: "u-1", UserID: alice.ID, OrgID: acme.ID,
			Email: "alice@acme.example", Groups: []string{"eng"}, GrantedRole: gatehouse.OrgMember,
			GrantedChannels: map[int64]gatehouse.ChannelRole{7: gatehouse.ChannelWrite}, LastLoginAt: t0}
		must(t, s.PutSSOIdentity(t.Context(), id))
		got, err := s.SSOIdentity(t.Context(), id.Issuer, "u-1")
		must(t, err)
		want := *id
		want.LastLoginAt = stored(t0)
		equal(t, "identity", *got, want)
		id.Groups, id.GrantedRole, id.GrantedChannels = nil, "", nil
		must(t, s.PutSSOIdentity(t.Context(), id))
		got, err = s.SSOIdentity(t.Context(), id.Issuer, "u-1")
		must(t, err)
		if len(got.Groups) != 0 || got.GrantedRole != "" || len(got.GrantedChannels) != 0 {
			t.Errorf("identity after losing its groups = %+v", got)
		}
		mine, err := s.SSOIdentitiesOfUser(t.Context(), alice.ID)
		must(t, err)
		equal(t, "alice's identities", len(mine), 1)
		_, err = s.SSOIdentity(t.Context(), id.Issuer, "u-2")
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
}

var trustedPublisherTests = []test{
	{"a trusted publisher reads back with its claims, and deleting it is per channel", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		lab := mkChannel(t, s, "lab", alice.ID, 0, gatehouse.Private)
		other := mkChannel(t, s, "other", alice.ID, 0, gatehouse.Private)
		tp := &gatehouse.TrustedPublisher{ChannelID: lab.ID, Issuer: "https://token.actions.githubusercontent.com",
			Audience: "gatehouse.test", Claims: map[string]string{"repository": "acme/lab", "environment": "release"},
			CreatedAt: t0, CreatedBy: "alice"}
		must(t, s.CreateTrustedPublisher(t.Context(), tp))
		list, err := s.TrustedPublishers(t.Context(), lab.ID)
		must(t, err)
		equal(t, "publishers", len(list), 1)
		want := *tp
		want.Channel = "lab"
		equal(t, "publisher", *list[0], want)
		wantCode(t, s.DeleteTrustedPublisher(t.Context(), other.ID, tp.ID), gatehouse.ENOTFOUND)
		must(t, s.DeleteTrustedPublisher(t.Context(), lab.ID, tp.ID))
		list, err = s.TrustedPublishers(t.Context(), lab.ID)
		must(t, err)
		equal(t, "publishers after deletion", len(list), 0)
	}},
	{"an ID token is recorded once: the second use is a conflict until it is swept", func(t *testing.T, s gatehouse.Store) {
		h := randomHash()
		must(t, s.UseIDToken(t.Context(), h, t0.Add(5*time.Minute)))
		wantCode(t, s.UseIDToken(t.Context(), h, t0.Add(5*time.Minute)), gatehouse.ECONFLICT)
		n, err := s.DeleteExpiredIDTokens(t.Context(), t0.Add(time.Hour))
		must(t, err)
		equal(t, "swept", n, int64(1))
		must(t, s.UseIDToken(t.Context(), h, t0.Add(2*time.Hour)))
	}},
}
