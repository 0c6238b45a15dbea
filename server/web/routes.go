package web

import (
	"io/fs"
	"net/http"
)

// Routes registers the browser pages. Every state change is a POST
// with a CSRF token; no GET changes anything (checklist E5).
func (s *Pages) Routes(mux Mux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("GET /register", s.handleRegisterPage)
	mux.HandleFunc("GET /app/local-login-success", s.handleLocalLoginSuccess)
	mux.HandleFunc("GET /app/local-login-error", s.handleLocalLoginError)
	mux.HandleFunc("GET /login/sso/callback", s.handleSSOCallback)
	mux.Handle("POST /login", s.crossOrigin.Handler(http.HandlerFunc(s.handleLogin)))
	mux.Handle("POST /logout", s.Page(s.handleLogout))
	s.accountPages(mux)
	s.errorRoutes(mux)
}
