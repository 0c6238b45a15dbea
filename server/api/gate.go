package api

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

type newRuleRequest struct {
	CIDR   string `json:"cidr"`
	Action string `json:"action"`
	Note   string `json:"note"`
}

func (a *API) handleListRules(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	g, err := a.cfg.Gate.Rules(r.Context(), p)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, g)
	return nil
}

func (a *API) handleAddRule(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req newRuleRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	rule, err := a.cfg.Gate.AddRule(r.Context(), p, gatehouse.NetworkRuleRequest(req))
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusCreated, rule)
	return nil
}

func (a *API) handleDeleteRule(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such network rule.")
	}
	if err := a.cfg.Gate.DeleteRule(r.Context(), p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clientFilter reads the filters of a clients list: user, network, org
// and limit.
func clientFilter(r *http.Request, defaultLimit int) (gatehouse.ClientFilter, error) {
	q := r.URL.Query()
	f := gatehouse.ClientFilter{Username: q.Get("user"), Network: q.Get("network"), Org: q.Get("org"), Limit: defaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			return f, gatehouse.FieldErrorf("limit", "limit must be between 1 and 10000.")
		}
		f.Limit = n
	}
	return f, nil
}

func (a *API) handleListClients(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	f, err := clientFilter(r, 500)
	if err != nil {
		return err
	}
	clients, err := a.cfg.Gate.Clients(r.Context(), p, f)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, map[string]any{"clients": clients})
	return nil
}
