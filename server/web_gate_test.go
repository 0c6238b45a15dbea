package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/gate"
	"github.com/gatehouse-dev/gatehouse/server/web"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
)

// newWebEnvConfig is newWebEnv with a say in the server's configuration.
func newWebEnvConfig(t *testing.T, publicURL string, mutate func(*Config)) *webEnv {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &webEnv{t: t, store: st, now: webStart}
	pu, err := url.Parse(publicURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Clock: e.clock, PublicURL: pu}
	mutate(&cfg)
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	e.srv = srv
	return e
}

// anonymousRepodata fetches a channel's repodata with no key, from addr.
func (e *webEnv) anonymousRepodata(channel, addr string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, "/repo/"+channel+"/noarch/repodata.json", nil)
	req.RemoteAddr = addr + ":40000"
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestAdminNetworksPage(t *testing.T) {
	e := newWebEnvConfig(t, "https://packages.example.com", func(c *Config) {
		c.RequireRegistration = mustPrefixes(t, "172.16.0.0/12")
		c.ToolsChannel = "corp-tools"
	})
	e.addUser("root", true)
	a := e.browser()
	a.signIn("root", webTestPassword)
	a.post("/channels", "/channels", url.Values{"name": {"pub"}, "visibility": {"public"}})

	t.Run("the page shows configured rules read-only, the exempt channel and the rollout", func(t *testing.T) {
		r := a.get("/admin/networks")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		assertContains(t, "/admin/networks", r.Body, `id="tab-networks" aria-current="page"`, `data-cidr="172.16.0.0/12"`, "--require-registration",
			`<code>corp-tools</code>`, `id="add-network-form"`, `id="ci-dockerfile"`,
			"conda install --name base gatehouse --channel https://packages.example.com/repo/corp-tools --override-channels",
			"gatehouse login --at packages.example.com</code>", "gatehouse login --at packages.example.com --device", "gatehouse register",
			`href="/register"`, "ANACONDA_AUTH_API_KEY", "--secret id=ANACONDA_AUTH_API_KEY")
		if strings.Contains(r.Body, "remove-rule-open") {
			t.Error("a configured rule has a remove button")
		}
	})
	t.Run("adding a network applies it to the gate at once, and the API lists it", func(t *testing.T) {
		if code, _ := e.anonymousRepodata("pub", "198.51.100.7"); code != http.StatusOK {
			t.Fatalf("before: %d", code)
		}
		r := a.post("/admin/networks", "/admin/networks", url.Values{"cidr": {" 198.51.100.0/24 "}, "note": {"Branch office"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "Clients in 198.51.100.0/24 must now register", `data-cidr="198.51.100.0/24"`, "Branch office",
			`data-replace-url="/admin/networks"`)
		code, body := e.anonymousRepodata("pub", "198.51.100.7")
		if code != http.StatusForbidden || !strings.Contains(body, "REGISTRATION REQUIRED") {
			t.Errorf("a client in the network: %d %s", code, body)
		}
		if code, _ := e.anonymousRepodata("pub", "203.0.113.9"); code != http.StatusOK {
			t.Errorf("a client elsewhere: %d", code)
		}
		var g gatehouse.GateRules
		json.Unmarshal([]byte(e.apiDo(http.MethodGet, "/api/admin/network-rules", "root", nil).Body), &g)
		if len(g.Rules) != 1 || g.Rules[0].CIDR != "198.51.100.0/24" || g.Rules[0].CreatedBy != "root" {
			t.Errorf("the API lists %+v", g.Rules)
		}
	})

	// checklist C6: a bad network is refused with the gate package's own
	// message, the value is kept in the form, and nothing changes.
	before := e.dump()
	for _, cidr := range []string{"10.0.0.0/33", "10.1.2.3/8", "banana", "", "fe80::1%eth0/64", "::ffff:10.0.0.0/104", "10.0.0.0/8/8", "300.1.1.1"} {
		t.Run("the bad network "+strconv.Quote(cidr)+" is refused with the gate's message", func(t *testing.T) {
			_, want := gate.ParsePrefix(cidr)
			if want == nil {
				t.Fatalf("gate.ParsePrefix accepts %q", cidr)
			}
			r := a.post("/admin/networks", "/admin/networks", url.Values{"cidr": {cidr}, "note": {"typo"}})
			if r.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d", r.StatusCode)
			}
			page := r.Body
			assertContains(t, "the answer", page, `id="add-network-error"`, `value="typo"`)
			if msg := gatehouse.ErrorMessage(want); !strings.Contains(page, templateEscape(msg)) {
				t.Errorf("the answer lacks the gate's message %q", msg)
			}
		})
	}
	t.Run("a note over 200 characters is refused", func(t *testing.T) {
		r := a.post("/admin/networks", "/admin/networks", url.Values{"cidr": {"192.0.2.0/24"}, "note": {strings.Repeat("n", 201)}})
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", r.StatusCode)
		}
	})
	if after := e.dump(); after != before {
		t.Errorf("refused networks changed the database:\n%s", diffLines(before, after))
	}

	t.Run("removing goes through a confirmation and lifts the gate", func(t *testing.T) {
		rules, _ := e.store.ListNetworkRules(context.Background())
		id := strconv.FormatInt(rules[0].ID, 10)
		assertContains(t, "the page", a.get("/admin/networks").Body, `data-open="remove-rule-dialog-`+id+`"`, `action="/admin/networks/`+id+`/remove"`)
		assertContains(t, "?remove=", a.get("/admin/networks?remove="+id).Body, `aria-labelledby="remove-rule-title-`+id+`" open data-show`)
		r := a.post("/admin/networks", "/admin/networks/"+id+"/remove", url.Values{})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "The network rule was removed", `data-cidr="172.16.0.0/12"`)
		if code, _ := e.anonymousRepodata("pub", "198.51.100.7"); code != http.StatusOK {
			t.Errorf("after removal: %d", code)
		}
		if r := a.post("/admin/networks", "/admin/networks/"+id+"/remove", url.Values{}); r.StatusCode != http.StatusNotFound {
			t.Errorf("removing again: %d", r.StatusCode)
		}
		if r := a.post("/admin/networks", "/admin/networks/x/remove", url.Values{}); r.StatusCode != http.StatusNotFound {
			t.Errorf("removing a non-number: %d", r.StatusCode)
		}
	})
	t.Run("the configured network stays gated", func(t *testing.T) {
		if code, _ := e.anonymousRepodata("pub", "172.16.5.5"); code != http.StatusForbidden {
			t.Errorf("%d", code)
		}
	})
}

