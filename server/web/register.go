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
	Platforms    []registerPlatform
}

// registerPlatform is one platform the tools channel serves the CLI for,
// with where to run the command and the command itself.
type registerPlatform struct {
	Subdir, Label, Shell string
}

// cliPlatforms are the platforms a release publishes the CLI for
// (scripts/release, toolschannel.Platforms), as people name them.
var cliPlatforms = []registerPlatform{
	{"linux-64", "Linux (x86-64)", "a terminal"},
	{"linux-aarch64", "Linux (ARM64)", "a terminal"},
	{"osx-64", "macOS (Intel)", "Terminal"},
	{"osx-arm64", "macOS (Apple silicon)", "Terminal"},
	{"win-64", "Windows (x86-64)", "Anaconda Prompt"},
}

func (s *Pages) handleRegisterPage(w http.ResponseWriter, r *http.Request) {
	p := &Data{Title: "Register your conda client", Content: registerPage{
		Host:         s.cfg.PublicURL.Host,
		URL:          s.AbsURL("/"),
		ToolsChannel: s.cfg.Gate.ToolsChannel(),
		ToolsURL:     s.AbsURL("/repo/" + s.cfg.Gate.ToolsChannel()),
		Platforms:    cliPlatforms,
	}}
	if c, err := s.Current(r); err == nil && c != nil {
		p.User, p.CSRF = c.User, c.CSRF
	}
	s.Render(w, r, http.StatusOK, "register", p)
}
