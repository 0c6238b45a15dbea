package oauth

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/api"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// Key creation for CLIs after login: POST /api/iam/api-keys and its newer
// name POST /api/auth/api-keys, as anaconda-auth calls them (protocols.md).
// The caller is usually a login token; any caller with the User resources
// scope may use it too. The HTTP core authenticates the caller and mounts
// HandleCLIKey; the KeyService applies the rules.

// cliKeyRequest is anaconda-auth's body, plus our optional name and expiry.
type cliKeyRequest struct {
	Scopes    []string        `json:"scopes"`
	Tags      []string        `json:"tags"`
	Name      string          `json:"name"`
	ExpiresAt json.RawMessage `json:"expires_at"`
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

// parseCLIKeyScopes maps requested names; none means 0 (the service's
// default). An unknown name is refused, so a key is never silently weaker
// or stronger than asked.
func parseCLIKeyScopes(names []string) (gatehouse.Scopes, error) {
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

// cliKeyAnswer holds the key once, as anaconda-auth reads it (api_key),
// with the key's metadata.
type cliKeyAnswer struct {
	APIKey string `json:"api_key"`
	api.KeyView
	Replaced *api.KeyView `json:"replaced,omitempty"`
}

// HandleCLIKey creates the key a CLI asks for after logging in.
func (o *Server) HandleCLIKey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req cliKeyRequest
	if r.ContentLength != 0 {
		if err := api.DecodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	scopes, err := parseCLIKeyScopes(req.Scopes)
	if err != nil {
		return err
	}
	var expires time.Time
	if len(req.ExpiresAt) > 0 && string(req.ExpiresAt) != "null" {
		if expires, err = api.ParseUTCTime(req.ExpiresAt); err != nil {
			return err
		}
	}
	nk, err := o.cfg.Keys.CreateLoginKey(r.Context(), p, gatehouse.LoginKeyRequest{
		Name: req.Name, Hostname: cleanHostname(r.Header.Get("X-Client-Hostname")), Scopes: scopes, ExpiresAt: expires,
		JWT: wantsJWT(req.Tags)})
	if err != nil {
		return err
	}
	now := o.cfg.Clock()
	out := cliKeyAnswer{APIKey: nk.Secret, KeyView: api.ViewKey(nk.Key, now)}
	if nk.Replaced != nil {
		v := api.ViewKey(nk.Replaced, now)
		out.Replaced = &v
	}
	w.Header().Set("Cache-Control", "no-store") // checklist A1
	reply.JSON(w, http.StatusCreated, out)
	return nil
}

// wantsJWT recognises the official anaconda-auth client, which tags its
// key request "anaconda-auth/v<version>" and decodes the key it gets as a
// JWT (exp, and sub as a UUID): it gets a JWT-shaped key. Every other
// caller (gatehouse login among them) gets an ordinary gk- key, which
// conda's /t/<token>/ URLs can carry.
func wantsJWT(tags []string) bool {
	for _, t := range tags {
		if strings.HasPrefix(t, "anaconda-auth/") {
			return true
		}
	}
	return false
}

func truncateParamValue(s string) string {
	s = cleanClientName(s)
	if utf8.RuneCountInString(s) > 32 {
		return string([]rune(s)[:32]) + "…"
	}
	return s
}
