package service

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/orgtoken"
)

// Organization-wide registration, without HTTP.

var aauPattern = regexp.MustCompile(`^(?:[A-Za-z0-9]|_|-){1,36}$`)

func condaUA(client, org string) string {
	return "conda/26.7.1 requests/2.28.1 CPython/3.11.2 Linux/6.1.0 debian/12 glibc/2.36 aau/0.8.1 c/" + client +
		" s/sess1 e/env1 o/" + org + " m/machine-" + client
}

func TestRegistrationTokensAreForOrganizationAdminsShownOnceAndAudited(t *testing.T) {
	f := newFixture(t, nil)
	owner, member, outsider := f.user("olga", false), f.user("mia", false), f.user("otto", false)
	reg := f.svc.Registration
	if _, err := f.svc.Orgs.CreateOrg(t.Context(), f.session(owner), "lab"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Orgs.PutMember(t.Context(), f.session(owner), "lab", "mia", gatehouse.OrgMember); err != nil {
		t.Fatal(err)
	}
	t.Run("members who are not admins and outsiders cannot create, list or revoke", func(t *testing.T) {
		_, err := reg.CreateToken(t.Context(), f.session(member), "lab", "laptops")
		if gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN {
			t.Fatalf("a member creating: %v, want forbidden", err)
		}
		if _, err := reg.ListTokens(t.Context(), f.session(outsider), "lab"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatalf("an outsider listing: %v, want not found", err)
		}
	})
	nt, err := reg.CreateToken(t.Context(), f.session(owner), "lab", " laptops ")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the token fits anaconda-anon-usage's pattern and is stored only hashed", func(t *testing.T) {
		if !aauPattern.MatchString(nt.Token) || orgtoken.Check(nt.Token) != nil || nt.Name != "laptops" {
			t.Fatalf("token %q named %q", nt.Token, nt.Name)
		}
		list, err := reg.ListTokens(t.Context(), f.session(owner), "lab")
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v, %d tokens", err, len(list))
		}
		if strings.Contains(list[0].Hint, nt.Token[8:]) || !strings.HasPrefix(nt.Token, strings.TrimSuffix(list[0].Hint, "…")) {
			t.Fatalf("hint %q shows too much or does not match", list[0].Hint)
		}
		h := orgtoken.Hash(nt.Token)
		if string(list[0].Hash) != string(h[:]) {
			t.Fatal("the stored hash is not the SHA-256 of the token")
		}
	})
	t.Run("a server administrator who is no member may manage them", func(t *testing.T) {
		if _, err := reg.ListTokens(t.Context(), f.session(f.admin), "lab"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an empty or long name is refused", func(t *testing.T) {
		for _, name := range []string{"", "  ", strings.Repeat("x", 101), "a\nb"} {
			if _, err := reg.CreateToken(t.Context(), f.session(owner), "lab", name); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("name %q: %v, want invalid", name, err)
			}
		}
	})
	if _, err := reg.RevokeToken(t.Context(), f.session(owner), "lab", nt.ID); err != nil {
		t.Fatal(err)
	}
	t.Run("creation and revocation are in the audit log, without the token", func(t *testing.T) {
		acts := f.auditActions()
		if !slices.Contains(acts, gatehouse.AuditRegTokenCreate) || !slices.Contains(acts, gatehouse.AuditRegTokenRevoke) {
			t.Fatalf("audit actions %v", acts)
		}
		events, _ := f.store.ListAudit(t.Context(), gatehouse.AuditFilter{})
		for _, e := range events {
			if strings.Contains(e.Target+e.Detail, nt.Token) {
				t.Fatalf("audit event %s holds the token", e.Action)
			}
		}
	})
}

