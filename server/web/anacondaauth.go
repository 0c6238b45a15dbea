package web

import "net/http"

// The official anaconda-auth client, after its browser login, sends the
// browser from its loopback listener to https://<domain>/app/local-login-success
// (or /app/local-login-error when the login did not give it a code). These
// pages close that loop on Gatehouse: they say what happened and what to
// do next, and change nothing.

// loginResultPage is the content of both pages.
type loginResultPage struct {
	OK   bool
	Host string
}

func (s *Pages) handleLocalLoginSuccess(w http.ResponseWriter, r *http.Request) {
	s.renderLoginResult(w, r, true)
}

func (s *Pages) handleLocalLoginError(w http.ResponseWriter, r *http.Request) {
	s.renderLoginResult(w, r, false)
}

func (s *Pages) renderLoginResult(w http.ResponseWriter, r *http.Request, ok bool) {
	title := "Login complete"
	if !ok {
		title = "Login not completed"
	}
	p := &Data{Title: title, Content: loginResultPage{OK: ok, Host: s.cfg.PublicURL.Host}}
	if c, err := s.Current(r); err == nil && c != nil {
		p.User, p.CSRF = c.User, c.CSRF
	}
	s.Render(w, r, http.StatusOK, "login_result", p)
}
