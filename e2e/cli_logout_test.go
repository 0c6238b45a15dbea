package e2e

// Issue 4: how a login or a logout ends when things go wrong outside the
// browser: the server is gone when the person logs out (checklist D7), or
// the person presses Ctrl-C while the CLI waits for the browser.

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// checklist D7: logging out while the server cannot be reached erases the
// key here and warns that it was not revoked; the key still works on the
// server until it is revoked there.
func TestCLILogoutWhileTheServerIsDown(t *testing.T) {
	data := t.TempDir()
	srv := Start(t, gatehouseBin, Options{Data: data})
	b := NewBrowser(t, 2*time.Minute)
	m := newCLIMachine(t)
	key := loginInBrowser(t, srv, b, m)
	host := domainOf(t, srv)
	srv.Stop()

	r := m.Run("logout", "--at", host)
	if r.Code != 0 {
		t.Fatalf("logout with the server down: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	wantOut := "Logged out of " + host + ": the key was removed from the keyring file " + m.Path(".anaconda/keyring") + ".\n"
	// Before it, the lines of the conda client files login wrote and
	// logout removed (no client keeps the key).
	if !strings.HasSuffix(r.Stdout, wantOut) || !strings.Contains(r.Stdout, "removed the token for "+srv.URL+"/repo/ (conda)") {
		t.Errorf("logout printed %q, want the client files removed, then %q", r.Stdout, wantOut)
	}
	for _, s := range []string{"Warning: ", "NOT revoked on the server", "Revoke it in Account Settings → API Keys when you can."} {
		if !strings.Contains(r.Stderr, s) {
			t.Errorf("the warning lacks %q:\n%s", s, r.Stderr)
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, key) {
		t.Error("logout printed the key")
	}
	m.assertNoKeyStored(t, srv)

	again := Start(t, gatehouseBin, Options{Data: data, Database: srv.Database})
	again.RecordSecret(key)
	if res := call(t, "GET", again.URL+"/api/account", "", bearer(key)); res.Status != http.StatusOK {
		t.Errorf("the key logout could not revoke: GET /api/account %d %s; want it to still work, as the warning says", res.Status, res.Body)
	}
}

// Ctrl-C while the CLI waits for the browser, or for a device code to be
// approved, ends the login with a sentence, stores nothing, mints nothing,
// and (browser flow) closes the loopback listener, so a late answer from
// the browser reaches no one.
func TestCLILoginInterrupted(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	for _, flow := range []string{"browser", "device"} {
		t.Run("in the "+flow+" flow", func(t *testing.T) {
			m := newCLIMachine(t)
			before := snapshotKeys(t, srv)
			var p *cliProc
			var listener string
			if flow == "browser" {
				var authURL string
				p, authURL = m.startBrowserLogin(srv)
				au, err := url.Parse(authURL)
				if err != nil {
					t.Fatal(err)
				}
				callback, err := url.Parse(au.Query().Get("redirect_uri"))
				if err != nil {
					t.Fatal(err)
				}
				listener = callback.Host
			} else {
				p, _, _ = m.startDeviceLogin(srv)
				p.WaitFor(regexp.MustCompile(`Waiting for approval`), 10*time.Second)
			}
			if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			r := p.Wait(30 * time.Second)
			if r.Code != 1 || r.Stdout != "" {
				t.Errorf("login after Ctrl-C: exit %d, stdout %q; want exit 1", r.Code, r.Stdout)
			}
			lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
			if last := lines[len(lines)-1]; last != "The login was interrupted." {
				t.Errorf("after Ctrl-C the CLI's last words are %q, want %q", last, "The login was interrupted.")
			}
			if listener != "" {
				if c, err := net.DialTimeout("tcp", listener, 2*time.Second); err == nil {
					c.Close()
					t.Errorf("the loopback listener %s still accepts connections after the CLI ended", listener)
				}
			}
			if _, err := os.Stat(m.Path(".anaconda/keyring")); !os.IsNotExist(err) {
				t.Errorf("a keyring file exists after an interrupted login (%v)", err)
			}
			if added, changed := keyChanges(t, srv, before); len(added)+len(changed) != 0 {
				t.Errorf("the interrupted login minted %v and changed %v", added, changed)
			}
		})
	}
}
