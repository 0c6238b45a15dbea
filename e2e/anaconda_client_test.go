package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
)

// anacondaDeviceRE is what `anaconda auth login` prints for the device
// flow (anaconda_auth/actions.py): the verification URI, then the code.
var anacondaDeviceRE = regexp.MustCompile(`(https://\S+)\s+Then enter the code:\s+([A-Z]{4}-[A-Z]{4})\s`)

// anacondaSite is a Gatehouse server reached over TLS the way the
// official anaconda-auth client requires, with a private channel "lab"
// holding aademo 1.0, and a home whose config.toml names the server as
// anaconda-auth's default site.
type anacondaSite struct {
	kit, domain, certPath, home string
	srv                         *Server
	env                         []string
}

// newAnacondaSite starts it; extraTOML is appended under [plugin.auth].
// anaconda-auth only speaks https, so the server is reached through a
// TLS endpoint with a test certificate that the clients are told to trust.
func newAnacondaSite(t *testing.T, extraTOML string) *anacondaSite {
	t.Helper()
	kit := condaKit(t)
	certDir := t.TempDir()
	cert, certPath := testCert(t, certDir)

	// The TLS endpoint: its address is known first, so the server's
	// public URL can name it.
	var target *url.URL
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	front.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	domain := front.Listener.Addr().String()
	srv := Start(t, gatehouseBin, Options{Args: []string{"--public-url", "https://" + domain}})
	target, _ = url.Parse(srv.URL)
	front.StartTLS()
	t.Cleanup(front.Close)

	createChannel(t, srv, "lab", "private")
	mustUpload(t, srv, "lab", basic("admin", srv.AdminPassword), BuildConda(t, "aademo", "1.0", "0", "noarch", nil, nil))

	// anaconda-auth's --at names only configured sites; the domain under
	// [plugin.auth] is its default site (what gatehouse login writes too).
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".anaconda"), 0o700); err != nil {
		t.Fatal(err)
	}
	toml := fmt.Sprintf("[plugin.auth]\ndomain = %q\nssl_verify = %q\n%s", domain, certPath, extraTOML)
	if err := os.WriteFile(filepath.Join(home, ".anaconda", "config.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := kitEnv(home, "ANACONDA_AUTH_SSL_VERIFY="+certPath, "REQUESTS_CA_BUNDLE="+certPath, "SSL_CERT_FILE="+certPath)
	return &anacondaSite{kit: kit, domain: domain, certPath: certPath, home: home, srv: srv, env: env}
}

// The official clients work unchanged (issue 10 §3): the kit's `anaconda`
// CLI logs in with the device flow (approved in Chromium), prints its key
// (a JWT with exp and a UUID sub) and whoami, conda uses the key through
// the anaconda-auth plugin to install from a private channel, a second
// login replaces the key, and logout removes it.
func TestOfficialAnacondaClientsAgainstGatehouse(t *testing.T) {
	site := newAnacondaSite(t, "")
	kit, srv, domain, certPath, home, env := site.kit, site.srv, site.domain, site.certPath, site.home, site.env
	b := NewBrowser(t, 90*time.Second)

	login := func(t *testing.T, extra ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(kit, "bin", "anaconda"), append([]string{"auth", "login"}, extra...)...)
		cmd.Env, cmd.Dir = env, home
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var m []string
		for deadline := time.Now().Add(time.Minute); m == nil; {
			m = anacondaDeviceRE.FindStringSubmatch(out.String())
			select {
			case err := <-done:
				if m == nil {
					t.Fatalf("anaconda auth login ended (%v) before printing a code:\n%s", err, out.String())
				}
				done <- err
			case <-time.After(50 * time.Millisecond):
			}
			if m == nil && time.Now().After(deadline) {
				t.Fatalf("anaconda auth login printed no code:\n%s", out.String())
			}
		}
		// The verification page is the server's; the browser opens it on
		// the server's own address (the session cookie is set there).
		v, err := url.Parse(m[1])
		if err != nil || v.Host != domain {
			t.Fatalf("verification URI %q is not on https://%s", m[1], domain)
		}
		facts, result := approveDevice(t, b, srv, srv.URL+v.Path, m[2], true)
		if !strings.Contains(facts.Client, "anaconda-auth") {
			t.Errorf("the consent page named the client %q", facts.Client)
		}
		if !strings.Contains(result, "signed in") {
			t.Errorf("device page: %q", result)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("anaconda auth login: %v\n%s", err, out.String())
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("anaconda auth login did not finish:\n%s", out.String())
		}
	}
	apiKey := func(t *testing.T) string {
		t.Helper()
		out, err := kitRun(t, kit, env, time.Minute, "anaconda", "auth", "api-key")
		if err != nil {
			t.Fatalf("anaconda auth api-key: %v\n%s", err, out)
		}
		key := strings.TrimSpace(out)
		srv.RecordSecret(key)
		return key
	}

	login(t)
	key := apiKey(t)
	t.Run("anaconda auth api-key prints a JWT-shaped key with exp and a UUID sub", func(t *testing.T) {
		c, err := apikey.ParseClaims(key)
		if err != nil {
			t.Fatalf("the key %q is not JWT-shaped: %v", apikey.HintAny(key), err)
		}
		// The default lifetime, as for every key the server mints at login.
		if d := time.Until(c.Expires); d < time.Duration(gatehouse.DefaultKeyDays-1)*24*time.Hour || d > time.Duration(gatehouse.DefaultKeyDays)*24*time.Hour {
			t.Errorf("exp %v is not %d days away", c.Expires, gatehouse.DefaultKeyDays)
		}
		uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
		if !uuidRE.MatchString(c.Subject) {
			t.Errorf("sub %q is not a UUID", c.Subject)
		}
		// What anaconda-anon-usage does with it: a UUID from sub.
		out, err := kitRun(t, kit, env, time.Minute, "kit-python", "-c",
			"import sys; from anaconda_anon_usage.tokens import _jwt_to_token; print(_jwt_to_token(sys.argv[1]))", key)
		if err != nil || strings.TrimSpace(out) == "None" || strings.TrimSpace(out) == "" {
			t.Errorf("anaconda-anon-usage could not read the key: %v %s", err, out)
		}
	})
	t.Run("anaconda auth whoami shows the account with its email field", func(t *testing.T) {
		out, err := kitRun(t, kit, env, time.Minute, "anaconda", "auth", "whoami")
		if err != nil {
			t.Fatalf("anaconda auth whoami: %v\n%s", err, out)
		}
		var acct struct {
			User map[string]any `json:"user"`
		}
		start := strings.Index(out, "{")
		if start < 0 || json.Unmarshal([]byte(out[start:]), &acct) != nil || acct.User["username"] != "admin" {
			t.Fatalf("whoami printed:\n%s", out)
		}
		if _, ok := acct.User["email"]; !ok {
			t.Errorf("no user.email in whoami:\n%s", out)
		}
	})
	condarc := filepath.Join(t.TempDir(), "condarc.yml")
	rc := fmt.Sprintf("channels: []\nssl_verify: %s\nchannel_settings:\n  - channel: \"https://%s/*\"\n    auth: anaconda-auth\n", certPath, domain)
	if err := os.WriteFile(condarc, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	channel := "https://" + domain + "/repo/lab"
	t.Run("conda installs from a private channel through the anaconda-auth plugin", func(t *testing.T) {
		if out, err := condaInstall(t, kit, env, condarc, channel, "aademo"); err != nil {
			t.Fatalf("conda create: %v\n%s", err, out)
		}
	})
	t.Run("logging in again replaces the key; the old one is refused", func(t *testing.T) {
		login(t, "--force")
		second := apiKey(t)
		if second == key {
			t.Fatal("the key was not replaced")
		}
		if r := get(t, srv.URL+"/api/account", bearer(key)); r.Status != http.StatusUnauthorized {
			t.Errorf("the old key: %d", r.Status)
		}
		if r := get(t, srv.URL+"/api/account", bearer(second)); r.Status != http.StatusOK {
			t.Errorf("the new key: %d %s", r.Status, r.Body)
		}
		if out, err := condaInstall(t, kit, env, condarc, channel, "aademo"); err != nil {
			t.Fatalf("conda create with the new key: %v\n%s", err, out)
		}
	})
	t.Run("the browser flow's landing page is served", func(t *testing.T) {
		r := get(t, srv.URL+"/app/local-login-success", nil)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, "You are logged in") {
			t.Errorf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("anaconda auth logout removes the key; conda is refused then", func(t *testing.T) {
		if out, err := kitRun(t, kit, env, time.Minute, "anaconda", "auth", "logout"); err != nil {
			t.Fatalf("anaconda auth logout: %v\n%s", err, out)
		}
		if out, err := kitRun(t, kit, env, time.Minute, "anaconda", "auth", "api-key"); err == nil && strings.Contains(out, ".gk-") {
			t.Fatalf("api-key still prints a key after logout:\n%s", out)
		}
		if out, err := condaInstall(t, kit, env, condarc, channel, "aademo"); err == nil {
			t.Fatalf("conda installed from the private channel after logout:\n%s", out)
		}
	})
}
