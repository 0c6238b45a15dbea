package gatehouse

import (
	"context"
	"net/netip"
	"time"
)

// Trusted publishing: a channel trusts a CI identity (an OIDC issuer, an
// audience, and claims that must match, such as GitHub Actions'
// repository or GitLab's project_path), and a CI job of that identity
// exchanges its short-lived ID token for a key that can only upload to
// that channel and expires within TrustedPublishingKeyLifetime.

// TrustedPublishingKeyLifetime is the longest a key from an exchange
// lives.
const TrustedPublishingKeyLifetime = 15 * time.Minute

// CreatedViaTrustedPublishing marks keys an exchange minted.
const CreatedViaTrustedPublishing = "trusted-publishing"

// TrustedPublisher is one CI identity a channel trusts.
type TrustedPublisher struct {
	ID        int64             `json:"id"`
	ChannelID int64             `json:"-"`
	Channel   string            `json:"channel"`
	Issuer    string            `json:"issuer"`
	Audience  string            `json:"audience"`
	Claims    map[string]string `json:"claims"`
	CreatedAt time.Time         `json:"created_at"`
	CreatedBy string            `json:"created_by"`
}

// MaxPublisherClaims bounds the claims one publisher requires.
const MaxPublisherClaims = 16

// TrustedPublisherStore keeps trusted publishers and the ID tokens
// already exchanged.
type TrustedPublisherStore interface {
	// CreateTrustedPublisher inserts tp and sets its ID.
	CreateTrustedPublisher(ctx context.Context, tp *TrustedPublisher) error
	// TrustedPublishers returns the channel's publishers by ID.
	TrustedPublishers(ctx context.Context, channelID int64) ([]*TrustedPublisher, error)
	// DeleteTrustedPublisher removes one; ENOTFOUND if the channel has
	// no such publisher.
	DeleteTrustedPublisher(ctx context.Context, channelID, id int64) error
	// UseIDToken records that the token with this hash was exchanged,
	// until it expires. ECONFLICT if it was already (a replay).
	UseIDToken(ctx context.Context, hash []byte, expiresAt time.Time) error
	// DeleteExpiredIDTokens forgets tokens that expired before t.
	DeleteExpiredIDTokens(ctx context.Context, t time.Time) (int64, error)
}

// TrustedPublisherRequest asks a channel to trust a CI identity.
type TrustedPublisherRequest struct {
	Issuer   string
	Audience string // "": the server's host name
	Claims   map[string]string
}

// TokenExchange is a CI job's request: its ID token, and the channel it
// means to upload to.
type TokenExchange struct {
	Token   string
	Channel string
	Addr    netip.Addr
}

// TrustedPublishingService manages trusted publishers and exchanges ID
// tokens for upload keys.
type TrustedPublishingService interface {
	AddPublisher(ctx context.Context, p *Principal, channel string, req TrustedPublisherRequest) (*TrustedPublisher, error)
	Publishers(ctx context.Context, p *Principal, channel string) ([]*TrustedPublisher, error)
	RemovePublisher(ctx context.Context, p *Principal, channel string, id int64) error
	// Exchange verifies the token against the channel's publishers and
	// mints a key that can only upload to the channel. Every exchange is
	// audited, with the claims that matched.
	Exchange(ctx context.Context, req TokenExchange) (*NewKey, *TrustedPublisher, error)
}
