package gatehouse

import (
	"context"
	"io"
	"net/netip"
	"os"
	"time"
)

// The services own the rules: who may do what, the audit event written in
// the same transaction as the change, and the eviction of cached decisions.
// The HTTP layer, the OAuth server, the web pages and cmd/gatehouse's
// first-start bootstrap all go through them; they decode, call a service,
// and encode. Every method that acts for someone takes the *Principal, whose
// Addr is the client's address (for the audit log and rate limits), and
// returns *Error values.

// Credential is what a request presented, before it is verified: an API
// key or an OAuth access token (from any of the forms clients send), or a
// username and password (HTTP Basic, the sign-in form).
type Credential struct {
	Key      string
	Username string
	Password string
}

// Present reports whether the request carried any credential.
func (c Credential) Present() bool { return c.Key != "" || c.Username != "" || c.Password != "" }

// AuthService verifies credentials and keeps browser sessions.
type AuthService interface {
	// Authenticate verifies c for a request from addr. A key or token
	// that is present but bad is an EUNAUTHORIZED error whose Reason says
	// why ("API KEY EXPIRED"); it never falls back to anonymous. Repeated
	// failures from one address or for one account are ERATELIMITED with
	// RetryAfter. A store outage is EUNAVAILABLE (checklist H1).
	Authenticate(ctx context.Context, c Credential, addr netip.Addr) (*Principal, error)
	// SignIn checks a username and password for the sign-in form and
	// audits the outcome. via says where ("web").
	SignIn(ctx context.Context, username, password string, addr netip.Addr, via string) (*Principal, error)
	// StartSession opens a browser session for p's user and returns the
	// token its cookie holds and when the session ends at the latest.
	StartSession(ctx context.Context, p *Principal, userAgent string) (token string, expires time.Time, err error)
	// Session returns the live session the token names and its user, or
	// nils when there is none (unknown, expired, user disabled). It
	// slides the idle timeout.
	Session(ctx context.Context, token string) (*Session, *User, error)
	// EndSession ends the session (sign-out) and audits it when p is set.
	EndSession(ctx context.Context, token string, p *Principal) error
}

// KeyRequest asks for a new API key.
type KeyRequest struct {
	Name      string
	Scopes    Scopes
	ExpiresAt time.Time
	// Channels limits the key to these channels (none: every channel the
	// owner can use); ChannelAccess caps its role on them (NoAccess: the
	// owner's own).
	Channels      []string
	ChannelAccess ChannelRole
	// JWT issues the key in the JWT form the official anaconda-auth
	// client decodes (claims exp and sub); set for CLI logins only.
	JWT bool
}

// LoginKeyRequest asks for the key a CLI creates after logging in
// (POST /api/auth/api-keys). Zero fields take the defaults: the scopes the
// login granted, a year (or the creating key's own expiry), and a name
// from Hostname or the machine named at login.
type LoginKeyRequest struct {
	Name      string
	Hostname  string
	Scopes    Scopes
	ExpiresAt time.Time
	// JWT asks for the key in JWT form (see KeyRequest.JWT): the official
	// anaconda-auth client decodes its key as a JWT.
	JWT bool
}

// NewKey is a key just created: the only value that ever holds Secret.
type NewKey struct {
	Secret   string
	Key      *APIKey
	Replaced *APIKey // the key of the same name it revoked, if any
}

// KeyService manages API keys.
type KeyService interface {
	CreateKey(ctx context.Context, p *Principal, req KeyRequest) (*NewKey, error)
	CreateLoginKey(ctx context.Context, p *Principal, req LoginKeyRequest) (*NewKey, error)
	ListKeys(ctx context.Context, p *Principal) ([]*APIKey, error)
	// RevokeKey revokes one of p's user's keys; revoking twice succeeds and
	// someone else's key is ENOTFOUND (checklist A7).
	RevokeKey(ctx context.Context, p *Principal, id int64, reason string) (*APIKey, error)

	// CreateOrgKey, ListOrgKeys and RevokeOrgKey manage an organization's
	// service keys, for its owners and admins.
	CreateOrgKey(ctx context.Context, p *Principal, org string, req KeyRequest) (*NewKey, error)
	ListOrgKeys(ctx context.Context, p *Principal, org string) ([]*APIKey, error)
	RevokeOrgKey(ctx context.Context, p *Principal, org string, id int64) (*APIKey, error)
	// Limits says how long p's keys may live and how early expiring keys
	// are flagged.
	Limits(ctx context.Context, p *Principal) (*KeyLimits, error)
	// ExpiryWarning is how early the key p used is flagged as expiring,
	// from memory (it runs on every API request).
	ExpiryWarning(p *Principal) time.Duration
}

