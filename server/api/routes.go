package api

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse"
)

// route is one API endpoint: its pattern, the scope it needs, and its
// handler. The table is the one list of the API's routes: Routes serves
// it and the OpenAPI test checks the document against it.
type route struct {
	pattern string
	need    gatehouse.Scopes
	handler Handler
}

func (a *API) routes() []route {
	user, channels, admin := gatehouse.ScopeUser, gatehouse.ScopeChannels, gatehouse.ScopeAdmin
	return []route{
		{"GET /api/account", user, a.handleAccount},
		{"POST /api/account/password", user, a.handleChangePassword},
		{"POST /api/keys", user, a.handleCreateKey},
		{"GET /api/keys", user, a.handleListKeys},
		{"DELETE /api/keys/{id}", user, a.handleRevokeKey},
		{"GET /api/orgs", user, a.handleListOrgs},
		{"POST /api/orgs", user, a.handleCreateOrg},
		{"GET /api/orgs/{org}/members", user, a.handleListMembers},
		{"PUT /api/orgs/{org}/members/{user}", user, a.handlePutMember},
		{"DELETE /api/orgs/{org}/members/{user}", user, a.handleRemoveMember},
		{"GET /api/admin/users", admin, a.handleListUsers},
		{"POST /api/admin/users", admin, a.handleCreateUser},
		{"PATCH /api/admin/users/{user}", admin, a.handleUpdateUser},
		{"GET /api/admin/audit", admin, a.handleAudit},
		{"GET /api/channels", user, a.handleListChannels},
		{"POST /api/channels", user, a.handleCreateChannel},
		{"GET /api/channels/{channel}", user, a.handleGetChannel},
		{"PATCH /api/channels/{channel}", user, a.handleUpdateChannel},
		{"POST /api/channels/{channel}/sync", user, a.handleSyncChannel},
		{"GET /api/channels/{channel}/members", user, a.handleListChannelMembers},
		{"PUT /api/channels/{channel}/members/{user}", user, a.handlePutChannelMember},
		{"DELETE /api/channels/{channel}/members/{user}", user, a.handleDeleteChannelMember},
		{"GET /api/channels/{channel}/packages", channels, a.handleListPackages},
		{"POST /api/channels/{channel}/packages", channels, a.handleUpload},
		{"DELETE /api/channels/{channel}/packages/{subdir}/{filename}", channels, a.handleDeletePackage},
		{"GET /api/admin/network-rules", admin, a.handleListRules},
		{"POST /api/admin/network-rules", admin, a.handleAddRule},
		{"DELETE /api/admin/network-rules/{id}", admin, a.handleDeleteRule},
		{"GET /api/admin/clients", admin, a.handleListClients},
	}
}

// table is every route of the API that authenticates: the routes above
// and those of the identity features.
func (a *API) table() []route {
	return append(append(a.routes(), a.identityRoutes()...), a.registrationRoutes()...)
}

// RouteScopes returns the scope each route of the table needs, by
// pattern, for route audits: the OpenAPI test checks the document's
// x-gatehouse-scope against it. The extra routes of Routes, the token
// exchange of trusted publishing and the OpenAPI document need no scope up
// front and are not listed.
func RouteScopes() map[string]gatehouse.Scopes {
	out := map[string]gatehouse.Scopes{}
	for _, rt := range new(API).table() {
		out[rt.pattern] = rt.need
	}
	return out
}

// Routes registers the API on mux, with extra routes (served by other
// packages, such as key creation after a CLI login) authenticated the
// same way, and the OpenAPI document, which needs no credential. Unknown
// /api paths get a JSON 404.
func (a *API) Routes(mux Mux, extra map[string]Handler) {
	for _, rt := range a.table() {
		mux.Handle(rt.pattern, a.Authenticated(rt.need, rt.handler))
	}
	mux.HandleFunc("GET "+OpenAPIPath, handleOpenAPI)
	mux.HandleFunc("POST /api/trusted-publishing/token", a.handleExchange)
	// No scope is required up front for extra routes: a login token
	// carries only the scopes it was granted; the service checks what it
	// needs.
	for pattern, h := range extra {
		mux.Handle(pattern, a.Authenticated(0, h))
	}
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.cfg.Reply.API(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such API endpoint."))
	}))
}
