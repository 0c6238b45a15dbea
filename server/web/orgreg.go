package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// Organization-wide registration: an organization's registration tokens,
// what to roll out to its machines, and the clients registered with it.

type orgRegPage struct {
	Org      string
	Tokens   []*gatehouse.RegistrationToken
	Clients  []*gatehouse.Client
	Total    int
	Filter   gatehouse.ClientFilter
	Name     string
	FormErr  string
	Created  *gatehouse.NewRegistrationToken
	CondaRC  string
	Server   string
	Revoke   string // the ID whose confirmation is open (no script)
	Replaced string
}

func (s *Pages) orgRegRoutes(mux Mux) {
	mux.Handle("GET /orgs/{org}/registration", s.Page(s.handleOrgRegPage))
	mux.Handle("POST /orgs/{org}/registration", s.Page(s.handleCreateRegTokenPage))
	mux.Handle("POST /orgs/{org}/registration/{id}/revoke", s.Page(s.handleRevokeRegTokenPage))
	mux.Handle("POST /admin/clients/keys/{user}/{id}/revoke", s.AdminPage(s.handleRevokeClientKeyPage))
}

func (s *Pages) handleOrgRegPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	q := r.URL.Query()
	op := &orgRegPage{Revoke: q.Get("revoke"), Filter: gatehouse.ClientFilter{Username: strings.TrimSpace(q.Get("user")),
		Network: strings.TrimSpace(q.Get("network")), Limit: clientsPageSize}}
	return s.renderOrgReg(w, r, c, r.PathValue("org"), http.StatusOK, op, &Data{})
}

func (s *Pages) handleCreateRegTokenPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	org, name := r.PathValue("org"), strings.TrimSpace(r.PostFormValue("name"))
	t, err := s.cfg.Registration.CreateToken(r.Context(), c.Principal(), org, name)
	if err != nil {
		if code := gatehouse.ErrorCode(err); code == gatehouse.EINTERNAL || code == gatehouse.ENOTFOUND {
			return err
		}
		return s.renderOrgReg(w, r, c, org, reply.Status(err), &orgRegPage{Name: name, FormErr: gatehouse.ErrorMessage(err)}, &Data{})
	}
	// The one page that shows the token: never stored by the browser.
	w.Header().Set("Cache-Control", "no-store")
	return s.renderOrgReg(w, r, c, org, http.StatusCreated, &orgRegPage{Created: t},
		&Data{Flash: "Registration token " + t.Name + " created. Copy it now: it is shown this once."})
}

func (s *Pages) handleRevokeRegTokenPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	org := r.PathValue("org")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such registration token.")
	}
	t, err := s.cfg.Registration.RevokeToken(r.Context(), c.Principal(), org, id)
	if err != nil {
		return err
	}
	return s.renderOrgReg(w, r, c, org, http.StatusOK, &orgRegPage{},
		&Data{Flash: "Registration token " + t.Name + " revoked: machines that carry it are unregistered within seconds."})
}

func (s *Pages) renderOrgReg(w http.ResponseWriter, r *http.Request, c *Ctx, org string, status int, op *orgRegPage, p *Data) error {
	if s.cfg.Registration == nil {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "Organization registration is not available on this server.")
	}
	tokens, err := s.cfg.Registration.ListTokens(r.Context(), c.Principal(), org)
	if err != nil {
		return err
	}
	if op.Filter.Limit == 0 {
		op.Filter.Limit = clientsPageSize
	}
	cs, n, err := s.cfg.Registration.OrgClients(r.Context(), c.Principal(), org, op.Filter)
	if err != nil {
		return err
	}
	op.Org, op.Tokens, op.Clients, op.Total = org, tokens, cs, n
	op.Server = strings.TrimSuffix(s.AbsURL("/"), "/")
	op.CondaRC = "channel_alias: " + s.AbsURL("/repo") + "\n# anaconda-anon-usage sends the organization token: keep it on.\nanaconda_anon_usage: true\n"
	p.Title, p.Tab, p.User, p.CSRF, p.Content = org+": registration", "orgs", c.User, c.CSRF, op
	s.Render(w, r, status, "org_registration", p)
	return nil
}

// handleRevokeClientKeyPage revokes the key a registered client uses (an
// administrator's action from the Clients page).
func (s *Pages) handleRevokeClientKeyPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	userID, err1 := strconv.ParseInt(r.PathValue("user"), 10, 64)
	keyID, err2 := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err1 != nil || err2 != nil {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such key.")
	}
	k, err := s.cfg.Gate.RevokeClientKey(r.Context(), c.Principal(), userID, keyID)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/clients?revoked="+url.QueryEscape(k.Name), http.StatusSeeOther)
	return nil
}
