// Package authn reads who a request comes from: the credential it carries
// (in any of the forms conda-ecosystem clients send), the browser session
// its cookie names, the CSRF token its forms must echo, and the client's
// address (the socket peer, or what a trusted proxy forwarded). It decides
// nothing: the AuthService verifies what is read here.
package authn

import (
	"encoding/base64"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
	"github.com/gatehouse-dev/gatehouse/gate"
	"github.com/gatehouse-dev/gatehouse/orgtoken"
)

var errConflictingCredentials = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID API KEY",
	Message: "The request carries two different credentials. Send one API key, in one place."}

// errJWTInPath refuses a JWT-shaped key in /t/<key>/: conda finds tokens
// in URLs with /t/([a-zA-Z0-9-]*), which stops at the first '.', so it
// would neither strip nor redact the rest of such a key in what it prints.
var errJWTInPath = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID API KEY",
	Message: "This key is in JWT form (made for anaconda-auth), which conda's /t/<token>/ URLs cannot carry. Send it in an Authorization: Bearer header (the anaconda-auth conda plugin does), or run gatehouse login for a key conda can put in URLs."}

var errBadAuthorization = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID API KEY",
	Message: "The Authorization header is not understood. Send: Authorization: Bearer <API key>."}

// Credential takes the credential from the Authorization header (Bearer,
// token, or Basic) and from pathKey, the /t/<key>/ segment of a channel
// URL. Two that disagree are refused, never "first wins" (checklist B4).
// A JWT-shaped key (apikey.CheckJWT) is accepted in the header and as the
// Basic password, never in /t/<key>/.
func Credential(r *http.Request, pathKey string) (gatehouse.Credential, error) {
	var c gatehouse.Credential
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, value, _ := strings.Cut(h, " ")
		value = strings.TrimSpace(value)
		switch strings.ToLower(scheme) {
		case "bearer", "token":
			c.Key = value
		case "basic":
			raw, err := base64.StdEncoding.DecodeString(value)
			if err != nil {
				return c, errBadAuthorization
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return c, errBadAuthorization
			}
			// Clients that can only do Basic (rattler, mamba) put the key
			// (or an organization registration token) in the password;
			// the user name may be anything.
			if strings.HasPrefix(pass, apikey.Prefix) || apikey.IsJWT(pass) && apikey.CheckJWT(pass) == nil || orgtoken.Looks(pass) {
				c.Key = pass
			} else {
				c.Username, c.Password = user, pass
			}
		default:
			return c, errBadAuthorization
		}
		if c.Key == "" && c.Password == "" {
			return c, errBadAuthorization
		}
	}
	if pathKey != "" {
		if apikey.IsJWT(pathKey) {
			return c, errJWTInPath
		}
		if c.Present() && c.Key != pathKey {
			return c, errConflictingCredentials
		}
		c.Key = pathKey
	}
	return c, nil
}

// Addrs tells a request's client address.
type Addrs struct {
	proxies *gate.Proxies
}

// NewAddrs believes X-Forwarded-For from the trusted proxies only.
func NewAddrs(trusted []netip.Prefix) *Addrs {
	return &Addrs{proxies: gate.NewProxies(trusted)}
}

// Client is the client's address: the socket peer, or the address a
// trusted proxy forwarded. It is what the gate matches and what failures
// are counted against. The zero Addr (undeterminable) is gated (C5).
func (a *Addrs) Client(r *http.Request) netip.Addr {
	return a.proxies.ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
}

// SafeMethod reports whether m changes nothing by HTTP's rules (GET, HEAD,
// OPTIONS): what needs no CSRF token.
func SafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
