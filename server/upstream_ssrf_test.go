package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Server-side request forgery through upstream channels (issue 9; beyond
// the checklist's floor, next to J6's "no oracle" and C6's clear
// configuration errors): a proxy or mirror makes the server fetch a URL,
// so only administrators define one, and the server refuses to connect to
// loopback, private, link-local and metadata addresses unless the
// administrator allowed their network (--upstream-allow).

func TestOnlyAdministratorsCreateUpstreamChannels(t *testing.T) {
	f := newFixture(t)
	up := startUpstream(t, nil)
	f.user("alice", false)
	for _, mode := range []string{"proxy", "mirror"} {
		a := f.do(call{method: "POST", path: "/api/channels", auth: basic("alice", testPassword), body: map[string]any{
			"name": "mine-" + mode, "upstream": map[string]any{"url": up.URL, "mode": mode}}})
		if a.status != http.StatusForbidden || !strings.Contains(string(a.body), "Only administrators") {
			t.Errorf("a user creating a %s channel: %d %s, want 403 naming administrators", mode, a.status, a.body)
		}
		if g := f.do(call{method: "GET", path: "/api/channels/mine-" + mode, auth: basic("admin", testPassword)}); g.status != http.StatusNotFound {
			t.Errorf("the refused %s channel exists: %d", mode, g.status)
		}
	}
	// A hosted channel is still anyone's to create.
	if a := f.do(call{method: "POST", path: "/api/channels", auth: basic("alice", testPassword), body: map[string]any{"name": "alices"}}); a.status != http.StatusCreated {
		t.Errorf("a user creating a hosted channel: %d %s", a.status, a.body)
	}
	if up.Hits("/channeldata.json")+up.Hits("/noarch/repodata.json") != 0 {
		t.Error("the upstream was asked for something on behalf of a refused request")
	}
	// Administrators may.
	if st := f.upstreamChannel("adminsmirror", "mirror", up.URL, nil); st["state"] != "ok" {
		t.Errorf("an administrator's mirror: %v", st)
	}
}

func TestUpstreamRequestsNeverReachInternalAddressesUnlessAllowed(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.UpstreamAllow = nil })
	up := startUpstream(t, nil)
	admin := basic("admin", testPassword)

	// An address in the URL is refused at once, with the reason.
	for _, url := range []string{"http://169.254.169.254/latest", "http://127.0.0.1:1/x", "http://[::1]/x", "http://10.0.0.7/conda-forge", "http://[fd00:ec2::254]/"} {
		a := f.do(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{
			"name": "meta", "upstream": map[string]any{"url": url, "mode": "proxy"}}})
		if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "--upstream-allow") {
			t.Errorf("an upstream at %s: %d %s, want 400 naming --upstream-allow", url, a.status, a.body)
		}
	}

	// A name that resolves to loopback passes creation but is refused
	// when connecting: the sync fails saying why, and the upstream never
	// sees a request.
	url := strings.Replace(up.URL, "127.0.0.1", "localhost", 1)
	a := f.do(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{
		"name": "sneaky", "upstream": map[string]any{"url": url, "mode": "mirror"}}})
	if a.status != http.StatusCreated {
		t.Fatalf("creating a mirror of %s: %d %s", url, a.status, a.body)
	}
	st := f.waitSynced("sneaky", "")
	if msg, _ := st["error"].(string); st["state"] != "failed" || !strings.Contains(msg, "refused") {
		t.Errorf("the sync of a loopback upstream: %v, want failed and refused", st)
	}
	for _, p := range []string{"/channeldata.json", "/noarch/repodata.json", "/noarch/repodata_shards.msgpack.zst"} {
		if n := up.Hits(p); n != 0 {
			t.Errorf("the internal upstream was asked for %s %d times", p, n)
		}
	}
	// The error the API shows is the refusal, not the upstream's data.
	b, _ := json.Marshal(st)
	if strings.Contains(string(b), "packages") {
		t.Errorf("status %s", b)
	}
}

func TestUpstreamAllowListLetsTheAdministratorReachTheirNetwork(t *testing.T) {
	f := newFixture(t) // the fixture allows 127.0.0.0/8 and ::1
	up := startUpstream(t, nil)
	url := strings.Replace(up.URL, "127.0.0.1", "localhost", 1)
	st := f.upstreamChannel("lan", "proxy", url, nil)
	if st["state"] != "ok" {
		t.Fatalf("a proxy of an allowed loopback upstream: %v", st)
	}
	if up.Hits("/noarch/repodata.json")+up.Hits("/noarch/repodata_shards.msgpack.zst") == 0 {
		t.Error("the allowed upstream was not asked")
	}
}
