package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

// The identity pages in process: an organization's service keys, single
// sign-on and key policy; Administration → Key policy and Domains; a
// channel's trusted publishers. Each form is checked for what it changes,
// where its errors show, and who is refused (Chromium drives the same
// pages against the real binary in e2e/identity_pages_browser_test.go).

// identityEnv is acme (owner alice, admin carl, member bob), its private
// channel acme-lab, eve who belongs nowhere, and the administrator root.
func identityEnv(t *testing.T) (e *webEnv, alice, carl, bob, eve, root *webBrowser) {
	t.Helper()
	e = newWebEnv(t, "http://gatehouse.test")
	for _, name := range []string{"alice", "carl", "bob", "eve"} {
		e.addUser(name, false)
	}
	e.addUser("root", true)
	signedIn := func(name string) *webBrowser {
		b := e.browser()
		b.signIn(name, webTestPassword)
		return b
	}
	alice, carl, bob, eve, root = signedIn("alice"), signedIn("carl"), signedIn("bob"), signedIn("eve"), signedIn("root")
	for _, step := range []struct {
		from, path string
		form       url.Values
	}{
		{"/orgs", "/orgs", url.Values{"name": {"acme"}}},
		{"/orgs/acme", "/orgs/acme/members", url.Values{"username": {"carl"}, "role": {"admin"}}},
		{"/orgs/acme", "/orgs/acme/members", url.Values{"username": {"bob"}, "role": {"member"}}},
		{"/channels", "/channels", url.Values{"name": {"acme-lab"}, "visibility": {"private"}, "owner": {"acme"}}},
	} {
		if r := alice.post(step.from, step.path, step.form); r.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s", step.path, r.StatusCode, r.Body)
		}
	}
	return e, alice, carl, bob, eve, root
}

