package web

import (
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/signup"
)

// SignupPolicy is what the sign-in page says about getting an account
// (service/signup).
type SignupPolicy interface {
	Mode() signup.Mode
	// AskSentence says whom to ask for an account.
	AskSentence() string
}

// loginNotes adds to the sign-in page's content how to get an account,
// and why the person is there when a CLI login sent them (next is the
// consent page of a browser login, or the device page).
func (s *Pages) loginNotes(content map[string]string) map[string]string {
	if s.cfg.Signup != nil {
		content["Signup"], content["Ask"] = string(s.cfg.Signup.Mode()), s.cfg.Signup.AskSentence()
	} else {
		content["Signup"], content["Ask"] = string(signup.Off), "To get an account, ask an administrator of this server."
	}
	if u, err := url.Parse(content["Next"]); err == nil {
		switch {
		case strings.HasPrefix(u.Path, "/oauth/authorize"):
			content["CLI"] = "browser"
		case strings.HasPrefix(u.Path, "/device"):
			content["CLI"] = "device"
		}
	}
	return content
}
