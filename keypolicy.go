package gatehouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Key policies: what a key may reach (channel restrictions, set on the
// key) and how long it may live (lifetimes, set by server and
// organization administrators). The checks of a new key against them
// are package keyrule's.

// AllowsChannel reports whether the key may be used on the channel: a key
// without a channel list may be used on any channel its owner can use.
func (k *APIKey) AllowsChannel(name string) bool {
	return len(k.Channels) == 0 || slices.Contains(k.Channels, name)
}

// CapChannelRole cuts role, the owner's role on the channel at this
// moment, down to what the key allows there: nothing outside its channel
// list, and at most its ChannelAccess. A key never exceeds its owner.
func (k *APIKey) CapChannelRole(channel string, role ChannelRole) ChannelRole {
	if !k.AllowsChannel(channel) {
		return NoAccess
	}
	if k.ChannelAccess != NoAccess && role > k.ChannelAccess {
		return k.ChannelAccess
	}
	return role
}

// Restricted reports whether the key is limited to some channels or to
// less than its owner's access.
func (k *APIKey) Restricted() bool { return len(k.Channels) > 0 || k.ChannelAccess != NoAccess }

// ChannelRefusal is the conda refusal of a key used on a channel outside
// its channel list. It says nothing of whether the channel exists
// (checklist J6).
func (k *APIKey) ChannelRefusal(channel, keysURL string) *Error {
	return Refusal("ACCESS DENIED", "This API key (%q) is limited to the channels %s, so it cannot be used for channel %q. Use a key made for that channel, or create one in Account Settings → API Keys (%s).",
		k.Name, strings.Join(k.Channels, ", "), channel, keysURL)
}

// KeyPolicy is a lifetime policy for keys: the server's, or an
// organization's stricter one for keys that can reach its channels.
type KeyPolicy struct {
	// MaxKeyLifetimeDays is the longest a new key may live; 0 in an
	// organization's policy means the server's applies.
	MaxKeyLifetimeDays int `json:"max_key_lifetime_days"`
	// ExpiryWarningDays is how long before its expiry a key is flagged
	// (keys list, API, sign-in banner, CLI); 0 in an organization's
	// policy means the server's applies.
	ExpiryWarningDays int `json:"expiry_warning_days"`
}

// Server policy defaults, as a new installation has them.
const (
	DefaultMaxKeyLifetimeDays = 365
	DefaultExpiryWarningDays  = 14
)

// DefaultServerPolicy is the policy of a server whose administrators set
// none: the seed's one year, and a two-week warning.
func DefaultServerPolicy() KeyPolicy {
	return KeyPolicy{MaxKeyLifetimeDays: DefaultMaxKeyLifetimeDays, ExpiryWarningDays: DefaultExpiryWarningDays}
}

// PolicyUpdate changes a policy; nil fields stay as they are.
type PolicyUpdate struct {
	MaxKeyLifetimeDays *int `json:"max_key_lifetime_days"`
	ExpiryWarningDays  *int `json:"expiry_warning_days"`
}

// Days is n days as a Duration.
func Days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// LifetimeRule is one policy that bounds a new key: who set it, and how
// long it allows.
type LifetimeRule struct {
	// Source names the policy for people: "the server" or
	// "organization acme".
	Source string
	Max    time.Duration
}

// KeyLimits is what applies to the keys a caller creates: the longest
// lifetime allowed for a key that can reach every channel the caller can,
// and how early expiring keys are flagged.
type KeyLimits struct {
	// Max is the strictest lifetime rule for an unrestricted key.
	Max LifetimeRule `json:"-"`
	// MaxDays is Max in whole days.
	MaxDays int `json:"max_key_lifetime_days"`
	// Warning is how early an expiring key is flagged.
	Warning time.Duration `json:"-"`
	// WarningDays is Warning in whole days.
	WarningDays int `json:"expiry_warning_days"`
	// Rules are every policy stricter than one year that applies, for the
	// dialog's notes.
	Rules []LifetimeRule `json:"-"`
}

// ExpiringSoon reports whether k is active and expires within warning.
func ExpiringSoon(k *APIKey, now time.Time, warning time.Duration) bool {
	return k.Status(now) == KeyActive && k.ExpiresAt.Sub(now) <= warning
}

// PolicyStore keeps key policies. Org 0 is the server's policy.
type PolicyStore interface {
	// KeyPolicy returns the policy; a zero KeyPolicy if none was set.
	KeyPolicy(ctx context.Context, orgID int64) (KeyPolicy, error)
	// SetKeyPolicy stores the policy.
	SetKeyPolicy(ctx context.Context, orgID int64, p KeyPolicy, at time.Time) error
}

// PolicyService reads and changes key policies: the server's for
// administrators, an organization's for its owners and admins (members
// may read it).
type PolicyService interface {
	ServerPolicy(ctx context.Context, p *Principal) (KeyPolicy, error)
	SetServerPolicy(ctx context.Context, p *Principal, u PolicyUpdate) (KeyPolicy, error)
	OrgPolicy(ctx context.Context, p *Principal, org string) (KeyPolicy, error)
	SetOrgPolicy(ctx context.Context, p *Principal, org string, u PolicyUpdate) (KeyPolicy, error)
}

// ServerPolicySource is the Source of the server's lifetime rule.
const ServerPolicySource = "the server"

// PolicySource names an organization's policy for people.
func PolicySource(org string) string { return fmt.Sprintf("organization %s", org) }
