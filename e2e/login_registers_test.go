package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// gatehouse login registers the machine (issue 10 §1): after a device
// login approved in Chromium, plain conda from the kit installs from a
// private channel with no other step; logging in again (new key, old one
// revoked) keeps conda working; after logout conda is refused. Commands
// after the first login name no server: login remembered it.
func TestGatehouseLoginRegistersPlainConda(t *testing.T) {
	kit := condaKit(t)
	srv := Start(t, gatehouseBin, Options{})
	createChannel(t, srv, "lab", "private")
	mustUpload(t, srv, "lab", basic("admin", srv.AdminPassword), BuildConda(t, "regdemo", "1.0", "0", "noarch", nil, nil))
	channel := srv.URL + "/repo/lab"
	host := domainOf(t, srv)

	m := newCLIMachine(t)
	b := NewBrowser(t, 90*time.Second)
	login := func(args ...string) string {
		t.Helper()
		p, verifyURL, code := m.startDeviceLogin(srv, append([]string{"login", "--at", srv.URL, "--device"}, args...)...)
		approveDevice(t, b, srv, verifyURL, code, true)
		r := p.Wait(loginTimeout)
		if r.Code != 0 {
			t.Fatalf("gatehouse login %v: exit %d\nstdout: %s\nstderr: %s", args, r.Code, r.Stdout, r.Stderr)
		}
		return r.Stdout
	}
	env := kitEnv(m.Home)
	tokenFile := "~/.config/binstar/" + url.QueryEscape(channel[:len(channel)-len("lab")]) + ".token"

	out := login()
	for _, line := range []string{"rattler, pixi: added the key for " + host, "mamba: added the key for " + host,
		"conda: added the key for " + host + " (" + tokenFile + ")"} {
		if !strings.Contains(out, line+"\n") && !strings.Contains(out, line+" (") {
			t.Errorf("login did not say %q:\n%s", line, out)
		}
	}
	first := m.storedKey(srv)

	t.Run("plain conda installs from the private channel with no other step", func(t *testing.T) {
		if out, err := condaInstall(t, kit, env, "", channel, "regdemo"); err != nil {
			t.Fatalf("conda create: %v\n%s", err, out)
		}
	})
	t.Run("without the key conda is refused: the channel really is private", func(t *testing.T) {
		if out, err := condaInstall(t, kit, kitEnv(t.TempDir()), "", channel, "regdemo"); err == nil {
			t.Fatalf("conda installed from a private channel with no key:\n%s", out)
		}
	})
	t.Run("login --force replaces the key in conda's files and conda still works", func(t *testing.T) {
		out := login("--force")
		if !strings.Contains(out, "conda: updated the key for "+host) {
			t.Errorf("re-login did not update conda's token:\n%s", out)
		}
		second := m.storedKey(srv)
		if second == first {
			t.Fatal("the key was not replaced")
		}
		if r := get(t, srv.URL+"/api/account", bearer(first)); r.Status != 401 {
			t.Fatalf("the replaced key still works: %d", r.Status)
		}
		if out, err := condaInstall(t, kit, env, "", channel, "regdemo"); err != nil {
			t.Fatalf("conda create after re-login: %v\n%s", err, out)
		}
	})
	t.Run("whoami and logout need no --at; after logout conda is refused", func(t *testing.T) {
		if out := m.OK("whoami"); !strings.Contains(out, "Logged in to "+host+" as admin") {
			t.Fatalf("whoami: %s", out)
		}
		out := m.OK("logout")
		if !strings.Contains(out, "Logged out of "+host) || !strings.Contains(out, "removed") {
			t.Fatalf("logout: %s", out)
		}
		out, err := condaInstall(t, kit, env, "", channel, "regdemo")
		if err == nil {
			t.Fatalf("conda still installs after logout:\n%s", out)
		}
		if !strings.Contains(out, "403") && !strings.Contains(out, "ACCESS DENIED") && !strings.Contains(out, "REGISTRATION") {
			t.Logf("conda's refusal:\n%s", out)
		}
	})
}
