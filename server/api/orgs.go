package api

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

type memberView struct {
	Username string            `json:"username"`
	Role     gatehouse.OrgRole `json:"role"`
	AddedAt  string            `json:"added_at"`
}

func (a *API) handleCreateOrg(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	o, err := a.cfg.Orgs.CreateOrg(r.Context(), p, req.Name)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusCreated, o)
	return nil
}

func (a *API) handleListOrgs(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ms, err := a.cfg.Orgs.Memberships(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]orgMembership, len(ms))
	for i, m := range ms {
		out[i] = orgMembership{Org: m.OrgName, Role: m.Role}
	}
	reply.JSON(w, http.StatusOK, map[string]any{"orgs": out})
	return nil
}

func (a *API) handleListMembers(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	o, ms, err := a.cfg.Orgs.Members(r.Context(), p, r.PathValue("org"))
	if err != nil {
		return err
	}
	out := make([]memberView, len(ms))
	for i, m := range ms {
		out[i] = memberView{Username: m.Username, Role: m.Role, AddedAt: m.AddedAt.UTC().Format("2006-01-02T15:04:05Z")}
	}
	reply.JSON(w, http.StatusOK, map[string]any{"org": o.Name, "members": out})
	return nil
}

func (a *API) handlePutMember(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Role string `json:"role"`
	}
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	role, err := gatehouse.ParseOrgRole(req.Role)
	if err != nil {
		return err
	}
	if err := a.cfg.Orgs.PutMember(r.Context(), p, r.PathValue("org"), r.PathValue("user"), role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleRemoveMember(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if err := a.cfg.Orgs.RemoveMember(r.Context(), p, r.PathValue("org"), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
