package api

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// Organization registration tokens and the clients registered with them,
// for the organization's owners and admins.
func (a *API) registrationRoutes() []route {
	user := gatehouse.ScopeUser
	return []route{
		{"POST /api/orgs/{org}/registration-tokens", user, a.handleCreateRegToken},
		{"GET /api/orgs/{org}/registration-tokens", user, a.handleListRegTokens},
		{"DELETE /api/orgs/{org}/registration-tokens/{id}", user, a.handleRevokeRegToken},
		{"GET /api/orgs/{org}/clients", user, a.handleOrgClients},
	}
}

var errNoRegistration = gatehouse.Errorf(gatehouse.ENOTFOUND, "Organization registration is not available on this server.")

func (a *API) handleCreateRegToken(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if a.cfg.Registration == nil {
		return errNoRegistration
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	t, err := a.cfg.Registration.CreateToken(r.Context(), p, r.PathValue("org"), req.Name)
	if err != nil {
		return err
	}
	// The one answer that holds the token: never cached anywhere.
	w.Header().Set("Cache-Control", "no-store")
	reply.JSON(w, http.StatusCreated, t)
	return nil
}

func (a *API) handleListRegTokens(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if a.cfg.Registration == nil {
		return errNoRegistration
	}
	list, err := a.cfg.Registration.ListTokens(r.Context(), p, r.PathValue("org"))
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, map[string]any{"registration_tokens": list})
	return nil
}

func (a *API) handleRevokeRegToken(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if a.cfg.Registration == nil {
		return errNoRegistration
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such registration token.")
	}
	t, err := a.cfg.Registration.RevokeToken(r.Context(), p, r.PathValue("org"), id)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, t)
	return nil
}

func (a *API) handleOrgClients(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if a.cfg.Registration == nil {
		return errNoRegistration
	}
	f, err := clientFilter(r, 500)
	if err != nil {
		return err
	}
	f.Org = ""
	cs, n, err := a.cfg.Registration.OrgClients(r.Context(), p, r.PathValue("org"), f)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, map[string]any{"clients": cs, "total": n})
	return nil
}
