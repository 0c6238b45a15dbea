package server

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// Organization pages: the caller's organizations, one organization's
// members, and member management for its owners and admins.

type orgsPage struct {
	Memberships []*gatehouse.Membership
	Name        string // the create form's value, kept after an error
	FormErr     string
	ReplaceURL  string
}

type orgPage struct {
	Org       *gatehouse.Org
	Me        *gatehouse.Membership
	Members   []memberRow
	CanManage bool
	// Roles are the roles the caller may grant, for the role selects.
	Roles       []gatehouse.OrgRole
	AddUsername string
	AddRole     gatehouse.OrgRole
	// RemoveUser opens that member's confirmation on load (?remove=), so
	// the page also works without JavaScript.
	RemoveUser string
	ReplaceURL string
}

type memberRow struct {
	*gatehouse.Membership
	Self bool
	// Editable: the caller may change this member's role; Removable: the
	// caller may remove them (anyone may leave).
	Editable, Removable bool
}

var orgRoles = []gatehouse.OrgRole{gatehouse.OrgOwner, gatehouse.OrgAdmin, gatehouse.OrgMember}

func (s *Server) handleOrgsPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	return s.renderOrgs(w, r, c, http.StatusOK, &orgsPage{}, &page{})
}

func (s *Server) handleCreateOrgPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	o, err := s.createOrg(r.Context(), c.principal(), name, s.clientAddr(r))
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		return s.renderOrgs(w, r, c, statusOf[gatehouse.ErrorCode(err)], &orgsPage{Name: name, FormErr: gatehouse.ErrorMessage(err), ReplaceURL: "/orgs"}, &page{})
	}
	return s.renderOrg(w, r, c, o.Name, http.StatusOK, &orgPage{},
		&page{Flash: "Organization " + o.Name + " created. You are its owner: add members below."})
}

func (s *Server) renderOrgs(w http.ResponseWriter, r *http.Request, c *webCtx, status int, op *orgsPage, p *page) error {
	ms, err := s.store.UserOrgs(r.Context(), c.User.ID)
	if err != nil {
		return err
	}
	op.Memberships = ms
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Organizations", "orgs", c.User, c.CSRF, op
	s.render(w, r, status, "orgs", p)
	return nil
}

func (s *Server) handleOrgPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	op := &orgPage{RemoveUser: r.URL.Query().Get("remove")}
	return s.renderOrg(w, r, c, r.PathValue("org"), http.StatusOK, op, &page{})
}

// handleAddMemberPage adds a member by username (or changes the role of
// one who already is).
func (s *Server) handleAddMemberPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	org := r.PathValue("org")
	username := strings.ToLower(strings.TrimSpace(r.PostFormValue("username")))
	op := &orgPage{AddUsername: username, AddRole: gatehouse.OrgRole(r.PostFormValue("role"))}
	role, err := gatehouse.ParseOrgRole(r.PostFormValue("role"))
	if err == nil && username == "" {
		err = gatehouse.FieldErrorf("username", "Type the username of the person to add.")
	}
	if err == nil {
		err = s.putMember(r.Context(), c.principal(), org, username, role, s.clientAddr(r))
	}
	if err != nil {
		return s.orgActionFailed(w, r, c, org, op, err)
	}
	return s.renderOrg(w, r, c, org, http.StatusOK, &orgPage{}, &page{Flash: username + " is now " + roleWithArticle(role) + " of " + org + "."})
}

// handleSetRolePage changes one member's role.
func (s *Server) handleSetRolePage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	org, username := r.PathValue("org"), r.PathValue("user")
	role, err := gatehouse.ParseOrgRole(r.PostFormValue("role"))
	if err == nil {
		// putMember would add a non-member; this form only changes roles.
		err = s.requireMember(r, org, username)
	}
	if err == nil {
		err = s.putMember(r.Context(), c.principal(), org, username, role, s.clientAddr(r))
	}
	if err != nil {
		return s.orgActionFailed(w, r, c, org, &orgPage{}, err)
	}
	return s.renderOrg(w, r, c, org, http.StatusOK, &orgPage{}, &page{Flash: username + " is now " + roleWithArticle(role) + " of " + org + "."})
}

func (s *Server) handleRemoveMemberPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	org, username := r.PathValue("org"), r.PathValue("user")
	if err := s.removeMember(r.Context(), c.principal(), org, username, s.clientAddr(r)); err != nil {
		return s.orgActionFailed(w, r, c, org, &orgPage{}, err)
	}
	if username == c.User.Username && !c.User.IsAdmin {
		// They left: the organization's page is no longer theirs to see.
		return s.renderOrgs(w, r, c, http.StatusOK, &orgsPage{ReplaceURL: "/orgs"}, &page{Flash: "You left " + org + "."})
	}
	return s.renderOrg(w, r, c, org, http.StatusOK, &orgPage{}, &page{Flash: username + " was removed from " + org + "."})
}

// requireMember returns ENOTFOUND unless username is a member of org.
func (s *Server) requireMember(r *http.Request, org, username string) error {
	o, err := s.store.OrgByName(r.Context(), org)
	if err != nil {
		return err
	}
	u, err := s.store.UserByName(r.Context(), username)
	if err != nil {
		return err
	}
	_, err = s.store.OrgMember(r.Context(), o.ID, u.ID)
	return err
}

// orgActionFailed shows the organization's page again with the error; if
// the caller may not see the organization at all, the error page says so.
func (s *Server) orgActionFailed(w http.ResponseWriter, r *http.Request, c *webCtx, org string, op *orgPage, err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
		return err
	}
	return s.renderOrg(w, r, c, org, statusOf[gatehouse.ErrorCode(err)], op, &page{Error: gatehouse.ErrorMessage(err)})
}

// renderOrg shows one organization to a member (or an administrator);
// anyone else gets "not found", whatever brought them here.
func (s *Server) renderOrg(w http.ResponseWriter, r *http.Request, c *webCtx, name string, status int, op *orgPage, p *page) error {
	o, me, err := s.orgForMember(r.Context(), c.principal(), name)
	if err != nil {
		return err
	}
	ms, err := s.store.OrgMembers(r.Context(), o.ID)
	if err != nil {
		return err
	}
	op.Org, op.Me, op.CanManage = o, me, me.Role.CanManageMembers()
	op.ReplaceURL = "/orgs/" + o.Name
	for _, role := range orgRoles {
		if op.CanManage && me.Role.CanGrant(role) {
			op.Roles = append(op.Roles, role)
		}
	}
	if op.AddRole == "" {
		op.AddRole = gatehouse.OrgMember
	}
	op.Members = make([]memberRow, len(ms))
	for i, m := range ms {
		self := m.UserID == c.User.ID
		editable := op.CanManage && me.Role.CanGrant(m.Role)
		op.Members[i] = memberRow{Membership: m, Self: self, Editable: editable, Removable: editable || self}
	}
	p.Title, p.Tab, p.User, p.CSRF, p.Content = o.Name, "orgs", c.User, c.CSRF, op
	s.render(w, r, status, "org", p)
	return nil
}

func roleWithArticle(r gatehouse.OrgRole) string {
	if r == gatehouse.OrgOwner || r == gatehouse.OrgAdmin {
		return "an " + string(r)
	}
	return "a " + string(r)
}
