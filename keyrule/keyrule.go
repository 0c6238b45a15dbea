// Package keyrule holds the rules a new API key must pass before it is
// made: its name, expiry and scopes, its channel list and access, what
// the key creating it may delegate, and the lifetime policies of the
// server and organizations. The types these rules speak of (APIKey,
// Scopes, KeyPolicy, LifetimeRule) are the root package's; the services
// call these checks. It is pure: it imports only the root package (for
// its types and errors) and condaname.
package keyrule

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condaname"
)

// ValidateName checks a key's name: 1 to 100 printable characters.
func ValidateName(name string) error {
	if strings.TrimSpace(name) == "" {
		return gatehouse.FieldErrorf("name", "Give the key a name, so you can tell it apart later.")
	}
	if utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		return gatehouse.FieldErrorf("name", "Key names are at most 100 characters.")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return gatehouse.FieldErrorf("name", "Key names may not hold control characters.")
		}
	}
	return nil
}

// ValidateExpiry checks a requested expiry against now: required, in the
// future, and at most gatehouse.MaxKeyLifetime away.
func ValidateExpiry(now, expiresAt time.Time) error {
	switch {
	case expiresAt.IsZero():
		return gatehouse.FieldErrorf("expires_at", "An expiry date is required; keys live at most one year.")
	case !expiresAt.After(now):
		return gatehouse.FieldErrorf("expires_at", "The expiry date %s is in the past; choose a date within the next year.", expiresAt.UTC().Format(time.DateOnly))
	case expiresAt.Sub(now) > gatehouse.MaxKeyLifetime:
		return gatehouse.FieldErrorf("expires_at", "Keys live at most one year: choose a date no later than %s.", now.Add(gatehouse.MaxKeyLifetime).UTC().Format(time.DateOnly))
	}
	return nil
}

// ValidateScopes checks that a key asks for at least one scope and only
// scopes its owner holds.
func ValidateScopes(owner *gatehouse.User, scopes gatehouse.Scopes) error {
	switch {
	case scopes == 0:
		return gatehouse.FieldErrorf("scopes", "Choose at least one scope: User resources, Platform channels, or both.")
	case !scopes.SubsetOf(gatehouse.AllScopes):
		return gatehouse.FieldErrorf("scopes", "Unknown scope.")
	case scopes.Has(gatehouse.ScopeAdmin) && !owner.IsAdmin:
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only administrators can create keys with the Administration scope.")
	}
	return nil
}

// MaxChannels bounds how many channels one key may be limited to.
const MaxChannels = 50

// ParseChannelAccess reads the channel_access of a key request: "" (the
// owner's access), "read" or "write".
func ParseChannelAccess(s string) (gatehouse.ChannelRole, error) {
	switch s {
	case "":
		return gatehouse.NoAccess, nil
	case "read":
		return gatehouse.ChannelRead, nil
	case "write":
		return gatehouse.ChannelWrite, nil
	}
	return gatehouse.NoAccess, gatehouse.FieldErrorf("channel_access", "channel_access must be \"read\" or \"write\" (or left out for the owner's own access).")
}

// NormalizeChannels validates a key's channel list, sorts it and drops
// repeats; nil for none.
func NormalizeChannels(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if len(names) > MaxChannels {
		return nil, gatehouse.FieldErrorf("channels", "A key can be limited to at most %d channels.", MaxChannels)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.TrimSpace(n)
		if err := condaname.ValidateChannel(n); err != nil {
			return nil, gatehouse.FieldErrorf("channels", "%q is not a channel name.", truncate(n, 64))
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// truncate keeps what a message quotes of a caller's input short.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
