package cli

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os/exec"
	"time"

	"golang.org/x/oauth2"
)

// errNoBrowser means the browser could not be opened; login falls back to
// the device flow.
var errNoBrowser = errors.New("could not open a browser")

// oauthHTTPClient is the client x/oauth2 uses: the CLI's transport, its
// User-Agent, and a per-request bound (x/oauth2 sends some requests
// without a context).
func (env *Env) oauthHTTPClient(t *target) *http.Client {
	base := env.httpClient(t)
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	version := env.Version
	if version == "" {
		version = "dev"
	}
	return &http.Client{Transport: uaTransport{rt, "gatehouse-cli/" + version}, Timeout: 30 * time.Second}
}

type uaTransport struct {
	rt http.RoundTripper
	ua string
}

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.rt.RoundTrip(r)
}

// canOpenBrowser says whether a browser can be shown to the person here,
// and why not.
func (env *Env) canOpenBrowser() (bool, string) {
	if env.getenv("SSH_CONNECTION") != "" || env.getenv("SSH_TTY") != "" {
		return false, "this is an SSH session"
	}
	switch env.goos() {
	case "darwin", "windows":
		return true, ""
	}
	if env.getenv("DISPLAY") == "" && env.getenv("WAYLAND_DISPLAY") == "" {
		return false, "no graphical display: DISPLAY and WAYLAND_DISPLAY are unset"
	}
	return true, ""
}

// openBrowser opens u in the person's browser.
func (env *Env) openBrowser(ctx context.Context, u string) error {
	if env.OpenBrowser != nil {
		return env.OpenBrowser(ctx, u)
	}
	var name string
	var args []string
	switch env.goos() {
	case "darwin":
		name, args = "open", []string{u}
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler", u}
	default:
		name, args = "xdg-open", []string{u}
	}
	cmd := exec.Command(name, args...) // no shell: the URL is one argument
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	case <-time.After(5 * time.Second):
		return nil // still running: a browser is starting in the foreground
	}
}

// callbackResult is what the loopback redirect brought back.
type callbackResult struct {
	code string
	err  error
}

// browserLogin runs the authorization code flow with PKCE (S256) and a
// loopback redirect (RFC 8252): it listens on 127.0.0.1 at a free port,
// opens the browser at the authorization endpoint, waits for the redirect
// with the code, checks state, and exchanges the code with the verifier.
func (env *Env) browserLogin(ctx context.Context, oc *oauth2.Config, clientName string, t *target) (*oauth2.Token, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%w: cannot listen on 127.0.0.1 for the browser's answer: %v", errNoBrowser, err)
	}
	cfg := *oc
	cfg.RedirectURL = fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port)
	state := randomToken()
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("client_name", clientName))

	results := make(chan callbackResult, 1)
	srv := &http.Server{Handler: callbackHandler(state, results), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	fmt.Fprintf(env.Stderr, "Opening your browser to log in to %s.\nIf it does not open, visit this URL on this machine:\n\n    %s\n\n", t.domain, authURL)
	if err := env.openBrowser(ctx, authURL); err != nil {
		return nil, fmt.Errorf("%w (%v)", errNoBrowser, err)
	}
	fmt.Fprintln(env.Stderr, "Waiting for you to approve the login in the browser...")
	var r callbackResult
	select {
	case r = <-results:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, exitf(ExitFailure, "The login was not approved within %s. Run gatehouse login again (or gatehouse login --device).", env.loginTimeout())
		}
		return nil, exitf(ExitFailure, "The login was interrupted.")
	}
	if r.err != nil {
		return nil, r.err
	}
	tok, err := cfg.Exchange(ctx, r.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, oauthError("exchanging the login code", err)
	}
	return tok, nil
}

