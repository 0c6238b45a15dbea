package cli_test

// Issue 10's CLI half of organization-wide registration, against a real
// server: gatehouse admin org-token create|list|revoke|clients, and
// gatehouse register --org-token writing conda's, mamba's and pixi's
// files with a token that registers the machine and opens public channels
// only (never a private one).

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

func TestOrgTokenCommandsAndRegisterWithAnOrgToken(t *testing.T) {
	h := newHarness(t)
	key := h.login("owner", false)
	h.srv.User("root", true)
	at := []string{"--at", h.host()}
	bearer := "Bearer " + key
	root := clienttest.BasicAuth("root", clienttest.Password)
	for _, c := range []struct {
		path, auth string
		body       any
	}{
		{"/api/orgs", bearer, map[string]any{"name": "acme"}},
		{"/api/channels", bearer, map[string]any{"name": "pub", "visibility": "public"}},
		{"/api/channels", bearer, map[string]any{"name": "lab", "visibility": "private"}},
		// The test's own address must register.
		{"/api/admin/network-rules", root, map[string]any{"cidr": "127.0.0.0/8"}},
	} {
		if code, body := h.srv.Do("POST", c.path, c.auth, c.body, nil); code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", c.path, code, body)
		}
	}

	created := decode[client.CreatedRegistrationToken](t, h.ok(append([]string{"admin", "org-token", "create", "--org", "acme", "--name", "laptops", "--json"}, at...)...))
	if created.Token == "" || created.ID == 0 {
		t.Fatalf("created = %+v", created)
	}
	out, errOut, code := h.run(append([]string{"admin", "org-token", "create", "--org", "acme", "--name", "desktops"}, at...)...)
	if code != 0 || !strings.Contains(out+errOut, "desktops") {
		t.Fatalf("create (table): exit %d\n%s%s", code, out, errOut)
	}
	list := h.ok(append([]string{"admin", "org-token", "list", "--org", "acme"}, at...)...)
	if !strings.Contains(list, "laptops") || !strings.Contains(list, "desktops") || strings.Contains(list, created.Token) {
		t.Fatalf("list (it must never show a token):\n%s", list)
	}

	// A machine without the anon-usage plugin: register --org-token
	// writes the token where conda, mamba and pixi read credentials.
	regOut := h.ok(append([]string{"register", "--org-token", created.Token}, at...)...)
	for _, client := range []string{"conda", "mamba", "rattler, pixi"} {
		if !strings.Contains(regOut, "("+client+")") {
			t.Errorf("register --org-token does not name %s:\n%s", client, regOut)
		}
	}
	if !strings.Contains(h.read(".rattler/credentials.json"), created.Token) || !strings.Contains(h.read(".mamba/auth/authentication.json"), created.Token) {
		t.Fatal("the token is not in the rattler and mamba files")
	}
	conda := ".config/binstar/" + url.QueryEscape(h.srv.URL+"/repo/") + ".token"
	if h.read(conda) != created.Token {
		t.Fatalf("conda's token file holds %q", h.read(conda))
	}

	// What those files send: the public channel opens on the gated
	// network, the private one does not.
	get := func(channel, auth, ua string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", h.srv.URL+"/repo/"+channel+"/noarch/repodata.json", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if ua != "" {
			req.Header.Set("User-Agent", ua)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("pub", "", ""); code != http.StatusForbidden {
		t.Fatalf("the gate is not on: %d", code)
	}
	if code := get("pub", "Bearer "+created.Token, ""); code != http.StatusOK {
		t.Fatalf("the org token does not register: %d", code)
	}
	if code := get("lab", "Bearer "+created.Token, ""); code == http.StatusOK {
		t.Fatal("the org token opened a private channel")
	}
	// conda with anaconda-anon-usage: the token in the User-Agent, and a
	// c/ client id the organization sees.
	agent := "conda/26.7.1 requests/2.32.3 CPython/3.12.0 Linux/6.1.0 aau/0.8.1 c/cli11client s/sess e/env o/" + created.Token + " m/machine9"
	if code := get("pub", "", agent); code != http.StatusOK {
		t.Fatalf("the User-Agent's o/ token does not register: %d", code)
	}
	var clients string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		h.srv.Srv.Services().FlushClients()
		clients = h.ok(append([]string{"admin", "org-token", "clients", "--org", "acme", "--json"}, at...)...)
		if strings.Contains(clients, "cli11client") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("admin org-token clients never lists the client:\n%s", clients)
		}
	}
	if !strings.Contains(clients, "machine9") || !strings.Contains(clients, "127.0.0.0/8") {
		t.Fatalf("clients:\n%s", clients)
	}
	if table := h.ok(append([]string{"admin", "org-token", "clients", "--org", "acme"}, at...)...); !strings.Contains(table, "cli11client") {
		t.Fatalf("clients table:\n%s", table)
	}

	revoked := h.ok(append([]string{"admin", "org-token", "revoke", "--org", "acme", itoa(created.ID)}, at...)...)
	if !strings.Contains(revoked, `Revoked registration token`) || !strings.Contains(revoked, "laptops") {
		t.Fatalf("revoke: %q", revoked)
	}
	if code := get("pub", "Bearer "+created.Token, ""); code != http.StatusForbidden {
		t.Fatalf("a revoked org token still registers: %d", code)
	}
	if code := get("pub", "", agent); code != http.StatusForbidden {
		t.Fatalf("a revoked org token in the User-Agent still registers: %d", code)
	}
	t.Run("register --org-token refuses a token with a typo before writing anything", func(t *testing.T) {
		h2 := newHarness(t)
		bad := created.Token[:len(created.Token)-1] + "x"
		if strings.HasSuffix(created.Token, "x") {
			bad = created.Token[:len(created.Token)-1] + "y"
		}
		_, errOut, code := h2.run("register", "--org-token", bad, "--at", h2.host())
		if code == 0 || h2.exists(".rattler/credentials.json") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("a person who is not an organization admin cannot create tokens", func(t *testing.T) {
		h3 := newHarness(t)
		h3.login("stranger", false)
		_, errOut, code := h3.run("admin", "org-token", "create", "--org", "acme", "--name", "x", "--at", h3.host())
		if code == 0 || errOut == "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}
