package gatehouse

import (
	"context"
	"net/netip"
	"time"
)

// RegistrationToken is an organization registration token: deployed to an
// organization's machines (anaconda-anon-usage's org_token, or as a conda
// credential), it makes their conda clients count as registered on gated
// networks. Registration is not authorization: it opens what an anonymous
// client could use from an ungated network (public channels), never a
// private channel. Only the SHA-256 of the token is kept.
type RegistrationToken struct {
	ID    int64  `json:"id"`
	OrgID int64  `json:"org_id"`
	Org   string `json:"org"`
	Name  string `json:"name"`
	// Hint is the prefix and first characters, for lists.
	Hint       string    `json:"hint"`
	Hash       []byte    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	// Clients is how many client records the token has (lists only).
	Clients int `json:"clients"`
}

// NewRegistrationToken is a token just created: the only value holding it.
type NewRegistrationToken struct {
	Token string `json:"token"`
	*RegistrationToken
}

// ClientFilter selects client records. Zero fields select everything.
type ClientFilter struct {
	OrgID int64
	// Org selects by organization name (for server administrators).
	Org      string
	Username string
	Network  string
	// Limit is at most this many (0: 100; at most 1000).
	Limit int
}

// RegistrationTokenStore keeps organization registration tokens.
type RegistrationTokenStore interface {
	// CreateRegistrationToken inserts t and sets t.ID. ECONFLICT if the
	// organization has an unrevoked token of the same name.
	CreateRegistrationToken(ctx context.Context, t *RegistrationToken) error
	// RegistrationTokenByHash returns the token, revoked or not, with its
	// organization's name. ENOTFOUND if none.
	RegistrationTokenByHash(ctx context.Context, hash []byte) (*RegistrationToken, error)
	// ListRegistrationTokens returns the organization's tokens, newest
	// first, revoked included, with their client counts.
	ListRegistrationTokens(ctx context.Context, orgID int64) ([]*RegistrationToken, error)
	// RevokeRegistrationToken revokes the organization's token and returns
	// it; revoking twice succeeds. ENOTFOUND if it is not the organization's.
	RevokeRegistrationToken(ctx context.Context, orgID, id int64, at time.Time) (*RegistrationToken, error)
	// TouchRegistrationToken sets LastSeenAt to at if that is later.
	TouchRegistrationToken(ctx context.Context, id int64, at time.Time) error
	// CountClients counts the client records f selects (Limit ignored).
	CountClients(ctx context.Context, f ClientFilter) (int, error)
	// PruneClients keeps the keep most recently seen client records of an
	// organization (orgID > 0), of a key (keyID > 0) or of all (both 0)
	// and deletes the rest (checklist I7). It returns how many it deleted.
	PruneClients(ctx context.Context, orgID, keyID int64, keep int) (int64, error)
	// UnusedKeys lists active personal keys with the Platform channels
	// scope that no client record names yet: machines registered (after a
	// login or a key made for conda) that have not fetched. They come as
	// Clients with Pending set, newest first; f.Network and f.OrgID select
	// none of them.
	UnusedKeys(ctx context.Context, f ClientFilter, at time.Time) ([]*Client, error)
}

// RegistrationService manages organization registration tokens and the
// clients that register with them.
type RegistrationService interface {
	CreateToken(ctx context.Context, p *Principal, org, name string) (*NewRegistrationToken, error)
	ListTokens(ctx context.Context, p *Principal, org string) ([]*RegistrationToken, error)
	RevokeToken(ctx context.Context, p *Principal, org string, id int64) (*RegistrationToken, error)
	// OrgClients lists the organization's registered clients and their
	// total count, for its owners and admins.
	OrgClients(ctx context.Context, p *Principal, org string, f ClientFilter) ([]*Client, int, error)
	// Registered is the gate's question for a request without an API key:
	// does it carry a valid registration token (cred, a credential that
	// orgtoken.Looks at, or an o/ token in userAgent)? An invalid,
	// unknown or revoked credential token is an error (a credential that
	// is present and bad is never anonymous); o/ tokens that are not
	// valid are only not registered. From memory, allocation-light.
	Registered(ctx context.Context, cred, userAgent string, addr netip.Addr) (*RegistrationToken, error)
}
