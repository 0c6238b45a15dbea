package api

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

type newUserRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Email    string `json:"email"`
	IsAdmin  bool   `json:"is_admin"`
}

type userUpdate struct {
	IsAdmin  *bool `json:"is_admin"`
	Disabled *bool `json:"disabled"`
}

func (a *API) handleCreateUser(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req newUserRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := a.cfg.Users.CreateUser(r.Context(), p, gatehouse.NewUser(req))
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusCreated, viewUser(u))
	return nil
}

func (a *API) handleListUsers(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	users, err := a.cfg.Users.ListUsers(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]userView, len(users))
	for i, u := range users {
		out[i] = viewUser(u)
	}
	reply.JSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

func (a *API) handleUpdateUser(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req userUpdate
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := a.cfg.Users.UpdateUser(r.Context(), p, r.PathValue("user"), gatehouse.UserUpdate(req))
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, viewUser(u))
	return nil
}

func (a *API) handleAudit(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
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
	events, err := a.cfg.Audit.List(r.Context(), p, f)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, map[string]any{"events": events})
	return nil
}
