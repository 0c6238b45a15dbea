package e2e

// Issue 4: the key a login stored, used the ways the seed's "API keys" page
// describes for automated workflows: the keyring file copied to another
// machine, ANACONDA_AUTH_API_KEY, and a Docker build secret, with the
// precedence anaconda-auth gives them (protocols.md), and the keyring
// file's safety rules (checklist D5).

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// loginInBrowser logs machine m in to srv through the browser flow and
// returns the key it stored.
func loginInBrowser(t *testing.T, srv *Server, b *Browser, m *cliMachine) string {
	t.Helper()
	p, authURL := m.startBrowserLogin(srv)
	signInThrough(t, b, srv, authURL, "#consent")
	b.Do(t, "approving the CLI's login", chromedp.Click(chromedp.ID("consent-approve")))
	if title := cliPageTitle(t, b); title != "Logged in" {
		t.Errorf("the CLI's page says %q", title)
	}
	if r := p.Wait(loginTimeout); r.Code != 0 {
		t.Fatalf("login: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	return m.storedKey(srv)
}

// whoamiJSON is what `gatehouse auth whoami --json` says.
type whoamiJSON struct {
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	Key struct {
		Name string `json:"name"`
	} `json:"key"`
	Source string `json:"source"`
}

func parseWhoami(t *testing.T, r cliResult) whoamiJSON {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("whoami: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	var w whoamiJSON
	if err := json.Unmarshal([]byte(r.Stdout), &w); err != nil {
		t.Fatalf("whoami --json printed %q: %v", r.Stdout, err)
	}
	return w
}

// copyKeyring copies m's keyring file to a new machine's, with mode perm,
// as scp would.
func copyKeyring(t *testing.T, from *cliMachine, perm os.FileMode) *cliMachine {
	t.Helper()
	data, err := os.ReadFile(from.Path(".anaconda/keyring"))
	if err != nil {
		t.Fatal(err)
	}
	to := newCLIMachine(t)
	writeCLIFile(t, to.Path(".anaconda/keyring"), string(data))
	if err := os.Chmod(to.Path(".anaconda/keyring"), perm); err != nil {
		t.Fatal(err)
	}
	return to
}

func TestCLIKeyringAndOtherKeySources(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	b := NewBrowser(t, 2*time.Minute)
	m := newCLIMachine(t)
	name := cliKeyName(t)
	key := loginInBrowser(t, srv, b, m)

	t.Run("the keyring file copied to another machine works there (the seed's scp step)", func(t *testing.T) {
		other := copyKeyring(t, m, 0o600)
		w := parseWhoami(t, other.Run("auth", "whoami", "--at", srv.URL, "--json"))
		if w.User.Username != "admin" || w.Key.Name != name || w.Source != "anaconda-keyring" {
			t.Errorf("whoami on the other machine: %+v", w)
		}
		if got := other.storedKey(srv); got != key {
			t.Error("api-key on the other machine prints another key")
		}
	})

	t.Run("a copy readable by others is made private, with a warning (checklist D5)", func(t *testing.T) {
		other := copyKeyring(t, m, 0o644)
		r := other.Run("auth", "whoami", "--at", srv.URL, "--json")
		parseWhoami(t, r)
		path := other.Path(".anaconda/keyring")
		want := "Warning: " + path + " was readable by other users (mode 0644); changed it to 0600\n"
		if r.Stderr != want {
			t.Errorf("stderr %q, want %q", r.Stderr, want)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("the keyring file's mode is %v (%v), want 0600", fi.Mode().Perm(), err)
		}
	})

	t.Run("a keyring file that is a symbolic link is refused (checklist D5)", func(t *testing.T) {
		other := newCLIMachine(t)
		if err := os.MkdirAll(other.Path(".anaconda"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(m.Path(".anaconda/keyring"), other.Path(".anaconda/keyring")); err != nil {
			t.Fatal(err)
		}
		r := other.Run("auth", "whoami", "--at", srv.URL)
		want := "refusing to use " + other.Path(".anaconda/keyring") + ": it is a symbolic link (to " + m.Path(".anaconda/keyring") + ")"
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, want) || strings.Contains(r.Stderr, key) {
			t.Errorf("whoami: exit %d, stdout %q, stderr %q; want exit 1 and %q", r.Code, r.Stdout, r.Stderr, want)
		}
	})

	t.Run("ANACONDA_AUTH_KEYRING_PATH names a keyring file elsewhere", func(t *testing.T) {
		other := newCLIMachine(t)
		other.Setenv("ANACONDA_AUTH_KEYRING_PATH=" + m.Path(".anaconda/keyring"))
		if w := parseWhoami(t, other.Run("auth", "whoami", "--at", srv.URL, "--json")); w.Key.Name != name {
			t.Errorf("whoami: %+v", w)
		}
	})

	// Keys of their own names, so whoami tells which source won.
	admin := basic("admin", srv.AdminPassword)
	envName, configName, secretName := uniqueName("from-env"), uniqueName("from-config"), uniqueName("from-docker-secret")
	envKey := newKey(t, srv, admin, envName, "user", "channels")
	configKey := newKey(t, srv, admin, configName, "user", "channels")
	secretKey := newKey(t, srv, admin, secretName, "user", "channels")

	t.Run("ANACONDA_AUTH_API_KEY wins over the keyring file; logout leaves it alone", func(t *testing.T) {
		other := copyKeyring(t, m, 0o600)
		other.Setenv("ANACONDA_AUTH_API_KEY=" + envKey)
		w := parseWhoami(t, other.Run("auth", "whoami", "--at", srv.URL, "--json"))
		if w.Key.Name != envName || w.Source != "env" {
			t.Errorf("whoami with the variable set: %+v", w)
		}
		if out := other.OK("auth", "api-key", "--at", srv.URL); out != envKey+"\n" {
			t.Error("api-key does not print the variable's key")
		}
		r := other.Run("logout", "--at", srv.URL)
		want := "The key for " + domainOf(t, srv) + " comes from the environment variable ANACONDA_AUTH_API_KEY, which gatehouse cannot remove. Unset it: unset ANACONDA_AUTH_API_KEY\n"
		if r.Code != 1 || r.Stderr != want {
			t.Errorf("logout with the variable set: exit %d, stderr %q; want exit 1 and %q", r.Code, r.Stderr, want)
		}
		for _, k := range []string{envKey, key} {
			if res := call(t, "GET", srv.URL+"/api/account", "", bearer(k)); res.Status != 200 {
				t.Errorf("a refused logout revoked a key: %d %s", res.Status, res.Body)
			}
		}
	})

	t.Run("the precedence: variable, Docker secret, config api_key, keyring file", func(t *testing.T) {
		other := copyKeyring(t, m, 0o600)
		whoami := func(secret string) whoamiJSON {
			t.Helper()
			args := []string{"auth", "whoami", "--at", srv.URL, "--json"}
			if secret == "" {
				return parseWhoami(t, other.Run(args...))
			}
			return parseWhoami(t, runWithDockerSecret(t, other, secret, args...))
		}
		check := func(step string, w whoamiJSON, keyName, source string) {
			t.Helper()
			if w.Key.Name != keyName || w.Source != source {
				t.Errorf("%s: whoami says key %q from %q, want %q from %q", step, w.Key.Name, w.Source, keyName, source)
			}
		}
		check("the keyring file alone", whoami(""), name, "anaconda-keyring")
		writeCLIFile(t, other.Path(".anaconda/config.toml"), fmt.Sprintf("[plugin.auth]\napi_key = %q\n", configKey))
		check("with api_key in config.toml", whoami(""), configName, "config")
		check("with a Docker secret too", whoami(secretKey), secretName, "secret")
		other.Setenv("ANACONDA_AUTH_API_KEY=" + envKey)
		check("with the variable too", whoami(secretKey), envName, "env")
	})
}

// runWithDockerSecret runs gatehouse on machine m with the Docker secret
// /run/secrets/ANACONDA_AUTH_API_KEY holding secret. The CLI reads Docker
// secrets only from /run/secrets (cli.Env.SecretsDir cannot be set from
// outside the process), so the command runs in a mount namespace of its
// own with a private /run: the machine's /run/secrets is never touched.
// That needs root (or CAP_SYS_ADMIN); without it the test is skipped.
func runWithDockerSecret(t *testing.T, m *cliMachine, secret string, args ...string) cliResult {
	t.Helper()
	if err := exec.Command("unshare", "--mount", "--propagation", "private", "true").Run(); err != nil {
		t.Skipf("skipping the Docker secret case: the CLI reads secrets only from /run/secrets, and this machine cannot give a process a private /run (unshare --mount: %v; it needs root or CAP_SYS_ADMIN)", err)
	}
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	script := `mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/secrets && cp "$GATEHOUSE_E2E_SECRET" /run/secrets/ANACONDA_AUTH_API_KEY && exec "$0" "$@"`
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", script, gatehouseBin}, args...)...)
	cmd.Env = append(m.Env(), "GATEHOUSE_E2E_SECRET="+file)
	cmd.Dir = m.Home
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := runBounded(cmd)
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running gatehouse with a Docker secret: %v\nstderr: %s", err, stderr.String())
		}
		code = ee.ExitCode()
	}
	return cliResult{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}
