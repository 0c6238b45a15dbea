package e2e

// Helpers the CLI tests share (cli_*_test.go): the gatehouse binary run as
// a person's CLI in a home directory of its own, a login run in the
// background whose printed URL or code a real browser then answers, and
// the checks on what the server minted and what the machine stored.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	_ "github.com/jackc/pgx/v5/stdlib" // expireDeviceCode on a PostgreSQL server
)

// cliTimeout bounds one CLI command that is not a login.
const cliTimeout = 60 * time.Second

// loginTimeout bounds a login from start to exit: the device flow polls
// every 5 seconds, so a few polls plus the browser's work.
const loginTimeout = 90 * time.Second

// cliMachine is one person's machine for the CLI: a home directory, and
// an environment with nothing of the developer's (no ANACONDA_, RATTLER_,
// GATEHOUSE_, SSH_ variables), a pretend display so the CLI tries to open
// a browser, and an xdg-open of our own first on PATH that opens nothing:
// it appends the URL it was given to a file, so the CLI prints the URL and
// the test's Chromium answers it.
type cliMachine struct {
	t      *testing.T
	Home   string
	opened string // the file the fake xdg-open appends to
	env    []string
}

// newCLIMachine makes a machine with a fresh home directory.
func newCLIMachine(t *testing.T) *cliMachine {
	t.Helper()
	home := t.TempDir()
	bin := t.TempDir()
	opened := filepath.Join(bin, "opened.txt")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" >> \"$GATEHOUSE_E2E_OPENED\"\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "GATEHOUSE_"), strings.HasPrefix(strings.ToUpper(name), "ANACONDA_"),
			strings.HasPrefix(name, "RATTLER_"), strings.HasPrefix(name, "SSH_"),
			name == "HOME", name == "PATH", name == "DISPLAY", name == "WAYLAND_DISPLAY", name == "BROWSER",
			name == "XDG_CONFIG_HOME", name == "BINSTAR_CONFIG_DIR":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"DISPLAY=:99", "GATEHOUSE_E2E_OPENED="+opened)
	return &cliMachine{t: t, Home: home, opened: opened, env: env}
}

// Setenv sets (or, with an empty value, removes) variables for every
// later command: "NAME=value".
func (m *cliMachine) Setenv(kvs ...string) {
	for _, kv := range kvs {
		name, value, _ := strings.Cut(kv, "=")
		out := m.env[:0:0]
		for _, old := range m.env {
			if !strings.HasPrefix(old, name+"=") {
				out = append(out, old)
			}
		}
		if value != "" {
			out = append(out, kv)
		}
		m.env = out
	}
}

// Env returns the environment commands run with.
func (m *cliMachine) Env() []string { return append([]string(nil), m.env...) }

