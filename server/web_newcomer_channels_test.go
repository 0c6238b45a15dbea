package server

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// Issue 11 item 27: an organization's name does not appear in channel
// URLs, so the create form must not say it does.
func TestOrgsPageSaysWhatTheNameIsFor(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("olivia", false)
	b := e.browser()
	b.signIn("olivia", webTestPassword)
	body := b.get("/orgs").Body
	if strings.Contains(body, "part of channel URLs") {
		t.Error("the Organizations page still says the name becomes part of channel URLs")
	}
	assertContains(t, "/orgs", body, "/orgs/&lt;name&gt;", "/repo/&lt;channel&gt;")
}

// Issue 11 item 28: a network rule that covers the administrator's own
// address is added only after an explicit confirmation; the address is
// the one the gate sees (a trusted proxy's X-Forwarded-For).
func TestNetworkRuleCoveringOwnAddressAsksFirst(t *testing.T) {
	e := newWebEnvConfig(t, "http://gatehouse.test", func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})
	e.addUser("root", true)
	b := e.browser()
	b.signIn("root", webTestPassword)
	b.headers.Set("X-Forwarded-For", "10.20.30.40")
	rules := func() int {
		n, err := e.store.ListNetworkRules(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return len(n)
	}

	t.Run("a network that covers the caller is not added without confirmation", func(t *testing.T) {
		r := b.post("/admin/networks", "/admin/networks", url.Values{"cidr": {"10.0.0.0/8"}, "note": {"office"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		assertContains(t, "the answer", r.Body, `id="own-network-warning"`, "<code>10.20.30.40</code>", `id="confirm-own-network"`,
			`value="10.0.0.0/8"`, `value="office"`, "Add network anyway")
		if n := rules(); n != 0 {
			t.Errorf("%d rules stored before the confirmation", n)
		}
	})
	t.Run("the proxy's own address is not the caller's", func(t *testing.T) {
		r := b.post("/admin/networks", "/admin/networks", url.Values{"cidr": {"192.0.2.0/24"}})
		if strings.Contains(r.Body, `id="own-network-warning"`) {
			t.Error("warned about the trusted proxy's network, not the client's")
		}
		if n := rules(); n != 1 {
			t.Errorf("%d rules stored, want 1", n)
		}
	})
	t.Run("confirming adds the rule", func(t *testing.T) {
		r := b.post("/admin/networks", "/admin/networks", url.Values{"cidr": {"10.0.0.0/8"}, "confirm_own_network": {"yes"}})
		assertContains(t, "the answer", r.Body, "Clients in 10.0.0.0/8 must now register")
		if strings.Contains(r.Body, `id="own-network-warning"`) {
			t.Error("warned again after the confirmation")
		}
		if n := rules(); n != 2 {
			t.Errorf("%d rules stored, want 2", n)
		}
	})
	t.Run("an IPv6 network around an IPv6 caller warns too", func(t *testing.T) {
		b.headers.Set("X-Forwarded-For", "2001:db8::7")
		r := b.post("/admin/networks", "/admin/networks", url.Values{"cidr": {"2001:db8::/32"}})
		assertContains(t, "the answer", r.Body, `id="own-network-warning"`, "<code>2001:db8::7</code>")
	})
}
