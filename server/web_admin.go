package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
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
}

// adminPage wraps h so that only administrators reach it.
func (s *Server) adminPage(h webHandler) http.Handler {
	return s.webPage(func(w http.ResponseWriter, r *http.Request, c *webCtx) error {
		if err := c.principal().Require(gatehouse.ScopeAdmin); err != nil {
			return err
		}
		return h(w, r, c)
	})
}

func (s *Server) handleUsersPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	return s.renderUsers(w, r, c, http.StatusOK, &usersPage{}, &page{})
}

func (s *Server) handleCreateUserPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	req := newUserRequest{
		Username: strings.ToLower(strings.TrimSpace(r.PostFormValue("username"))),
		Password: r.PostFormValue("password"),
		Email:    strings.TrimSpace(r.PostFormValue("email")),
		IsAdmin:  r.PostFormValue("is_admin") != "",
	}
	up := &usersPage{ReplaceURL: "/admin/users"}
	u, err := s.createUser(r.Context(), c.User, req, s.clientAddr(r))
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		up.Form = userForm{Username: req.Username, Email: req.Email, IsAdmin: req.IsAdmin}
		up.FormErr = gatehouse.ErrorMessage(err)
		return s.renderUsers(w, r, c, statusOf[gatehouse.ErrorCode(err)], up, &page{})
	}
	flash := "User " + u.Username + " created. Give them their password through a safe channel; they can change it in Account Settings → Password."
	return s.renderUsers(w, r, c, http.StatusOK, up, &page{Flash: flash})
}

// handleUpdateUserPage takes the fields "disabled" and "is_admin"
// ("true"/"false"); a field left out is left unchanged.
func (s *Server) handleUpdateUserPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	var req userUpdate
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
		return s.renderUsers(w, r, c, http.StatusBadRequest, up, &page{Error: "Nothing to change: the form named no change."})
	}
	u, err := s.updateUser(r.Context(), c.User, r.PathValue("user"), req, s.clientAddr(r))
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		return s.renderUsers(w, r, c, statusOf[gatehouse.ErrorCode(err)], up, &page{Error: gatehouse.ErrorMessage(err)})
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
	return s.renderUsers(w, r, c, http.StatusOK, up, &page{Flash: flash})
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, c *webCtx, status int, up *usersPage, p *page) error {
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	up.Users = users
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Users", "admin", c.User, c.CSRF, up
	s.render(w, r, status, "admin_users", p)
	return nil
}

func (s *Server) handleAuditPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
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
	events, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	// One more than a page was asked for: if it came, there is an older page.
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		ap.Older = events[len(events)-1].ID
	}
	ap.Events = events
	s.render(w, r, http.StatusOK, "admin_audit", &page{Title: "Audit log", Tab: "admin", User: c.User, CSRF: c.CSRF, Content: ap})
	return nil
}
