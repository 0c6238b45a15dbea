package oauth

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/web"
)

// The authorization code grant with PKCE and a loopback redirect
// (RFC 6749 §4.1, RFC 7636, RFC 8252). GET /oauth/authorize checks the
// request, sends a signed-out person to sign in and back, and shows the
// consent page; POST /oauth/authorize (the page's Approve or Deny, with
// the CSRF token) stores an approved grant and redirects to the client.

// authorizeRequest is a checked authorization request.
type authorizeRequest struct {
	ClientID      string
	RedirectURI   string
	State         string
	CodeChallenge string
	Scope         string // as the client sent it, carried through the form
	ClientName    string // the machine, cleaned; may be empty
	Scopes        gatehouse.Scopes
	redirect      *url.URL
}

// authorizeParams are the request parameters; each may appear once
// (RFC 6749 §3.1).
var authorizeParams = []string{"client_id", "redirect_uri", "response_type", "state", "code_challenge",
	"code_challenge_method", "scope", "client_name", "machine"}

// redirectError is an authorization error that goes back to the client
// (RFC 6749 §4.1.2.1): only once client_id and redirect_uri are checked.
type redirectError struct {
	Code, Description string
}

func (e *redirectError) Error() string { return e.Code + ": " + e.Description }

// Limits on what a client sends, in bytes.
const (
	maxRedirectURI = 2048
	maxState       = 512
	maxScopeParam  = 1024
)

// parseAuthorizeRequest checks an authorization request in the order
// that decides where an error may go: a bad client or redirect URI is
// shown to the person (an *gatehouse.Error, never a redirect to an
// address not checked), anything else goes back to the client as a
// *redirectError.
func parseAuthorizeRequest(q url.Values, known func(clientID string) (string, bool)) (*authorizeRequest, error) {
	req := &authorizeRequest{}
	if len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1 {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "This sign-in link is not valid: it names the client or the return address twice. Start the sign-in again from your terminal.")
	}
	req.ClientID = q.Get("client_id")
	if _, ok := known(req.ClientID); !ok {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "This sign-in link is not valid: the program asking (client_id) is not one this server knows. Use gatehouse login, or anaconda-auth.")
	}
	req.RedirectURI = q.Get("redirect_uri")
	u, err := loopbackRedirect(req.RedirectURI)
	if err != nil {
		return nil, err
	}
	req.redirect = u
	for _, p := range authorizeParams {
		if len(q[p]) > 1 {
			return req, &redirectError{"invalid_request", "The parameter " + p + " appears more than once."}
		}
	}
	// The state goes back only if it is one: text of a sane length.
	if st := q.Get("state"); validUTF8Param(st, maxState) {
		req.State = st
	}
	switch {
	case q.Get("response_type") != "code":
		return req, &redirectError{"unsupported_response_type", "Only response_type=code is supported."}
	case req.State == "":
		return req, &redirectError{"invalid_request", "A state parameter (at most 512 characters) is required."}
	case q.Get("code_challenge_method") != "S256":
		return req, &redirectError{"invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256."}
	case !validCodeChallenge(q.Get("code_challenge")):
		return req, &redirectError{"invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)."}
	case !validUTF8Param(q.Get("scope"), maxScopeParam):
		return req, &redirectError{"invalid_scope", "The scope parameter is not valid."}
	}
	req.CodeChallenge = q.Get("code_challenge")
	req.Scope = q.Get("scope")
	req.Scopes = parseOAuthScope(req.Scope)
	req.ClientName = requestClientName(q.Get)
	return req, nil
}

// loopbackRedirect accepts only http to a loopback IP literal on any port
// (RFC 8252 §7.3): 127.0.0.1 or [::1], no user info, no fragment. Not
// "localhost" (§8.3): the name may resolve elsewhere, or be listened on
// by another program. Anything else could hand the code to another party.
func loopbackRedirect(raw string) (*url.URL, error) {
	bad := gatehouse.Errorf(gatehouse.EINVALID, "This sign-in link is not valid: the return address must be http://127.0.0.1:<port>/... or http://[::1]:<port>/.... Start the sign-in again from your terminal.")
	if raw == "" || !validUTF8Param(raw, maxRedirectURI) || strings.ContainsAny(raw, "\\ ") {
		return nil, bad
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Opaque != "" || u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, bad
	}
	m := loopbackHost.FindStringSubmatch(u.Host)
	if m == nil {
		return nil, bad
	}
	if m[1] != "" {
		if n, err := strconv.Atoi(m[1]); err != nil || n < 1 || n > 65535 {
			return nil, bad
		}
	}
	return u, nil
}

