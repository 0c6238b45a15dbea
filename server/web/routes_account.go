package web

// accountPages registers Account Settings, organization, channel and
// administration pages. Every route goes through webPage (a signed-in
// user; CSRF token and same-origin checks on POST), and only POST routes
// change anything (checklist E5, checked by TestGETRoutesChangeNothing).
func (s *Pages) accountPages(mux Mux) {
	mux.Handle("GET /settings/keys", s.Page(s.handleKeysPage))
	mux.Handle("POST /settings/keys", s.Page(s.handleCreateKeyPage))
	mux.Handle("POST /settings/keys/{id}/revoke", s.Page(s.handleRevokeKeyPage))
	mux.Handle("GET /settings/password", s.Page(s.handlePasswordPage))
	mux.Handle("POST /settings/password", s.Page(s.handleChangePasswordPage))

	mux.Handle("GET /orgs", s.Page(s.handleOrgsPage))
	mux.Handle("POST /orgs", s.Page(s.handleCreateOrgPage))
	mux.Handle("GET /orgs/{org}", s.Page(s.handleOrgPage))
	mux.Handle("POST /orgs/{org}/members", s.Page(s.handleAddMemberPage))
	mux.Handle("POST /orgs/{org}/members/{user}", s.Page(s.handleSetRolePage))
	mux.Handle("POST /orgs/{org}/members/{user}/remove", s.Page(s.handleRemoveMemberPage))

	mux.Handle("GET /channels", s.Page(s.handleChannelsPage))
	mux.Handle("POST /channels", s.Page(s.handleCreateChannelPage))
	mux.Handle("GET /channels/{channel}", s.Page(s.handleChannelPage))
	mux.Handle("POST /channels/{channel}/visibility", s.Page(s.handleChannelVisibilityPage))
	mux.Handle("POST /channels/{channel}/sync", s.Page(s.handleSyncChannelPage))
	mux.Handle("POST /channels/{channel}/members", s.Page(s.handleGrantPage))
	mux.Handle("POST /channels/{channel}/members/{user}", s.Page(s.handleGrantPage))
	mux.Handle("POST /channels/{channel}/members/{user}/remove", s.Page(s.handleRevokeGrantPage))
	mux.Handle("POST /channels/{channel}/packages/{subdir}/{filename}/delete", s.Page(s.handleDeletePackagePage))

	mux.Handle("GET /admin/users", s.AdminPage(s.handleUsersPage))
	mux.Handle("POST /admin/users", s.AdminPage(s.handleCreateUserPage))
	mux.Handle("POST /admin/users/{user}", s.AdminPage(s.handleUpdateUserPage))
	mux.Handle("GET /admin/audit", s.AdminPage(s.handleAuditPage))
	mux.Handle("GET /admin/networks", s.AdminPage(s.handleNetworksPage))
	mux.Handle("POST /admin/networks", s.AdminPage(s.handleAddNetworkPage))
	mux.Handle("POST /admin/networks/{id}/remove", s.AdminPage(s.handleRemoveNetworkPage))
	mux.Handle("GET /admin/clients", s.AdminPage(s.handleClientsPage))

	s.orgRegRoutes(mux)
}
