package keyrule

import (
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// CheckDelegation enforces that a key never mints a key stronger than
// itself: no scope it lacks, no expiry after its own (checklist A5), no
// channel outside its own channel list and no more access than its own.
func CheckDelegation(parent *gatehouse.APIKey, scopes gatehouse.Scopes, expiresAt time.Time) error {
	return CheckRestrictedDelegation(parent, Request{Scopes: scopes, ExpiresAt: expiresAt})
}

// Request is what a new key asks for, as CheckRestrictedDelegation
// compares it with the key that creates it.
type Request struct {
	Scopes        gatehouse.Scopes
	ExpiresAt     time.Time
	Channels      []string
	ChannelAccess gatehouse.ChannelRole
}

// CheckRestrictedDelegation is CheckDelegation with the channel
// restrictions of the new key.
func CheckRestrictedDelegation(parent *gatehouse.APIKey, want Request) error {
	if parent == nil {
		return nil
	}
	if !want.Scopes.SubsetOf(parent.Scopes) {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "A key can only create keys with its own scopes (%s).", strings.Join(parent.Scopes.Names(), ", "))
	}
	if want.ExpiresAt.After(parent.ExpiresAt) {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "A key can only create keys that expire no later than itself (%s).", parent.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if len(parent.Channels) > 0 {
		if len(want.Channels) == 0 {
			return gatehouse.Errorf(gatehouse.EFORBIDDEN, "This key is limited to the channels %s: the keys it creates must be limited to some of them too.", strings.Join(parent.Channels, ", "))
		}
		for _, c := range want.Channels {
			if !parent.AllowsChannel(c) {
				return gatehouse.Errorf(gatehouse.EFORBIDDEN, "This key is limited to the channels %s: it cannot create a key for channel %q.", strings.Join(parent.Channels, ", "), c)
			}
		}
	}
	if parent.ChannelAccess != gatehouse.NoAccess && (want.ChannelAccess == gatehouse.NoAccess || want.ChannelAccess > parent.ChannelAccess) {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "This key has %s access to channels: the keys it creates cannot have more.", parent.ChannelAccess)
	}
	return nil
}
