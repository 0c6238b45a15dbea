package server

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
)

// Key creation for CLIs after login: POST /api/iam/api-keys and its newer
// name POST /api/auth/api-keys, as anaconda-auth calls them (protocols.md).
// The caller is usually a login token; any caller with the User resources
// scope may use it too.

// cliKeyRequest is anaconda-auth's body, plus our optional name and expiry.
type cliKeyRequest struct {
	Scopes    []string `json:"scopes"`
	Tags      []string `json:"tags"`
	Name      string   `json:"name"`
	ExpiresAt utcTime  `json:"expires_at"`
}

// cliKeyScopeNames maps the scope names of key requests to ours: those
// anaconda-auth sends, and our own.
var cliKeyScopeNames = map[string]gatehouse.Scopes{
	"cloud:read":  gatehouse.ScopeUser,
	"cloud:write": gatehouse.ScopeUser,
	"repo:read":   gatehouse.ScopeChannels,
	"user":        gatehouse.ScopeUser,
	"channels":    gatehouse.ScopeChannels,
	"admin":       gatehouse.ScopeAdmin,
}

// parseCLIKeyScopes maps requested names; none means def. An unknown
// name is refused, so a key is never silently weaker or stronger than
// asked.
func parseCLIKeyScopes(names []string, def gatehouse.Scopes) (gatehouse.Scopes, error) {
	if len(names) == 0 {
		return def, nil
	}
	var s gatehouse.Scopes
	for _, n := range names {
		v, ok := cliKeyScopeNames[n]
		if !ok {
			return 0, gatehouse.FieldErrorf("scopes", "Unknown scope %q: use \"cloud:read\", \"cloud:write\", \"repo:read\", \"user\" or \"channels\".", truncateParamValue(n))
		}
		s |= v
	}
	return s, nil
}

// cliKeyAnswer holds the key once, as anaconda-auth reads it (api_key),
// with the key's metadata.
type cliKeyAnswer struct {
	APIKey string `json:"api_key"`
	keyView
	Replaced *keyView `json:"replaced,omitempty"`
}

// maxHostname bounds the machine name taken from X-Client-Hostname.
const maxHostname = 64

// cleanHostname keeps the characters of host names (letters, digits, '.',
// '-', '_'), at most 64.
func cleanHostname(h string) string {
	var b strings.Builder
	for i := 0; i < len(h) && b.Len() < maxHostname; i++ {
		c := h[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
		}
	}
	return strings.Trim(b.String(), ".-_")
}

// cliKeyName is the name of a CLI's key: the one asked for, else
// "cli-<hostname>", else the machine named at login, else "cli". Logging
// in again from the same machine therefore replaces its key.
func cliKeyName(req cliKeyRequest, r *http.Request, p *gatehouse.Principal) string {
	if n := strings.TrimSpace(req.Name); n != "" {
		return n
	}
	if h := cleanHostname(r.Header.Get("X-Client-Hostname")); h != "" {
		return "cli-" + h
	}
	if p.Method == gatehouse.AuthOAuth && p.Key != nil && p.Key.Name != "" && p.Key.Name != oauthStandInName {
		return p.Key.Name
	}
	return "cli"
}

func (o *oauthServer) handleCLIKey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	s := o.s
	var req cliKeyRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	// Without scopes, a key gets what the login granted, or else what a
	// CLI needs (User resources and Platform channels).
	def := cliDefaultScopes
	if p.Method == gatehouse.AuthOAuth {
		def = p.Scopes()
	}
	scopes, err := parseCLIKeyScopes(req.Scopes, def)
	if err != nil {
		return err
	}
	now := s.now()
	expires := req.ExpiresAt.Time
	if expires.IsZero() {
		expires = now.UTC().Truncate(time.Second).Add(gatehouse.MaxKeyLifetime)
		// A key may not outlive the key that creates it (checklist A5):
		// by default it lives as long as it may.
		if p.Method == gatehouse.AuthKey && p.Key != nil && p.Key.ExpiresAt.Before(expires) {
			expires = p.Key.ExpiresAt
		}
	}
	creator := p
	if p.Method == gatehouse.AuthOAuth {
		// A login token delegates its scopes, never more; the key it is
		// for may live up to a year, far past the token's ten minutes.
		if !scopes.SubsetOf(p.Scopes()) {
			return gatehouse.Errorf(gatehouse.EFORBIDDEN, "This login granted %s only; sign in again and approve the scopes the key needs.",
				strings.Join(p.Scopes().Labels(), " and "))
		}
		creator = &gatehouse.Principal{User: p.User, Method: gatehouse.AuthOAuth}
	} else if err := p.Require(gatehouse.ScopeUser); err != nil {
		return err
	}
	secret, k, replaced, err := s.createKey(r.Context(), creator,
		newKeyRequest{Name: cliKeyName(req, r, p), Scopes: scopes, ExpiresAt: utcTime{expires}},
		s.clientAddr(r))
	if err != nil {
		return err
	}
	out := cliKeyAnswer{APIKey: secret, keyView: viewKey(k, now)}
	if replaced != nil {
		v := viewKey(replaced, now)
		out.Replaced = &v
	}
	w.Header().Set("Cache-Control", "no-store") // checklist A1
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func truncateParamValue(s string) string {
	s = cleanClientName(s)
	if utf8.RuneCountInString(s) > 32 {
		return string([]rune(s)[:32]) + "…"
	}
	return s
}
