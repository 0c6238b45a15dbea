package client

import (
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// User is an account as the API shows it.
type User struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Email     string    `json:"email,omitempty"`
	IsAdmin   bool      `json:"is_admin"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// Key is an API key's metadata; the API never shows the key itself after
// it is created, only its Hint.
type Key struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Hint         string     `json:"hint"`
	Scopes       []string   `json:"scopes"`
	Status       string     `json:"status"` // active, expired or revoked
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
	// Channels and ChannelAccess are the key's restrictions (none: every
	// channel its owner can use, with the owner's access).
	Channels      []string `json:"channels,omitempty"`
	ChannelAccess string   `json:"channel_access,omitempty"`
	// Org names the organization of a service key.
	Org          string `json:"org,omitempty"`
	ExpiringSoon bool   `json:"expiring_soon,omitempty"`
}

// CreatedKey is the answer to creating a key: the only time the key is
// shown. Replaced is the key of the same name it revoked, if any.
type CreatedKey struct {
	Secret string `json:"key"`
	Key
	Replaced *Key `json:"replaced,omitempty"`
}

// IAMKey is the answer of POST /api/iam/api-keys (the key anaconda-auth
// style clients create after an OAuth login).
type IAMKey struct {
	Secret string `json:"api_key"`
	Key
}

// NewKey asks for a key.
type NewKey struct {
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"-"`
	// Channels limits the key to channels; ChannelAccess ("read" or
	// "write") caps its access.
	Channels      []string `json:"channels,omitempty"`
	ChannelAccess string   `json:"channel_access,omitempty"`
}

// OrgMembership is one organization the user belongs to.
type OrgMembership struct {
	Org  string `json:"org"`
	Role string `json:"role"`
}

// Account answers "who am I": the user, how the call authenticated, the
// scopes it carries, and the key used (nil unless a key was used).
type Account struct {
	User       User            `json:"user"`
	AuthMethod string          `json:"auth_method"`
	Scopes     []string        `json:"scopes"`
	Key        *Key            `json:"key"`
	Orgs       []OrgMembership `json:"orgs"`
}

// Channel is a conda channel; URL is where conda clients find it, Role the
// caller's right on it.
type Channel struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Visibility string    `json:"visibility"`
	Owner      string    `json:"owner"`
	CreatedAt  time.Time `json:"created_at"`
	Revision   int64     `json:"revision"`
	URL        string    `json:"url"`
	Role       string    `json:"role"`
}

// NewChannel asks for a channel. Visibility is "public" (default) or
// "private"; Owner is a user or organization ("" for the caller).
type NewChannel struct {
	Name       string `json:"name"`
	Visibility string `json:"visibility,omitempty"`
	Owner      string `json:"owner,omitempty"`
}

// ChannelMember is one user's explicit role on a channel.
type ChannelMember struct {
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	GrantedAt time.Time `json:"granted_at"`
}

// Package is one package file in a channel.
type Package struct {
	ID         int64     `json:"id"`
	Channel    string    `json:"channel"`
	Subdir     string    `json:"subdir"`
	Filename   string    `json:"filename"`
	Name       string    `json:"name"`
	Version    string    `json:"version"`
	Build      string    `json:"build"`
	Size       int64     `json:"size"`
	MD5        string    `json:"md5"`
	SHA256     string    `json:"sha256"`
	UploadedAt time.Time `json:"uploaded_at"`
	URL        string    `json:"url"`
}

// NetworkRule marks a network whose clients must register.
type NetworkRule = gatehouse.NetworkRule

// NetworkRules is the registration gate's configuration: rules added over
// the API, networks from the server's configuration, and exempt channels.
type NetworkRules struct {
	Rules          []NetworkRule `json:"rules"`
	Configured     []string      `json:"configured"`
	ExemptChannels []string      `json:"exempt_channels"`
}

// RegisteredClient is a conda client seen on channel requests.
type RegisteredClient = gatehouse.Client

// Discovery is the server's OAuth metadata
// (/.well-known/openid-configuration).
type Discovery struct {
	Issuer                      string `json:"issuer"`
	AuthorizationEndpoint       string `json:"authorization_endpoint"`
	TokenEndpoint               string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
}
