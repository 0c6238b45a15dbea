package gatehouse

import (
	"context"
	"net/netip"
	"time"
)

// Single sign-on per organization: an organization's administrators name
// an OpenID Connect provider and the email domains they claim; once a
// server administrator confirms a claim, people with addresses in that
// domain sign in at that provider (authorization code + PKCE + nonce +
// state), their account is created on first sign-in, and their provider
// groups decide their organization role and channel grants at every
// sign-in.

// SSOConfig is an organization's identity provider.
type SSOConfig struct {
	OrgID    int64  `json:"-"`
	Org      string `json:"org"`
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret is what the store keeps: the secret sealed with the
	// server's key ("sealed:v1:..."), or a reference to it ("env:NAME",
	// "file:/path"). Never shown back.
	ClientSecret string `json:"-"`
	// Domains are the email domains the organization claims.
	Domains []SSODomain `json:"domains"`
	// Required refuses password sign-in to the organization's members.
	Required bool `json:"required"`
	// GroupRoles maps a provider group to an organization role.
	GroupRoles map[string]OrgRole `json:"group_roles"`
	// GroupChannels maps a provider group to channel grants.
	GroupChannels map[string]map[string]ChannelRole `json:"group_channels"`
	UpdatedAt     time.Time                         `json:"updated_at"`
}

// SSODomain is one email domain an organization claims.
type SSODomain struct {
	Domain      string    `json:"domain"`
	OrgID       int64     `json:"-"`
	Org         string    `json:"org"`
	Confirmed   bool      `json:"confirmed"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	ConfirmedBy string    `json:"confirmed_by,omitempty"`
}

// SSOIdentity links a provider's subject to an account, with what its
// last sign-in gave, so that what a lost group gave can be taken back.
type SSOIdentity struct {
	Issuer  string
	Subject string
	UserID  int64
	OrgID   int64
	Email   string
	Groups  []string
	// GrantedRole is the organization role the groups gave ("" none).
	GrantedRole OrgRole
	// GrantedChannels are the channel grants the groups gave, by channel
	// ID.
	GrantedChannels map[int64]ChannelRole
	LastLoginAt     time.Time
}

// SSOLogin is a sign-in on its way through the provider. Only hashes of
// the state and of the browser's secret are stored; the PKCE verifier and
// the nonce are derived from the browser's secret, so the database holds
// nothing that completes a sign-in.
type SSOLogin struct {
	StateHash   []byte
	BrowserHash []byte
	OrgID       int64
	Next        string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// SSOStore keeps SSO configuration, domain claims, linked identities and
// sign-ins in flight.
type SSOStore interface {
	// PutSSOConfig creates or replaces the organization's configuration
	// and its domain claims: domains kept keep their confirmation, new
	// ones start unconfirmed, dropped ones go.
	PutSSOConfig(ctx context.Context, c *SSOConfig) error
	// SSOConfig returns the organization's configuration, ENOTFOUND if
	// none.
	SSOConfig(ctx context.Context, orgID int64) (*SSOConfig, error)
	// ConfirmedSSODomain returns the confirmed claim of the domain,
	// ENOTFOUND if none.
	ConfirmedSSODomain(ctx context.Context, domain string) (*SSODomain, error)
	// ListSSODomains returns every claim, by domain then organization.
	ListSSODomains(ctx context.Context) ([]*SSODomain, error)
	// ConfirmSSODomain confirms the organization's claim. ENOTFOUND if
	// it made none, ECONFLICT if another organization's claim of the
	// domain is confirmed.
	ConfirmSSODomain(ctx context.Context, domain string, orgID int64, by string, at time.Time) error
	// CreateSSOLogin inserts a sign-in in flight.
	CreateSSOLogin(ctx context.Context, l *SSOLogin) error
	// TakeSSOLogin deletes and returns the sign-in with this state hash:
	// a state works once. ENOTFOUND if none.
	TakeSSOLogin(ctx context.Context, stateHash []byte) (*SSOLogin, error)
	// DeleteExpiredSSOLogins removes sign-ins that expired before t.
	DeleteExpiredSSOLogins(ctx context.Context, t time.Time) (int64, error)
	// SSOIdentity returns the link of a provider subject, ENOTFOUND if
	// none.
	SSOIdentity(ctx context.Context, issuer, subject string) (*SSOIdentity, error)
	// PutSSOIdentity creates or updates the link.
	PutSSOIdentity(ctx context.Context, id *SSOIdentity) error
	// SSOIdentitiesOfUser returns the user's links.
	SSOIdentitiesOfUser(ctx context.Context, userID int64) ([]*SSOIdentity, error)
}

// SSOConfigRequest is an organization administrator's configuration. An
// empty ClientSecret on a change keeps the stored one.
type SSOConfigRequest struct {
	Issuer        string
	ClientID      string
	ClientSecret  string
	Domains       []string
	Required      bool
	GroupRoles    map[string]string
	GroupChannels map[string]map[string]string
}

// SSOStart is where a sign-in goes next: the provider's authorization URL,
// and the secret the browser keeps in a cookie until the callback.
type SSOStart struct {
	RedirectURL   string
	BrowserSecret string
	Org           string
}

// SSOCallback is what the provider sent back through the browser.
type SSOCallback struct {
	State, Code             string
	Error, ErrorDescription string
	BrowserSecret           string
	Addr                    netip.Addr
	UserAgent               string
}

// SSOService runs single sign-on.
type SSOService interface {
	// PutConfig sets the organization's provider; owners and admins may.
	PutConfig(ctx context.Context, p *Principal, org string, req SSOConfigRequest) (*SSOConfig, error)
	// Config shows it (never the secret) to the organization's members.
	Config(ctx context.Context, p *Principal, org string) (*SSOConfig, error)
	// Domains lists every claim, for server administrators.
	Domains(ctx context.Context, p *Principal) ([]*SSODomain, error)
	// ConfirmDomain confirms an organization's claim, for server
	// administrators.
	ConfirmDomain(ctx context.Context, p *Principal, domain, org string) error
	// RejectDomain drops an organization's claim of a domain that awaits
	// confirmation, for server administrators; a confirmed claim is
	// ECONFLICT (its organization removes it from its configuration).
	RejectDomain(ctx context.Context, p *Principal, domain, org string) error
	// Begin starts a sign-in for the address, or returns nil when no
	// organization has a confirmed claim of its domain (then the person
	// signs in with a password).
	Begin(ctx context.Context, email, next string) (*SSOStart, error)
	// Finish checks the provider's answer and returns the signed-in
	// person and where to go next.
	Finish(ctx context.Context, cb SSOCallback) (*Principal, string, error)
}
