package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// The token endpoint (RFC 6749 §3.2, §4.1.3, §5; RFC 8628 §3.4). It
// trades an authorization code (with its PKCE verifier) or an approved
// device code for an access token, exactly once: the grant moves from
// approved to used in one conditional update, so a replay, even a
// concurrent one, gets invalid_grant and no token (checklist D1).

// oauthError is an error answer of the token and device endpoints: JSON
// {"error", "error_description"} (RFC 6749 §5.2), 400 unless Status says.
type oauthError struct {
	Code, Description string
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	writeOAuthErrorStatus(w, http.StatusBadRequest, e)
}

func writeOAuthErrorStatus(w http.ResponseWriter, status int, e *oauthError) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, status, map[string]string{"error": e.Code, "error_description": e.Description})
}

// tokenEndpointFailed answers an error that is not the client's: the
// store is down (503, retry) or a bug (500, logged, never shown).
func (o *oauthServer) tokenEndpointFailed(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if errors.As(err, &oe) {
		writeOAuthError(w, oe)
		return
	}
	if gatehouse.ErrorCode(err) == gatehouse.EUNAVAILABLE {
		writeOAuthErrorStatus(w, http.StatusServiceUnavailable, &oauthError{"temporarily_unavailable", gatehouse.ErrorMessage(err)})
		return
	}
	o.s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	writeOAuthErrorStatus(w, http.StatusInternalServerError, &oauthError{"server_error", gatehouse.ErrorMessage(err)})
}

// maxOAuthForm bounds the body of the token and device endpoints.
const maxOAuthForm = 16 << 10

// readOAuthForm reads the form body of a token or device request.
func readOAuthForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOAuthForm))
	if err != nil {
		return nil, &oauthError{"invalid_request", "The request body is over 16 KiB or could not be read."}
	}
	return parseOAuthForm(r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body)
}

// parseOAuthForm parses a form-encoded token or device request: every
// parameter at most once (RFC 6749 §3.2), and the client_id taken from
// HTTP Basic when the client sends it there (RFC 6749 §2.3.1, with an
// empty secret: our clients are public).
func parseOAuthForm(contentType, authorization string, body []byte) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &oauthError{"invalid_request", "Send the parameters form-encoded, with Content-Type: application/x-www-form-urlencoded."}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &oauthError{"invalid_request", "The form body cannot be parsed."}
	}
	for k, vs := range form {
		if len(vs) > 1 {
			return nil, &oauthError{"invalid_request", "The parameter " + truncateParam(k) + " appears more than once."}
		}
		if !validUTF8Param(k, 64) || !validUTF8Param(vs[0], maxRedirectURI) {
			return nil, &oauthError{"invalid_request", "A parameter is not valid text."}
		}
	}
	if authorization != "" {
		scheme, value, _ := strings.Cut(authorization, " ")
		if !strings.EqualFold(scheme, "basic") {
			return nil, &oauthError{"invalid_client", "Public clients send no credentials; send client_id in the form."}
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		if err != nil {
			return nil, &oauthError{"invalid_client", "The Authorization header cannot be decoded."}
		}
		id, secret, _ := strings.Cut(string(raw), ":")
		id, err1 := url.QueryUnescape(id)
		secret, err2 := url.QueryUnescape(secret)
		switch {
		case err1 != nil || err2 != nil || !validUTF8Param(id, 256):
			return nil, &oauthError{"invalid_client", "The Authorization header cannot be decoded."}
		case secret != "":
			return nil, &oauthError{"invalid_client", "This client is public: it has no secret."}
		case form.Has("client_id") && form.Get("client_id") != id:
			return nil, &oauthError{"invalid_request", "The client_id in the form and in the Authorization header differ."}
		}
		form.Set("client_id", id)
	}
	return form, nil
}

func truncateParam(k string) string {
	if len(k) > 32 || !validUTF8Param(k, 32) {
		return "(a long or unreadable name)"
	}
	return strconv.Quote(k)
}

