package web

import (
	"net/http"
	"slices"
	"time"
)

// What the page packages beside this one (server/web/identitypages)
// share with its own pages. The aliases name this package's form and row
// types as they are, so both sides render the same templates' data.

// AdminPage is Page for administrators only: anyone else gets the
// refusal page.
func (s *Pages) AdminPage(h Handler) http.Handler { return s.adminPage(h) }

// AbsURL returns the public URL of path.
func (s *Pages) AbsURL(path string) string { return s.absURL(path) }

// LoginAt is what follows gatehouse login --at for this server.
func (s *Pages) LoginAt() string { return s.loginAt() }

// OrgTabs is the organization pages' tab bar: Members for every member,
// the identity tabs for its owners and admins.
type OrgTabs struct {
	Org       string
	Tab       string // "members", "keys", "sso" or "policy"
	CanManage bool
}

type orgTabs = OrgTabs

// FieldErrors places a refusal under the form field it names.
type FieldErrors = fieldErrors

// ErrorsAt returns err's message at its field, if fields holds it, and
// at the head of the form ("") otherwise.
func ErrorsAt(err error, fields ...string) FieldErrors { return errorsAt(err, fields...) }

// ChannelRoles are the roles a channel grants, weakest first.
func ChannelRoles() []string { return slices.Clone(channelRoles) }

// The create-key dialog and key list of the API Keys tab, which an
// organization's service keys page shows too.
type (
	// KeyForm is what the create dialog holds, kept across an error.
	KeyForm = keyForm
	// KeyRow is one key in a list.
	KeyRow = keyRow
	// CreatedKey is the new key, shown once in the answer to the POST
	// (checklist A3).
	CreatedKey = createdKeyPage
	// ExpiryOption is a choice of the Expiration dropdown.
	ExpiryOption = expiryOption
	// ChannelChoice is a channel a key can be limited to.
	ChannelChoice = channelChoice
)

// DefaultExpiry is the Expiration preset chosen when the dialog opens.
func DefaultExpiry() string { return defaultExpiry }

// PresetOptions are the Expiration dropdown's choices when keys may live
// at most maxDays; selected is the chosen Value.
func PresetOptions(maxDays int, selected string) []ExpiryOption {
	return presetOptions(maxDays, selected)
}

// CustomDateBounds returns the first and last day a custom expiry date
// may name when keys may live at most max.
func CustomDateBounds(now time.Time, max time.Duration) (first, last time.Time) {
	return customDateBounds(now, max)
}

// KeyExpiry turns the dialog's choice into an expiry time, or a refusal
// at the expires_at field.
func KeyExpiry(now time.Time, choice, custom string, max time.Duration) (time.Time, error) {
	return keyExpiry(now, choice, custom, max)
}