func TestTheGateAcceptsValidOrganizationTokensOnly(t *testing.T) {
	f := newFixture(t, nil)
	owner := f.user("olga", false)
	reg := f.svc.Registration
	if _, err := f.svc.Orgs.CreateOrg(t.Context(), f.session(owner), "lab"); err != nil {
		t.Fatal(err)
	}
	nt, err := reg.CreateToken(t.Context(), f.session(owner), "lab", "laptops")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := orgtoken.Generate() // valid format, never issued
	for _, tc := range []struct {
		name, cred, ua string
		want           bool
		reason         string
	}{
		{"an o/ token in conda's User-Agent registers", "", condaUA("client1", nt.Token), true, ""},
		{"the token as a credential registers", nt.Token, "pixi/0.40", true, ""},
		{"a User-Agent without a token does not", "", "conda/26.7.1 aau/0.8.1 c/x", false, ""},
		{"an o/ token never issued does not", "", condaUA("client1", other), false, ""},
		{"an o/ token with a typo does not", "", condaUA("client1", typo(nt.Token, 10)), false, ""},
		{"a credential never issued is refused", other, "", false, "INVALID REGISTRATION TOKEN"},
		{"a garbled credential is refused", "gor-nonsense", "", false, "INVALID REGISTRATION TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := reg.Registered(t.Context(), tc.cred, tc.ua, testAddr)
			if got := gatehouse.ErrorReason(err); got != tc.reason {
				t.Fatalf("reason %q (err %v), want %q", got, err, tc.reason)
			}
			if (tok != nil) != tc.want {
				t.Fatalf("registered = %v, want %v", tok != nil, tc.want)
			}
			if tok != nil && tok.Org != "lab" {
				t.Fatalf("registered to %q", tok.Org)
			}
		})
	}
	t.Run("a revoked token stops registering at once, cached or not", func(t *testing.T) {
		if _, err := reg.RevokeToken(t.Context(), f.session(owner), "lab", nt.ID); err != nil {
			t.Fatal(err)
		}
		if tok, _ := reg.Registered(t.Context(), "", condaUA("client1", nt.Token), testAddr); tok != nil {
			t.Fatal("an o/ token still registers after its revocation")
		}
		_, err := reg.Registered(t.Context(), nt.Token, "", testAddr)
		if gatehouse.ErrorReason(err) != "REGISTRATION TOKEN REVOKED" {
			t.Fatalf("the revoked credential: %v", err)
		}
	})
}

func TestRegisteredClientsAreRecordedPerOrganizationAndBounded(t *testing.T) {
	f := newFixture(t, nil)
	owner := f.user("olga", false)
	reg := f.svc.Registration
	if _, err := f.svc.Orgs.CreateOrg(t.Context(), f.session(owner), "lab"); err != nil {
		t.Fatal(err)
	}
	nt, err := reg.CreateToken(t.Context(), f.session(owner), "lab", "laptops")
	if err != nil {
		t.Fatal(err)
	}
	// One client over three sessions, then a second client.
	for i := range 3 {
		ua := strings.Replace(condaUA("client1", nt.Token), "s/sess1", "s/sess"+string(rune('a'+i)), 1)
		if _, err := reg.Registered(t.Context(), "", ua, testAddr); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(time.Second)
	if _, err := reg.Registered(t.Context(), "", condaUA("client2", nt.Token), testAddr); err != nil {
		t.Fatal(err)
	}
	f.svc.FlushClients()
	cs, n, err := reg.OrgClients(t.Context(), f.session(owner), "lab", gatehouse.ClientFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || len(cs) != 2 || cs[0].ClientToken != "client2" || cs[1].ClientToken != "client1" || cs[1].Requests != 3 {
		t.Fatalf("clients %d (listed %d): %+v", n, len(cs), cs)
	}
	if c := cs[1]; c.Org != "lab" || c.Machine != "machine-client1" || c.CondaVersion != "26.7.1" || c.Platform != "Linux/6.1.0" || c.TokenID != nt.ID {
		t.Fatalf("client1 recorded as %+v", c)
	}
	list, _ := reg.ListTokens(t.Context(), f.session(owner), "lab")
	if list[0].Clients != 2 || list[0].LastSeenAt.IsZero() {
		t.Fatalf("the token lists %d clients, last seen %v", list[0].Clients, list[0].LastSeenAt)
	}
}

// typo changes the token's character at i to another letter (never the
// same one, or the "typo" would be the token itself one time in 62).
func typo(token string, i int) string {
	c := byte('x')
	if token[i] == c {
		c = 'y'
	}
	return token[:i] + string(c) + token[i+1:]
}