// templateEscape is how html/template writes text into a page.
func templateEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "+", "&#43;").Replace(s)
}

func TestAdminClientsPage(t *testing.T) {
	e, olivia := newChannelEnv(t)
	root := e.browser()
	root.signIn("root", webTestPassword)
	assertContains(t, "the empty clients page", root.get("/admin/clients").Body, `id="tab-clients" aria-current="page"`, `id="clients-empty"`)

	key, _ := olivia.createKeyInPage(keyForm2("ci-runner", "30", "", "channels"))
	conda := e.browser()
	conda.headers.Set("User-Agent", "rattler/0.28 <script>")
	conda.headers.Set("Authorization", "Bearer "+key)
	for range 3 {
		if r := conda.get("/repo/lab/noarch/repodata.json"); r.StatusCode != http.StatusOK {
			t.Fatalf("conda: %d %s", r.StatusCode, r.Body)
		}
	}
	for {
		cs, err := e.store.ListClients(context.Background(), gatehouse.ClientFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) > 0 && cs[0].Requests == 3 {
			break
		}
		runtime.Gosched()
	}
	r := root.get("/admin/clients")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	assertContains(t, "the clients page", r.Body, `data-username="olivia"`, "<td>ci-runner</td>", "<code>192.0.2.1</code>",
		"rattler/0.28 &lt;script&gt;", "<td class=\"num\" data-requests>3</td>", "2026-03-10 22:30 UTC")
	assertNoSecret(t, "the clients page", r.Body, key)
}