// NewUser is an administrator's request for an account.
type NewUser struct {
	Username, Password, Email string
	IsAdmin                   bool
}

// UserUpdate changes a user's rights; nil fields stay as they are.
type UserUpdate struct {
	IsAdmin  *bool
	Disabled *bool
}

// UserService manages accounts.
type UserService interface {
	CreateUser(ctx context.Context, p *Principal, req NewUser) (*User, error)
	ListUsers(ctx context.Context, p *Principal) ([]*User, error)
	UpdateUser(ctx context.Context, p *Principal, username string, req UserUpdate) (*User, error)
	// ChangePassword checks the current password and sets the new one,
	// ending every browser session of the user.
	ChangePassword(ctx context.Context, p *Principal, current, next string) error
	// EnsureInitialAdmin creates the first administrator on an empty
	// database (first start). created is false when users exist already.
	// A printed password (one the server chose and logged) must be changed
	// at the first web sign-in.
	EnsureInitialAdmin(ctx context.Context, username, password string, printed bool) (created bool, err error)
}

// OrgService manages organizations and their members.
type OrgService interface {
	CreateOrg(ctx context.Context, p *Principal, name string) (*Org, error)
	// Memberships returns p's user's organizations.
	Memberships(ctx context.Context, p *Principal) ([]*Membership, error)
	// Org returns the organization and p's membership; an administrator
	// who is no member acts as an owner. Non-members get ENOTFOUND.
	Org(ctx context.Context, p *Principal, name string) (*Org, *Membership, error)
	Members(ctx context.Context, p *Principal, org string) (*Org, []*Membership, error)
	// PutMember adds the user or changes their role; SetMemberRole only
	// changes the role of a member (ENOTFOUND for anyone else).
	PutMember(ctx context.Context, p *Principal, org, username string, role OrgRole) error
	SetMemberRole(ctx context.Context, p *Principal, org, username string, role OrgRole) error
	RemoveMember(ctx context.Context, p *Principal, org, username string) error
}

// ChannelRequest asks for a new channel.
type ChannelRequest struct {
	Name       string
	Visibility Visibility // "": public
	Owner      string     // a user or organization; "": the caller
	// Upstream makes a proxy or mirror channel; nil a hosted one.
	Upstream *UpstreamRequest
}

// ChannelAccess is a channel with the caller's role on it, and the
// subdirs that hold its packages.
type ChannelAccess struct {
	Channel *Channel
	Role    ChannelRole
	Subdirs []string
}

// ChannelService manages channels and who may use them.
type ChannelService interface {
	CreateChannel(ctx context.Context, p *Principal, req ChannelRequest) (*Channel, error)
	// Channel returns the channel if p holds at least need on it. Those
	// who cannot read it get ENOTFOUND, so private names do not leak.
	Channel(ctx context.Context, p *Principal, name string, need ChannelRole) (*Channel, ChannelRole, error)
	// Channels returns the channels p can see, by name, with p's role.
	Channels(ctx context.Context, p *Principal) ([]ChannelAccess, error)
	SetVisibility(ctx context.Context, p *Principal, name string, v Visibility) (*Channel, error)
	Grant(ctx context.Context, p *Principal, name, username string, role ChannelRole) error
	RevokeGrant(ctx context.Context, p *Principal, name, username string) error
	Grants(ctx context.Context, p *Principal, name string) (*Channel, []*ChannelGrant, error)
	// Readable is the conda hot path: the channel if p (nil: anonymous)
	// may read it, from a cache. Refusals carry a conda Reason.
	Readable(ctx context.Context, p *Principal, name string) (*Channel, error)
	// EnsureToolsChannel creates the gate-exempt tools channel, public and
	// owned by the first administrator, if it does not exist.
	EnsureToolsChannel(ctx context.Context, name string) error
	// Upstream returns the channel's upstream (credential left out), nil
	// for a hosted channel.
	Upstream(ch *Channel) *Upstream
	// Sync starts a mirror's sync (a proxy's refresh) now; the channel's
	// administrators may. It returns at once; the status shows progress.
	Sync(ctx context.Context, p *Principal, name string) (*Channel, *Upstream, error)
}

