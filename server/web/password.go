package web

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/authn"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// The Password tab of Account Settings.

type passwordPage struct {
	MinLength int
	// MustChange: the password was printed at first start and must be
	// replaced before anything else; Next is where to go afterwards.
	MustChange bool
	Next       string
}

const passwordPath = "/settings/password"

// askNewPassword sends a user who must change their password to the
// Password tab, and back to where they were going afterwards. Only web
// pages ask: API keys and the CLI keep working.
func (s *Pages) askNewPassword(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if authn.SafeMethod(r.Method) {
		http.Redirect(w, r, passwordPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	s.Error(w, r, c, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Choose a new password first, in Account Settings → Password: the one you signed in with was printed when the server started."))
}

func (s *Pages) handlePasswordPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	p := &Data{}
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
func (s *Pages) handleChangePasswordPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	var err error
	if next != r.PostFormValue("confirm_password") {
		err = gatehouse.FieldErrorf("confirm_password", "The new password and its confirmation differ. Type the same new password twice.")
	} else if c.User.MustChangePassword && next == current {
		err = gatehouse.FieldErrorf("new_password", "Choose a new password: not the one printed when the server started.")
	}
	if err == nil {
		err = s.cfg.Users.ChangePassword(r.Context(), c.Principal(), current, next)
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		s.renderPassword(w, r, c, reply.Status(err), &Data{Error: gatehouse.ErrorMessage(err)})
		return nil
	}
	if err := s.cfg.Sessions.Start(r.Context(), w, r, c.Principal()); err != nil {
		return err
	}
	if c.User.MustChangePassword {
		if then := r.PostFormValue("next"); then != "" {
			http.Redirect(w, r, localRedirect(then), http.StatusSeeOther)
			return nil
		}
	}
	http.Redirect(w, r, "/settings/password?changed", http.StatusSeeOther)
	return nil
}

func (s *Pages) renderPassword(w http.ResponseWriter, r *http.Request, c *Ctx, status int, p *Data) {
	p.Title, p.Tab, p.User, p.CSRF = "Password", "settings", c.User, c.CSRF
	pp := &passwordPage{MinLength: gatehouse.MinPasswordLen, MustChange: c.User.MustChangePassword}
	if pp.MustChange {
		pp.Next = r.FormValue("next")
	}
	p.Content = pp
	s.Render(w, r, status, "password", p)
}
