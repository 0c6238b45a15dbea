package server

import (
	"io/fs"
	"net/http"
)

// webRoutes registers the browser pages. Every state change is a POST
// with a CSRF token; no GET changes anything (checklist E5).
func (s *Server) webRoutes(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("GET /register", s.handleRegisterPage)
	mux.Handle("POST /login", s.crossOrigin.Handler(http.HandlerFunc(s.handleLogin)))
	mux.Handle("POST /logout", s.webPage(s.handleLogout))
	s.accountPages(mux)
}
