package service

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
	"github.com/gatehouse-dev/gatehouse/service/keyauth"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
)

// The rules, without HTTP: what each service allows, refuses, audits and
// evicts.

// failingAudit is a store whose audit log cannot be written, inside a
// transaction or out.
type failingAudit struct{ gatehouse.Store }

var errAuditDown = errors.New("audit table unwritable")

func (f failingAudit) AppendAudit(context.Context, *gatehouse.AuditEvent) error { return errAuditDown }

func (f failingAudit) Atomic(ctx context.Context, fn func(gatehouse.Store) error) error {
	return f.Store.Atomic(ctx, func(tx gatehouse.Store) error { return fn(failingAudit{tx}) })
}

func TestAChangeIsNeverCommittedWithoutItsAuditEvent(t *testing.T) {
	f := newFixture(t, func(s gatehouse.Store) gatehouse.Store { return failingAudit{s} })
	ctx := t.Context()
	p := f.session(f.admin)
	tests := []struct {
		name   string
		change func() error
		left   func() bool // whether the change is in the store anyway
	}{
		{"a key", func() error {
			_, err := f.svc.Keys.CreateKey(ctx, p, gatehouse.KeyRequest{Name: "ci", Scopes: gatehouse.ScopeUser, ExpiresAt: f.clock.Now().Add(time.Hour)})
			return err
		}, func() bool { keys, _ := f.store.ListKeys(ctx, f.admin.ID); return len(keys) > 0 }},
		{"a channel", func() error {
			_, err := f.svc.Channels.CreateChannel(ctx, p, gatehouse.ChannelRequest{Name: "lab"})
			return err
		}, func() bool { _, err := f.store.ChannelByName(ctx, "lab"); return err == nil }},
		{"an organization", func() error {
			_, err := f.svc.Orgs.CreateOrg(ctx, p, "team")
			return err
		}, func() bool { _, err := f.store.OrgByName(ctx, "team"); return err == nil }},
		{"a user", func() error {
			_, err := f.svc.Users.CreateUser(ctx, p, gatehouse.NewUser{Username: "carol", Password: testPassword})
			return err
		}, func() bool { _, err := f.store.UserByName(ctx, "carol"); return err == nil }},
		{"a network rule", func() error {
			_, err := f.svc.Gate.AddRule(ctx, p, gatehouse.NetworkRuleRequest{CIDR: "10.0.0.0/8"})
			return err
		}, func() bool { rules, _ := f.store.ListNetworkRules(ctx); return len(rules) > 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is rolled back when its audit event cannot be written", func(t *testing.T) {
			if err := tt.change(); !errors.Is(err, errAuditDown) {
				t.Fatalf("the change returned %v, want the audit failure", err)
			}
			if tt.left() {
				t.Error("the change was committed without its audit event")
			}
		})
	}
}

func TestKeyRules(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	bob := f.user("bob", false)
	t.Run("a key cannot mint a key with a scope or an expiry it does not have (checklist A5)", func(t *testing.T) {
		secret := f.key(bob, "narrow", gatehouse.ScopeUser, time.Hour)
		p, err := f.svc.Auth.Authenticate(ctx, gatehouse.Credential{Key: secret}, testAddr)
		if err != nil {
			t.Fatal(err)
		}
		for _, req := range []gatehouse.KeyRequest{
			{Name: "wider", Scopes: gatehouse.ScopeUser | gatehouse.ScopeChannels, ExpiresAt: f.clock.Now().Add(time.Minute)},
			{Name: "longer", Scopes: gatehouse.ScopeUser, ExpiresAt: f.clock.Now().Add(2 * time.Hour)},
		} {
			if _, err := f.svc.Keys.CreateKey(ctx, p, req); gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
				t.Errorf("%s: %v, want forbidden", req.Name, err)
			}
		}
	})
	t.Run("only administrators hold keys with the Administration scope", func(t *testing.T) {
		_, err := f.svc.Keys.CreateKey(ctx, f.session(bob), gatehouse.KeyRequest{Name: "adm", Scopes: gatehouse.ScopeAdmin, ExpiresAt: f.clock.Now().Add(time.Hour)})
		if gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
			t.Errorf("%v, want forbidden", err)
		}
	})
	t.Run("a key with an existing name replaces it and the old one stops at once", func(t *testing.T) {
		old := f.key(bob, "laptop", gatehouse.ScopeChannels, time.Hour)
		if _, err := f.svc.Auth.Authenticate(ctx, gatehouse.Credential{Key: old}, testAddr); err != nil {
			t.Fatal(err)
		}
		h := apikey.Hash(old)
		if !f.svc.CachedKey(h[:]) {
			t.Fatal("the old key is not cached: the test would prove nothing")
		}
		nk, err := f.svc.Keys.CreateKey(ctx, f.session(bob), gatehouse.KeyRequest{Name: "laptop", Scopes: gatehouse.ScopeChannels, ExpiresAt: f.clock.Now().Add(time.Hour)})
		if err != nil || nk.Replaced == nil {
			t.Fatalf("replacing: %+v, %v", nk, err)
		}
		_, err = f.svc.Auth.Authenticate(ctx, gatehouse.Credential{Key: old}, testAddr)
		if gatehouse.ErrorReason(err) != "API KEY REVOKED" {
			t.Errorf("the replaced key: %v, want revoked", err)
		}
	})
	t.Run("someone else's key is not found, whether it exists or not (checklist A7)", func(t *testing.T) {
		keys, _ := f.store.ListKeys(ctx, bob.ID)
		for _, id := range []int64{keys[0].ID, 999_999} {
			if _, err := f.svc.Keys.RevokeKey(ctx, f.session(f.admin), id, gatehouse.RevokedByUser); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				t.Errorf("revoking key %d of another user: %v, want not found", id, err)
			}
		}
	})
}

