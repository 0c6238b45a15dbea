package identitypages

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/server/web"
)

// A channel's trusted publishers: CI identities (an OIDC issuer, an
// audience and claims that must match) whose jobs exchange their ID token
// for a short-lived upload key. Only the channel's administrators see
// this page; the services refuse everyone else.

type publishersPage struct {
	Channel    *gatehouse.Channel
	Publishers []publisherRow
	Form       publisherForm
	Errs       web.FieldErrors
	// Presets prefill the form for the common CI systems (links, so
	// they work without the script).
	Presets         []publisherPreset
	DefaultAudience string
	// GitHub and GitLab are the CI configuration to copy.
	GitHub, GitLab string
	RemoveID       int64
	ReplaceURL     string
}

type publisherRow struct {
	*gatehouse.TrustedPublisher
	Claims []claimRow // sorted by name
}

type publisherForm struct {
	Preset           string
	Issuer, Audience string
	Claims           []claimRow
}

type claimRow struct{ Name, Value string }

type publisherPreset struct {
	ID, Label, Issuer string
	Claims            []string
	Help              string
}

// publisherPresets are the CI systems the page knows; their claim names
// are the ones their ID tokens carry.
var publisherPresets = []publisherPreset{
	{ID: "github", Label: "GitHub Actions", Issuer: "https://token.actions.githubusercontent.com",
		Claims: []string{"repository", "workflow_ref", "environment"},
		Help:   "repository is owner/name; workflow_ref is owner/name/.github/workflows/FILE@refs/heads/BRANCH; environment is the job's environment."},
	{ID: "gitlab", Label: "GitLab CI", Issuer: "https://gitlab.com",
		Claims: []string{"project_path", "ref"},
		Help:   "project_path is group/project; ref is the branch or tag. A self-managed GitLab's issuer is its own URL."},
}

// claimRows is how many claim rows the form offers.
const claimRows = 4

func (h *Handlers) handlePublishersPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	q := r.URL.Query()
	pp := &publishersPage{Form: publisherForm{Preset: q.Get("preset")}}
	for _, pre := range publisherPresets {
		if pre.ID == pp.Form.Preset {
			pp.Form.Issuer = pre.Issuer
			for _, name := range pre.Claims {
				pp.Form.Claims = append(pp.Form.Claims, claimRow{Name: name})
			}
		}
	}
	if id, err := strconv.ParseInt(q.Get("remove"), 10, 64); err == nil {
		pp.RemoveID = id
	}
	return h.renderPublishers(w, r, c, r.PathValue("channel"), http.StatusOK, pp, &web.Data{})
}

func (h *Handlers) handleAddPublisherPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	name := r.PathValue("channel")
	f := publisherForm{Preset: r.PostFormValue("preset"), Issuer: strings.TrimSpace(r.PostFormValue("issuer")),
		Audience: strings.TrimSpace(r.PostFormValue("audience"))}
	names, values := r.PostForm["claim_name"], r.PostForm["claim_value"]
	req := gatehouse.TrustedPublisherRequest{Issuer: f.Issuer, Audience: f.Audience, Claims: map[string]string{}}
	var err error
	for i, n := range names {
		n, v := strings.TrimSpace(n), at(values, i)
		if n == "" && v == "" {
			continue
		}
		f.Claims = append(f.Claims, claimRow{Name: n, Value: v})
		if _, dup := req.Claims[n]; dup && err == nil {
			err = gatehouse.FieldErrorf("claims", "The claim %q is named twice: give it one value.", n)
		}
		if v == "" && err == nil {
			err = gatehouse.FieldErrorf("claims", "Give the value the claim %q must have.", n)
		}
		req.Claims[n] = v
	}
	pp := &publishersPage{Form: f, ReplaceURL: "/channels/" + name + "/publishers"}
	var tp *gatehouse.TrustedPublisher
	if err == nil {
		tp, err = h.cfg.Trusted.AddPublisher(r.Context(), c.Principal(), name, req)
	}
	if err != nil {
		if code := gatehouse.ErrorCode(err); code == gatehouse.EINTERNAL || code == gatehouse.EFORBIDDEN || code == gatehouse.ENOTFOUND {
			return err
		}
		pp.Errs = web.ErrorsAt(err, "issuer", "audience", "claims")
		return h.renderPublishers(w, r, c, name, reply.Status(err), pp, &web.Data{})
	}
	return h.renderPublishers(w, r, c, name, http.StatusOK, &publishersPage{ReplaceURL: pp.ReplaceURL},
		&web.Data{Flash: "CI jobs of " + tp.Issuer + " whose tokens carry the claims below can now publish to " + tp.Channel + "."})
}