// Opened returns the URLs the CLI asked the fake xdg-open to open.
func (m *cliMachine) Opened() []string {
	b, err := os.ReadFile(m.opened)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		m.t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// Path is a path under the home directory.
func (m *cliMachine) Path(rel string) string { return filepath.Join(m.Home, rel) }

// cliResult is how a command ended.
type cliResult struct {
	Stdout, Stderr string
	Code           int
}

// Run runs gatehouse with args to the end (at most cliTimeout).
func (m *cliMachine) Run(args ...string) cliResult {
	m.t.Helper()
	p := m.Start(args...)
	return p.Wait(cliTimeout)
}

// OK runs a command that must succeed and returns its standard output.
func (m *cliMachine) OK(args ...string) string {
	m.t.Helper()
	r := m.Run(args...)
	if r.Code != 0 {
		m.t.Fatalf("gatehouse %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// cliProc is a gatehouse command running in the background.
type cliProc struct {
	t              *testing.T
	args           []string
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
}

// Start starts gatehouse with args; it is killed at the end of the test
// if it is still running.
func (m *cliMachine) Start(args ...string) *cliProc {
	m.t.Helper()
	p := &cliProc{t: m.t, args: args, done: make(chan struct{})}
	p.cmd = exec.Command(gatehouseBin, args...)
	p.cmd.Env = m.Env()
	p.cmd.Dir = m.Home
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		m.t.Fatalf("starting gatehouse %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	m.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Exited reports whether the command has ended.
func (p *cliProc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the command to end; past limit it kills it and fails
// the test.
func (p *cliProc) Wait(limit time.Duration) cliResult {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("gatehouse %s did not end within %v\nstdout: %s\nstderr: %s", strings.Join(p.args, " "), limit, p.stdout.String(), p.stderr.String())
	}
	return cliResult{Stdout: p.stdout.String(), Stderr: p.stderr.String(), Code: p.cmd.ProcessState.ExitCode()}
}

// WaitFor polls the command's standard error until re matches and
// returns the submatches. It fails the test if the command ends first or
// nothing matches within limit.
func (p *cliProc) WaitFor(re *regexp.Regexp, limit time.Duration) []string {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			return m
		}
		select {
		case <-p.done:
			if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
				return m
			}
			p.t.Fatalf("gatehouse %s ended (exit %d) before printing %s\nstdout: %s\nstderr: %s", strings.Join(p.args, " "),
				p.cmd.ProcessState.ExitCode(), re, p.stdout.String(), p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("gatehouse %s printed nothing matching %s within %v\nstderr: %s", strings.Join(p.args, " "), re, limit, p.stderr.String())
		}
	}
}

// What the login flows print on standard error (cli/oauthflow.go).
var (
	authURLRE = regexp.MustCompile(`visit this URL on this machine:\s+(http://\S+/oauth/authorize\?\S+)\s`)
	waitingRE = regexp.MustCompile(`Waiting for you to approve the login in the browser`)
	deviceRE  = regexp.MustCompile(`open this page in a browser on any device:\s+(http://\S+)\s+and enter the code:\s+([A-Z]{4}-[A-Z]{4})\s`)
)

// startBrowserLogin starts `gatehouse login --at srv` (plus extra flags)
// and returns the process and the authorization URL it printed, once it
// has opened its loopback listener and called the (fake) browser.
func (m *cliMachine) startBrowserLogin(srv *Server, extra ...string) (*cliProc, string) {
	m.t.Helper()
	p := m.Start(append([]string{"login", "--at", srv.URL}, extra...)...)
	authURL := p.WaitFor(authURLRE, 30*time.Second)[1]
	p.WaitFor(waitingRE, 30*time.Second)
	return p, authURL
}

// startDeviceLogin starts a device-flow login and returns the process,
// the verification URL and the user code it printed.
func (m *cliMachine) startDeviceLogin(srv *Server, args ...string) (p *cliProc, verifyURL, userCode string) {
	m.t.Helper()
	if len(args) == 0 {
		args = []string{"login", "--at", srv.URL, "--device"}
	}
	p = m.Start(args...)
	mm := p.WaitFor(deviceRE, 30*time.Second)
	return p, mm[1], mm[2]
}

// domainOf is the server's host:port, as the CLI names it in messages and
// stores its key under.
func domainOf(t testing.TB, srv *Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// cliKeyName is the name the server gives a login's key: cli-<hostname>.
func cliKeyName(t testing.TB) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil || strings.TrimSpace(h) == "" {
		return "cli-unknown-host"
	}
	return "cli-" + strings.TrimSpace(h)
}

// storedKey returns the key the CLI prints for srv (`gatehouse auth
// api-key`), recorded as a secret so the server's logs and data are
// searched for it (checklist J1). It fails unless exactly one key line is
// printed and nothing else.
func (m *cliMachine) storedKey(srv *Server) string {
	m.t.Helper()
	r := m.Run("auth", "api-key", "--at", srv.URL)
	if r.Code != 0 {
		m.t.Fatalf("gatehouse auth api-key: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	key := strings.TrimSuffix(r.Stdout, "\n")
	srv.RecordSecret(key)
	if !keyShape.MatchString(key) || r.Stderr != "" {
		m.t.Fatalf("gatehouse auth api-key printed %q (stderr %q); want one key line and nothing else", r.Stdout, r.Stderr)
	}
	return key
}

// assertNoKeyStored checks that api-key finds nothing for srv, with the
// exact sentence and exit status 2.
func (m *cliMachine) assertNoKeyStored(t *testing.T, srv *Server) {
	t.Helper()
	r := m.Run("auth", "api-key", "--at", srv.URL)
	host := domainOf(t, srv)
	want := "No API key found for " + host + ". Run: gatehouse login --at " + host + "\n"
	if r.Code != 2 || r.Stdout != "" || r.Stderr != want {
		t.Errorf("gatehouse auth api-key: exit %d, stdout %q, stderr %q; want exit 2 and stderr %q", r.Code, r.Stdout, r.Stderr, want)
	}
}

// serverKey is a key as GET /api/keys lists it.
type serverKey struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Hint   string `json:"hint"`
	Status string `json:"status"`
}

// adminKeys lists the administrator's keys on the server.
func adminKeys(t *testing.T, srv *Server) []serverKey {
	t.Helper()
	r := call(t, "GET", srv.URL+"/api/keys", "", basic("admin", srv.AdminPassword))
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/keys: %d %s", r.Status, r.Body)
	}
	var keys struct{ Keys []serverKey }
	decode(t, r, &keys)
	return keys.Keys
}

// keySnapshot is the administrator's keys at one moment, by ID. Tests
// compare snapshots rather than count keys, because servers on a shared
// PostgreSQL database see the keys of earlier tests and runs too.
type keySnapshot map[int64]serverKey

func snapshotKeys(t *testing.T, srv *Server) keySnapshot {
	t.Helper()
	out := keySnapshot{}
	for _, k := range adminKeys(t, srv) {
		out[k.ID] = k
	}
	return out
}

// keyChanges returns the keys created since before, and those whose
// status changed since, as "name:status" strings.
func keyChanges(t *testing.T, srv *Server, before keySnapshot) (added, changed []string) {
	t.Helper()
	for id, k := range snapshotKeys(t, srv) {
		old, ok := before[id]
		switch {
		case !ok:
			added = append(added, k.Name+":"+k.Status)
		case old.Status != k.Status:
			changed = append(changed, k.Name+":"+k.Status)
		}
	}
	return added, changed
}

// signInThrough opens u in the browser and waits for the page it leads
// to (sel). A signed-out browser is sent to the login page first: it
// signs in there as admin and must come back to that page.
func signInThrough(t *testing.T, b *Browser, srv *Server, u, sel string) {
	t.Helper()
	b.Do(t, "opening "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(sel+", #identify-form")))
	if !Get(t, b, "looking for the login form", chromedp.Evaluate[bool](`document.getElementById("identify-form") !== null`)) {
		return
	}
	b.EnterPassword(t, "admin", srv.AdminPassword)
	b.Do(t, "signing in as admin on the way to "+u, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// consentFacts is what the consent page says about a login.
type consentFacts struct {
	Machine, Client, Account string
	Scopes                   []string
	UserCode, ReturnTo       string
}

func readConsent(t *testing.T, b *Browser) consentFacts {
	t.Helper()
	return Get(t, b, "reading the consent page", chromedp.Evaluate[consentFacts](`(() => {
		const text = (id) => { const e = document.getElementById(id); return e ? e.textContent.trim() : ""; };
		return {
			Machine: text("consent-machine"), Client: text("consent-client"), Account: text("consent-account"),
			Scopes: Array.from(document.querySelectorAll("#consent-scopes .chip")).map((e) => e.textContent.trim()),
			UserCode: text("consent-user-code"), ReturnTo: text("consent-return"),
		};
	})()`))
}

// cliPageTitle is the heading of the page the CLI's loopback listener
// answered the browser with.
func cliPageTitle(t *testing.T, b *Browser) string {
	t.Helper()
	// Its heading has an id no server page has, so this waits until the
	// redirect has arrived.
	b.Do(t, "waiting for the CLI's page", chromedp.WaitVisible(chromedp.ID("cli-page-title")))
	return Get(t, b, "reading the CLI's page", chromedp.Text(chromedp.ID("cli-page-title")))
}

// approveDevice signs in at verifyURL, types code, and approves (or
// denies) on the consent page. It returns the consent page's facts and the
// device page's closing sentence.
func approveDevice(t *testing.T, b *Browser, srv *Server, verifyURL, code string, approve bool) (consentFacts, string) {
	t.Helper()
	signInThrough(t, b, srv, verifyURL, "#device-form")
	b.Do(t, "typing the code and continuing",
		chromedp.SendKeys(chromedp.ID("user-code"), strings.ToLower(code)), // case does not matter
		chromedp.Click(chromedp.ID("device-continue")),
		chromedp.WaitVisible(chromedp.ID("consent")),
	)
	facts := readConsent(t, b)
	button := "consent-deny"
	if approve {
		button = "consent-approve"
	}
	b.Do(t, "answering the consent page", chromedp.Click(chromedp.ID(button)), chromedp.WaitVisible(chromedp.ID("device-result")))
	return facts, Get(t, b, "reading the result", chromedp.Text(chromedp.ID("device-result")))
}

// expireDeviceCode moves a pending device login's expiry into the past
// in the server's database. The server has no setting to shorten device
// codes (10 minutes, server/oauth.go), and a test must not wait that
// long; the CLI and the server then meet a real expired code.
func expireDeviceCode(t *testing.T, srv *Server, userCode string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	past := time.Now().Add(-time.Minute).UTC()
	var db *sql.DB
	var err error
	var res sql.Result
	if srv.Database == "" {
		db, err = sql.Open("sqlite", "file:"+srv.DBPath()+"?_pragma=busy_timeout(5000)")
		if err == nil {
			defer db.Close()
			res, err = db.ExecContext(ctx, `UPDATE oauth_grants SET expires_at = ? WHERE kind = 'device' AND user_code = ? AND status = 'pending'`,
				past.Format("2006-01-02T15:04:05.000000Z"), userCode)
		}
	} else {
		db, err = sql.Open("pgx", srv.Database)
		if err == nil {
			defer db.Close()
			res, err = db.ExecContext(ctx, `UPDATE oauth_grants SET expires_at = $1 WHERE kind = 'device' AND user_code = $2 AND status = 'pending'`,
				past, userCode)
		}
	}
	if err != nil {
		t.Fatalf("expiring the device code: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("expiring the device code %s changed %d rows, want 1", userCode, n)
	}
}

// keyringFile reads the keyring file of a machine as anaconda-auth's
// format has it: {"Anaconda Cloud": {"<host:port>": "<base64 JSON>"}}.
func keyringFile(t *testing.T, m *cliMachine) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(m.Path(".anaconda/keyring"))
	if err != nil {
		t.Fatalf("reading the keyring file: %v", err)
	}
	var doc map[string]map[string]string
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the keyring file is not the anaconda-auth format: %v\n%s", err, b)
	}
	return doc
}
