package service

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// Orgs implements gatehouse.OrgService.
type Orgs struct{ *core }

// Org returns the organization and the actor's membership. A non-member
// (other than an administrator) gets "not found", so private membership
// is not revealed.
func (s *Orgs) Org(ctx context.Context, p *gatehouse.Principal, name string) (*gatehouse.Org, *gatehouse.Membership, error) {
	o, err := s.store.OrgByName(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.store.OrgMember(ctx, o.ID, p.User.ID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		if p.Scopes().Has(gatehouse.ScopeAdmin) {
			return o, &gatehouse.Membership{OrgID: o.ID, OrgName: o.Name, UserID: p.User.ID, Username: p.User.Username, Role: gatehouse.OrgOwner}, nil
		}
		return nil, nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "There is no organization by that name that you belong to.")
	}
	if err != nil {
		return nil, nil, err
	}
	return o, m, nil
}

// CreateOrg makes an organization with p's user as its first owner.
func (s *Orgs) CreateOrg(ctx context.Context, p *gatehouse.Principal, name string) (*gatehouse.Org, error) {
	if !p.IsPerson() {
		return nil, errNotAPerson
	}
	name = strings.TrimSpace(name)
	if err := gatehouse.ValidateName("name", name); err != nil {
		return nil, err
	}
	o := &gatehouse.Org{Name: name, CreatedAt: s.now()}
	err := s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.CreateOrg(ctx, o, p.User.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, s.event(p, gatehouse.AuditOrgCreate, "org:"+o.Name))
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// Memberships returns p's user's organizations, by name.
func (s *Orgs) Memberships(ctx context.Context, p *gatehouse.Principal) ([]*gatehouse.Membership, error) {
	return s.store.UserOrgs(ctx, p.User.ID)
}

// Members lists an organization's members, for its members.
func (s *Orgs) Members(ctx context.Context, p *gatehouse.Principal, name string) (*gatehouse.Org, []*gatehouse.Membership, error) {
	o, _, err := s.Org(ctx, p, name)
	if err != nil {
		return nil, nil, err
	}
	ms, err := s.store.OrgMembers(ctx, o.ID)
	if err != nil {
		return nil, nil, err
	}
	return o, ms, nil
}

// PutMember adds a user or changes their role. Admins manage members and
// admins; only owners touch owners.
func (s *Orgs) PutMember(ctx context.Context, p *gatehouse.Principal, org, username string, role gatehouse.OrgRole) error {
	return s.putMember(ctx, p, org, username, role, false)
}

// SetMemberRole changes the role of someone who is a member already.
func (s *Orgs) SetMemberRole(ctx context.Context, p *gatehouse.Principal, org, username string, role gatehouse.OrgRole) error {
	return s.putMember(ctx, p, org, username, role, true)
}

func (s *Orgs) putMember(ctx context.Context, p *gatehouse.Principal, org, username string, role gatehouse.OrgRole, existing bool) error {
	o, me, err := s.Org(ctx, p, org)
	if err != nil {
		return err
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil {
		return err
	}
	if existing {
		if _, err := s.store.OrgMember(ctx, o.ID, u.ID); err != nil {
			return err
		}
	}
	if err := s.canChange(ctx, me, o.ID, u.ID, role); err != nil {
		return err
	}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.PutOrgMember(ctx, o.ID, u.ID, role); err != nil {
			return err
		}
		e := s.event(p, gatehouse.AuditOrgMemberPut, "org:"+o.Name+" user:"+u.Username)
		e.Detail = "role=" + string(role)
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	s.channels.forgetRoles() // org roles feed channel roles
	return nil
}

// RemoveMember removes a member. Anyone may leave; removing others takes
// the right to manage them. The organization's channels close to all of
// the removed member's keys on their next request.
func (s *Orgs) RemoveMember(ctx context.Context, p *gatehouse.Principal, org, username string) error {
	o, me, err := s.Org(ctx, p, org)
	if err != nil {
		return err
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil {
		return err
	}
	if u.ID != p.User.ID {
		if err := s.canChange(ctx, me, o.ID, u.ID, gatehouse.OrgMember); err != nil {
			return err
		}
	}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.RemoveOrgMember(ctx, o.ID, u.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, s.event(p, gatehouse.AuditOrgMemberRemove, "org:"+o.Name+" user:"+u.Username))
	})
	if err != nil {
		return err
	}
	s.channels.forgetRoles()
	return nil
}

// canChange checks that me may give target the role, considering the role
// target holds now.
func (s *Orgs) canChange(ctx context.Context, me *gatehouse.Membership, orgID, targetID int64, role gatehouse.OrgRole) error {
	if !me.Role.CanManageMembers() {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners and admins of the organization can manage its members.")
	}
	if !me.Role.CanGrant(role) {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners can make someone an owner.")
	}
	current, err := s.store.OrgMember(ctx, orgID, targetID)
	if err == nil && !me.Role.CanGrant(current.Role) {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners can change or remove an owner.")
	}
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return err
	}
	return nil
}
