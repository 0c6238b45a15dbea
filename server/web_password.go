package server

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse"
)

// The Password tab of Account Settings.

type passwordPage struct {
	MinLength int
}

func (s *Server) handlePasswordPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	p := &page{}
	if r.URL.Query().Has("changed") {
		// A fixed message chosen by a flag, never text from the URL.
		p.Flash = "Your password was changed. Other browsers and devices were signed out; this one stays signed in."
	}
	s.renderPassword(w, r, c, http.StatusOK, p)
	return nil
}

// handleChangePasswordPage changes the password. The service ends every
// session of the user, this one included, so this browser gets a fresh
// session, and then a redirect: the next page is a GET that carries the
// new cookie and the new CSRF token.
func (s *Server) handleChangePasswordPage(w http.ResponseWriter, r *http.Request, c *webCtx) error {
	req := passwordChange{CurrentPassword: r.PostFormValue("current_password"), NewPassword: r.PostFormValue("new_password")}
	var err error
	if req.NewPassword != r.PostFormValue("confirm_password") {
		err = gatehouse.FieldErrorf("confirm_password", "The new password and its confirmation differ. Type the same new password twice.")
	}
	ip := s.clientAddr(r)
	if err == nil {
		err = s.changePassword(r.Context(), c.User, req, ip)
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		s.renderPassword(w, r, c, statusOf[gatehouse.ErrorCode(err)], &page{Error: gatehouse.ErrorMessage(err)})
		return nil
	}
	if err := s.startSession(r.Context(), w, r, c.User, ip); err != nil {
		return err
	}
	http.Redirect(w, r, "/settings/password?changed", http.StatusSeeOther)
	return nil
}

func (s *Server) renderPassword(w http.ResponseWriter, r *http.Request, c *webCtx, status int, p *page) {
	p.Title, p.Tab, p.User, p.CSRF = "Password", "settings", c.User, c.CSRF
	p.Content = &passwordPage{MinLength: gatehouse.MinPasswordLen}
	s.render(w, r, status, "password", p)
}