func TestChannelRules(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	bob, carol := f.user("bob", false), f.user("carol", false)
	if _, err := f.svc.Channels.CreateChannel(ctx, f.session(bob), gatehouse.ChannelRequest{Name: "lab", Visibility: gatehouse.Private}); err != nil {
		t.Fatal(err)
	}
	t.Run("a private channel is not found by those who cannot read it (checklist J6)", func(t *testing.T) {
		_, _, err := f.svc.Channels.Channel(ctx, f.session(carol), "lab", gatehouse.NoAccess)
		_, _, missing := f.svc.Channels.Channel(ctx, f.session(carol), "nothing-here", gatehouse.NoAccess)
		if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND || gatehouse.ErrorCode(missing) != gatehouse.ENOTFOUND {
			t.Errorf("private: %v; missing: %v; want both not found", err, missing)
		}
	})
	t.Run("only the channel's administrators grant access", func(t *testing.T) {
		if err := f.svc.Channels.Grant(ctx, f.session(bob), "lab", "carol", gatehouse.ChannelRead); err != nil {
			t.Fatal(err)
		}
		err := f.svc.Channels.Grant(ctx, f.session(carol), "lab", "carol", gatehouse.ChannelAdmin)
		if gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
			t.Errorf("a reader granting: %v, want forbidden", err)
		}
	})
	t.Run("the conda path refuses with a reason and opens once a grant is given", func(t *testing.T) {
		_, err := f.svc.Channels.Readable(ctx, nil, "lab")
		if gatehouse.ErrorReason(err) != "ACCESS DENIED" {
			t.Errorf("anonymous: %v, want ACCESS DENIED", err)
		}
		if _, err := f.svc.Channels.Readable(ctx, f.session(carol), "lab"); err != nil {
			t.Errorf("a granted reader: %v", err)
		}
		if err := f.svc.Channels.RevokeGrant(ctx, f.session(bob), "lab", "carol"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Channels.Readable(ctx, f.session(carol), "lab"); gatehouse.ErrorReason(err) != "ACCESS DENIED" {
			t.Errorf("after the grant was revoked (no clock moved): %v, want ACCESS DENIED", err)
		}
	})
	t.Run("names conda would misread are refused", func(t *testing.T) {
		for _, name := range []string{"linux-64", "noarch", "t", "-x", "Lab"} {
			if _, err := f.svc.Channels.CreateChannel(ctx, f.session(bob), gatehouse.ChannelRequest{Name: name}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("%q: %v, want invalid", name, err)
			}
		}
	})
}

func TestOrgRules(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	owner, adm, member := f.user("olga", false), f.user("adam", false), f.user("mia", false)
	if _, err := f.svc.Orgs.CreateOrg(ctx, f.session(owner), "team"); err != nil {
		t.Fatal(err)
	}
	for u, role := range map[string]gatehouse.OrgRole{"adam": gatehouse.OrgAdmin, "mia": gatehouse.OrgMember} {
		if err := f.svc.Orgs.PutMember(ctx, f.session(owner), "team", u, role); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"an admin cannot make an owner", f.svc.Orgs.PutMember(ctx, f.session(adm), "team", "mia", gatehouse.OrgOwner), gatehouse.EFORBIDDEN},
		{"an admin cannot remove an owner", f.svc.Orgs.RemoveMember(ctx, f.session(adm), "team", "olga"), gatehouse.EFORBIDDEN},
		{"a member cannot add anyone", f.svc.Orgs.PutMember(ctx, f.session(member), "team", "admin", gatehouse.OrgMember), gatehouse.EFORBIDDEN},
		{"setting the role of a non-member adds no one", f.svc.Orgs.SetMemberRole(ctx, f.session(owner), "team", "admin", gatehouse.OrgMember), gatehouse.ENOTFOUND},
		{"a stranger does not see the organization", f.svc.Orgs.PutMember(ctx, f.session(f.user("eve", false)), "team", "eve", gatehouse.OrgOwner), gatehouse.ENOTFOUND},
		{"the last owner cannot leave", f.svc.Orgs.RemoveMember(ctx, f.session(owner), "team", "olga"), gatehouse.EINVALID},
		{"anyone may leave", f.svc.Orgs.RemoveMember(ctx, f.session(member), "team", "mia"), ""},
	}
	for _, c := range cases {
		if got := gatehouse.ErrorCode(c.err); got != c.want {
			t.Errorf("%s: %v, want code %q", c.name, c.err, c.want)
		}
	}
}

