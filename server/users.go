package server

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/password"
)

type newUserRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Email    string `json:"email"`
	IsAdmin  bool   `json:"is_admin"`
}

// createUser is an administrator's action.
func (s *Server) createUser(ctx context.Context, actor *gatehouse.User, req newUserRequest, ip netip.Addr) (*gatehouse.User, error) {
	req.Username = strings.TrimSpace(req.Username)
	if err := gatehouse.ValidateName("username", req.Username); err != nil {
		return nil, err
	}
	if err := gatehouse.ValidatePassword("password", req.Password); err != nil {
		return nil, err
	}
	if len(req.Email) > 254 || (req.Email != "" && !strings.Contains(req.Email, "@")) {
		return nil, gatehouse.FieldErrorf("email", "That is not an email address.")
	}
	hash, err := password.Hash(req.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &gatehouse.User{Username: req.Username, Email: req.Email, PasswordHash: hash, IsAdmin: req.IsAdmin, CreatedAt: now, PasswordChangedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: actor.ID, Actor: actor.Username, Action: gatehouse.AuditUserCreate,
		Target: "user:" + u.Username, IP: ip.String(), Success: true, Detail: "admin=" + strconv.FormatBool(u.IsAdmin)})
	return u, nil
}

type userUpdate struct {
	IsAdmin  *bool `json:"is_admin"`
	Disabled *bool `json:"disabled"`
}

// updateUser changes a user's rights. Disabling ends their sessions and
// stops their keys at once (checklist A10); the cache forgets them so the
// next request re-reads the account.
func (s *Server) updateUser(ctx context.Context, actor *gatehouse.User, name string, req userUpdate, ip netip.Addr) (*gatehouse.User, error) {
	u, err := s.store.UserByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if u.ID == actor.ID && ((req.Disabled != nil && *req.Disabled) || (req.IsAdmin != nil && !*req.IsAdmin)) {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "You cannot disable yourself or remove your own administrator rights; ask another administrator.")
	}
	var changes []string
	if req.IsAdmin != nil {
		u.IsAdmin = *req.IsAdmin
		changes = append(changes, "admin="+strconv.FormatBool(u.IsAdmin))
	}
	if req.Disabled != nil {
		u.Disabled = *req.Disabled
		changes = append(changes, "disabled="+strconv.FormatBool(u.Disabled))
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	if u.Disabled {
		if err := s.store.DeleteUserSessions(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	s.keys.forgetUser(u.ID)
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: actor.ID, Actor: actor.Username, Action: gatehouse.AuditUserUpdate,
		Target: "user:" + u.Username, IP: ip.String(), Success: true, Detail: strings.Join(changes, " ")})
	return u, nil
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req newUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.createUser(r.Context(), p.User, req, s.clientAddr(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewUser(u))
	return nil
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	out := make([]userView, len(users))
	for i, u := range users {
		out[i] = viewUser(u)
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req userUpdate
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.updateUser(r.Context(), p.User, r.PathValue("user"), req, s.clientAddr(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	q := r.URL.Query()
	f := gatehouse.AuditFilter{Action: q.Get("action")}
	for name, dst := range map[string]*int64{"actor_id": &f.ActorID, "before_id": &f.BeforeID} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return gatehouse.FieldErrorf(name, "%s must be a positive number.", name)
			}
			*dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return gatehouse.FieldErrorf("limit", "limit must be between 1 and 1000.")
		}
		f.Limit = n
	}
	events, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	if events == nil {
		events = []*gatehouse.AuditEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events})
	return nil
}
