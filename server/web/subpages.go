package web

import (
	"net/http"
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

// CrossOrigin refuses browsers' cross-site requests to h with the error
// page, the same protection as this package's own forms (checklist E4).
func (s *Pages) CrossOrigin(h http.Handler) http.Handler { return s.crossOrigin.Handler(h) }
