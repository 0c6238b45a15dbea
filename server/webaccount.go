package server

import "net/http"

// accountPages registers Account Settings, organization, channel and
// administration pages. Every route goes through webPage (a signed-in
// user; CSRF token and same-origin checks on POST), and only POST routes
// change anything (checklist E5, checked by TestGETRoutesChangeNothing).
func (s *Server) accountPages(mux *http.ServeMux) {
	mux.Handle("GET /settings/keys", s.webPage(s.handleKeysPage))
	mux.Handle("POST /settings/keys", s.webPage(s.handleCreateKeyPage))
	mux.Handle("POST /settings/keys/{id}/revoke", s.webPage(s.handleRevokeKeyPage))
	mux.Handle("GET /settings/password", s.webPage(s.handlePasswordPage))
	mux.Handle("POST /settings/password", s.webPage(s.handleChangePasswordPage))

	mux.Handle("GET /orgs", s.webPage(s.handleOrgsPage))
	mux.Handle("POST /orgs", s.webPage(s.handleCreateOrgPage))
	mux.Handle("GET /orgs/{org}", s.webPage(s.handleOrgPage))
	mux.Handle("POST /orgs/{org}/members", s.webPage(s.handleAddMemberPage))
	mux.Handle("POST /orgs/{org}/members/{user}", s.webPage(s.handleSetRolePage))
	mux.Handle("POST /orgs/{org}/members/{user}/remove", s.webPage(s.handleRemoveMemberPage))

	mux.Handle("GET /channels", s.webPage(s.handleChannelsPage))
	mux.Handle("POST /channels", s.webPage(s.handleCreateChannelPage))
	mux.Handle("GET /channels/{channel}", s.webPage(s.handleChannelPage))
	mux.Handle("POST /channels/{channel}/visibility", s.webPage(s.handleChannelVisibilityPage))
	mux.Handle("POST /channels/{channel}/members", s.webPage(s.handleGrantPage))
	mux.Handle("POST /channels/{channel}/members/{user}", s.webPage(s.handleGrantPage))
	mux.Handle("POST /channels/{channel}/members/{user}/remove", s.webPage(s.handleRevokeGrantPage))
	mux.Handle("POST /channels/{channel}/packages/{subdir}/{filename}/delete", s.webPage(s.handleDeletePackagePage))

	mux.Handle("GET /admin/users", s.adminPage(s.handleUsersPage))
	mux.Handle("POST /admin/users", s.adminPage(s.handleCreateUserPage))
	mux.Handle("POST /admin/users/{user}", s.adminPage(s.handleUpdateUserPage))
	mux.Handle("GET /admin/audit", s.adminPage(s.handleAuditPage))
	mux.Handle("GET /admin/networks", s.adminPage(s.handleNetworksPage))
	mux.Handle("POST /admin/networks", s.adminPage(s.handleAddNetworkPage))
	mux.Handle("POST /admin/networks/{id}/remove", s.adminPage(s.handleRemoveNetworkPage))
	mux.Handle("GET /admin/clients", s.adminPage(s.handleClientsPage))
}
