package gatehouse

import (
	"encoding/json"
	"strings"
	"time"
)

// Scopes is a set of API key scopes. A key only works for what its scopes
// allow, and never beyond what its owner can do at the moment of use.
type Scopes uint8

const (
	// ScopeUser ("User resources") is the user-level API, mirroring the
	// owner's permissions except administration.
	ScopeUser Scopes = 1 << iota
	// ScopeChannels ("Platform channels") lets conda clients and build
	// systems use the channels the owner can read.
	ScopeChannels
	// ScopeAdmin ("Administration") is the administrative API. Only
	// administrators can grant it, and only explicitly: the seed's User
	// resources scope excludes administrative controls.
	ScopeAdmin

	// AllScopes are every scope there is; a key asking for any other bit
	// is refused.
	AllScopes = ScopeUser | ScopeChannels | ScopeAdmin
)

// DefaultKeyScopes are the scopes a new key has unless its creator
// chooses otherwise: in the web dialog, in `gatehouse keys create` and in
// `gatehouse login` alike. A conda user needs Platform channels to install
// from private channels, and the CLI needs User resources to manage keys
// and channels; a key with only one of them is what made people meet
// MISSING SCOPE after keeping the defaults.
const DefaultKeyScopes = ScopeUser | ScopeChannels

// DefaultKeyDays is how long a new key lives unless its creator chooses
// otherwise (or a key policy allows less), everywhere keys are created:
// long enough not to break a workstation every month, short enough that a
// forgotten key dies by itself.
const DefaultKeyDays = 90

var scopeNames = []struct {
	scope       Scopes
	name, label string
}{
	{ScopeUser, "user", "User resources"},
	{ScopeChannels, "channels", "Platform channels"},
	{ScopeAdmin, "admin", "Administration"},
}

// Has reports whether s holds every scope in want.
func (s Scopes) Has(want Scopes) bool { return s&want == want }

// SubsetOf reports whether every scope of s is also in t.
func (s Scopes) SubsetOf(t Scopes) bool { return s&^t == 0 }

// Names returns the scope names, in a stable order.
func (s Scopes) Names() []string {
	names := make([]string, 0, 3)
	for _, n := range scopeNames {
		if s.Has(n.scope) {
			names = append(names, n.name)
		}
	}
	return names
}

// Labels returns the names a person sees in the web UI.
func (s Scopes) Labels() []string {
	labels := make([]string, 0, 3)
	for _, n := range scopeNames {
		if s.Has(n.scope) {
			labels = append(labels, n.label)
		}
	}
	return labels
}

func (s Scopes) String() string { return strings.Join(s.Names(), ",") }

// ParseScopes parses scope names. Unknown names are an error, so a typo
// never silently yields a weaker or stronger key.
func ParseScopes(names []string) (Scopes, error) {
	var s Scopes
	for _, name := range names {
		found := false
		for _, n := range scopeNames {
			if n.name == name {
				s |= n.scope
				found = true
			}
		}
		if !found {
			return 0, FieldErrorf("scopes", "Unknown scope %q: use \"user\", \"channels\" or \"admin\".", truncate(name, 32))
		}
	}
	return s, nil
}

// MarshalJSON encodes scopes as a list of names.
func (s Scopes) MarshalJSON() ([]byte, error) { return json.Marshal(s.Names()) }

// UnmarshalJSON decodes a list of scope names.
func (s *Scopes) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return FieldErrorf("scopes", "Scopes must be a list of names, such as [\"user\", \"channels\"].")
	}
	v, err := ParseScopes(names)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MaxKeyLifetime is the longest a key may live: one year.
const MaxKeyLifetime = 365 * 24 * time.Hour

// APIKey is a key's metadata. The key itself is never stored: only the
// SHA-256 Hash of it, and a Hint that shows its first and last characters.
type APIKey struct {
	ID         int64     `json:"id"`
	UserID     int64     `json:"user_id"`
	Name       string    `json:"name"`
	Hash       []byte    `json:"-"`
	Hint       string    `json:"hint"`
	Scopes     Scopes    `json:"scopes"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	LastUsedAt time.Time `json:"last_used_at"` // zero if never used
	RevokedAt  time.Time `json:"revoked_at"`   // zero if not revoked
	// RevokeReason says why: RevokedByUser, RevokedReplaced, RevokedLogout.
	RevokeReason string `json:"revoke_reason,omitempty"`
	// CreatedVia is how the creator authenticated: "session", "password",
	// "key", "oauth", or "trusted-publishing" for a key a CI job's ID
	// token was exchanged for.
	CreatedVia string `json:"created_via,omitempty"`
	// OrgID is set on an organization service key: it acts as the
	// organization, on the organization's channels, and UserID is the
	// person who created it (kept for the audit log only).
	OrgID int64 `json:"org_id,omitempty"`
	// Channels, when not empty, limits the key's Platform channels scope
	// to these channels (see keypolicy.go).
	Channels []string `json:"channels,omitempty"`
	// ChannelAccess caps the key's role on every channel: ChannelRead
	// (read-only) or ChannelWrite; NoAccess means no cap beyond the
	// owner's own role.
	ChannelAccess ChannelRole `json:"channel_access,omitempty"`
	// CreatedBy is the username of the person who made an organization
	// service key, filled in by the organization's key list ("" if that
	// account is gone).
	CreatedBy string `json:"created_by,omitempty"`
}

// Reasons a key was revoked.
const (
	RevokedByUser   = "revoked"
	RevokedReplaced = "replaced"
	RevokedLogout   = "logout"
	// RevokedReplayedLogin: the authorization code of the login that made
	// the key was presented again, so it may be in a thief's hands
	// (checklist D9).
	RevokedReplayedLogin = "login replayed"
)

// KeyStatus is a key's state at some moment.
type KeyStatus string

const (
	KeyActive  KeyStatus = "active"
	KeyExpired KeyStatus = "expired"
	KeyRevoked KeyStatus = "revoked"
)

// Status returns the key's state at now. Revocation wins over expiry.
func (k *APIKey) Status(now time.Time) KeyStatus {
	switch {
	case !k.RevokedAt.IsZero():
		return KeyRevoked
	case !now.Before(k.ExpiresAt):
		return KeyExpired
	}
	return KeyActive
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