// callbackHandler answers the browser's redirect. A request whose state
// is not ours (another site's page, a stale tab) is refused and the wait
// goes on; the first real answer is delivered.
func callbackHandler(state string, results chan<- callbackResult) http.Handler {
	deliver := func(r callbackResult) {
		select {
		case results <- r:
		default:
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			page(w, http.StatusBadRequest, "This link does not belong to the login in progress", "Go back to the terminal and follow the link it printed.")
			return
		}
		switch e := q.Get("error"); {
		case e == "access_denied":
			page(w, http.StatusOK, "Login denied", "You can close this tab.")
			deliver(callbackResult{err: exitf(ExitFailure, "Login was denied in the browser.")})
		case e != "":
			desc := q.Get("error_description")
			if desc == "" {
				desc = e
			}
			page(w, http.StatusOK, "Login failed", "The server said: "+desc)
			deliver(callbackResult{err: exitf(ExitFailure, "The login failed: %s", desc)})
		case q.Get("code") == "":
			page(w, http.StatusBadRequest, "No login code", "Go back to the terminal and try again.")
		default:
			page(w, http.StatusOK, "Logged in", "You can close this tab and return to the terminal.")
			deliver(callbackResult{code: q.Get("code")})
		}
	})
}

// page writes a small HTML page. The URL it answers holds the code, so the
// page sends no Referer and loads nothing.
func page(w http.ResponseWriter, status int, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, callbackPage, html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}

// callbackPage looks like the server's pages (its top bar, a centred
// card), with its style inline: the CLI's listener serves nothing else.
const callbackPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>%s · Gatehouse</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#f6f7f9}
.topbar{padding:.6rem 1.5rem;background:#13261b;color:#fff;font-weight:700;letter-spacing:.02em}
main{padding:0 1rem}
.card{background:#fff;border:1px solid #dfe3ea;border-radius:10px;padding:1.25rem 1.5rem;max-width:26rem;margin:3rem auto}
h1{font-size:1.6rem;margin:0 0 .5rem}
p{margin:.4rem 0;overflow-wrap:anywhere}
.muted{color:#5d6677;font-size:.85rem}
</style></head>
<body><header class="topbar">Gatehouse</header>
<main><section class="card" id="cli-result"><h1 id="cli-page-title">%s</h1><p id="cli-page-text">%s</p>
<p class="muted">This page was shown by the gatehouse command on this computer.</p></section></main>
</body></html>`

// deviceLogin runs the device authorization grant (RFC 8628): it shows
// the verification URL and user code, then polls until the login is
// approved, denied or expired.
func (env *Env) deviceLogin(ctx context.Context, oc *oauth2.Config, clientName string, t *target) (*oauth2.Token, error) {
	da, err := oc.DeviceAuth(ctx, oauth2.SetAuthURLParam("client_name", clientName))
	if err != nil {
		return nil, oauthError("starting the login", err)
	}
	w := env.Stderr
	fmt.Fprintf(w, "To log in to %s, open this page in a browser on any device:\n\n    %s\n\nand enter the code:\n\n    %s\n\n", t.domain, da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "(or open %s to skip typing the code)\n", da.VerificationURIComplete)
	}
	if !da.Expiry.IsZero() {
		fmt.Fprintf(w, "The code expires %s. ", until(time.Now(), da.Expiry))
	}
	fmt.Fprintln(w, "Waiting for approval...")
	tok, err := oc.DeviceAccessToken(ctx, da)
	if err == nil {
		return tok, nil
	}
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "access_denied":
		return nil, exitf(ExitFailure, "Login was denied in the browser.")
	case errors.As(err, &re) && re.ErrorCode == "expired_token", errors.Is(err, context.DeadlineExceeded):
		return nil, exitf(ExitFailure, "The code expired before it was approved. Run gatehouse login again.")
	}
	return nil, oauthError("waiting for approval", err)
}

// oauthError turns an x/oauth2 error into a sentence.
func oauthError(doing string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := re.ErrorDescription
		if msg == "" {
			msg = re.ErrorCode
		}
		if msg == "" && re.Response != nil {
			msg = re.Response.Status
		}
		return exitf(ExitFailure, "The server refused the login while %s: %s", doing, msg)
	}
	if errors.Is(err, context.Canceled) {
		return exitf(ExitFailure, "The login was interrupted.")
	}
	return exitf(ExitFailure, "The login failed while %s: %v", doing, err)
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