func TestFirstStartIsAuditedInTheServersName(t *testing.T) {
	f := newFixture(t, nil) // holds the fixture's admin already
	created, err := f.svc.Users.EnsureInitialAdmin(t.Context(), "root", testPassword, false)
	if err != nil || created {
		t.Fatalf("with users there: created %v, %v; want nothing done", created, err)
	}
	if err := f.svc.Channels.EnsureToolsChannel(t.Context(), "gatehouse-tools"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Channels.EnsureToolsChannel(t.Context(), "gatehouse-tools"); err != nil {
		t.Fatalf("a second start: %v", err)
	}
	if got := f.auditActions(); !slices.Equal(got, []string{gatehouse.AuditChannelCreate}) {
		t.Errorf("audit log %v, want one channel creation", got)
	}
	events, _ := f.store.ListAudit(t.Context(), gatehouse.AuditFilter{})
	if events[0].Actor != systemActor || events[0].ActorID != 0 {
		t.Errorf("the tools channel was created by %q (%d), want the server itself", events[0].Actor, events[0].ActorID)
	}

	db, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := New(Config{Settings: keyauth.Settings{Store: db, Clock: f.clock.Now, PublicURL: f.svc.core.cfg.PublicURL}, Blobs: f.svc.core.blobs})
	if err != nil {
		t.Fatal(err)
	}
	created, err = svc.Users.EnsureInitialAdmin(t.Context(), "root", testPassword, false)
	if err != nil || !created {
		t.Fatalf("on an empty database: created %v, %v", created, err)
	}
	events, _ = db.ListAudit(t.Context(), gatehouse.AuditFilter{})
	if len(events) != 1 || events[0].Action != gatehouse.AuditUserCreate || events[0].Actor != systemActor || events[0].Target != "user:root" {
		t.Errorf("first start audited as %+v", events)
	}
}

func TestWellKnownAndLookAlikeChannelNamesAreNotAvailable(t *testing.T) {
	// checklist G6, J6: with channel_alias pointing here, "-c conda-forge"
	// must not install from whoever took the name; a taken name, private
	// or not, reserved or a look-alike, gets one answer.
	f := newFixture(t, nil)
	ctx := t.Context()
	bob, carol := f.user("bob", false), f.user("carol", false)
	if _, err := f.svc.Channels.CreateChannel(ctx, f.session(carol), gatehouse.ChannelRequest{Name: "secret-lab", Visibility: gatehouse.Private}); err != nil {
		t.Fatal(err)
	}
	var messages []string
	for _, name := range []string{"conda-forge", "conda_forge", "defaults", "main", "bioconda", "api", "repo", "secret-lab", "secret_lab", "secret-lab."} {
		_, err := f.svc.Channels.CreateChannel(ctx, f.session(bob), gatehouse.ChannelRequest{Name: name})
		if gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			t.Errorf("%q: %v, want conflict", name, err)
			continue
		}
		messages = append(messages, strings.ReplaceAll(gatehouse.ErrorMessage(err), name, "NAME"))
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("the answers differ: %q vs %q", m, messages[0])
		}
	}
	if _, err := f.svc.Channels.CreateChannel(ctx, f.session(f.admin), gatehouse.ChannelRequest{Name: "conda-forge"}); err != nil {
		t.Errorf("an administrator creating a reserved name (an upstream mirror): %v", err)
	}
}

func TestTheToolsChannelMustBelongToAnAdministrator(t *testing.T) {
	// checklist C9: a user who took the name first must not own the
	// channel the gate never closes.
	f := newFixture(t, nil)
	mallory := f.user("mallory", false)
	if _, err := f.svc.Channels.CreateChannel(t.Context(), f.session(mallory), gatehouse.ChannelRequest{Name: "gatehouse-tools"}); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
		t.Errorf("a user creating the tools channel: %v, want not available", err)
	}
	// Taken before this server named it its tools channel.
	if err := f.store.CreateChannel(t.Context(), &gatehouse.Channel{Name: "gatehouse-tools", Visibility: gatehouse.Public, OwnerUserID: mallory.ID}); err != nil {
		t.Fatal(err)
	}
	err := f.svc.Channels.EnsureToolsChannel(t.Context(), "gatehouse-tools")
	if gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN || !strings.Contains(gatehouse.ErrorMessage(err), "mallory") {
		t.Errorf("EnsureToolsChannel = %v, want a refusal naming the owner", err)
	}
	if err := f.svc.Channels.EnsureToolsChannel(t.Context(), "admins-tools"); err != nil {
		t.Errorf("a fresh tools channel: %v", err)
	}
}
