package e2e

// Issue 4: logins that must fail do so cleanly with the real binary: a
// sentence saying what happened, a non-zero exit, no key stored on the
// machine and none minted on the server. And forged answers to the CLI's
// loopback listener or to the consent page are refused (checklist D1, D3).

import (
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestCLILoginFailures(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	b := NewBrowser(t, 4*time.Minute)
	name := cliKeyName(t)

	// failedCleanly checks the end of a login that must fail: exit 1, the
	// sentence on stderr, nothing on stdout, no keyring file, and no key
	// minted or revoked on the server since before.
	failedCleanly := func(t *testing.T, m *cliMachine, before keySnapshot, r cliResult, sentence string) {
		t.Helper()
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, sentence) {
			t.Errorf("login: exit %d, stdout %q, stderr:\n%s\nwant exit 1 and %q", r.Code, r.Stdout, r.Stderr, sentence)
		}
		if _, err := os.Stat(m.Path(".anaconda/keyring")); !os.IsNotExist(err) {
			t.Errorf("a keyring file exists after a failed login (%v)", err)
		}
		m.assertNoKeyStored(t, srv)
		if added, changed := keyChanges(t, srv, before); len(added)+len(changed) != 0 {
			t.Errorf("the failed login minted keys %v and changed %v", added, changed)
		}
	}

	t.Run("a cross-site approve is refused (checklist D3); denying in the browser fails the login", func(t *testing.T) {
		before := snapshotKeys(t, srv)
		m := newCLIMachine(t)
		p, authURL := m.startBrowserLogin(srv)
		signInThrough(t, b, srv, authURL, "#consent")

		// Another site (localhost is not 127.0.0.1) posts the very
		// approval the consent page would, all but the CSRF token.
		au, _ := url.Parse(authURL)
		var fields strings.Builder
		for k, vs := range au.Query() {
			fmt.Fprintf(&fields, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(vs[0]))
		}
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><title>prize</title><form method="post" action="%s/oauth/authorize">%s
<input type="hidden" name="decision" value="approve"><button id="go">Claim</button></form>`, html.EscapeString(srv.URL), fields.String())
		}))
		t.Cleanup(evil.Close)
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(evil.URL, "http://"))
		b.Do(t, "submitting the other site's approval",
			chromedp.Navigate("http://localhost:"+port+"/"),
			chromedp.WaitVisible(chromedp.ID("go")),
			chromedp.Click(chromedp.ID("go")),
			chromedp.WaitVisible(chromedp.ID("page-error")),
		)
		if msg := Get(t, b, "reading the refusal", chromedp.Text(chromedp.ID("page-error"))); !strings.Contains(msg, "Cross-site requests are refused") {
			t.Errorf("the cross-site approval was answered %q", msg)
		}
		if p.Exited() {
			t.Fatalf("the CLI stopped after the cross-site approval: %+v", p.Wait(time.Second))
		}

		signInThrough(t, b, srv, authURL, "#consent")
		b.Do(t, "denying", chromedp.Click(chromedp.ID("consent-deny")))
		if title := cliPageTitle(t, b); title != "Login denied" {
			t.Errorf("the CLI's page says %q", title)
		}
		failedCleanly(t, m, before, p.Wait(loginTimeout), "Login was denied in the browser.")
	})

	t.Run("forged callbacks with a wrong state are refused and the real one still logs in (checklist D1)", func(t *testing.T) {
		before := snapshotKeys(t, srv)
		m := newCLIMachine(t)
		p, authURL := m.startBrowserLogin(srv)
		au, _ := url.Parse(authURL)
		callback := au.Query().Get("redirect_uri")
		state := au.Query().Get("state")
		for _, forged := range []url.Values{
			{"code": {"forged-code"}, "state": {"not-" + state}},
			{"code": {"forged-code"}},
			{"code": {"forged-code"}, "state": {state[:len(state)-1]}},
			{"error": {"access_denied"}, "state": {"wrong"}}, // a forged denial must not end the login either
		} {
			res, err := httpClient.Get(callback + "?" + forged.Encode())
			if err != nil {
				t.Fatalf("forging %v: %v", forged, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "This link does not belong to the login in progress") {
				t.Errorf("forged callback %v: %d %s", forged, res.StatusCode, body)
			}
		}
		// Had any forged answer been taken, the login would have failed
		// (an unknown code, or denied) instead of ending with a key.
		signInThrough(t, b, srv, authURL, "#consent")
		b.Do(t, "approving", chromedp.Click(chromedp.ID("consent-approve")))
		cliPageTitle(t, b)
		if r := p.Wait(loginTimeout); r.Code != 0 {
			t.Fatalf("login after the forged callbacks: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
		}
		key := m.storedKey(srv)
		if added, _ := keyChanges(t, srv, before); len(added) != 1 || added[0] != name+":active" {
			t.Errorf("the login minted %v, want one active key named %s", added, name)
		}
		if m.OK("logout", "--at", srv.URL) == "" {
			t.Error("logout printed nothing")
		}
		if r := call(t, "GET", srv.URL+"/api/account", "", bearer(key)); r.Status != http.StatusUnauthorized {
			t.Errorf("the key after logout: %d", r.Status)
		}
	})

	t.Run("a code the server never issued, with the right state, fails the exchange: no key (checklist D1)", func(t *testing.T) {
		before := snapshotKeys(t, srv)
		m := newCLIMachine(t)
		p, authURL := m.startBrowserLogin(srv)
		au, _ := url.Parse(authURL)
		forged := url.Values{"code": {randomText(22) + randomText(21)}, "state": {au.Query().Get("state")}}
		res, err := httpClient.Get(au.Query().Get("redirect_uri") + "?" + forged.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		failedCleanly(t, m, before, p.Wait(loginTimeout), "The server refused the login while exchanging the login code: The code is not valid")
	})

	t.Run("with no display the CLI falls back to a code; denying it fails the login", func(t *testing.T) {
		before := snapshotKeys(t, srv)
		m := newCLIMachine(t)
		m.Setenv("DISPLAY=")
		p, verifyURL, code := m.startDeviceLogin(srv, "login", "--at", srv.URL)
		if !strings.Contains(p.stderr.String(), "No browser can be opened here (no graphical display: DISPLAY and WAYLAND_DISPLAY are unset); log in with a code instead.") {
			t.Errorf("the fallback is not explained:\n%s", p.stderr.String())
		}
		_, result := approveDevice(t, b, srv, verifyURL, code, false)
		if !strings.HasPrefix(result, strings.TrimPrefix(name, "cli-")+" was not signed in.") { // the machine, as it names itself
			t.Errorf("the device page says %q", result)
		}
		failedCleanly(t, m, before, p.Wait(loginTimeout), "Login was denied in the browser.")
		if len(m.Opened()) != 0 {
			t.Error("a browser was opened without a display")
		}
	})

	// The server has no setting to shorten the 10 minutes a device code
	// lives, so the test moves the pending login's expiry into the past
	// in the database (expireDeviceCode): the CLI's next poll and the
	// device page then meet a really expired code.
	t.Run("an expired device code fails the login, and the device page refuses it", func(t *testing.T) {
		before := snapshotKeys(t, srv)
		m := newCLIMachine(t)
		p, verifyURL, code := m.startDeviceLogin(srv)
		expireDeviceCode(t, srv, code)
		signInThrough(t, b, srv, verifyURL, "#device-form")
		b.Do(t, "typing the expired code",
			chromedp.SendKeys(chromedp.ID("user-code"), code),
			chromedp.Click(chromedp.ID("device-continue")),
			chromedp.WaitVisible(chromedp.ID("page-error")),
		)
		msg := Get(t, b, "reading the refusal", chromedp.Text(chromedp.ID("page-error")))
		if !strings.Contains(msg, "The code "+code+" is not valid") || !strings.Contains(msg, "expired") {
			t.Errorf("the device page says %q", msg)
		}
		failedCleanly(t, m, before, p.Wait(loginTimeout), "The code expired before it was approved. Run gatehouse login again.")
	})
	b.AssertNoPageErrors(t)
}
