// Package identitypages is the web pages over the identity services: an
// organization's service keys, single sign-on and key policy, the
// server's key policy and the email domains organizations claim, and a
// channel's trusted publishers. The rules are the services'; these
// handlers read forms and render through server/web's layout, behind
// web's Page and AdminPage (a signed-in user, the session's CSRF token
// and same-origin checks on POST: checklist D3, E4).
package identitypages

import (
	"embed"
	"net/url"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// Config is what the pages need.
type Config struct {
	Pages    *web.Pages
	Keys     gatehouse.KeyService
	Orgs     gatehouse.OrgService
	Channels gatehouse.ChannelService
	Gate     gatehouse.GateService
	SSO      gatehouse.SSOService
	Policies gatehouse.PolicyService
	Trusted  gatehouse.TrustedPublishingService
	Clock    gatehouse.Clock
	// PublicURL is how clients reach the server: the audience and the CI
	// configuration the trusted publishers page shows.
	PublicURL *url.URL
}

// Handlers serves the identity pages.
type Handlers struct {
	cfg Config
}

// New parses the templates into cfg.Pages.
func New(cfg Config) (*Handlers, error) {
	if err := cfg.Pages.AddTemplates(templateFS); err != nil {
		return nil, err
	}
	return &Handlers{cfg: cfg}, nil
}
