package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

type userView struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	// Email is always present: anaconda-auth's whoami reads user.email.
	Email     string    `json:"email"`
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
	Key           *KeyView         `json:"key"`
	Orgs          []orgMembership  `json:"orgs"`
}

type orgMembership struct {
	Org  string            `json:"org"`
	Role gatehouse.OrgRole `json:"role"`
}

func (a *API) handleAccount(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ms, err := a.cfg.Orgs.Memberships(r.Context(), p)
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
		kv := ViewKey(p.Key, a.now())
		kv.ExpiringSoon = gatehouse.ExpiringSoon(p.Key, a.now(), a.cfg.Keys.ExpiryWarning(p))
		v.Key = &kv
	}
	w.Header().Set("Cache-Control", "no-store")
	reply.JSON(w, http.StatusOK, v)
	return nil
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (a *API) handleChangePassword(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req passwordChange
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.cfg.Users.ChangePassword(r.Context(), p, req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
