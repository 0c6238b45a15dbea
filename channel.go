package gatehouse

import "time"

// Visibility says who may read a channel.
type Visibility string

const (
	// Public channels are readable by anyone who passed the registration
	// gate, with or without a key.
	Public Visibility = "public"
	// Private channels need a key with the channels scope whose owner can
	// read the channel.
	Private Visibility = "private"
)

// ParseVisibility validates a visibility name.
func ParseVisibility(s string) (Visibility, error) {
	switch v := Visibility(s); v {
	case Public, Private:
		return v, nil
	}
	return "", FieldErrorf("visibility", "Visibility must be \"public\" or \"private\".")
}

// Channel is a conda channel hosted on the platform, served at
// /repo/<Name>/<subdir>/. Channel names are global, like URLs.
type Channel struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Visibility Visibility `json:"visibility"`
	// Exactly one of OwnerUserID and OwnerOrgID is set; Owner is its name.
	OwnerUserID int64     `json:"-"`
	OwnerOrgID  int64     `json:"-"`
	Owner       string    `json:"owner"`
	CreatedAt   time.Time `json:"created_at"`
	// Revision grows with every change of the channel's packages; caches
	// of repodata are keyed by it.
	Revision int64 `json:"revision"`
}

// ChannelRole is a user's right on a channel. Roles are ordered: a higher
// role includes the lower ones.
type ChannelRole int

const (
	NoAccess     ChannelRole = iota
	ChannelRead              // download packages
	ChannelWrite             // upload and delete packages
	ChannelAdmin             // grant access, change visibility
)

var channelRoleNames = [...]string{"none", "read", "write", "admin"}

func (r ChannelRole) String() string {
	if r < 0 || int(r) >= len(channelRoleNames) {
		return "none"
	}
	return channelRoleNames[r]
}

// ParseChannelRole validates a grantable role name.
func ParseChannelRole(s string) (ChannelRole, error) {
	for i, n := range channelRoleNames[1:] {
		if n == s {
			return ChannelRole(i + 1), nil
		}
	}
	return NoAccess, FieldErrorf("role", "Role must be \"read\", \"write\" or \"admin\".")
}

// MarshalText encodes the role by name.
func (r ChannelRole) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes a role by name; "none" is NoAccess.
func (r *ChannelRole) UnmarshalText(b []byte) error {
	for i, n := range channelRoleNames {
		if n == string(b) {
			*r = ChannelRole(i)
			return nil
		}
	}
	return FieldErrorf("role", "Role must be \"read\", \"write\" or \"admin\".")
}

// ChannelGrant is one user's explicit role on a channel.
type ChannelGrant struct {
	ChannelID int64       `json:"-"`
	UserID    int64       `json:"-"`
	Username  string      `json:"username"`
	Role      ChannelRole `json:"role"`
	GrantedAt time.Time   `json:"granted_at"`
}

// OrgChannelRole is what membership of the owning organization gives on
// its channels: owners and admins administer them, members read them.
func OrgChannelRole(r OrgRole) ChannelRole {
	switch r {
	case OrgOwner, OrgAdmin:
		return ChannelAdmin
	case OrgMember:
		return ChannelRead
	}
	return NoAccess
}
