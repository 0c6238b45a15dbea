package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The official `anaconda auth login` with use_device_flow = false (issue
// 10): anaconda-auth opens the server's authorization page in the
// browser, listens on its loopback redirect_uri for the code, trades it
// (with its PKCE verifier) for a token and the token for a key. The
// browser is the test's Chromium: a BROWSER program hands it the URL.
func TestAnacondaAuthBrowserLogin(t *testing.T) {
	// anaconda-auth listens where its redirect_uri says: a free port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	redirect := "http://" + listen + "/auth/oidc"
	site := newAnacondaSite(t, fmt.Sprintf("use_device_flow = false\nredirect_uri = %q\n", redirect))
	srv := site.srv

	opened := filepath.Join(t.TempDir(), "opened")
	opener := filepath.Join(t.TempDir(), "open-url")
	if err := os.WriteFile(opener, []byte("#!/bin/sh\nprintf '%s\\n' \"$1\" >> "+opened+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(site.env, "BROWSER="+opener) // the last value wins

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(site.kit, "bin", "anaconda"), "auth", "login")
	cmd.Env, cmd.Dir = env, site.home
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var authURL string
	for deadline := time.Now().Add(time.Minute); authURL == ""; time.Sleep(50 * time.Millisecond) {
		if b, _ := os.ReadFile(opened); len(b) > 0 {
			authURL = strings.TrimSpace(string(b))
			break
		}
		select {
		case err := <-done:
			t.Fatalf("anaconda auth login ended (%v) before opening a browser:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("anaconda auth login opened no browser:\n%s", out.String())
		}
	}
	au, err := url.Parse(authURL)
	if err != nil || au.Scheme != "https" || au.Host != site.domain {
		t.Fatalf("anaconda-auth opened %q, not a page of https://%s", authURL, site.domain)
	}
	q := au.Query()
	if q.Get("redirect_uri") != redirect || q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" {
		t.Fatalf("the authorization URL is not the PKCE code flow to %s: %s", redirect, authURL)
	}

	// The browser opens the page on the server's own address (its session
	// cookie lives there); the path and query are anaconda-auth's.
	b := NewBrowser(t, 90*time.Second)
	signInThrough(t, b, srv, srv.URL+au.RequestURI(), "#consent")
	facts := readConsent(t, b)
	if !strings.Contains(facts.Client, "anaconda-auth") || facts.Account != "admin" || facts.ReturnTo != "http://"+listen {
		t.Errorf("the consent page says %+v", facts)
	}
	b.Do(t, "approving", chromedp.Click(chromedp.ID("consent-approve")))

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("anaconda auth login: %v\n%s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("anaconda auth login did not finish after the approval:\n%s", out.String())
	}
	// anaconda-auth sent the browser on to the server's landing page.
	if loc := b.Location(t); !strings.HasPrefix(loc, "https://"+site.domain+"/app/local-login-success") {
		t.Errorf("after the login the browser is at %q", loc)
	}

	key, err := kitRun(t, site.kit, site.env, time.Minute, "anaconda", "auth", "api-key")
	if err != nil {
		t.Fatalf("anaconda auth api-key: %v\n%s", err, key)
	}
	key = strings.TrimSpace(key)
	srv.RecordSecret(key)
	if r := get(t, srv.URL+"/api/account", bearer(key)); r.Status != http.StatusOK || !strings.Contains(r.Body, `"admin"`) {
		t.Fatalf("the key from the browser login: GET /api/account %d %s", r.Status, r.Body)
	}
	condarc := filepath.Join(t.TempDir(), "condarc.yml")
	rc := fmt.Sprintf("channels: []\nssl_verify: %s\nchannel_settings:\n  - channel: \"https://%s/*\"\n    auth: anaconda-auth\n", site.certPath, site.domain)
	if err := os.WriteFile(condarc, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := condaInstall(t, site.kit, site.env, condarc, "https://"+site.domain+"/repo/lab", "aademo"); err != nil {
		t.Fatalf("conda create with the key from the browser login: %v\n%s", err, out)
	}
}
