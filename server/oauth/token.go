package oauth

import (
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// The token endpoint (RFC 6749 §3.2, §4.1.3, §5; RFC 8628 §3.4): it
// parses the form and hands the request to the LoginService, which trades
// a code or an approved device code for an access token exactly once.

// oauthErr is an OAuth error answer: the code as Reason.
func oauthErr(code, description string) *gatehouse.Error {
	return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: code, Message: description}
}

// maxOAuthForm bounds the body of the token and device endpoints.
const maxOAuthForm = 16 << 10

// readOAuthForm reads the form body of a token or device request.
func readOAuthForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOAuthForm))
	if err != nil {
		return nil, oauthErr("invalid_request", "The request body is over 16 KiB or could not be read.")
	}
	form, oerr := parseOAuthForm(r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body)
	if oerr != nil {
		return nil, oerr
	}
	return form, nil
}

// parseOAuthForm parses a form-encoded token or device request: every
// parameter at most once (RFC 6749 §3.2), and the client_id taken from
// HTTP Basic when the client sends it there (RFC 6749 §2.3.1, with an
// empty secret: our clients are public).
func parseOAuthForm(contentType, authorization string, body []byte) (url.Values, *gatehouse.Error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oauthErr("invalid_request", "Send the parameters form-encoded, with Content-Type: application/x-www-form-urlencoded.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oauthErr("invalid_request", "The form body cannot be parsed.")
	}
	for k, vs := range form {
		if len(vs) > 1 {
			return nil, oauthErr("invalid_request", "The parameter "+truncateParam(k)+" appears more than once.")
		}
		if !validUTF8Param(k, 64) || !validUTF8Param(vs[0], maxRedirectURI) {
			return nil, oauthErr("invalid_request", "A parameter is not valid text.")
		}
	}
	if scheme, _, _ := strings.Cut(authorization, " "); strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "token") {
		// Not client authentication but a user's credential: anaconda-auth
		// sends its stored API key with every request, device and token
		// requests of a second login included. A public client has nothing
		// to prove here, and the grant is approved by a person, so the
		// header is ignored (it is never checked nor logged).
		authorization = ""
	}
	if authorization != "" {
		scheme, value, _ := strings.Cut(authorization, " ")
		if !strings.EqualFold(scheme, "basic") {
			return nil, oauthErr("invalid_client", "Public clients send no credentials; send client_id in the form.")
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		if err != nil {
			return nil, oauthErr("invalid_client", "The Authorization header cannot be decoded.")
		}
		id, secret, _ := strings.Cut(string(raw), ":")
		id, err1 := url.QueryUnescape(id)
		secret, err2 := url.QueryUnescape(secret)
		switch {
		case err1 != nil || err2 != nil || !validUTF8Param(id, 256):
			return nil, oauthErr("invalid_client", "The Authorization header cannot be decoded.")
		case secret != "":
			return nil, oauthErr("invalid_client", "This client is public: it has no secret.")
		case form.Has("client_id") && form.Get("client_id") != id:
			return nil, oauthErr("invalid_request", "The client_id in the form and in the Authorization header differ.")
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

func (o *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	form, err := readOAuthForm(w, r)
	if err != nil {
		o.cfg.Reply.OAuth(w, r, err)
		return
	}
	tok, err := o.cfg.Login.Redeem(r.Context(), gatehouse.TokenRequest{
		GrantType: form.Get("grant_type"), ClientID: form.Get("client_id"), Code: form.Get("code"),
		RedirectURI: form.Get("redirect_uri"), CodeVerifier: form.Get("code_verifier"), DeviceCode: form.Get("device_code"),
	}, o.cfg.Addrs.Client(r))
	if err != nil {
		o.cfg.Reply.OAuth(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	reply.JSON(w, http.StatusOK, tokenAnswer{AccessToken: tok.Token, TokenType: "Bearer",
		ExpiresIn: int(tok.ExpiresIn / time.Second), Scope: scopeNames(tok.Scopes)})
}
