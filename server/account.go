package server

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/password"
)

type userView struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Email     string    `json:"email,omitempty"`
	IsAdmin   bool      `json:"is_admin"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

func viewUser(u *gatehouse.User) userView {
	return userView{ID: u.ID, Username: u.Username, Email: u.Email, IsAdmin: u.IsAdmin, Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC()}
}

// accountView answers "who am I". Its user/profile/subscriptions shape is
// the one anaconda-auth's whoami reads; the rest is ours.
type accountView struct {
	User          userView         `json:"user"`
	Profile       map[string]any   `json:"profile"`
	Subscriptions []any            `json:"subscriptions"`
	AuthMethod    string           `json:"auth_method"`
	Scopes        gatehouse.Scopes `json:"scopes"`
	Key           *keyView         `json:"key"`
	Orgs          []orgMembership  `json:"orgs"`
}

type orgMembership struct {
	Org  string            `json:"org"`
	Role gatehouse.OrgRole `json:"role"`
}

func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ms, err := s.store.UserOrgs(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	v := accountView{
		User:          viewUser(p.User),
		Profile:       map[string]any{"username": p.User.Username, "email": p.User.Email},
		Subscriptions: []any{},
		AuthMethod:    string(p.Method),
		Scopes:        p.Scopes(),
		Orgs:          make([]orgMembership, len(ms)),
	}
	for i, m := range ms {
		v.Orgs[i] = orgMembership{Org: m.OrgName, Role: m.Role}
	}
	if p.Key != nil {
		kv := viewKey(p.Key, s.now())
		v.Key = &kv
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
	return nil
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword checks the current password, stores the new hash, and
// ends every session of the user (other browsers must sign in again).
// API keys are separate credentials and keep working.
func (s *Server) changePassword(ctx context.Context, u *gatehouse.User, req passwordChange, ip netip.Addr) error {
	ok, err := password.Verify(u.PasswordHash, req.CurrentPassword)
	if err != nil || !ok {
		s.audit(ctx, &gatehouse.AuditEvent{ActorID: u.ID, Actor: u.Username, Action: gatehouse.AuditPasswordChange, IP: ip.String(), Detail: "wrong current password"})
		return gatehouse.FieldErrorf("current_password", "The current password is wrong.")
	}
	if err := gatehouse.ValidatePassword("new_password", req.NewPassword); err != nil {
		return err
	}
	hash, err := password.Hash(req.NewPassword)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(ctx, u.ID, hash, s.now()); err != nil {
		return err
	}
	if err := s.store.DeleteUserSessions(ctx, u.ID); err != nil {
		return err
	}
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: u.ID, Actor: u.Username, Action: gatehouse.AuditPasswordChange, IP: ip.String(), Success: true})
	return nil
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req passwordChange
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.changePassword(r.Context(), p.User, req, s.clientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