// Administration pages and forms are for administrators only, and a
// refused request changes nothing.
func TestGatePagesAreForAdministratorsOnly(t *testing.T) {
	e, olivia := newChannelEnv(t)
	e.apiDo(http.MethodPost, "/api/admin/network-rules", "root", map[string]string{"cidr": "10.0.0.0/8"})
	if strings.Contains(olivia.get("/channels").Body, `href="/admin/networks"`) {
		t.Error("a non-administrator's page links to Networks")
	}
	before := e.dump()
	token := olivia.csrf("/channels")
	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/networks"},
		{"GET", "/admin/clients"},
		{"POST", "/admin/networks"},
		{"POST", "/admin/networks/1/remove"},
	} {
		t.Run(tc.method+" "+tc.path+" is forbidden", func(t *testing.T) {
			var form url.Values
			if tc.method == "POST" {
				form = url.Values{"csrf_token": {token}, "cidr": {"0.0.0.0/0"}}
			}
			if r := olivia.do(tc.method, tc.path, form); r.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", r.StatusCode)
			}
		})
	}
	if e.dump() != before {
		t.Error("refused requests changed the database")
	}
	for _, p := range []string{"/admin/networks", "/admin/clients"} {
		r := e.browser().get(p)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next="+url.QueryEscape(p) {
			t.Errorf("GET %s signed out: %d %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
}

// checklist E4: every form of the channel and network pages refuses a post
// without the session's token, with a wrong one, or from another site, and
// changes nothing; the same post done right works.
func TestChannelAndNetworkFormsRefuseCrossSiteAndTokenlessPosts(t *testing.T) {
	e, olivia := newChannelEnv(t)
	root := e.browser()
	root.signIn("root", webTestPassword)
	f, data := makeConda(t, "pkg", "1.0", "0", "noarch", nil)
	e.uploadAs("olivia", "lab", f, data)
	olivia.post("/channels/lab", "/channels/lab/members", url.Values{"username": {"bob"}, "role": {"read"}})
	root.post("/admin/networks", "/admin/networks", url.Values{"cidr": {"10.0.0.0/8"}})
	rules, _ := e.store.ListNetworkRules(context.Background())
	ruleID := strconv.FormatInt(rules[0].ID, 10)

	forms := []struct {
		path string
		form url.Values
	}{
		{"/channels", url.Values{"name": {"forged"}, "visibility": {"public"}}},
		{"/channels/lab/visibility", url.Values{"visibility": {"public"}}},
		{"/channels/lab/members", url.Values{"username": {"carol"}, "role": {"admin"}}},
		{"/channels/lab/members/bob", url.Values{"role": {"admin"}}},
		{"/channels/lab/members/bob/remove", url.Values{}},
		{"/channels/lab/packages/noarch/" + f + "/delete", url.Values{}},
		{"/admin/networks", url.Values{"cidr": {"0.0.0.0/0"}}},
		{"/admin/networks/" + ruleID + "/remove", url.Values{}},
	}
	// root administers everything: each form would work for them.
	token := root.csrf("/channels")
	before := e.dump()
	attacks := []struct {
		name    string
		token   string
		headers map[string]string
	}{
		{"without a token", "", nil},
		{"with a wrong token", "AAAA" + token[4:], nil},
		{"with olivia's token", olivia.csrf("/channels"), nil},
		{"with the token but Sec-Fetch-Site: cross-site", token, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"with the token but from another Origin", token, map[string]string{"Origin": "https://evil.example"}},
	}
	for _, a := range attacks {
		for _, fm := range forms {
			t.Run("POST "+fm.path+" "+a.name+" is refused", func(t *testing.T) {
				form := url.Values{}
				for k, v := range fm.form {
					form[k] = v
				}
				if a.token != "" {
					form.Set("csrf_token", a.token)
				}
				root.headers = http.Header{}
				for k, v := range a.headers {
					root.headers.Set(k, v)
				}
				defer func() { root.headers = http.Header{} }()
				if r := root.do(http.MethodPost, fm.path, form); r.StatusCode != http.StatusForbidden {
					t.Errorf("status %d, want 403", r.StatusCode)
				}
			})
		}
	}
	if after := e.dump(); after != before {
		t.Fatalf("refused posts changed the database:\n%s", diffLines(before, after))
	}
	t.Run("the same forms with the token and same-site headers work", func(t *testing.T) {
		root.headers.Set("Sec-Fetch-Site", "same-origin")
		root.headers.Set("Origin", "https://packages.example.com")
		defer func() { root.headers = http.Header{} }()
		for _, fm := range forms {
			form := url.Values{"csrf_token": {token}}
			for k, v := range fm.form {
				form[k] = v
			}
			if r := root.do(http.MethodPost, fm.path, form); r.StatusCode != http.StatusOK {
				t.Errorf("POST %s: status %d: %s", fm.path, r.StatusCode, r.Body)
			}
		}
	})
}

// checklist E6 for the new pages: CSP, nosniff, Referrer-Policy, no-store,
// and nothing inline that the CSP would block.
func TestChannelAndGatePagesSecurityHeaders(t *testing.T) {
	e, olivia := newChannelEnv(t)
	f, data := makeConda(t, "pkg", "1.0", "0", "noarch", nil)
	e.uploadAs("olivia", "lab", f, data)
	olivia.post("/channels/lab", "/channels/lab/members", url.Values{"username": {"bob"}, "role": {"read"}})
	root := e.browser()
	root.signIn("root", webTestPassword)
	root.post("/admin/networks", "/admin/networks", url.Values{"cidr": {"10.0.0.0/8"}})
	for _, p := range []string{"/channels", "/channels/lab", "/channels/lab?delete=1&remove=bob&visibility", "/channels/pub", "/channels/missing",
		"/admin/networks", "/admin/networks?remove=1", "/admin/clients", "/admin/users", "/admin/audit"} {
		t.Run(p+" has CSP, nosniff, Referrer-Policy and no-store", func(t *testing.T) {
			r := root.get(p)
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d, Content-Type %q", r.StatusCode, r.Header.Get("Content-Type"))
			}
			if csp := r.Header.Get("Content-Security-Policy"); csp != web.ContentSecurityPolicy || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP %q", csp)
			}
			want := map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"}
			for h, v := range want {
				if got := r.Header.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			for _, bad := range []string{" style=", " onclick=", " onsubmit=", "<script>", "javascript:"} {
				if strings.Contains(r.Body, bad) {
					t.Errorf("the page holds %q, which the CSP blocks", bad)
				}
			}
			if p != "/channels/missing" {
				assertContains(t, p, r.Body, `href="/channels"`, `href="/admin/users"`)
			}
		})
	}
}

