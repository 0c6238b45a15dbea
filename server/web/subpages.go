package web

import (
	"slices"
)

// What the page packages beside this one (server/web/identitypages)
// share with its own pages, besides the exported helpers where they are
// defined.

// OrgTabs is the organization pages' tab bar: Members for every member,
// the identity tabs for its owners and admins.
type OrgTabs struct {
	Org       string
	Tab       string // "members", "keys", "sso" or "policy"
	CanManage bool
}

// ChannelRoles are the roles a channel grants, weakest first.
func ChannelRoles() []string { return slices.Clone(channelRoles) }

// DefaultExpiry is the Expiration preset chosen when the dialog opens.
func DefaultExpiry() string { return defaultExpiry }
