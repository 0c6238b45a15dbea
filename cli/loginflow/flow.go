// Package loginflow runs the OAuth 2.0 side of a CLI login, as a public
// client of the server's authorization server: the authorization code flow
// with PKCE and a loopback redirect (RFC 8252) in the person's browser, or
// the device authorization grant (RFC 8628), a code entered on any device.
// It ends with an access token; what the login does with it (create and
// store a key) is package cli's. Its errors are sentences for the person,
// printed as they are.
package loginflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/secret"
	"golang.org/x/oauth2"
)

// ErrNoBrowser means the browser could not be opened; the login falls
// back to the device flow.
var ErrNoBrowser = errors.New("could not open a browser")

// Flow is one login's OAuth side.
type Flow struct {
	// Config holds the client ID, the scopes and the server's endpoints.
	Config *oauth2.Config
	// ClientName is how the machine names itself on the consent page
	// (client_name): its host name.
	ClientName string
	// Domain names the server in what the person is told.
	Domain string
	// Stderr is where the person is told what to do.
	Stderr io.Writer
	// HTTPClient carries the requests to the server (its transport and TLS
	// settings); nil means http.DefaultClient's transport.
	HTTPClient *http.Client
	// UserAgent is sent with every request x/oauth2 makes.
	UserAgent string
	// OpenBrowser opens a URL in the person's browser; nil runs xdg-open,
	// open or rundll32, as GOOS needs.
	OpenBrowser func(ctx context.Context, url string) error
	// GOOS stands in for runtime.GOOS ("" means runtime.GOOS).
	GOOS string
	// Timeout is the bound the caller put on the context, named when the
	// browser login runs out of it.
	Timeout time.Duration
}

// oauthContext hands x/oauth2 the client it uses: the CLI's transport, its
// User-Agent, and a per-request bound (x/oauth2 sends some requests
// without a context).
func (f *Flow) oauthContext(ctx context.Context) context.Context {
	var rt http.RoundTripper
	if f.HTTPClient != nil {
		rt = f.HTTPClient.Transport
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc := &http.Client{Transport: uaTransport{rt, f.UserAgent}, Timeout: 30 * time.Second}
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
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

// Browser runs the authorization code flow with PKCE (S256) and a loopback
// redirect (RFC 8252): it listens on 127.0.0.1 at a free port, opens the
// browser at the authorization endpoint, waits for the redirect with the
// code, checks state, and exchanges the code with the verifier. An error
// that wraps ErrNoBrowser means the device flow may still work.
func (f *Flow) Browser(ctx context.Context) (*oauth2.Token, error) {
	ctx = f.oauthContext(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%w: cannot listen on 127.0.0.1 for the browser's answer: %v", ErrNoBrowser, err)
	}
	cfg := *f.Config
	cfg.RedirectURL = fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port)
	state := secret.Token()
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("client_name", f.ClientName))

	results := make(chan callbackResult, 1)
	srv := &http.Server{Handler: callbackHandler(state, results), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	// Shutdown, not Close: the answer that ends the wait is delivered while
	// its page is still going out, and Close would cut it off (the browser
	// would show its own error page instead).
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()

	fmt.Fprintf(f.Stderr, "Opening your browser to log in to %s.\nIf it does not open, visit this URL on this machine:\n\n    %s\n\n", f.Domain, authURL)
	if err := f.openBrowser(ctx, authURL); err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoBrowser, err)
	}
	fmt.Fprintln(f.Stderr, "Waiting for you to approve the login in the browser...")
	var r callbackResult
	select {
	case r = <-results:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, failf("The login was not approved within %s. Run gatehouse login again (or gatehouse login --device).", f.Timeout)
		}
		return nil, failf("The login was interrupted.")
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

// Device runs the device authorization grant (RFC 8628): it shows the
// verification URL and user code, then polls until the login is approved,
// denied or expired.
func (f *Flow) Device(ctx context.Context) (*oauth2.Token, error) {
	ctx = f.oauthContext(ctx)
	oc := f.Config
	da, err := oc.DeviceAuth(ctx, oauth2.SetAuthURLParam("client_name", f.ClientName))
	if err != nil {
		return nil, oauthError("starting the login", err)
	}
	w := f.Stderr
	fmt.Fprintf(w, "To log in to %s, open this page in a browser on any device:\n\n    %s\n\nand enter the code:\n\n    %s\n\n", f.Domain, da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "(or open %s to skip typing the code)\n", da.VerificationURIComplete)
	}
	if !da.Expiry.IsZero() {
		fmt.Fprintf(w, "The code expires %s. ", output.Until(time.Now(), da.Expiry))
	}
	fmt.Fprintln(w, "Waiting for approval...")
	tok, err := oc.DeviceAccessToken(ctx, da)
	if err == nil {
		return tok, nil
	}
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "access_denied":
		return nil, failf("Login was denied in the browser.")
	case errors.As(err, &re) && re.ErrorCode == "expired_token", errors.Is(err, context.DeadlineExceeded):
		return nil, failf("The code expired before it was approved. Run gatehouse login again.")
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
		return failf("The server refused the login while %s: %s", doing, msg)
	}
	if errors.Is(err, context.Canceled) {
		return failf("The login was interrupted.")
	}
	return failf("The login failed while %s: %v", doing, err)
}

// failf returns a failure as the sentence the person reads. It starts
// with a capital and ends with a full stop, unlike Go's error strings,
// because the CLI prints it alone (as package cli's exitf does).
func failf(format string, args ...any) error { return fmt.Errorf(format, args...) }
