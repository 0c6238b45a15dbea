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
// organization administrators).

// MaxKeyChannels bounds how many channels one key may be limited to.
const MaxKeyChannels = 50

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

// ParseChannelAccess reads the channel_access of a key request: "" (the
// owner's access), "read" or "write".
func ParseChannelAccess(s string) (ChannelRole, error) {
	switch s {
	case "":
		return NoAccess, nil
	case "read":
		return ChannelRead, nil
	case "write":
		return ChannelWrite, nil
	}
	return NoAccess, FieldErrorf("channel_access", "channel_access must be \"read\" or \"write\" (or left out for the owner's own access).")
}

// NormalizeKeyChannels validates a key's channel list, sorts it and drops
// repeats; nil for none.
func NormalizeKeyChannels(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if len(names) > MaxKeyChannels {
		return nil, FieldErrorf("channels", "A key can be limited to at most %d channels.", MaxKeyChannels)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.TrimSpace(n)
		if err := ValidateChannelName(n); err != nil {
			return nil, FieldErrorf("channels", "%q is not a channel name.", truncate(n, 64))
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
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

// Apply returns pol with u applied, checked: a server policy keeps keys
// between one day and one year, an organization's may also be 0 (the
// server's rule applies).
func (u PolicyUpdate) Apply(pol KeyPolicy, org bool) (KeyPolicy, error) {
	min := 1
	if org {
		min = 0
	}
	if v := u.MaxKeyLifetimeDays; v != nil {
		if *v < min || *v > DefaultMaxKeyLifetimeDays {
			return pol, FieldErrorf("max_key_lifetime_days", "max_key_lifetime_days must be from %d to %d days.", min, DefaultMaxKeyLifetimeDays)
		}
		pol.MaxKeyLifetimeDays = *v
	}
	if v := u.ExpiryWarningDays; v != nil {
		if *v < min || *v > 90 {
			return pol, FieldErrorf("expiry_warning_days", "expiry_warning_days must be from %d to 90 days.", min)
		}
		pol.ExpiryWarningDays = *v
	}
	return pol, nil
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

// StrictestLifetime returns the rule with the shortest Max; rules must
// not be empty.
func StrictestLifetime(rules []LifetimeRule) LifetimeRule {
	best := rules[0]
	for _, r := range rules[1:] {
		if r.Max < best.Max {
			best = r
		}
	}
	return best
}

// CheckLifetime refuses an expiry beyond the strictest rule, with a
// message naming the policy.
func CheckLifetime(now, expiresAt time.Time, rule LifetimeRule) error {
	if expiresAt.Sub(now) <= rule.Max {
		return nil
	}
	days := int(rule.Max / (24 * time.Hour))
	return FieldErrorf("expires_at", "The key policy of %s allows keys of at most %d days: choose a date no later than %s.",
		rule.Source, days, now.Add(rule.Max).UTC().Format(time.DateOnly))
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
