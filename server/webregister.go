package server

import (
	"net/http"
)

// registerPage is the page the registration refusal points to: the seed's
// "Registering your conda client", adapted to this server.
type registerPage struct {
	Host         string
	URL          string
	ToolsChannel string
	ToolsURL     string
	SignedIn     bool
}

func (s *Server) handleRegisterPage(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Register your conda client", Content: registerPage{
		Host:         s.cfg.PublicURL.Host,
		URL:          s.absURL("/"),
		ToolsChannel: s.cfg.ToolsChannel,
		ToolsURL:     s.absURL("/repo/" + s.cfg.ToolsChannel),
	}}
	if _, u, token, err := s.currentSession(r); err == nil && u != nil {
		p.User, p.CSRF = u, csrfToken(token)
	}
	s.render(w, r, http.StatusOK, "register", p)
}