// UpstreamService is what the conda endpoints need of upstream channels.
type UpstreamService interface {
	// Fetch stores a proxy channel's package file from its upstream,
	// verified against its record; one fetch per file, whoever asks.
	Fetch(ctx context.Context, ch *Channel, p *Package) error
	// Filtered is the 403 naming the filter that keeps a file out of the
	// channel, or nil.
	Filtered(ctx context.Context, ch *Channel, subdir, filename string) error
	// Freshness says how old the channel's upstream data is and whether
	// the last refresh failed; ok is false for hosted channels.
	Freshness(channelID int64) (age time.Duration, stale bool, ok bool)
}

// Upload is a package file received and spooled, with its digests
// computed as it arrived.
type Upload struct {
	File     UploadFile
	Filename string
	Size     int64
	MD5      string
	SHA256   string
}

// UploadFile is the spooled bytes of an Upload.
type UploadFile interface {
	io.ReaderAt
	io.ReadSeeker
}

// PackageService manages the packages of channels.
type PackageService interface {
	// Upload adds the package to the channel; p needs write access. A
	// file of the same name is ECONFLICT unless replace.
	Upload(ctx context.Context, p *Principal, channel string, u *Upload, replace bool) (*Channel, *Package, error)
	// Packages lists the channel's packages in subdir ("" for all).
	Packages(ctx context.Context, p *Principal, channel, subdir string) (*Channel, []*Package, error)
	Delete(ctx context.Context, p *Principal, channel, subdir, filename string) (*Package, error)
}

// NetworkRuleRequest asks to gate a network.
type NetworkRuleRequest struct {
	CIDR   string
	Action string // "": RuleRequireRegistration
	Note   string
}

// GateRules is the registration gate as configured: the rules kept in the
// database, the networks gated by configuration (read-only), and the
// channels exempt from the gate.
type GateRules struct {
	Configured []string       `json:"configured"`
	Exempt     []string       `json:"exempt_channels"`
	Rules      []*NetworkRule `json:"rules"`
}

// GateService is the registration gate: its rules, its decision on the
// hot path, and the registered clients it sees.
type GateService interface {
	// RequiresRegistration reports whether a request from addr to channel
	// must be refused as unregistered (registered: it carried a good key).
	RequiresRegistration(addr netip.Addr, channel string, registered bool) bool
	// Active reports whether any network requires registration.
	Active() bool
	// ToolsChannel is the channel exempt from the gate.
	ToolsChannel() string
	Rules(ctx context.Context, p *Principal) (*GateRules, error)
	AddRule(ctx context.Context, p *Principal, req NetworkRuleRequest) (*NetworkRule, error)
	DeleteRule(ctx context.Context, p *Principal, id int64) error
	// SeenClient counts a channel request by a registered client; it only
	// touches memory, the writes happen in the background.
	SeenClient(p *Principal, userAgent string)
	// Clients lists the clients f selects, for administrators, with
	// registered machines that have not fetched yet.
	Clients(ctx context.Context, p *Principal, f ClientFilter) ([]*Client, error)
	// RevokeClientKey revokes the user's key a client uses, for
	// administrators (the Clients page's action).
	RevokeClientKey(ctx context.Context, p *Principal, userID, keyID int64) (*APIKey, error)
}

// AuditService reads the audit log and records events that are not part
// of a change (a failed sign-in, a denied login).
type AuditService interface {
	List(ctx context.Context, p *Principal, f AuditFilter) ([]*AuditEvent, error)
	Record(ctx context.Context, e *AuditEvent)
}

