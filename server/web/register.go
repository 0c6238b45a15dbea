package web

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

func (s *Pages) handleRegisterPage(w http.ResponseWriter, r *http.Request) {
	p := &Data{Title: "Register your conda client", Content: registerPage{
		Host:         s.cfg.PublicURL.Host,
		URL:          s.absURL("/"),
		ToolsChannel: s.cfg.Gate.ToolsChannel(),
		ToolsURL:     s.absURL("/repo/" + s.cfg.Gate.ToolsChannel()),
	}}
	if c, err := s.Current(r); err == nil && c != nil {
		p.User, p.CSRF = c.User, c.CSRF
	}
	s.Render(w, r, http.StatusOK, "register", p)
}
