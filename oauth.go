package gatehouse

import (
	"context"
	"time"
)

// The CLI logs in through OAuth 2.0 for public clients: the authorization
// code grant with PKCE and a loopback redirect (RFC 8252), or the device
// authorization grant (RFC 8628). Either ends in a short-lived access
// token, which the CLI spends on creating its API key.

// Grant kinds.
const (
	GrantCode   = "code"   // authorization code (browser on this machine)
	GrantDevice = "device" // device code (browser anywhere)
)

// Grant statuses. A grant moves pending → approved | denied, and approved
// → used exactly once; nothing moves back.
const (
	GrantPending  = "pending"
	GrantApproved = "approved"
	GrantDenied   = "denied"
	GrantUsed     = "used"
)

// OAuthGrant is an authorization code or a device code in flight. Only the
// SHA-256 of the code (or device_code) is stored; the user code of the
// device flow is short and typed by a person, so it is stored as shown but
// only ever accepted while the grant is pending and unexpired.
type OAuthGrant struct {
	ID            int64
	Kind          string
	CodeHash      []byte
	UserCode      string // device flow only, normalised "ABCD-EFGH"
	ClientID      string
	RedirectURI   string // code flow only
	CodeChallenge string // code flow only: PKCE S256 challenge
	Scopes        Scopes
	// ClientName names the machine asking, shown on the consent page
	// (e.g. "cli-buildhost").
	ClientName   string
	UserID       int64 // who approved or denied; 0 while pending
	Status       string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastPolledAt time.Time // device flow: for slow_down
}

// AccessToken is a short-lived OAuth access token; only its hash is kept.
// It mints one key: UsedAt is set when it has (checklist D9).
type AccessToken struct {
	ID         int64
	Hash       []byte
	UserID     int64
	Scopes     Scopes
	ClientName string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	// GrantID is the grant it was issued for.
	GrantID int64
	UsedAt  time.Time // zero until it minted a key
}

// OAuthStore keeps grants and access tokens.
type OAuthStore interface {
	// CreateGrant inserts g and sets g.ID; a zero Status is GrantPending.
	// ECONFLICT if the code hash or a pending user code collides;
	// ENOTFOUND if UserID (when not 0) names no user.
	CreateGrant(ctx context.Context, g *OAuthGrant) error
	// GrantByCodeHash returns the grant with this code hash, whatever its
	// status. ENOTFOUND if none. Expiry is the caller's to check.
	GrantByCodeHash(ctx context.Context, hash []byte) (*OAuthGrant, error)
	// GrantByUserCode returns the pending grant with this user code.
	// ENOTFOUND if none is pending. Expiry is the caller's to check.
	GrantByUserCode(ctx context.Context, userCode string) (*OAuthGrant, error)
	// SetGrantStatus moves the grant from status from to status to and
	// records userID (when not 0), atomically: ECONFLICT if the grant is
	// not in status from (a replayed code, a double approval); EINVALID
	// for a move the lifecycle above does not have.
	SetGrantStatus(ctx context.Context, id int64, from, to string, userID int64) error
	// TouchGrantPoll records a device-flow poll (sets LastPolledAt).
	TouchGrantPoll(ctx context.Context, id int64, at time.Time) error
	// CreateAccessToken inserts t and sets t.ID. ECONFLICT if the hash
	// collides; ENOTFOUND if the user does not exist.
	CreateAccessToken(ctx context.Context, t *AccessToken) error
	// AccessTokenByHash returns the token and its user as they are now
	// (disabled included). ENOTFOUND if none. Expiry is the caller's.
	AccessTokenByHash(ctx context.Context, hash []byte) (*AccessToken, *User, error)
	// UseAccessToken marks the token spent at at: ECONFLICT if it was
	// already (a second key from one login), ENOTFOUND if it is gone.
	UseAccessToken(ctx context.Context, id int64, at time.Time) error
	// LinkLoginKey records that the key was minted through the grant.
	LinkLoginKey(ctx context.Context, grantID, keyID int64) error
	// GrantKeys returns the unrevoked keys minted through the grant.
	GrantKeys(ctx context.Context, grantID int64) ([]*APIKey, error)
	// DeleteGrantTokens deletes the access tokens issued for the grant.
	DeleteGrantTokens(ctx context.Context, grantID int64) (int64, error)
	// DeleteExpiredOAuth removes grants and tokens that expired before t.
	DeleteExpiredOAuth(ctx context.Context, t time.Time) (int64, error)
}
