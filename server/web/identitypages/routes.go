package identitypages

import "github.com/gatehouse-dev/gatehouse/server/web"

// Routes registers the pages over the identity services: an
// organization's service keys, single sign-on and key policy, the
// server's key policy and the domain claims awaiting confirmation, and a
// channel's trusted publishers. Like every page they go through web's Page (a
// signed-in user; CSRF token and same-origin checks on POST); who may see
// and use each is the services' rule, checked again here only to show a
// refusal page instead of a form that cannot work.
func (h *Handlers) Routes(mux web.Mux) {
	mux.Handle("GET /orgs/{org}/keys", h.cfg.Pages.Page(h.handleOrgKeysPage))
	mux.Handle("POST /orgs/{org}/keys", h.cfg.Pages.Page(h.handleCreateOrgKeyPage))
	mux.Handle("POST /orgs/{org}/keys/{id}/revoke", h.cfg.Pages.Page(h.handleRevokeOrgKeyPage))
	mux.Handle("GET /orgs/{org}/sso", h.cfg.Pages.Page(h.handleOrgSSOPage))
	mux.Handle("POST /orgs/{org}/sso", h.cfg.Pages.Page(h.handlePutOrgSSOPage))
	mux.Handle("GET /orgs/{org}/policy", h.cfg.Pages.Page(h.handleOrgPolicyPage))
	mux.Handle("POST /orgs/{org}/policy", h.cfg.Pages.Page(h.handleSetOrgPolicyPage))

	mux.Handle("GET /admin/policy", h.cfg.Pages.AdminPage(h.handleServerPolicyPage))
	mux.Handle("POST /admin/policy", h.cfg.Pages.AdminPage(h.handleSetServerPolicyPage))
	mux.Handle("GET /admin/domains", h.cfg.Pages.AdminPage(h.handleDomainsPage))
	mux.Handle("POST /admin/domains/{domain}/confirm", h.cfg.Pages.AdminPage(h.handleConfirmDomainPage))
	mux.Handle("POST /admin/domains/{domain}/reject", h.cfg.Pages.AdminPage(h.handleRejectDomainPage))

	mux.Handle("GET /channels/{channel}/publishers", h.cfg.Pages.Page(h.handlePublishersPage))
	mux.Handle("POST /channels/{channel}/publishers", h.cfg.Pages.Page(h.handleAddPublisherPage))
	mux.Handle("POST /channels/{channel}/publishers/{id}/remove", h.cfg.Pages.Page(h.handleRemovePublisherPage))
}
