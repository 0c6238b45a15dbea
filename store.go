package gatehouse

import (
	"context"
	"time"
)

// Store is the metadata storage every backend implements (sqlstore for
// SQLite and PostgreSQL). Methods return *Error with ENOTFOUND, ECONFLICT
// or EINVALID for the cases named, EUNAVAILABLE when the database cannot
// be reached, and wrap anything else. Times go in and come out in UTC.
type Store interface {
	UserStore
	OrgStore
	KeyStore
	SessionStore
	AuditStore
	ChannelStore
	GateStore
	OAuthStore
	UpstreamStore
	IndexStore
	PolicyStore
	SSOStore
	TrustedPublisherStore
	RegistrationTokenStore
	// Atomic runs fn with a Store whose calls all belong to one
	// transaction, committed if fn returns nil and rolled back otherwise.
	// A change and its audit event are written this way, together or not
	// at all. Called inside fn, Atomic joins the open transaction.
	Atomic(ctx context.Context, fn func(tx Store) error) error
	// Ping checks the database is reachable (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// UserStore keeps user accounts.
type UserStore interface {
	// CreateUser inserts u and sets u.ID. ECONFLICT if a user or an
	// organization already has the name.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByName(ctx context.Context, username string) (*User, error)
	// ListUsers returns all users ordered by username.
	ListUsers(ctx context.Context) ([]*User, error)
	CountUsers(ctx context.Context) (int, error)
	// SetPassword replaces the password hash and sets PasswordChangedAt.
	SetPassword(ctx context.Context, userID int64, hash string, at time.Time) error
	// UpdateUser saves IsAdmin, Disabled and Email.
	UpdateUser(ctx context.Context, u *User) error
	// UsersByEmail returns the users whose email is this address, compared
	// without regard to case.
	UsersByEmail(ctx context.Context, email string) ([]*User, error)
}

// OrgStore keeps organizations and their members.
type OrgStore interface {
	// CreateOrg inserts o with ownerID as its first owner, atomically, and
	// sets o.ID. ECONFLICT if a user or an organization has the name.
	CreateOrg(ctx context.Context, o *Org, ownerID int64) error
	OrgByName(ctx context.Context, name string) (*Org, error)
	// OrgByID returns the organization, ENOTFOUND if none.
	OrgByID(ctx context.Context, id int64) (*Org, error)
	// UserOrgs returns the user's memberships ordered by organization name.
	UserOrgs(ctx context.Context, userID int64) ([]*Membership, error)
	// OrgMembers returns the members ordered by username.
	OrgMembers(ctx context.Context, orgID int64) ([]*Membership, error)
	// OrgMember returns one membership, ENOTFOUND if none.
	OrgMember(ctx context.Context, orgID, userID int64) (*Membership, error)
	// PutOrgMember adds the user or changes their role. EINVALID if it
	// would leave the organization without an owner.
	PutOrgMember(ctx context.Context, orgID, userID int64, role OrgRole) error
	// RemoveOrgMember removes the user. ENOTFOUND if not a member, EINVALID
	// if they are the last owner.
	RemoveOrgMember(ctx context.Context, orgID, userID int64) error
}

// KeyStore keeps API key metadata and hashes.
type KeyStore interface {
	// CreateKey inserts k and sets k.ID. In the same transaction it revokes
	// (reason RevokedReplaced, at k.CreatedAt) any unrevoked key of the same
	// user with the same name, and returns it; replaced is nil if none.
	CreateKey(ctx context.Context, k *APIKey) (replaced *APIKey, err error)
	// KeyByHash returns the key with this hash, whatever its status, and
	// its owner. ENOTFOUND if none.
	KeyByHash(ctx context.Context, hash []byte) (*APIKey, *User, error)
	// KeyByID returns the user's key. ENOTFOUND if it is not theirs.
	KeyByID(ctx context.Context, userID, keyID int64) (*APIKey, error)
	// ListKeys returns all the user's keys, newest first, revoked included.
	ListKeys(ctx context.Context, userID int64) ([]*APIKey, error)
	// RevokeKey revokes the user's key and returns it. Revoking a revoked
	// key changes nothing and succeeds. ENOTFOUND if it is not theirs.
	RevokeKey(ctx context.Context, userID, keyID int64, at time.Time, reason string) (*APIKey, error)
	// TouchKey records a use: sets LastUsedAt to at if that is later.
	TouchKey(ctx context.Context, keyID int64, at time.Time) error
	// CountActiveKeys counts the user's keys neither revoked nor expired
	// at at (the keys-per-user quota).
	CountActiveKeys(ctx context.Context, userID int64, at time.Time) (int, error)

	// Organization service keys (OrgID set). CreateKey replaces an active
	// key of the same organization and name; KeyByID, ListKeys and
	// RevokeKey see personal keys only.
	// ListOrgKeys returns all the organization's keys, newest first.
	ListOrgKeys(ctx context.Context, orgID int64) ([]*APIKey, error)
	// RevokeOrgKey revokes the organization's key and returns it, like
	// RevokeKey. ENOTFOUND if it is not the organization's.
	RevokeOrgKey(ctx context.Context, orgID, keyID int64, at time.Time, reason string) (*APIKey, error)
}

// SessionStore keeps browser sessions.
type SessionStore interface {
	// CreateSession inserts s and sets s.ID.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByHash returns the session and its user. ENOTFOUND if none.
	SessionByHash(ctx context.Context, hash []byte) (*Session, *User, error)
	// ExtendSession moves the session's expiry (sliding idle timeout).
	ExtendSession(ctx context.Context, id int64, expiresAt time.Time) error
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteUserSessions ends every session of the user (password change,
	// account disabled).
	DeleteUserSessions(ctx context.Context, userID int64) error
	// DeleteExpiredSessions removes sessions that expired before t.
	DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error)
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// AppendAudit inserts e and sets e.ID.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
}

// ChannelStore keeps channels, their grants and their packages.
type ChannelStore interface {
	// CreateChannel inserts c and sets c.ID. ECONFLICT if the name is taken.
	CreateChannel(ctx context.Context, c *Channel) error
	ChannelByName(ctx context.Context, name string) (*Channel, error)
	// ListChannels returns every channel ordered by name.
	ListChannels(ctx context.Context) ([]*Channel, error)
	// SetChannelVisibility changes who may read the channel.
	SetChannelVisibility(ctx context.Context, channelID int64, v Visibility) error
	// PutChannelGrant gives the user the role (replacing any grant);
	// DeleteChannelGrant removes it (ENOTFOUND if none).
	PutChannelGrant(ctx context.Context, channelID, userID int64, role ChannelRole, at time.Time) error
	DeleteChannelGrant(ctx context.Context, channelID, userID int64) error
	ChannelGrants(ctx context.Context, channelID int64) ([]*ChannelGrant, error)
	// ChannelRoleOf returns the user's effective role on the channel at
	// this moment: the highest of owning it, an explicit grant, and
	// OrgChannelRole of their membership in the owning organization.
	ChannelRoleOf(ctx context.Context, channelID, userID int64) (ChannelRole, error)

	// AddPackage inserts p and bumps the channel's revision, in one
	// transaction. If a package with the same channel, subdir and filename
	// exists: ECONFLICT, unless replace, in which case it is swapped and
	// returned. p.ID is set.
	AddPackage(ctx context.Context, p *Package, replace bool) (replaced *Package, err error)
	// DeletePackage removes the package, bumps the revision and returns
	// it. ENOTFOUND if none.
	DeletePackage(ctx context.Context, channelID int64, subdir, filename string) (*Package, error)
	PackageByFilename(ctx context.Context, channelID int64, subdir, filename string) (*Package, error)
	// ListPackages returns the channel's packages in subdir ("" for all),
	// ordered by subdir then filename, Record included.
	ListPackages(ctx context.Context, channelID int64, subdir string) ([]*Package, error)
	// ChannelSubdirs returns the subdirs that hold packages, sorted.
	ChannelSubdirs(ctx context.Context, channelID int64) ([]string, error)
	// ChannelRoles returns the user's effective role on every channel
	// where they have one, in one query (ChannelRoleOf for a list).
	ChannelRoles(ctx context.Context, userID int64) (map[int64]ChannelRole, error)
	// AllChannelSubdirs returns, per channel, the subdirs holding packages.
	AllChannelSubdirs(ctx context.Context) (map[int64][]string, error)
	// CountChannels counts one owner's channels: a user (ownerOrgID 0) or
	// an organization (ownerUserID 0); OwnerBytes sums the sizes of the
	// package files in them (the quotas).
	CountChannels(ctx context.Context, ownerUserID, ownerOrgID int64) (int, error)
	OwnerBytes(ctx context.Context, ownerUserID, ownerOrgID int64) (int64, error)
	// BlobKeyInUse reports whether any package references the blob key
	// (orphan collection after a crash, checklist H4).
	BlobKeyInUse(ctx context.Context, key string) (bool, error)
}

// GateStore keeps the registration gate's network rules and the clients
// seen on channel requests.
type GateStore interface {
	CreateNetworkRule(ctx context.Context, r *NetworkRule) error
	ListNetworkRules(ctx context.Context) ([]*NetworkRule, error)
	// DeleteNetworkRule removes the rule; ENOTFOUND if none.
	DeleteNetworkRule(ctx context.Context, id int64) error
	// RecordClient upserts the client row for (KeyID, IP, UserAgent):
	// FirstSeen is kept, LastSeen moves forward, Requests adds c.Requests.
	RecordClient(ctx context.Context, c *Client) error
	// ListClients returns the clients f selects, most recently seen first.
	ListClients(ctx context.Context, f ClientFilter) ([]*Client, error)
}
