package web

// identityPages registers the pages over the identity services: an
// organization's service keys, single sign-on and key policy, the
// server's key policy and the domain claims awaiting confirmation, and a
// channel's trusted publishers. Like every page they go through Page (a
// signed-in user; CSRF token and same-origin checks on POST); who may see
// and use each is the services' rule, checked again here only to show a
// refusal page instead of a form that cannot work.
func (s *Pages) identityPages(mux Mux) {
	mux.Handle("GET /orgs/{org}/keys", s.Page(s.handleOrgKeysPage))
	mux.Handle("POST /orgs/{org}/keys", s.Page(s.handleCreateOrgKeyPage))
	mux.Handle("POST /orgs/{org}/keys/{id}/revoke", s.Page(s.handleRevokeOrgKeyPage))
	mux.Handle("GET /orgs/{org}/sso", s.Page(s.handleOrgSSOPage))
	mux.Handle("POST /orgs/{org}/sso", s.Page(s.handlePutOrgSSOPage))
	mux.Handle("GET /orgs/{org}/policy", s.Page(s.handleOrgPolicyPage))
	mux.Handle("POST /orgs/{org}/policy", s.Page(s.handleSetOrgPolicyPage))

	mux.Handle("GET /admin/policy", s.adminPage(s.handleServerPolicyPage))
	mux.Handle("POST /admin/policy", s.adminPage(s.handleSetServerPolicyPage))
	mux.Handle("GET /admin/domains", s.adminPage(s.handleDomainsPage))
	mux.Handle("POST /admin/domains/{domain}/confirm", s.adminPage(s.handleConfirmDomainPage))
	mux.Handle("POST /admin/domains/{domain}/reject", s.adminPage(s.handleRejectDomainPage))

	mux.Handle("GET /channels/{channel}/publishers", s.Page(s.handlePublishersPage))
	mux.Handle("POST /channels/{channel}/publishers", s.Page(s.handleAddPublisherPage))
	mux.Handle("POST /channels/{channel}/publishers/{id}/remove", s.Page(s.handleRemovePublisherPage))
}
