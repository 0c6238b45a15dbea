package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
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
	// AddErr is a refused addition, shown at the form.
	AddErr  string
	AddRole gatehouse.OrgRole
	// RemoveUser opens that member's confirmation on load (?remove=), so
	// the page also works without JavaScript.
	RemoveUser string
	ReplaceURL string
	Tabs       OrgTabs
}

type memberRow struct {
	*gatehouse.Membership
	Self bool
	// Editable: the caller may change this member's role; Removable: the
	// caller may remove them (anyone may leave).
	Editable, Removable bool
}

var orgRoles = []gatehouse.OrgRole{gatehouse.OrgOwner, gatehouse.OrgAdmin, gatehouse.OrgMember}

func (s *Pages) handleOrgsPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	return s.renderOrgs(w, r, c, http.StatusOK, &orgsPage{}, &Data{})
}

func (s *Pages) handleCreateOrgPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	o, err := s.cfg.Orgs.CreateOrg(r.Context(), c.Principal(), name)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		return s.renderOrgs(w, r, c, reply.Status(err), &orgsPage{Name: name, FormErr: gatehouse.ErrorMessage(err), ReplaceURL: "/orgs"}, &Data{})
	}
	return s.renderOrg(w, r, c, o.Name, http.StatusOK, &orgPage{},
		&Data{Flash: "Organization " + o.Name + " created. You are its owner: add members below."})
}

func (s *Pages) renderOrgs(w http.ResponseWriter, r *http.Request, c *Ctx, status int, op *orgsPage, p *Data) error {
	ms, err := s.cfg.Orgs.Memberships(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	op.Memberships = ms
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Organizations", "orgs", c.User, c.CSRF, op
	s.Render(w, r, status, "orgs", p)
	return nil
}

func (s *Pages) handleOrgPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	op := &orgPage{RemoveUser: r.URL.Query().Get("remove")}
	return s.renderOrg(w, r, c, r.PathValue("org"), http.StatusOK, op, &Data{})
}

// handleAddMemberPage adds a member by username (or changes the role of
// one who already is).
func (s *Pages) handleAddMemberPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	org := r.PathValue("org")
	username := strings.ToLower(strings.TrimSpace(r.PostFormValue("username")))
	op := &orgPage{AddUsername: username, AddRole: gatehouse.OrgRole(r.PostFormValue("role"))}
	role, err := gatehouse.ParseOrgRole(r.PostFormValue("role"))
	if err == nil && username == "" {
		err = gatehouse.FieldErrorf("username", "Type the username of the person to add.")
	}
	if err == nil {
		err = s.cfg.Orgs.PutMember(r.Context(), c.Principal(), org, username, role)
	}
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.EINTERNAL {
		// At the form, where the name was typed.
		op.AddErr = gatehouse.ErrorMessage(err)
		return s.renderOrg(w, r, c, org, reply.Status(err), op, &Data{})
	}
	if err != nil {
		return s.orgActionFailed(w, r, c, org, op, err)
	}
	return s.renderOrg(w, r, c, org, http.StatusOK, &orgPage{}, &Data{Flash: username + " is now " + roleWithArticle(role) + " of " + org + "."})
}

// handleSetRolePage changes one member's role.
func (s *Pages) handleSetRolePage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	org, username := r.PathValue("org"), r.PathValue("user")
	role, err := gatehouse.ParseOrgRole(r.PostFormValue("role"))
	if err == nil {
		// This form only changes roles; it never adds a member.
		err = s.cfg.Orgs.SetMemberRole(r.Context(), c.Principal(), org, username, role)
	}
	if err != nil {
		return s.orgActionFailed(w, r, c, org, &orgPage{}, err)
	}
	return s.renderOrg(w, r, c, org, http.StatusOK, &orgPage{}, &Data{Flash: username + " is now " + roleWithArticle(role) + " of " + org + "."})
}

func (s *Pages) handleRemoveMemberPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	org, username := r.PathValue("org"), r.PathValue("user")
	if err := s.cfg.Orgs.RemoveMember(r.Context(), c.Principal(), org, username); err != nil {
		return s.orgActionFailed(w, r, c, org, &orgPage{}, err)
	}
	if username == c.User.Username && !c.User.IsAdmin {
		// They left: the organization's page is no longer theirs to see.
		return s.renderOrgs(w, r, c, http.StatusOK, &orgsPage{ReplaceURL: "/orgs"}, &Data{Flash: "You left " + org + "."})
	}
	return s.renderOrg(w, r, c, org, http.StatusOK, &orgPage{}, &Data{Flash: username + " was removed from " + org + "."})
}

// orgActionFailed shows the organization's page again with the error; if
// the caller may not see the organization at all, the error page says so.
func (s *Pages) orgActionFailed(w http.ResponseWriter, r *http.Request, c *Ctx, org string, op *orgPage, err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
		return err
	}
	return s.renderOrg(w, r, c, org, reply.Status(err), op, &Data{Error: gatehouse.ErrorMessage(err)})
}

// renderOrg shows one organization to a member (or an administrator);
// anyone else gets "not found", whatever brought them here.
func (s *Pages) renderOrg(w http.ResponseWriter, r *http.Request, c *Ctx, name string, status int, op *orgPage, p *Data) error {
	o, me, err := s.cfg.Orgs.Org(r.Context(), c.Principal(), name)
	if err != nil {
		return err
	}
	_, ms, err := s.cfg.Orgs.Members(r.Context(), c.Principal(), name)
	if err != nil {
		return err
	}
	op.Org, op.Me, op.CanManage = o, me, me.Role.CanManageMembers()
	op.ReplaceURL = "/orgs/" + o.Name
	op.Tabs = OrgTabs{Org: o.Name, Tab: "members", CanManage: op.CanManage}
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
	s.Render(w, r, status, "org", p)
	return nil
}

func roleWithArticle(r gatehouse.OrgRole) string {
	if r == gatehouse.OrgOwner || r == gatehouse.OrgAdmin {
		return "an " + string(r)
	}
	return "a " + string(r)
}
