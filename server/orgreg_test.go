package server

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// Organization-wide registration at the gate (checklist C1, C2, I7).

const gatedRemote = "10.1.2.3:4000"

func condaAgent(client, orgToken string) string {
	return "conda/26.7.1 requests/2.28.1 CPython/3.11.2 Linux/6.1.0 debian/12 glibc/2.36 aau/0.8.1 c/" + client +
		" s/session e/env o/" + orgToken + " m/machine1"
}

// orgRegFixture: channels pub (public) and lab (private), 10.0.0.0/8
// gated, organization acme with a registration token.
func orgRegFixture(t testing.TB, f *fixture, key string) (token string, id string) {
	t.Helper()
	for _, c := range []call{
		{method: "POST", path: "/api/admin/network-rules", auth: basic("admin", testPassword), body: map[string]any{"cidr": "10.0.0.0/8"}},
		{method: "POST", path: "/api/orgs", auth: bearer(key), body: map[string]any{"name": "acme"}},
	} {
		if a := f.do(c); a.status != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", c.method, c.path, a.status, a.body)
		}
	}
	a := f.do(call{method: "POST", path: "/api/orgs/acme/registration-tokens", auth: bearer(key), body: map[string]any{"name": "laptops"}})
	if a.status != http.StatusCreated || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("creating a registration token: %d %s", a.status, a.body)
	}
	var out struct {
		Token string `json:"token"`
		ID    int64  `json:"id"`
	}
	json.Unmarshal(a.body, &out)
	return out.Token, strconv.FormatInt(out.ID, 10)
}

func TestOrganizationTokensRegisterButNeverAuthorize(t *testing.T) {
	f := newChannelFixture(t)
	f.uploadFixtures("pub")
	f.uploadFixtures("lab")
	token, id := orgRegFixture(t, f.fixture, f.key)
	ua := func(s string) http.Header { return http.Header{"User-Agent": {s}} }
	refusal := func(a answer) string {
		var m reply.Refusal
		json.Unmarshal(a.body, &m)
		return m.Reason
	}
	t.Run("conda with the organization token in its User-Agent reaches a public channel from a gated network", func(t *testing.T) {
		a := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json", remote: gatedRemote, header: ua(condaAgent("c1", token))})
		if a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if cc := a.header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
			t.Fatalf("Cache-Control %q: a gated answer must not be shared", cc)
		}
	})
	t.Run("the same client is refused a private channel", func(t *testing.T) {
		a := f.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", remote: gatedRemote, header: ua(condaAgent("c1", token))})
		if a.status != http.StatusForbidden || refusal(a) == "REGISTRATION REQUIRED" {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("a client without the token is refused as unregistered", func(t *testing.T) {
		a := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json", remote: gatedRemote, header: ua(condaAgent("c1", "someoneelse"))})
		if a.status != http.StatusForbidden || refusal(a) != "REGISTRATION REQUIRED" {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	basicAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+token))
	for _, c := range []call{
		{method: "GET", path: "/repo/pub/noarch/repodata.json", auth: bearer(token)},
		{method: "GET", path: "/repo/t/" + token + "/pub/noarch/repodata.json"},
		{method: "GET", path: "/t/" + token + "/repo/pub/noarch/repodata.json"},
		{method: "GET", path: "/repo/pub/noarch/repodata.json", auth: basicAuth},
	} {
		t.Run("the token as a credential registers too: "+strings.ReplaceAll(c.path+" "+c.auth[:min(6, len(c.auth))], token, "<token>"), func(t *testing.T) {
			c.remote, c.header = gatedRemote, ua("rattler/0.3.5")
			if a := f.do(c); a.status != http.StatusOK {
				t.Fatalf("public: %d %s", a.status, a.body)
			}
			c.path = strings.Replace(c.path, "/pub/", "/lab/", 1)
			if a := f.do(c); a.status != http.StatusForbidden || strings.Contains(string(a.body), token) {
				t.Fatalf("private: %d %s", a.status, a.body)
			}
		})
	}
	t.Run("the organization sees its client with its c/ id", func(t *testing.T) {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			f.srv.Services().FlushClients()
			a := f.do(call{method: "GET", path: "/api/orgs/acme/clients", auth: bearer(f.key)})
			if strings.Contains(string(a.body), `"client":"c1"`) {
				if !strings.Contains(string(a.body), `"network":"10.0.0.0/8"`) || !strings.Contains(string(a.body), `"machine":"machine1"`) {
					t.Fatalf("client recorded without network or machine: %s", a.body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the client is never listed: %s", a.body)
			}
		}
	})
	if a := f.do(call{method: "DELETE", path: "/api/orgs/acme/registration-tokens/" + id, auth: bearer(f.key)}); a.status != http.StatusOK {
		t.Fatalf("revoking: %d %s", a.status, a.body)
	}
	t.Run("a revoked token registers nothing, in the User-Agent or as a credential", func(t *testing.T) {
		a := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json", remote: gatedRemote, header: ua(condaAgent("c1", token))})
		if a.status != http.StatusForbidden || refusal(a) != "REGISTRATION REQUIRED" {
			t.Fatalf("%d %s", a.status, a.body)
		}
		a = f.do(call{method: "GET", path: "/repo/t/" + token + "/pub/noarch/repodata.json", remote: gatedRemote})
		if a.status != http.StatusForbidden || refusal(a) != "REGISTRATION TOKEN REVOKED" || strings.Contains(string(a.body), token) {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
}

// BenchmarkGateOrgToken measures a gated request registered by the
// organization token in its User-Agent (cached), next to
// BenchmarkChannelDownload's keyed one.
func BenchmarkGateOrgToken(b *testing.B) {
	f := newBenchFixture(b)
	key, _ := f.createKey("admin", "bench", []string{"user", "channels"}, 24*time.Hour)
	if a := f.do(call{method: "POST", path: "/api/channels", auth: bearer(key), body: map[string]any{"name": "pub", "visibility": "public"}}); a.status != 201 {
		b.Fatalf("channel: %d %s", a.status, a.body)
	}
	name, data := makeConda(b, "bench", "1.0", "0", "noarch", nil)
	if a := f.upload(bearer(key), "pub", name, data, ""); a.status != 201 {
		b.Fatalf("upload: %d %s", a.status, a.body)
	}
	token, _ := orgRegFixture(b, f, key)
	for _, c := range []struct{ name, path, ua, remote string }{
		{"ungated", "/repo/pub/noarch/repodata.json", "conda/26.7.1", "192.0.2.1:1234"},
		{"user-agent-token", "/repo/pub/noarch/repodata.json", condaAgent("c1", token), gatedRemote},
		{"user-agent-token-package", "/repo/pub/noarch/" + name, condaAgent("c1", token), gatedRemote},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", c.path, nil)
			r.Header.Set("User-Agent", c.ua)
			r.RemoteAddr = c.remote
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				f.srv.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
