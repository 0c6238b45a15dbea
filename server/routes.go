package server

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	user := gatehouse.ScopeUser
	admin := gatehouse.ScopeAdmin

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))

	// JSON API. Every route authenticates; "user" routes need the User
	// resources scope, admin routes the Administration scope.
	mux.Handle("GET /api/account", s.api(user, s.handleAccount))
	mux.Handle("POST /api/account/password", s.api(user, s.handleChangePassword))
	mux.Handle("POST /api/keys", s.api(user, s.handleCreateKey))
	mux.Handle("GET /api/keys", s.api(user, s.handleListKeys))
	mux.Handle("DELETE /api/keys/{id}", s.api(user, s.handleRevokeKey))
	mux.Handle("GET /api/orgs", s.api(user, s.handleListOrgs))
	mux.Handle("POST /api/orgs", s.api(user, s.handleCreateOrg))
	mux.Handle("GET /api/orgs/{org}/members", s.api(user, s.handleListMembers))
	mux.Handle("PUT /api/orgs/{org}/members/{user}", s.api(user, s.handlePutMember))
	mux.Handle("DELETE /api/orgs/{org}/members/{user}", s.api(user, s.handleRemoveMember))
	mux.Handle("GET /api/admin/users", s.api(admin, s.handleListUsers))
	mux.Handle("POST /api/admin/users", s.api(admin, s.handleCreateUser))
	mux.Handle("PATCH /api/admin/users/{user}", s.api(admin, s.handleUpdateUser))
	mux.Handle("GET /api/admin/audit", s.api(admin, s.handleAudit))
	channels := gatehouse.ScopeChannels
	mux.Handle("GET /api/channels", s.api(user, s.handleListChannels))
	mux.Handle("POST /api/channels", s.api(user, s.handleCreateChannel))
	mux.Handle("GET /api/channels/{channel}", s.api(user, s.handleGetChannel))
	mux.Handle("PATCH /api/channels/{channel}", s.api(user, s.handleUpdateChannel))
	mux.Handle("GET /api/channels/{channel}/members", s.api(user, s.handleListChannelMembers))
	mux.Handle("PUT /api/channels/{channel}/members/{user}", s.api(user, s.handlePutChannelMember))
	mux.Handle("DELETE /api/channels/{channel}/members/{user}", s.api(user, s.handleDeleteChannelMember))
	mux.Handle("GET /api/channels/{channel}/packages", s.api(channels, s.handleListPackages))
	mux.Handle("POST /api/channels/{channel}/packages", s.api(channels, s.handleUpload))
	mux.Handle("DELETE /api/channels/{channel}/packages/{subdir}/{filename}", s.api(channels, s.handleDeletePackage))
	mux.Handle("GET /api/admin/network-rules", s.api(admin, s.handleListRules))
	mux.Handle("POST /api/admin/network-rules", s.api(admin, s.handleAddRule))
	mux.Handle("DELETE /api/admin/network-rules/{id}", s.api(admin, s.handleDeleteRule))
	mux.Handle("GET /api/admin/clients", s.api(admin, s.handleListClients))

	// Conda channels: every method goes to one handler, which answers
	// GET and HEAD and refuses the rest with the JSON conda shows.
	mux.HandleFunc("/repo/", s.handleRepo)
	mux.HandleFunc("/t/", s.handleRepo)

	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeAPIError(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such API endpoint."))
	}))

	s.webRoutes(mux)
	s.oauthRoutes(mux)
	return s.observe(mux)
}