// audited returns the actions of the audit log, newest first.
func (e *webEnv) audited(action string) []*gatehouse.AuditEvent {
	e.t.Helper()
	evs, err := e.store.ListAudit(context.Background(), gatehouse.AuditFilter{Action: action, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

var presetOption = regexp.MustCompile(`<option value="(\d+|custom)"`)

// presetValues lists the Expiration dropdown's values in a page.
func presetValues(body string) []string {
	var out []string
	for _, m := range presetOption.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestOrganizationServiceKeysPage(t *testing.T) {
	e, alice, carl, bob, eve, _ := identityEnv(t)
	var key string
	t.Run("an owner creates a service key limited to a channel; it is shown once", func(t *testing.T) { // checklist A1
		r := alice.post("/orgs/acme/keys", "/orgs/acme/keys", url.Values{"name": {"ci"}, "scope": {"channels"},
			"expiration": {"30"}, "channel": {"acme-lab"}})
		m := newKeyCode.FindStringSubmatch(r.Body)
		if r.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("status %d, no key: %s", r.StatusCode, r.Body)
		}
		key = m[1]
		assertContains(t, "the answer", r.Body, `data-replace-url="/orgs/acme/keys"`, `id="copy-new-key"`, `data-key-name="ci"`)
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
		if evs := e.audited(gatehouse.AuditOrgKeyCreate); len(evs) != 1 || evs[0].Actor != "org:acme by alice" {
			t.Errorf("audit: %+v", *evs[0])
		}
		if r := e.apiGet("/repo/acme-lab/noarch/repodata.json", "Bearer "+key); r.StatusCode != http.StatusOK {
			t.Errorf("the new key: %d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("another admin lists it with its creator, never the key (checklist A3)", func(t *testing.T) {
		r := carl.get("/orgs/acme/keys")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		assertNoSecret(t, "the list", r.Body, key)
		row := regexp.MustCompile(`(?s)<tr id="org-key-\d+" data-key-name="ci">.*?</tr>`).FindString(r.Body)
		assertContains(t, "the key's row", row, "<td data-created-by>alice</td>", "acme-lab, read and write", `data-status>active`)
		if strings.Contains(alice.get("/settings/keys").Body, `data-key-name="ci"`) {
			t.Error("the organization's key is in its creator's own list")
		}
	})
	t.Run("errors show at their field and keep the form", func(t *testing.T) {
		r := alice.post("/orgs/acme/keys", "/orgs/acme/keys", url.Values{"name": {""}, "scope": {"channels"}, "expiration": {"30"}})
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("no name: status %d", r.StatusCode)
		}
		assertContains(t, "no name", r.Body, `id="error-name"`, `aria-invalid="true" aria-describedby="error-name"`, "open data-show")
		r = alice.post("/orgs/acme/keys", "/orgs/acme/keys", url.Values{"name": {"nightly"}, "scope": {"channels"}, "expiration": {"custom"}, "custom_date": {"2031-01-01"}})
		assertContains(t, "too far", r.Body, `id="error-expires_at"`, `value="nightly"`)
		r = alice.post("/orgs/acme/keys", "/orgs/acme/keys", url.Values{"name": {"nightly"}, "scope": {"admin"}, "expiration": {"30"}})
		if r.StatusCode == http.StatusOK || !strings.Contains(r.Body, `id="create-org-key-error"`) {
			t.Errorf("the Administration scope: status %d", r.StatusCode)
		}
	})
	t.Run("a member, a stranger and a form without its token are refused", func(t *testing.T) { // checklist E4, A7
		before := len(e.audited(gatehouse.AuditOrgKeyCreate))
		r := bob.get("/orgs/acme/keys")
		if r.StatusCode != http.StatusForbidden || strings.Contains(r.Body, "create-org-key-form") {
			t.Errorf("member GET: %d", r.StatusCode)
		}
		if strings.Contains(bob.get("/orgs/acme").Body, `id="tab-org-keys"`) {
			t.Error("a member is offered the Service keys tab")
		}
		form := url.Values{"name": {"mine"}, "scope": {"channels"}, "expiration": {"30"}}
		if r := bob.post("/orgs/acme", "/orgs/acme/keys", form); r.StatusCode != http.StatusForbidden {
			t.Errorf("member POST: %d", r.StatusCode)
		}
		if r := eve.get("/orgs/acme/keys"); r.StatusCode != http.StatusNotFound {
			t.Errorf("stranger GET: %d", r.StatusCode)
		}
		if r := alice.do(http.MethodPost, "/orgs/acme/keys", form); r.StatusCode != http.StatusForbidden {
			t.Errorf("no CSRF token: %d", r.StatusCode)
		}
		if after := len(e.audited(gatehouse.AuditOrgKeyCreate)); after != before {
			t.Errorf("refused forms created %d keys", after-before)
		}
	})
	t.Run("another admin revokes it; the key stops working", func(t *testing.T) { // checklist A6
		id := regexp.MustCompile(`id="revoke-open-(\d+)"`).FindStringSubmatch(carl.get("/orgs/acme/keys").Body)
		if id == nil {
			t.Fatal("no revoke button")
		}
		r := carl.post("/orgs/acme/keys", "/orgs/acme/keys/"+id[1]+"/revoke", url.Values{})
		assertContains(t, "the answer", r.Body, "The key “ci” of acme was revoked", `data-status>revoked`)
		if r := e.apiGet("/repo/acme-lab/noarch/repodata.json", "Bearer "+key); r.StatusCode < 400 || !strings.Contains(r.Body, "API KEY REVOKED") {
			t.Errorf("the revoked key: %d %s", r.StatusCode, r.Body)
		}
		if evs := e.audited(gatehouse.AuditOrgKeyRevoke); len(evs) != 1 || evs[0].Actor != "org:acme by carl" {
			t.Errorf("audit: %+v", *evs[0])
		}
	})
}

func TestKeyPolicyPages(t *testing.T) {
	e, alice, _, bob, _, root := identityEnv(t)
	t.Run("an organization's policy bounds its service keys' presets", func(t *testing.T) {
		r := alice.post("/orgs/acme/policy", "/orgs/acme/policy", url.Values{"max_key_lifetime_days": {"30"}, "expiry_warning_days": {"5"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "The key policy of acme is saved", `name="max_key_lifetime_days" type="number" min="0" max="365" required value="30"`)
		if got := strings.Join(presetValues(alice.get("/orgs/acme/keys").Body), ","); got != "7,30,custom" {
			t.Errorf("presets %s", got)
		}
		if evs := e.audited(gatehouse.AuditPolicyUpdate); len(evs) != 1 || evs[0].Target != "org:acme" {
			t.Errorf("audit: %+v", evs)
		}
	})
	t.Run("out-of-range and non-numbers show at their field", func(t *testing.T) {
		for field, form := range map[string]url.Values{
			"max_key_lifetime_days": {"max_key_lifetime_days": {"400"}, "expiry_warning_days": {"5"}},
			"expiry_warning_days":   {"max_key_lifetime_days": {"30"}, "expiry_warning_days": {"soon"}},
		} {
			r := alice.post("/orgs/acme/policy", "/orgs/acme/policy", form)
			if r.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d", field, r.StatusCode)
			}
			assertContains(t, field, r.Body, `id="error-`+field+`"`, `value="`+form.Get(field)+`"`)
		}
	})
	t.Run("the server's policy is for administrators only", func(t *testing.T) {
		if r := bob.get("/admin/policy"); r.StatusCode != http.StatusForbidden || strings.Contains(r.Body, "policy-form") {
			t.Errorf("member GET: %d", r.StatusCode)
		}
		if r := alice.post("/orgs/acme/policy", "/admin/policy", url.Values{"max_key_lifetime_days": {"1"}, "expiry_warning_days": {"1"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("owner POST: %d", r.StatusCode)
		}
		if r := bob.post("/orgs/acme", "/orgs/acme/policy", url.Values{"max_key_lifetime_days": {"1"}, "expiry_warning_days": {"1"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("member POST to the organization's: %d", r.StatusCode)
		}
	})
	t.Run("an administrator shortens every key's lifetime", func(t *testing.T) {
		r := root.post("/admin/policy", "/admin/policy", url.Values{"max_key_lifetime_days": {"20"}, "expiry_warning_days": {"3"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "key policy is saved. It applies to keys created from now on; existing keys keep their expiry.", `id="tab-policy" aria-current="page"`)
		if r := root.post("/admin/policy", "/admin/policy", url.Values{"max_key_lifetime_days": {"0"}, "expiry_warning_days": {"3"}}); r.StatusCode != http.StatusBadRequest ||
			!strings.Contains(r.Body, `id="error-max_key_lifetime_days"`) {
			t.Errorf("0 days: %d", r.StatusCode)
		}
		body := alice.get("/orgs/acme/keys").Body
		if got := strings.Join(presetValues(body), ","); got != "7,20,custom" {
			t.Errorf("presets %s", got)
		}
		assertContains(t, "the dialog", body, "The server&#39;s key policy allows keys of at most 20 days.")
	})
}

func TestSingleSignOnAndDomainPages(t *testing.T) {
	e, alice, _, bob, _, root := identityEnv(t)
	const secretRef = "env:ACME_SSO_CLIENT_SECRET"
	form := func(secret, domains string) url.Values {
		return url.Values{"issuer": {"https://login.acme.example"}, "client_id": {"gatehouse"}, "client_secret": {secret},
			"domains": {domains}, "role_group": {"eng", "leads", ""}, "role_role": {"member", "admin", "member"},
			"grant_group": {"eng", ""}, "grant_channel": {"acme-lab", ""}, "grant_role": {"write", "read"}}
	}
	t.Run("a secret this server cannot encrypt is refused at its field and not shown back", func(t *testing.T) { // checklist J1
		r := alice.post("/orgs/acme/sso", "/orgs/acme/sso", form("pl4in-s3cret-value", "acme.example"))
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", r.StatusCode)
		}
		assertContains(t, "the answer", r.Body, `id="error-client_secret"`, `id="retype-secret"`, `value="https://login.acme.example"`)
		if strings.Contains(r.Body, "pl4in-s3cret-value") || strings.Contains(e.dump(), "pl4in-s3cret-value") {
			t.Error("the refused secret is in the page or the database")
		}
	})
	t.Run("an owner saves the provider, domains and group mappings", func(t *testing.T) {
		r := alice.post("/orgs/acme/sso", "/orgs/acme/sso", form(secretRef, "acme.example\nAcme-Labs.example"))
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "Single sign-on of acme saved", `id="sso-secret-state">set`,
			`<li data-domain="acme.example">`, "awaiting confirmation", `value="leads"`, `<option value="acme-lab" selected>`)
		if strings.Contains(r.Body, secretRef) {
			t.Error("the page shows the stored secret")
		}
		o, _ := e.store.OrgByName(context.Background(), "acme")
		c, err := e.store.SSOConfig(context.Background(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.ClientSecret != secretRef || len(c.Domains) != 2 || c.GroupRoles["leads"] != gatehouse.OrgAdmin || c.GroupChannels["eng"]["acme-lab"] != gatehouse.ChannelWrite {
			t.Errorf("stored %+v", c)
		}
		if evs := e.audited(gatehouse.AuditSSOConfig); len(evs) != 1 || evs[0].Actor != "alice" {
			t.Errorf("audit: %+v", evs)
		}
	})
	t.Run("saving again with an empty secret keeps the stored one", func(t *testing.T) {
		r := alice.post("/orgs/acme/sso", "/orgs/acme/sso", form("", "acme.example\nacme-labs.example"))
		assertContains(t, "the answer", r.Body, `id="sso-secret-state">set`)
		o, _ := e.store.OrgByName(context.Background(), "acme")
		if c, _ := e.store.SSOConfig(context.Background(), o.ID); c.ClientSecret != secretRef {
			t.Errorf("secret now %q", c.ClientSecret)
		}
	})
	t.Run("bad fields show at their field", func(t *testing.T) {
		bad := form("", "acme.example")
		bad.Set("issuer", "ftp://login.acme.example")
		assertContains(t, "issuer", alice.post("/orgs/acme/sso", "/orgs/acme/sso", bad).Body, `id="error-issuer"`)
		bad = form("", "not a domain")
		assertContains(t, "domains", alice.post("/orgs/acme/sso", "/orgs/acme/sso", bad).Body, `id="error-domains"`)
		bad = form("", "acme.example")
		bad["role_group"] = []string{"eng", "eng"}
		assertContains(t, "twice", alice.post("/orgs/acme/sso", "/orgs/acme/sso", bad).Body, `id="error-group_roles"`, "named twice")
	})
	t.Run("a member cannot see or change it", func(t *testing.T) {
		if r := bob.get("/orgs/acme/sso"); r.StatusCode != http.StatusForbidden || strings.Contains(r.Body, "sso-form") {
			t.Errorf("member GET: %d", r.StatusCode)
		}
		if r := bob.post("/orgs/acme", "/orgs/acme/sso", form("", "bob.example")); r.StatusCode != http.StatusForbidden {
			t.Errorf("member POST: %d", r.StatusCode)
		}
		if r := bob.get("/admin/domains"); r.StatusCode != http.StatusForbidden {
			t.Errorf("member GET /admin/domains: %d", r.StatusCode)
		}
	})
	t.Run("an administrator rejects one claim and confirms the other", func(t *testing.T) { // checklist K3
		body := root.get("/admin/domains").Body
		assertContains(t, "the claims", body, `id="confirm-acme.example-acme"`, `id="reject-acme-labs.example-acme"`)
		r := root.post("/admin/domains", "/admin/domains/acme-labs.example/reject", url.Values{"org": {"acme"}})
		assertContains(t, "reject", r.Body, "The claim of acme-labs.example by acme was rejected")
		r = root.post("/admin/domains", "/admin/domains/acme.example/confirm", url.Values{"org": {"acme"}})
		assertContains(t, "confirm", r.Body, "is confirmed", `id="pending-empty"`, `<tr data-domain="acme.example" data-org="acme">`)
		if r := root.post("/admin/domains", "/admin/domains/acme.example/reject", url.Values{"org": {"acme"}}); r.StatusCode != http.StatusConflict {
			t.Errorf("rejecting a confirmed claim: %d", r.StatusCode)
		}
		if len(e.audited(gatehouse.AuditSSODomainReject)) != 1 || len(e.audited(gatehouse.AuditSSODomainConfirm)) != 1 {
			t.Error("the decisions are not audited")
		}
		assertContains(t, "the organization's page", alice.get("/orgs/acme/sso").Body, `data-state>confirmed`, `id="sso-test-url"`)
		if strings.Contains(alice.get("/orgs/acme/sso").Body, "acme-labs.example") {
			t.Error("the rejected domain is still claimed")
		}
	})
}

func TestTrustedPublishersPage(t *testing.T) {
	e, alice, _, bob, eve, _ := identityEnv(t)
	t.Run("the GitHub preset fills the issuer and the claim names", func(t *testing.T) {
		r := alice.get("/channels/acme-lab/publishers?preset=github")
		assertContains(t, "the page", r.Body, `value="https://token.actions.githubusercontent.com"`, `value="repository"`,
			`value="workflow_ref"`, `value="environment"`, `id="snippet-github"`, `id="snippet-gitlab"`,
			"gatehouse upload dist/*.conda --channel acme-lab --at http://gatehouse.test", "aud: gatehouse.test")
		assertContains(t, "the channel page", alice.get("/channels/acme-lab").Body, `href="/channels/acme-lab/publishers"`)
	})
	t.Run("a claim without a value, or none at all, shows at the claims", func(t *testing.T) {
		r := alice.post("/channels/acme-lab/publishers", "/channels/acme-lab/publishers", url.Values{"issuer": {"https://gitlab.com"},
			"claim_name": {"project_path"}, "claim_value": {""}})
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", r.StatusCode)
		}
		assertContains(t, "no value", r.Body, `id="error-claims"`, `value="project_path"`)
		r = alice.post("/channels/acme-lab/publishers", "/channels/acme-lab/publishers", url.Values{"issuer": {"https://gitlab.com"}})
		assertContains(t, "no claims", r.Body, `id="error-claims"`)
	})
	var id string
	t.Run("an owner adds a GitLab publisher", func(t *testing.T) {
		r := alice.post("/channels/acme-lab/publishers", "/channels/acme-lab/publishers", url.Values{"issuer": {"https://gitlab.com"},
			"claim_name": {"project_path", "ref", ""}, "claim_value": {"acme/lab", "main", ""}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		m := regexp.MustCompile(`<tr id="publisher-(\d+)" data-issuer="https://gitlab.com">`).FindStringSubmatch(r.Body)
		if m == nil {
			t.Fatalf("not listed: %s", r.Body)
		}
		id = m[1]
		assertContains(t, "the row", r.Body, "<code>project_path</code> = <code>acme/lab</code>", "<code>gatehouse.test</code>", "by alice")
		if evs := e.audited(gatehouse.AuditPublisherAdd); len(evs) != 1 || evs[0].Actor != "alice" {
			t.Errorf("audit: %+v", evs)
		}
	})
	t.Run("a reader of the channel and a stranger are refused", func(t *testing.T) {
		if r := bob.get("/channels/acme-lab/publishers"); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound || strings.Contains(r.Body, "publisher-form") {
			t.Errorf("reader GET: %d", r.StatusCode)
		}
		if strings.Contains(bob.get("/channels/acme-lab").Body, "publishers-link") {
			t.Error("a reader is offered the trusted publishers link")
		}
		if r := bob.post("/channels/acme-lab", "/channels/acme-lab/publishers/"+id+"/remove", url.Values{}); r.StatusCode < 400 {
			t.Errorf("reader remove: %d", r.StatusCode)
		}
		if r := eve.get("/channels/acme-lab/publishers"); r.StatusCode != http.StatusNotFound {
			t.Errorf("stranger GET: %d", r.StatusCode)
		}
	})
	t.Run("the owner removes it", func(t *testing.T) {
		r := alice.post("/channels/acme-lab/publishers", "/channels/acme-lab/publishers/"+id+"/remove", url.Values{})
		assertContains(t, "the answer", r.Body, "The trusted publisher was removed", `id="publishers-empty"`)
		if len(e.audited(gatehouse.AuditPublisherRemove)) != 1 {
			t.Error("the removal is not audited")
		}
	})
}
