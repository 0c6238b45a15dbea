package gatehouse

import "time"

// Org is an organization: a named group of users that can own channels.
type Org struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// OrgRole is a member's role in an organization.
type OrgRole string

// Roles, from most to least powerful. Owners and admins manage members;
// only owners can add or remove owners. An organization always keeps at
// least one owner.
const (
	OrgOwner  OrgRole = "owner"
	OrgAdmin  OrgRole = "admin"
	OrgMember OrgRole = "member"
)

// ParseOrgRole validates a role name.
func ParseOrgRole(s string) (OrgRole, error) {
	switch r := OrgRole(s); r {
	case OrgOwner, OrgAdmin, OrgMember:
		return r, nil
	}
	return "", FieldErrorf("role", "Role must be one of owner, admin or member.")
}

// CanManageMembers reports whether the role may add and remove members.
func (r OrgRole) CanManageMembers() bool { return r == OrgOwner || r == OrgAdmin }

// CanGrant reports whether a member with role r may give or take role target.
func (r OrgRole) CanGrant(target OrgRole) bool {
	if r == OrgOwner {
		return true
	}
	return r == OrgAdmin && target != OrgOwner
}

// Membership is one user's role in one organization.
type Membership struct {
	OrgID    int64     `json:"org_id"`
	OrgName  string    `json:"org"`
	UserID   int64     `json:"user_id"`
	Username string    `json:"username"`
	Role     OrgRole   `json:"role"`
	AddedAt  time.Time `json:"added_at"`
}
