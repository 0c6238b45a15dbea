package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// The identity part of the API: key policies, organization service keys,
// single sign-on configuration, and trusted publishing.

// KeyExpiresHeader is set on API answers to a key that expires within its
// expiry warning window; the CLI prints a warning when it sees it.
const KeyExpiresHeader = "Gatehouse-Key-Expires"

// warnExpiry sets KeyExpiresHeader when the caller's key expires soon.
func (a *API) warnExpiry(w http.ResponseWriter, p *gatehouse.Principal) {
	if p.Key == nil || p.Method != gatehouse.AuthKey {
		return
	}
	if gatehouse.ExpiringSoon(p.Key, a.now(), a.cfg.Keys.ExpiryWarning(p)) {
		w.Header().Set(KeyExpiresHeader, p.Key.ExpiresAt.UTC().Format(time.RFC3339))
	}
}

func (a *API) identityRoutes() []route {
	user, admin := gatehouse.ScopeUser, gatehouse.ScopeAdmin
	return []route{
		{"GET /api/admin/policy", admin, a.handleGetServerPolicy},
		{"PATCH /api/admin/policy", admin, a.handleSetServerPolicy},
		{"GET /api/orgs/{org}/policy", user, a.handleGetOrgPolicy},
		{"PATCH /api/orgs/{org}/policy", user, a.handleSetOrgPolicy},
		{"GET /api/orgs/{org}/keys", user, a.handleListOrgKeys},
		{"POST /api/orgs/{org}/keys", user, a.handleCreateOrgKey},
		{"DELETE /api/orgs/{org}/keys/{id}", user, a.handleRevokeOrgKey},
		{"GET /api/orgs/{org}/sso", user, a.handleGetSSO},
		{"PUT /api/orgs/{org}/sso", user, a.handlePutSSO},
		{"GET /api/admin/sso-domains", admin, a.handleListSSODomains},
		{"POST /api/admin/sso-domains/{domain}/confirm", admin, a.handleConfirmSSODomain},
		{"POST /api/admin/sso-domains/{domain}/reject", admin, a.handleRejectSSODomain},
		{"GET /api/channels/{channel}/trusted-publishers", user, a.handleListPublishers},
		{"POST /api/channels/{channel}/trusted-publishers", user, a.handleAddPublisher},
		{"DELETE /api/channels/{channel}/trusted-publishers/{id}", user, a.handleRemovePublisher},
	}
}

func (a *API) handleGetServerPolicy(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	pol, err := a.cfg.Policies.ServerPolicy(r.Context(), p)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, pol)
	return nil
}

func (a *API) handleSetServerPolicy(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var u gatehouse.PolicyUpdate
	if err := DecodeJSON(w, r, &u); err != nil {
		return err
	}
	pol, err := a.cfg.Policies.SetServerPolicy(r.Context(), p, u)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, pol)
	return nil
}

func (a *API) handleGetOrgPolicy(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	pol, err := a.cfg.Policies.OrgPolicy(r.Context(), p, r.PathValue("org"))
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, pol)
	return nil
}

func (a *API) handleSetOrgPolicy(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var u gatehouse.PolicyUpdate
	if err := DecodeJSON(w, r, &u); err != nil {
		return err
	}
	pol, err := a.cfg.Policies.SetOrgPolicy(r.Context(), p, r.PathValue("org"), u)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, pol)
	return nil
}

func (a *API) handleListOrgKeys(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	org := r.PathValue("org")
	keys, err := a.cfg.Keys.ListOrgKeys(r.Context(), p, org)
	if err != nil {
		return err
	}
	return a.replyKeys(w, r, p, keys, org)
}

func (a *API) handleCreateOrgKey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req newKeyRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	kr, err := req.keyRequest()
	if err != nil {
		return err
	}
	nk, err := a.cfg.Keys.CreateOrgKey(r.Context(), p, r.PathValue("org"), kr)
	if err != nil {
		return err
	}
	a.replyCreated(w, nk)
	return nil
}

