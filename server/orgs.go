package server

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// orgForMember returns the organization and the actor's membership. A
// non-member (other than an administrator) gets "not found", so private
// membership is not revealed.
func (s *Server) orgForMember(ctx context.Context, p *gatehouse.Principal, name string) (*gatehouse.Org, *gatehouse.Membership, error) {
	o, err := s.store.OrgByName(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.store.OrgMember(ctx, o.ID, p.User.ID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		if p.Scopes().Has(gatehouse.ScopeAdmin) {
			return o, &gatehouse.Membership{OrgID: o.ID, OrgName: o.Name, UserID: p.User.ID, Username: p.User.Username, Role: gatehouse.OrgOwner}, nil
		}
		return nil, nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No organization named %q that you belong to.", name)
	}
	if err != nil {
		return nil, nil, err
	}
	return o, m, nil
}

func (s *Server) createOrg(ctx context.Context, p *gatehouse.Principal, name string, ip netip.Addr) (*gatehouse.Org, error) {
	name = strings.TrimSpace(name)
	if err := gatehouse.ValidateName("name", name); err != nil {
		return nil, err
	}
	o := &gatehouse.Org{Name: name, CreatedAt: s.now()}
	if err := s.store.CreateOrg(ctx, o, p.User.ID); err != nil {
		return nil, err
	}
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditOrgCreate,
		Target: "org:" + o.Name, IP: ip.String(), Success: true})
	return o, nil
}

// putMember adds a user or changes their role. Admins manage members and
// admins; only owners touch owners.
func (s *Server) putMember(ctx context.Context, p *gatehouse.Principal, orgName, username string, role gatehouse.OrgRole, ip netip.Addr) error {
	o, me, err := s.orgForMember(ctx, p, orgName)
	if err != nil {
		return err
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil {
		return err
	}
	if err := canChange(ctx, s.store, me, o.ID, u.ID, role); err != nil {
		return err
	}
	if err := s.store.PutOrgMember(ctx, o.ID, u.ID, role); err != nil {
		return err
	}
	s.chans.forgetRoles() // org roles feed channel roles
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditOrgMemberPut,
		Target: "org:" + o.Name + " user:" + u.Username, IP: ip.String(), Success: true, Detail: "role=" + string(role)})
	return nil
}

func (s *Server) removeMember(ctx context.Context, p *gatehouse.Principal, orgName, username string, ip netip.Addr) error {
	o, me, err := s.orgForMember(ctx, p, orgName)
	if err != nil {
		return err
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil {
		return err
	}
	// Anyone may leave; removing others takes the right to manage them.
	if u.ID != p.User.ID {
		if err := canChange(ctx, s.store, me, o.ID, u.ID, gatehouse.OrgMember); err != nil {
			return err
		}
	}
	if err := s.store.RemoveOrgMember(ctx, o.ID, u.ID); err != nil {
		return err
	}
	// Removed from the organization: its channels close to all their
	// keys on the next request.
	s.chans.forgetRoles()
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditOrgMemberRemove,
		Target: "org:" + o.Name + " user:" + u.Username, IP: ip.String(), Success: true})
	return nil
}

// canChange checks that me may give target the role, considering the role
// target holds now.
func canChange(ctx context.Context, store gatehouse.Store, me *gatehouse.Membership, orgID, targetID int64, role gatehouse.OrgRole) error {
	if !me.Role.CanManageMembers() {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners and admins of the organization can manage its members.")
	}
	if !me.Role.CanGrant(role) {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners can make someone an owner.")
	}
	current, err := store.OrgMember(ctx, orgID, targetID)
	if err == nil && !me.Role.CanGrant(current.Role) {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners can change or remove an owner.")
	}
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return err
	}
	return nil
}

type memberView struct {
	Username string            `json:"username"`
	Role     gatehouse.OrgRole `json:"role"`
	AddedAt  string            `json:"added_at"`
}

func (s *Server) handleCreateOrg(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	o, err := s.createOrg(r.Context(), p, req.Name, s.clientAddr(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, o)
	return nil
}

func (s *Server) handleListOrgs(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ms, err := s.store.UserOrgs(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	out := make([]orgMembership, len(ms))
	for i, m := range ms {
		out[i] = orgMembership{Org: m.OrgName, Role: m.Role}
	}
	writeJSON(w, http.StatusOK, map[string]any{"orgs": out})
	return nil
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	o, _, err := s.orgForMember(r.Context(), p, r.PathValue("org"))
	if err != nil {
		return err
	}
	ms, err := s.store.OrgMembers(r.Context(), o.ID)
	if err != nil {
		return err
	}
	out := make([]memberView, len(ms))
	for i, m := range ms {
		out[i] = memberView{Username: m.Username, Role: m.Role, AddedAt: m.AddedAt.UTC().Format("2006-01-02T15:04:05Z")}
	}
	writeJSON(w, http.StatusOK, map[string]any{"org": o.Name, "members": out})
	return nil
}

func (s *Server) handlePutMember(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	role, err := gatehouse.ParseOrgRole(req.Role)
	if err != nil {
		return err
	}
	if err := s.putMember(r.Context(), p, r.PathValue("org"), r.PathValue("user"), role, s.clientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if err := s.removeMember(r.Context(), p, r.PathValue("org"), r.PathValue("user"), s.clientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