// checklist E5 with real data: the route audit fills {channel} with a
// name that does not exist; here every page path is requested with GET
// and HEAD on a channel with a package, a grant and a network rule, as
// its owner, a reader, an administrator and signed out.
func TestChannelAndGatePagesGETChangesNothing(t *testing.T) {
	e, olivia := newChannelEnv(t)
	f, data := makeConda(t, "pkg", "1.0", "0", "noarch", nil)
	e.uploadAs("olivia", "lab", f, data)
	olivia.post("/channels/lab", "/channels/lab/members", url.Values{"username": {"bob"}, "role": {"read"}})
	root := e.browser()
	root.signIn("root", webTestPassword)
	root.post("/admin/networks", "/admin/networks", url.Values{"cidr": {"10.0.0.0/8"}})
	bob := e.browser()
	bob.signIn("bob", webTestPassword)
	rules, _ := e.store.ListNetworkRules(context.Background())
	id := strconv.FormatInt(rules[0].ID, 10)
	paths := []string{"/channels", "/channels/lab", "/channels/lab?delete=1", "/channels/lab/visibility?visibility=public",
		"/channels/lab/members?username=carol&role=admin", "/channels/lab/members/bob?role=admin", "/channels/lab/members/bob/remove",
		"/channels/lab/packages/noarch/" + f + "/delete", "/admin/networks?cidr=0.0.0.0/0", "/admin/networks/" + id + "/remove", "/admin/clients"}
	before := e.dump()
	for _, b := range []*webBrowser{olivia, bob, root, e.browser()} {
		for _, p := range paths {
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				if r := b.do(m, p, nil); r.StatusCode >= 500 {
					t.Errorf("%s %s: %d", m, p, r.StatusCode)
				}
			}
		}
	}
	if after := e.dump(); after != before {
		t.Errorf("GET requests changed the database:\n%s", diffLines(before, after))
	}
}