func (a *API) handleRevokeOrgKey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such key.")
	}
	if _, err := a.cfg.Keys.RevokeOrgKey(r.Context(), p, r.PathValue("org"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ssoView shows a provider configuration: never the client secret, only
// whether one is stored.
type ssoView struct {
	*gatehouse.SSOConfig
	ClientSecretSet bool   `json:"client_secret_set"`
	RedirectURI     string `json:"redirect_uri"`
}

type ssoRequest struct {
	Issuer        string                       `json:"issuer"`
	ClientID      string                       `json:"client_id"`
	ClientSecret  string                       `json:"client_secret"`
	Domains       []string                     `json:"domains"`
	Required      bool                         `json:"required"`
	GroupRoles    map[string]string            `json:"group_roles"`
	GroupChannels map[string]map[string]string `json:"group_channels"`
}

func (a *API) viewSSO(c *gatehouse.SSOConfig) ssoView {
	return ssoView{SSOConfig: c, ClientSecretSet: c.ClientSecret != "", RedirectURI: a.absURL("/login/sso/callback")}
}

func (a *API) handleGetSSO(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	c, err := a.cfg.SSO.Config(r.Context(), p, r.PathValue("org"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	reply.JSON(w, http.StatusOK, a.viewSSO(c))
	return nil
}

func (a *API) handlePutSSO(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req ssoRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	c, err := a.cfg.SSO.PutConfig(r.Context(), p, r.PathValue("org"), gatehouse.SSOConfigRequest{
		Issuer: req.Issuer, ClientID: req.ClientID, ClientSecret: req.ClientSecret, Domains: req.Domains,
		Required: req.Required, GroupRoles: req.GroupRoles, GroupChannels: req.GroupChannels})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	reply.JSON(w, http.StatusOK, a.viewSSO(c))
	return nil
}

func (a *API) handleListSSODomains(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ds, err := a.cfg.SSO.Domains(r.Context(), p)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, map[string]any{"domains": ds})
	return nil
}

func (a *API) handleConfirmSSODomain(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Org string `json:"org"`
	}
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.cfg.SSO.ConfirmDomain(r.Context(), p, r.PathValue("domain"), req.Org); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleRejectSSODomain(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Org string `json:"org"`
	}
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.cfg.SSO.RejectDomain(r.Context(), p, r.PathValue("domain"), req.Org); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleListPublishers(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	tps, err := a.cfg.Trusted.Publishers(r.Context(), p, r.PathValue("channel"))
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, map[string]any{"trusted_publishers": tps})
	return nil
}

func (a *API) handleAddPublisher(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Issuer   string            `json:"issuer"`
		Audience string            `json:"audience"`
		Claims   map[string]string `json:"claims"`
	}
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	tp, err := a.cfg.Trusted.AddPublisher(r.Context(), p, r.PathValue("channel"),
		gatehouse.TrustedPublisherRequest{Issuer: req.Issuer, Audience: req.Audience, Claims: req.Claims})
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusCreated, tp)
	return nil
}

func (a *API) handleRemovePublisher(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such trusted publisher.")
	}
	if err := a.cfg.Trusted.RemovePublisher(r.Context(), p, r.PathValue("channel"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// exchangeRequest is a CI job's token exchange.
type exchangeRequest struct {
	Token   string `json:"token"`
	Channel string `json:"channel"`
}

// handleExchange is POST /api/trusted-publishing/token: the ID token in
// the body is the credential, so the route needs no other.
func (a *API) handleExchange(w http.ResponseWriter, r *http.Request) {
	var req exchangeRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		a.cfg.Reply.API(w, r, err)
		return
	}
	nk, tp, err := a.cfg.Trusted.Exchange(r.Context(), gatehouse.TokenExchange{Token: req.Token, Channel: req.Channel, Addr: a.cfg.Addrs.Client(r)})
	if err != nil {
		a.cfg.Reply.API(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	reply.JSON(w, http.StatusCreated, map[string]any{"key": nk.Secret, "expires_at": nk.Key.ExpiresAt.UTC(),
		"channel": tp.Channel, "publisher": tp.ID, "key_id": nk.Key.ID})
}