func (h *Handlers) handleRemovePublisherPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	name := r.PathValue("channel")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such trusted publisher.")
	}
	if err := h.cfg.Trusted.RemovePublisher(r.Context(), c.Principal(), name, id); err != nil {
		return err
	}
	return h.renderPublishers(w, r, c, name, http.StatusOK, &publishersPage{ReplaceURL: "/channels/" + name + "/publishers"},
		&web.Data{Flash: "The trusted publisher was removed: its CI jobs can no longer exchange tokens for " + name + "."})
}

func (h *Handlers) renderPublishers(w http.ResponseWriter, r *http.Request, c *web.Ctx, name string, status int, pp *publishersPage, p *web.Data) error {
	tps, err := h.cfg.Trusted.Publishers(r.Context(), c.Principal(), name)
	if err != nil {
		return err
	}
	ch, _, err := h.cfg.Channels.Channel(r.Context(), c.Principal(), name, gatehouse.ChannelAdmin)
	if err != nil {
		return err
	}
	pp.Channel = ch
	for _, tp := range tps {
		row := publisherRow{TrustedPublisher: tp}
		for k, v := range tp.Claims {
			row.Claims = append(row.Claims, claimRow{Name: k, Value: v})
		}
		slices.SortFunc(row.Claims, func(a, b claimRow) int { return strings.Compare(a.Name, b.Name) })
		pp.Publishers = append(pp.Publishers, row)
	}
	for len(pp.Form.Claims) < claimRows {
		pp.Form.Claims = append(pp.Form.Claims, claimRow{})
	}
	pp.Presets = publisherPresets
	pp.DefaultAudience = h.cfg.PublicURL.Host
	pp.GitHub, pp.GitLab = h.ciSnippets(ch.Name)
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Trusted publishers · "+ch.Name, "channels", c.User, c.CSRF, pp
	h.cfg.Pages.Render(w, r, status, "channel_publishers", p)
	return nil
}

// ciSnippets are the CI configurations that publish to the channel: the
// CLI comes from the tools channel and exchanges the job's ID token by
// itself (GitHub Actions' token request variables, or GATEHOUSE_ID_TOKEN).
func (h *Handlers) ciSnippets(channel string) (github, gitlab string) {
	at, aud := h.cfg.Pages.LoginAt(), h.cfg.PublicURL.Host
	install := "conda install --name base gatehouse --channel " + h.cfg.Pages.AbsURL("/repo/"+url.PathEscape(h.cfg.Gate.ToolsChannel())) + " --override-channels --yes"
	upload := "gatehouse upload dist/*.conda --channel " + channel + " --at " + at
	github = `# .github/workflows/publish.yml
jobs:
  publish:
    runs-on: ubuntu-latest
    environment: release   # if the publisher requires an environment
    permissions:
      id-token: write      # lets the job ask for an ID token
      contents: read
    steps:
      - uses: actions/checkout@v4
      - run: ` + install + `
      - run: ` + upload + `
`
	gitlab = `# .gitlab-ci.yml
publish:
  image: condaforge/miniforge3
  id_tokens:
    GATEHOUSE_ID_TOKEN:
      aud: ` + aud + `
  script:
    - ` + install + `
    - ` + upload + `
`
	return github, gitlab
}
