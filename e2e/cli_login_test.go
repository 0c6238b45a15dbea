package e2e

// Issue 4 end to end: the real gatehouse binary as a person's CLI, logging
// in through headless Chromium (the browser flow with a loopback redirect,
// and the device flow), then using, showing, replacing and revoking the
// key it stored, the way the seed's "API keys" page tells people to.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse-dev/gatehouse"
)

func TestCLILoginInTheBrowser(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	b := NewBrowser(t, 3*time.Minute)
	m := newCLIMachine(t)
	host, name := domainOf(t, srv), cliKeyName(t)
	// The seed's keyring setup: preferred_token_storage = "anaconda-keyring"
	// (the default, written out as the seed says to check), and the server
	// as the default domain, so that the seed's commands need no --at.
	writeCLIFile(t, m.Path(".anaconda/config.toml"), fmt.Sprintf("[plugin.auth]\ndomain = %q\npreferred_token_storage = \"anaconda-keyring\"\n", host))

	before := snapshotKeys(t, srv)
	p, authURL := m.startBrowserLogin(srv)
	au, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := au.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || redirect.Path != "/callback" {
		t.Fatalf("redirect_uri %q is not the CLI's loopback listener", q.Get("redirect_uri"))
	}
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 32 ||
		q.Get("client_id") != "gatehouse-cli" || q.Get("client_name") != strings.TrimPrefix(name, "cli-") {
		t.Errorf("the authorization URL lacks PKCE S256, a state, the client or the machine: %s", authURL)
	}
	if opened := m.Opened(); !slices.Equal(opened, []string{authURL}) {
		t.Errorf("the CLI asked xdg-open to open %q, want exactly the URL it printed", opened)
	}

	signInThrough(t, b, srv, authURL, "#consent")
	facts := readConsent(t, b)
	want := consentFacts{Machine: strings.TrimPrefix(name, "cli-"), Client: "the Gatehouse command line", Account: "admin",
		Scopes: []string{"User resources", "Platform channels"}, ReturnTo: "http://" + redirect.Host}
	if fmt.Sprint(facts) != fmt.Sprint(want) {
		t.Errorf("the consent page says %+v\nwant %+v", facts, want)
	}
	b.Do(t, "approving", chromedp.Click(chromedp.ID("consent-approve")))
	if title := cliPageTitle(t, b); title != "Logged in" {
		t.Errorf("the CLI's page says %q, want Logged in", title)
	}
	callback := b.Location(t) // holds the code, used once by the CLI
	r := p.Wait(loginTimeout)
	if r.Code != 0 {
		t.Fatalf("login: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	qm := regexp.QuoteMeta
	wantOut := regexp.MustCompile(`^Logged in to ` + qm(host) + ` as admin\. Key "` + qm(name) + `" \(user, channels\) expires (\d{4}-\d\d-\d\d); stored in the keyring file ` +
		qm(m.Path(".anaconda/keyring")) + `\.\n` +
		// an administrator is told how to get a key for the admin commands
		`You are an administrator; this key cannot run gatehouse admin commands\. For one that can: gatehouse login --admin --force --at ` + qm(host) + `\n` +
		// then the default-server line (unless the domain is already set), and one line per conda client
		`(?:.* is now the default server .*\n)?` +
		`rattler, pixi: added the key for ` + qm(host) + ` \(~/\.rattler/credentials\.json\)\n` +
		`mamba: added the key for ` + qm(host) + ` \(~/\.mamba/auth/authentication\.json\)\n` +
		`conda: added the key for ` + qm(host) + ` \(~/\.config/binstar/\S+\.token\)\n$`)
	mm := wantOut.FindStringSubmatch(r.Stdout)
	if mm == nil {
		t.Fatalf("login printed %q", r.Stdout)
	}
	checkDefaultExpiry(t, mm[1])
	key := m.storedKey(srv)
	if strings.Contains(r.Stdout+r.Stderr, key) {
		t.Error("login printed the key")
	}

	t.Run("the code in the browser's address bar cannot be used again (checklist D1)", func(t *testing.T) {
		cu, err := url.Parse(callback)
		if err != nil || cu.Query().Get("code") == "" {
			t.Fatalf("the browser ended at %q, with no code", callback)
		}
		srv.RecordSecret(cu.Query().Get("code")) // stored hashed, never logged (checklist J1)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {cu.Query().Get("code")}, "client_id": {"gatehouse-cli"},
			"redirect_uri": {q.Get("redirect_uri")}, "code_verifier": {strings.Repeat("v", 43)}}
		res, err := httpClient.PostForm(srv.URL+"/oauth/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var e struct{ Error string }
		json.NewDecoder(res.Body).Decode(&e)
		if res.StatusCode != http.StatusBadRequest || e.Error != "invalid_grant" {
			t.Errorf("replaying the code: %d %+v, want 400 invalid_grant", res.StatusCode, e)
		}
		checkLoginMinted(t, srv, before, name)
	})

	t.Run("auth api-key prints exactly the key, with or without --at", func(t *testing.T) {
		out := m.OK("auth", "api-key")
		if out != key+"\n" {
			t.Errorf("gatehouse auth api-key (domain from config.toml) printed %q", out)
		}
	})

	t.Run(`export ANACONDA_AUTH_API_KEY="$(gatehouse auth api-key)" works where nothing is stored`, func(t *testing.T) {
		script := `export ANACONDA_AUTH_API_KEY="$("$GH" auth api-key)" && HOME="$EMPTY" "$GH" auth whoami --at "$AT" --json`
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = append(m.Env(), "GH="+gatehouseBin, "EMPTY="+t.TempDir(), "AT="+host)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := runBounded(cmd); err != nil {
			t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", script, err, stdout.String(), stderr.String())
		}
		var who struct {
			User   struct{ Username string }
			Key    struct{ Name string }
			Source string
		}
		if err := json.Unmarshal(stdout.Bytes(), &who); err != nil {
			t.Fatalf("whoami --json: %v\n%s", err, stdout.String())
		}
		if who.User.Username != "admin" || who.Key.Name != name || who.Source != "env" {
			t.Errorf("whoami with the exported key: %+v", who)
		}
		if strings.Contains(stdout.String()+stderr.String(), key) {
			t.Error("whoami --json printed the key")
		}
	})

	t.Run("auth whoami shows the user, server, key, scopes and expiry", func(t *testing.T) {
		out := m.OK("auth", "whoami")
		for _, line := range []string{
			`^Logged in to ` + qm(host) + ` as admin\.$`,
			`^  Server:\s+` + qm(srv.URL) + `$`,
			`^  User:\s+admin \(administrator\)$`,
			`^  Key:\s+` + qm(name) + ` \(gk-\S+\)$`,
			`^  Scopes:\s+user, channels$`,
			`^  Expires:\s+\d{4}-\d\d-\d\d \(in ` + strconv.Itoa(gatehouse.DefaultKeyDays) + ` days\)$`,
			`^  Key from:\s+the keyring file ` + qm(m.Path(".anaconda/keyring")) + `$`,
		} {
			if !regexp.MustCompile(`(?m)` + line).MatchString(out) {
				t.Errorf("whoami has no line %s:\n%s", line, out)
			}
		}
		if strings.Contains(out, key) {
			t.Error("whoami printed the key")
		}
	})

	t.Run("the keyring file is anaconda-auth's format byte for byte, mode 0600", func(t *testing.T) {
		path := m.Path(".anaconda/keyring")
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
		}
		entry := fmt.Sprintf(`{"domain":%q,"api_key":%q,"username":"admin","repo_tokens":[],"version":2}`, host, key)
		want := fmt.Sprintf(`{"Anaconda Cloud": {%q: %q}}`, host, base64.StdEncoding.EncodeToString([]byte(entry)))
		got, _ := os.ReadFile(path)
		if string(got) != want {
			t.Errorf("the keyring file holds\n%s\nwant\n%s", redactKey(string(got), key), redactKey(want, key))
		}
		doc := keyringFile(t, m)
		raw, _ := base64.StdEncoding.DecodeString(doc["Anaconda Cloud"][host])
		if string(raw) != entry {
			t.Errorf("the entry decodes to %s", redactKey(string(raw), key))
		}
	})

	t.Run("gatehouse upload sends a generated package to a channel", func(t *testing.T) {
		channel := uniqueName("cli-up")
		createChannel(t, srv, channel, "private")
		pkg := BuildConda(t, "cli-e2e-pkg", "1.0.0", "0", "noarch", nil, nil)
		file := filepath.Join(t.TempDir(), pkg.Filename)
		if err := os.WriteFile(file, pkg.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		out := m.OK("upload", file, "--channel", channel)
		if want := fmt.Sprintf("Uploaded noarch/%s to %s (%s).\n", pkg.Filename, channel, sizeText(len(pkg.Data))); out != want {
			t.Errorf("upload printed %q, want %q", out, want)
		}
		rd, _ := fetchRepodata(t, srv, channel, "noarch", bearer(key))
		if rec, ok := rd.Conda[pkg.Filename]; !ok || rec.SHA256 != pkg.SHA256() {
			t.Errorf("the channel's repodata has %+v for %s", rd.Conda, pkg.Filename)
		}
	})

	t.Run("logging in again keeps a working key, and --force replaces it: the old one is revoked", func(t *testing.T) {
		r := m.Run("login")
		if r.Code != 0 || !strings.HasPrefix(r.Stdout, "Already logged in to "+host+" as admin with key \""+name+"\"") || len(m.Opened()) != 1 {
			t.Fatalf("login with a working key: exit %d, stdout %q, opened %d URLs", r.Code, r.Stdout, len(m.Opened()))
		}
		before := snapshotKeys(t, srv)
		p, authURL := m.startBrowserLogin(srv, "--force")
		signInThrough(t, b, srv, authURL, "#consent") // still signed in: straight to consent
		b.Do(t, "approving again", chromedp.Click(chromedp.ID("consent-approve")))
		cliPageTitle(t, b)
		if r := p.Wait(loginTimeout); r.Code != 0 {
			t.Fatalf("login --force: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
		}
		newKey := m.storedKey(srv)
		if newKey == key {
			t.Fatal("login --force kept the old key")
		}
		if r := call(t, "GET", srv.URL+"/api/account", "", bearer(key)); r.Status != http.StatusUnauthorized ||
			!strings.Contains(r.Body, `"reason":"API KEY REVOKED"`) || !strings.Contains(r.Body, "replaced by a newer key with the same name") {
			t.Errorf("the replaced key: GET /api/account %d %s, want 401 API KEY REVOKED, replaced", r.Status, r.Body)
		}
		if added, changed := keyChanges(t, srv, before); fmt.Sprint(added, changed) != fmt.Sprint([]string{name + ":active"}, []string{name + ":revoked"}) {
			t.Errorf("login --force minted %v and changed %v; want one new active key and the old one revoked", added, changed)
		}
		key = newKey
	})

	t.Run("logout revokes the key on the server, then erases it here (checklist D7)", func(t *testing.T) {
		before := snapshotKeys(t, srv)
		out := m.OK("logout")
		want := fmt.Sprintf("Logged out of %s: key %q revoked on the server and removed from the keyring file %s.\n", host, name, m.Path(".anaconda/keyring"))
		// The conda client files login wrote are emptied first.
		if !strings.HasSuffix(out, want) || !strings.Contains(out, "removed the token for "+srv.URL+"/repo/ (conda)") {
			t.Errorf("logout printed %q\nwant the client files removed, then %q", out, want)
		}
		r := call(t, "GET", srv.URL+"/api/account", "", bearer(key))
		if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, `"reason":"API KEY REVOKED"`) || !strings.Contains(r.Body, "revoked") {
			t.Errorf("after logout the key gets GET /api/account %d %s, want 401 revoked", r.Status, r.Body)
		}
		m.assertNoKeyStored(t, srv)
		// The revoked key kept in a variable: whoami says what the server
		// said and what to do, with exit status 2.
		other := newCLIMachine(t)
		other.Setenv("ANACONDA_AUTH_API_KEY=" + key)
		w := other.Run("auth", "whoami", "--at", host)
		hint := "The key comes from ANACONDA_AUTH_API_KEY: set it to a working key, or unset it and run: gatehouse login --at " + host + "\n"
		if w.Code != 2 || w.Stdout != "" || !strings.Contains(w.Stderr, "revoked") || !strings.HasSuffix(w.Stderr, hint) || strings.Contains(w.Stderr, key) {
			t.Errorf("whoami with the revoked key in the variable: exit %d, stdout %q, stderr %q", w.Code, w.Stdout, w.Stderr)
		}
		if doc := keyringFile(t, m); len(doc["Anaconda Cloud"]) != 0 {
			t.Errorf("the keyring file still has entries for %v", doc["Anaconda Cloud"])
		}
		if added, changed := keyChanges(t, srv, before); len(added) != 0 || !slices.Equal(changed, []string{name + ":revoked"}) {
			t.Errorf("logout minted %v and changed %v; want only the key revoked", added, changed)
		}
	})
	b.AssertNoPageErrors(t)
}

func TestCLILoginWithADeviceCode(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	b := NewBrowser(t, 2*time.Minute)
	m := newCLIMachine(t)
	host, name := domainOf(t, srv), cliKeyName(t)

	before := snapshotKeys(t, srv)
	// --at as the seed writes it: a bare host (here host:port).
	p, verifyURL, code := m.startDeviceLogin(srv, "login", "--at", host, "--device")
	if verifyURL != srv.URL+"/device" {
		t.Errorf("verification URL %q, want %s/device", verifyURL, srv.URL)
	}
	p.WaitFor(regexp.MustCompile(`The code expires in 10 minutes\. Waiting for approval\.\.\.`), 10*time.Second)
	if len(m.Opened()) != 0 {
		t.Error("the device flow opened a browser")
	}
	facts, result := approveDevice(t, b, srv, verifyURL, code, true)
	want := consentFacts{Machine: strings.TrimPrefix(name, "cli-"), Client: "the Gatehouse command line", Account: "admin",
		Scopes: []string{"User resources", "Platform channels"}, UserCode: code}
	if fmt.Sprint(facts) != fmt.Sprint(want) {
		t.Errorf("the consent page says %+v\nwant %+v", facts, want)
	}
	if wantResult := strings.TrimPrefix(name, "cli-") + " is being signed in as admin. Go back to your terminal; you can close this page."; result != wantResult {
		t.Errorf("the device page says %q, want %q", result, wantResult)
	}
	r := p.Wait(loginTimeout)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "Logged in to "+host+" as admin. Key \""+name+"\" (user, channels)") {
		t.Fatalf("login --device: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	key := m.storedKey(srv)
	if strings.Contains(r.Stdout+r.Stderr, key) {
		t.Error("login printed the key")
	}
	res := call(t, "GET", srv.URL+"/api/account", "", bearer(key))
	var acct struct {
		User struct{ Username string }
		Key  struct{ Name string }
	}
	decode(t, res, &acct)
	if res.Status != http.StatusOK || acct.User.Username != "admin" || acct.Key.Name != name {
		t.Errorf("the device login's key: GET /api/account %d %+v", res.Status, acct)
	}
	checkLoginMinted(t, srv, before, name)
	b.AssertNoPageErrors(t)
}

// checkLoginMinted checks that a login minted one active key of its
// machine's name since before, and revoked nothing but an older key of
// that name (on a shared database, an earlier run's).
func checkLoginMinted(t *testing.T, srv *Server, before keySnapshot, name string) {
	t.Helper()
	added, changed := keyChanges(t, srv, before)
	if !slices.Equal(added, []string{name + ":active"}) {
		t.Errorf("the login minted %v, want one active key named %s", added, name)
	}
	for _, c := range changed {
		if c != name+":revoked" {
			t.Errorf("the login changed another key: %s", c)
		}
	}
}

// checkDefaultExpiry checks that a key's expiry day is the default
// lifetime from now (gatehouse.DefaultKeyDays, less a minute).
func checkDefaultExpiry(t *testing.T, day string) {
	t.Helper()
	now := time.Now().UTC()
	lo, hi := now.AddDate(0, 0, gatehouse.DefaultKeyDays-1).Format(time.DateOnly), now.AddDate(0, 0, gatehouse.DefaultKeyDays).Format(time.DateOnly)
	if day < lo || day > hi {
		t.Errorf("the key expires %s, want %d days from now (%s or %s)", day, gatehouse.DefaultKeyDays, lo, hi)
	}
}

// writeCLIFile writes a file the way a person would, creating its
// directory.
func writeCLIFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runBounded runs cmd, killing it after cliTimeout.
func runBounded(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(cliTimeout):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("still running after %v: killed", cliTimeout)
	}
}

// redactKey hides a key in test output.
func redactKey(s, key string) string { return strings.ReplaceAll(s, key, "<key>") }

// sizeText is how the CLI prints a small byte count.
func sizeText(n int) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}
