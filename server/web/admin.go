package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// Administration pages: users and the audit log. Only administrators see
// them; anyone else gets a 403 page.

type usersPage struct {
	Users      []*gatehouse.User
	Form       userForm // the create form, kept after an error (not the password)
	FormErr    string
	ReplaceURL string
}

type userForm struct {
	Username, Email string
	IsAdmin         bool
}

type auditPage struct {
	Events  []*gatehouse.AuditEvent
	Action  string   // the filter, "" for all
	Actions []string // the filter's choices
	// Older is the before_id of the next page, 0 on the last one; Newer
	// says whether this is not the first page.
	Older int64
	Newer bool
}

// auditPageSize is how many events one audit page shows.
const auditPageSize = 50

var auditActions = []string{
	gatehouse.AuditSignIn, gatehouse.AuditSignOut, gatehouse.AuditPasswordChange,
	gatehouse.AuditKeyCreate, gatehouse.AuditKeyReplace, gatehouse.AuditKeyRevoke, gatehouse.AuditKeyUseRevoked,
	gatehouse.AuditUserCreate, gatehouse.AuditUserUpdate,
	gatehouse.AuditOrgCreate, gatehouse.AuditOrgMemberPut, gatehouse.AuditOrgMemberRemove,
	gatehouse.AuditChannelCreate, gatehouse.AuditChannelUpdate, gatehouse.AuditChannelGrant, gatehouse.AuditChannelRevoke,
	gatehouse.AuditPackageUpload, gatehouse.AuditPackageDelete, gatehouse.AuditNetworkRuleAdd, gatehouse.AuditNetworkRuleDel,
	gatehouse.AuditOAuthApprove, gatehouse.AuditOAuthDeny, gatehouse.AuditOAuthToken,
	gatehouse.AuditPolicyUpdate, gatehouse.AuditOrgKeyCreate, gatehouse.AuditOrgKeyRevoke,
	gatehouse.AuditSSOConfig, gatehouse.AuditSSODomainConfirm, gatehouse.AuditSSODomainReject, gatehouse.AuditSSOSignIn, gatehouse.AuditSSOSync,
	gatehouse.AuditPublisherAdd, gatehouse.AuditPublisherRemove, gatehouse.AuditTrustedExchange,
}

// AdminPage wraps h so that only administrators reach it.
func (s *Pages) AdminPage(h Handler) http.Handler {
	return s.Page(func(w http.ResponseWriter, r *http.Request, c *Ctx) error {
		if err := c.Principal().Require(gatehouse.ScopeAdmin); err != nil {
			return err
		}
		return h(w, r, c)
	})
}

func (s *Pages) handleUsersPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	return s.renderUsers(w, r, c, http.StatusOK, &usersPage{}, &Data{})
}

func (s *Pages) handleCreateUserPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	req := gatehouse.NewUser{
		Username: strings.ToLower(strings.TrimSpace(r.PostFormValue("username"))),
		Password: r.PostFormValue("password"),
		Email:    strings.TrimSpace(r.PostFormValue("email")),
		IsAdmin:  r.PostFormValue("is_admin") != "",
	}
	up := &usersPage{ReplaceURL: "/admin/users"}
	u, err := s.cfg.Users.CreateUser(r.Context(), c.Principal(), req)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		up.Form = userForm{Username: req.Username, Email: req.Email, IsAdmin: req.IsAdmin}
		up.FormErr = gatehouse.ErrorMessage(err)
		return s.renderUsers(w, r, c, reply.Status(err), up, &Data{})
	}
	flash := "User " + u.Username + " created. Give them their password through a safe channel; they can change it in Account Settings → Password."
	return s.renderUsers(w, r, c, http.StatusOK, up, &Data{Flash: flash})
}

// handleUpdateUserPage takes the fields "disabled" and "is_admin"
// ("true"/"false"); a field left out is left unchanged.
func (s *Pages) handleUpdateUserPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	var req gatehouse.UserUpdate
	for name, dst := range map[string]**bool{"disabled": &req.Disabled, "is_admin": &req.IsAdmin} {
		v := r.PostFormValue(name)
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return gatehouse.FieldErrorf(name, "%s must be true or false.", name)
		}
		*dst = &b
	}
	up := &usersPage{ReplaceURL: "/admin/users"}
	if req.Disabled == nil && req.IsAdmin == nil {
		return s.renderUsers(w, r, c, http.StatusBadRequest, up, &Data{Error: "Nothing to change: the form named no change."})
	}
	u, err := s.cfg.Users.UpdateUser(r.Context(), c.Principal(), r.PathValue("user"), req)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		return s.renderUsers(w, r, c, reply.Status(err), up, &Data{Error: gatehouse.ErrorMessage(err)})
	}
	var flash string
	switch {
	case req.Disabled != nil && *req.Disabled:
		flash = u.Username + " is disabled: their sessions ended and their API keys stopped working."
	case req.Disabled != nil:
		flash = u.Username + " is enabled again. Their unexpired API keys work again."
	case *req.IsAdmin:
		flash = u.Username + " is now an administrator."
	default:
		flash = u.Username + " is no longer an administrator; their keys lost the Administration scope."
	}
	return s.renderUsers(w, r, c, http.StatusOK, up, &Data{Flash: flash})
}

func (s *Pages) renderUsers(w http.ResponseWriter, r *http.Request, c *Ctx, status int, up *usersPage, p *Data) error {
	users, err := s.cfg.Users.ListUsers(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	up.Users = users
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Users", "admin", c.User, c.CSRF, up
	s.Render(w, r, status, "admin_users", p)
	return nil
}

func (s *Pages) handleAuditPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	q := r.URL.Query()
	ap := &auditPage{Action: q.Get("action"), Actions: auditActions}
	f := gatehouse.AuditFilter{Action: ap.Action, Limit: auditPageSize + 1}
	if v := q.Get("before_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return gatehouse.FieldErrorf("before_id", "before_id must be a positive number; start again from the newest events.")
		}
		f.BeforeID, ap.Newer = n, true
	}
	events, err := s.cfg.Audit.List(r.Context(), c.Principal(), f)
	if err != nil {
		return err
	}
	// One more than a page was asked for: if it came, there is an older page.
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		ap.Older = events[len(events)-1].ID
	}
	ap.Events = events
	s.Render(w, r, http.StatusOK, "admin_audit", &Data{Title: "Audit log", Tab: "admin", User: c.User, CSRF: c.CSRF, Content: ap})
	return nil
}