// CodeGrantRequest is a checked authorization request of the code flow,
// as the consent page approves it.
type CodeGrantRequest struct {
	ClientID      string
	RedirectURI   string
	CodeChallenge string // PKCE S256
	ClientName    string // the machine, as the client named it
	Scopes        Scopes
}

// DeviceRequest starts a device-flow login.
type DeviceRequest struct {
	ClientID   string
	ClientName string
	Scopes     Scopes
	// Addr is the address asking, whose starts are limited (checklist D4).
	Addr netip.Addr
}

// TokenRequest is a token endpoint request (RFC 6749 §4.1.3, RFC 8628
// §3.4), its parameters as the client sent them.
type TokenRequest struct {
	GrantType    string
	ClientID     string
	Code         string
	RedirectURI  string
	CodeVerifier string
	DeviceCode   string
}

// IssuedToken is an access token just issued: the only value holding it.
type IssuedToken struct {
	Token     string
	Scopes    Scopes
	ExpiresIn time.Duration
}

// LoginService runs CLI logins: the grants the OAuth authorization server
// hands out and redeems, each at most once. Its errors carry the OAuth
// error code as Reason ("invalid_grant", "authorization_pending", ...).
type LoginService interface {
	// Client returns the name of a known public client.
	Client(clientID string) (name string, ok bool)
	// ApproveCode records p's approval and returns the authorization code.
	ApproveCode(ctx context.Context, p *Principal, req CodeGrantRequest) (code string, err error)
	// DenyCode records p's refusal.
	DenyCode(ctx context.Context, p *Principal, req CodeGrantRequest)
	// StartDevice creates a pending device grant and returns its device
	// code (the client's secret) and the grant, whose UserCode is shown.
	StartDevice(ctx context.Context, req DeviceRequest) (deviceCode string, g *OAuthGrant, err error)
	// PendingDevice finds the pending grant of a typed user code (already
	// normalised). Wrong codes count against p's address and account
	// (checklist D4): ERATELIMITED once over budget.
	PendingDevice(ctx context.Context, p *Principal, userCode string) (*OAuthGrant, error)
	// DecideDevice approves or denies a pending device grant.
	DecideDevice(ctx context.Context, p *Principal, g *OAuthGrant, approve bool) error
	// Redeem answers the token endpoint: a code or an approved device code
	// for an access token, exactly once.
	Redeem(ctx context.Context, req TokenRequest, addr netip.Addr) (*IssuedToken, error)
	// DeviceInterval is how often a device-flow client may poll.
	DeviceInterval() time.Duration
}

// IndexFile is one file of a channel's index (repodata.json, its
// compressed forms, the shard index and shards, channeldata.json), built
// once per change of the channel and served as it is: from Data when it
// is small and in memory, else from the file at Path on local disk
// (sendfile).
type IndexFile struct {
	Data []byte
	Path string
	// File, when set, is Path already opened by the index, which opens a
	// revision's files before it answers so that a revision replaced
	// meanwhile cannot vanish under the request. The caller closes it.
	File *os.File
	Size int64
	// ContentType of the bytes (before Encoding).
	ContentType string
	// Encoding is the Content-Encoding the bytes are in ("gzip"), or "".
	Encoding string
	// ETag is one strong validator per content, shared by every encoding
	// of it (conda keeps one ETag per subdir).
	ETag    string
	ModTime time.Time
	// Immutable files are content-addressed (shards): cacheable for ever.
	Immutable bool
}

// IndexService serves channel indexes: never built per request.
type IndexService interface {
	// File returns an index file of the channel at its current revision:
	// "channeldata.json", "<subdir>/repodata.json" (in gzip when gzip is
	// true), "<subdir>/repodata.json.zst", "<subdir>/repodata_shards.msgpack.zst"
	// and "<subdir>/shards/<sha256>.msgpack.zst" (CEP-16). A subdir without
	// packages that conda does not know is ENOTFOUND, and costs no memory.
	// The answer may be shared with other requests: callers read it and
	// close its File, and change nothing else.
	File(ctx context.Context, ch *Channel, name string, gzip bool) (*IndexFile, error)
	// Package returns the channel's package file for a download,
	// ENOTFOUND if there is none.
	Package(ctx context.Context, ch *Channel, subdir, filename string) (*Package, error)
}