// tokenAnswer is the successful token response (RFC 6749 §5.1).
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

var (
	errInvalidGrant  = &oauthError{"invalid_grant", "The code is not valid: it is unknown, used already, expired, or was issued for another client, redirect URI or code verifier. Sign in again."}
	errUnknownDevice = &oauthError{"invalid_grant", "The device code is not valid: it is unknown or used already. Sign in again."}
)

func (o *oauthServer) handleToken(w http.ResponseWriter, r *http.Request) {
	s := o.s
	ctx := r.Context()
	o.maybeSweep(ctx)
	ip := s.clientAddr(r).String()
	if blocked, wait := o.failures.blocked(ip); blocked {
		s.metrics.rateLimited.Inc()
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		writeOAuthErrorStatus(w, http.StatusTooManyRequests, &oauthError{"invalid_request",
			"Too many failed attempts from this address. Wait " + strconv.Itoa(wait) + " seconds and try again."})
		return
	}
	form, oerr := readOAuthForm(w, r)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	clientID := form.Get("client_id")
	if _, ok := publicClients[clientID]; !ok {
		o.failures.fail(ip)
		writeOAuthError(w, &oauthError{"invalid_client", "Unknown client_id."})
		return
	}
	var (
		g   *gatehouse.OAuthGrant
		err error
	)
	switch form.Get("grant_type") {
	case grantTypeCode:
		g, err = o.exchangeCode(ctx, form, clientID)
	case grantTypeDevice:
		g, err = o.exchangeDevice(ctx, form, clientID)
	case "":
		err = &oauthError{"invalid_request", "grant_type is required."}
	default:
		err = &oauthError{"unsupported_grant_type", "Supported grant types: " + grantTypeCode + ", " + grantTypeDevice + "."}
	}
	var answer *tokenAnswer
	if err == nil {
		answer, err = o.issueToken(ctx, g, ip)
	}
	if err != nil {
		var oe *oauthError
		if errors.As(err, &oe) && (oe.Code == "invalid_grant" || oe.Code == "slow_down") {
			o.failures.fail(ip)
		}
		if errors.As(err, &oe) && oe.Code == "invalid_grant" {
			e := &gatehouse.AuditEvent{Action: gatehouse.AuditOAuthToken, Target: "login", IP: ip,
				Detail: "client=" + clientID + " grant_type=" + form.Get("grant_type") + ": " + oe.Description}
			if g != nil {
				e.ActorID, e.Target = g.UserID, loginTarget(g.ClientName)
			}
			s.audit(ctx, e)
		}
		o.tokenEndpointFailed(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, answer)
}

// exchangeCode checks an authorization code and uses it up. A code
// presented with the wrong client, redirect URI or verifier is used up
// too: the client it was issued to never makes that mistake, so whoever
// did holds a stolen code. On failure the grant is returned when known,
// for the audit record.
func (o *oauthServer) exchangeCode(ctx context.Context, form url.Values, clientID string) (*gatehouse.OAuthGrant, error) {
	s := o.s
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	if code == "" || redirectURI == "" || verifier == "" {
		return nil, &oauthError{"invalid_request", "code, redirect_uri and code_verifier are required (PKCE)."}
	}
	g, err := s.store.GrantByCodeHash(ctx, hashSecret(code))
	switch gatehouse.ErrorCode(err) {
	case "":
	case gatehouse.ENOTFOUND:
		return nil, errInvalidGrant
	default:
		return nil, err
	}
	if g.Kind != gatehouse.GrantCode || g.Status != gatehouse.GrantApproved || !s.now().Before(g.ExpiresAt) {
		return g, errInvalidGrant
	}
	if g.ClientID != clientID || g.RedirectURI != redirectURI || !pkceMatches(verifier, g.CodeChallenge) {
		if err := s.store.SetGrantStatus(ctx, g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0); err != nil &&
			gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			return g, err
		}
		return g, errInvalidGrant
	}
	if err := s.store.SetGrantStatus(ctx, g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return g, errInvalidGrant // a replay that raced the first use
		}
		return g, err
	}
	return g, nil
}