// loopbackHost is the host part of a loopback redirect URI; the group is
// the port, which may be any.
var loopbackHost = regexp.MustCompile(`^(?:127\.0\.0\.1|\[::1\])(?::([0-9]{1,5}))?$`)

// validCodeChallenge: an S256 challenge is base64url (no padding) of 32
// bytes, 43 characters.
func validCodeChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if !isBase64URL(c[i]) {
			return false
		}
	}
	return true
}

func isBase64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// clientRedirect returns the client's redirect URI with params added to
// its query (RFC 6749 §3.1.2: the query it had is kept).
func clientRedirect(u *url.URL, params url.Values) string {
	v := *u
	q := v.Query()
	for k, vs := range params {
		q[k] = vs
	}
	v.RawQuery = q.Encode()
	return v.String()
}

// authorizeFailed answers a bad authorization request: back to the
// client when it may go there, else an error page.
func (o *Server) authorizeFailed(w http.ResponseWriter, r *http.Request, c *web.Ctx, req *authorizeRequest, err error) {
	var re *redirectError
	if errors.As(err, &re) && req != nil && req.redirect != nil {
		params := url.Values{"error": {re.Code}, "error_description": {re.Description}}
		if req.State != "" {
			params.Set("state", req.State)
		}
		http.Redirect(w, r, clientRedirect(req.redirect, params), http.StatusSeeOther)
		return
	}
	o.cfg.Pages.Error(w, r, c, err)
}

func (o *Server) handleAuthorizePage(w http.ResponseWriter, r *http.Request) {
	req, err := parseAuthorizeRequest(r.URL.Query(), o.cfg.Login.Client)
	if err != nil {
		o.authorizeFailed(w, r, nil, req, err)
		return
	}
	c, err := o.cfg.Pages.Current(r)
	if err != nil {
		o.cfg.Pages.Error(w, r, nil, err)
		return
	}
	if c == nil {
		// Back here, query and all, after signing in.
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	hidden := []hiddenField{
		{"client_id", req.ClientID}, {"redirect_uri", req.RedirectURI}, {"response_type", "code"},
		{"state", req.State}, {"code_challenge", req.CodeChallenge}, {"code_challenge_method", "S256"},
		{"scope", req.Scope}, {"client_name", req.ClientName},
	}
	client, _ := o.cfg.Login.Client(req.ClientID)
	o.renderConsent(w, r, c, http.StatusOK, &consentPage{
		Machine: req.ClientName, Client: client, Scopes: grantable(req.Scopes, c),
		Action: "/oauth/authorize", Hidden: hidden, ReturnTo: loopbackOrigin(req.redirect),
	})
}

// handleAuthorizeDecision is the consent page's Approve or Deny. Pages.Page
// has checked the session, the CSRF token and that the post is not
// cross-site (checklist D3).
func (o *Server) handleAuthorizeDecision(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	req, err := parseAuthorizeRequest(r.PostForm, o.cfg.Login.Client)
	if err != nil {
		o.authorizeFailed(w, r, c, req, err)
		return nil
	}
	grant := gatehouse.CodeGrantRequest{ClientID: req.ClientID, RedirectURI: req.RedirectURI,
		CodeChallenge: req.CodeChallenge, ClientName: req.ClientName, Scopes: req.Scopes}
	switch r.PostForm.Get("decision") {
	case "deny":
		o.cfg.Login.DenyCode(r.Context(), c.Principal(), grant)
		http.Redirect(w, r, clientRedirect(req.redirect, url.Values{
			"error": {"access_denied"}, "error_description": {"The sign-in was denied in the browser."}, "state": {req.State},
		}), http.StatusSeeOther)
		return nil
	case "approve":
	default:
		return gatehouse.Errorf(gatehouse.EINVALID, "Choose Approve or Deny.")
	}
	code, err := o.cfg.Login.ApproveCode(r.Context(), c.Principal(), grant)
	if err != nil {
		return err
	}
	http.Redirect(w, r, clientRedirect(req.redirect, url.Values{"code": {code}, "state": {req.State}}), http.StatusSeeOther)
	return nil
}

// loopbackOrigin is the origin of a checked loopback redirect URI.
func loopbackOrigin(u *url.URL) string {
	if u == nil {
		return ""
	}
	return "http://" + u.Host
}