// pkceMatches checks an S256 code verifier against the challenge
// (RFC 7636 §4.1, §4.6): 43 to 128 unreserved characters whose SHA-256,
// base64url without padding, is the challenge.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		if c := verifier[i]; !isBase64URL(c) && c != '.' && c != '~' {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// exchangeDevice answers a device-flow poll: pending (or slow_down when
// polled faster than the interval), denied, expired, or the token, once.
func (o *oauthServer) exchangeDevice(ctx context.Context, form url.Values, clientID string) (*gatehouse.OAuthGrant, error) {
	s := o.s
	deviceCode := form.Get("device_code")
	if deviceCode == "" {
		return nil, &oauthError{"invalid_request", "device_code is required."}
	}
	g, err := s.store.GrantByCodeHash(ctx, hashSecret(deviceCode))
	switch gatehouse.ErrorCode(err) {
	case "":
	case gatehouse.ENOTFOUND:
		return nil, errUnknownDevice
	default:
		return nil, err
	}
	if g.Kind != gatehouse.GrantDevice || g.ClientID != clientID || g.Status == gatehouse.GrantUsed {
		return g, errUnknownDevice
	}
	now := s.now()
	if !now.Before(g.ExpiresAt) {
		return g, &oauthError{"expired_token", "The sign-in expired before it was approved (codes last 10 minutes). Start it again."}
	}
	switch g.Status {
	case gatehouse.GrantPending:
		tooSoon := !g.LastPolledAt.IsZero() && now.Sub(g.LastPolledAt) < deviceInterval-pollSlack
		if err := s.store.TouchGrantPoll(ctx, g.ID, now); err != nil {
			return g, err
		}
		if tooSoon {
			return g, &oauthError{"slow_down", "Polling too fast: wait at least " + strconv.Itoa(int(deviceInterval.Seconds())) + " seconds between requests."}
		}
		return g, &oauthError{"authorization_pending", "Waiting for the code to be entered and approved at " + s.absURL("/device") + "."}
	case gatehouse.GrantDenied:
		return g, &oauthError{"access_denied", "The sign-in was denied in the browser."}
	}
	if err := s.store.SetGrantStatus(ctx, g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return g, errUnknownDevice
		}
		return g, err
	}
	return g, nil
}

// issueToken creates the access token for a grant just used, for its
// user as they are now.
func (o *oauthServer) issueToken(ctx context.Context, g *gatehouse.OAuthGrant, ip string) (*tokenAnswer, error) {
	s := o.s
	u, err := s.store.UserByID(ctx, g.UserID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || err == nil && u.Disabled {
		return nil, &oauthError{"invalid_grant", "The account that approved this sign-in is disabled or gone."}
	} else if err != nil {
		return nil, err
	}
	token := accessTokenPrefix + randomToken()
	now := s.now()
	t := &gatehouse.AccessToken{Hash: hashSecret(token), UserID: u.ID, Scopes: g.Scopes, ClientName: g.ClientName,
		CreatedAt: now, ExpiresAt: now.Add(accessTokenLifetime)}
	if err := s.store.CreateAccessToken(ctx, t); err != nil {
		return nil, err
	}
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: u.ID, Actor: u.Username, Action: gatehouse.AuditOAuthToken, Target: loginTarget(g.ClientName),
		IP: ip, Success: true, Detail: "client=" + g.ClientID + " flow=" + g.Kind + " scopes=" + g.Scopes.String() +
			" grant=" + strconv.FormatInt(g.ID, 10)})
	return &tokenAnswer{AccessToken: token, TokenType: "Bearer", ExpiresIn: int(accessTokenLifetime.Seconds()), Scope: scopeNames(g.Scopes)}, nil
}
