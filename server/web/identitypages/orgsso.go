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

// An organization's single sign-on settings and key policy, for its
// owners and admins. The client secret is write-only: the page says
// whether one is stored, never what it is, and a secret typed into a
// form that was refused is not sent back either.

type ssoPage struct {
	Tabs web.OrgTabs
	Org  *gatehouse.Org
	Form ssoForm
	// Configured: the organization has a provider; SecretSet: a client
	// secret is stored.
	Configured, SecretSet bool
	Domains               []gatehouse.SSODomain
	RoleRows              []groupRoleRow
	GrantRows             []groupGrantRow
	// Channels are the organization's channels, for the grant rows, and
	// GrantRoles the roles a group can get there.
	Channels    []string
	GrantRoles  []string
	RedirectURI string
	// TestURL starts a sign-in at the provider for an address in a
	// confirmed domain, for a private window.
	TestURL string
	Errs    web.FieldErrors
	// RetypeSecret: the form was refused after a secret was typed.
	RetypeSecret bool
	ReplaceURL   string
}

type ssoForm struct {
	Issuer, ClientID string
	Domains          string // one a line
	Required         bool
}

type groupRoleRow struct{ Group, Role string }

type groupGrantRow struct{ Group, Channel, Role string }

// blankMappingRows is how many empty rows the mapping editors offer; a
// person who needs more saves and gets as many again.
const blankMappingRows = 3

func (h *Handlers) handleOrgSSOPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	return h.renderOrgSSO(w, r, c, r.PathValue("org"), http.StatusOK, &ssoPage{}, &web.Data{})
}

func (h *Handlers) handlePutOrgSSOPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	o, err := h.orgAdmin(r, c, r.PathValue("org"))
	if err != nil {
		return err
	}
	f := ssoForm{Issuer: strings.TrimSpace(r.PostFormValue("issuer")), ClientID: strings.TrimSpace(r.PostFormValue("client_id")),
		Domains: r.PostFormValue("domains"), Required: r.PostFormValue("required") == "on"}
	sp := &ssoPage{Form: f, ReplaceURL: "/orgs/" + o.Name + "/sso"}
	sp.RoleRows, sp.GrantRows = formRoleRows(r.PostForm), formGrantRows(r.PostForm)
	req := gatehouse.SSOConfigRequest{Issuer: f.Issuer, ClientID: f.ClientID, ClientSecret: r.PostFormValue("client_secret"),
		Domains: strings.Fields(strings.ReplaceAll(f.Domains, ",", " ")), Required: f.Required}
	req.GroupRoles, err = groupRoles(sp.RoleRows)
	if err == nil {
		req.GroupChannels, err = groupChannels(sp.GrantRows)
	}
	if err == nil {
		_, err = h.cfg.SSO.PutConfig(r.Context(), c.Principal(), o.Name, req)
	}
	if err != nil {
		if code := gatehouse.ErrorCode(err); code == gatehouse.EINTERNAL || code == gatehouse.EFORBIDDEN || code == gatehouse.ENOTFOUND {
			return err
		}
		sp.Errs = web.ErrorsAt(err, "issuer", "client_id", "client_secret", "domains", "group_roles", "group_channels")
		sp.RetypeSecret = strings.TrimSpace(req.ClientSecret) != ""
		return h.renderOrgSSO(w, r, c, o.Name, reply.Status(err), sp, &web.Data{})
	}
	flash := "Single sign-on of " + o.Name + " saved."
	return h.renderOrgSSO(w, r, c, o.Name, http.StatusOK, &ssoPage{ReplaceURL: sp.ReplaceURL}, &web.Data{Flash: flash})
}

// formRoleRows reads the group → role editor: parallel fields, one row
// each; rows without a group are left out.
func formRoleRows(form url.Values) []groupRoleRow {
	groups, roles := form["role_group"], form["role_role"]
	var out []groupRoleRow
	for i, g := range groups {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, groupRoleRow{Group: g, Role: at(roles, i)})
		}
	}
	return out
}

// formGrantRows reads the group → channel grant editor.
func formGrantRows(form url.Values) []groupGrantRow {
	groups, chans, roles := form["grant_group"], form["grant_channel"], form["grant_role"]
	var out []groupGrantRow
	for i, g := range groups {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, groupGrantRow{Group: g, Channel: at(chans, i), Role: at(roles, i)})
		}
	}
	return out
}

func at(vs []string, i int) string {
	if i < len(vs) {
		return strings.TrimSpace(vs[i])
	}
	return ""
}

// groupRoles turns the editor's rows into the service's map; a group
// named twice is refused rather than one row silently winning.
func groupRoles(rows []groupRoleRow) (map[string]string, error) {
	out := map[string]string{}
	for _, row := range rows {
		if _, dup := out[row.Group]; dup {
			return nil, gatehouse.FieldErrorf("group_roles", "The group %q is named twice: give each group one role.", row.Group)
		}
		out[row.Group] = row.Role
	}
	return out, nil
}

func groupChannels(rows []groupGrantRow) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, row := range rows {
		if row.Channel == "" {
			return nil, gatehouse.FieldErrorf("group_channels", "Choose the channel the group %q gets.", row.Group)
		}
		if out[row.Group] == nil {
			out[row.Group] = map[string]string{}
		}
		if _, dup := out[row.Group][row.Channel]; dup {
			return nil, gatehouse.FieldErrorf("group_channels", "The group %q gets the channel %s twice: give it one role there.", row.Group, row.Channel)
		}
		out[row.Group][row.Channel] = row.Role
	}
	return out, nil
}

// renderOrgSSO shows the stored configuration, or the form as it was
// sent (sp.Form set) after a refusal.
func (h *Handlers) renderOrgSSO(w http.ResponseWriter, r *http.Request, c *web.Ctx, org string, status int, sp *ssoPage, p *web.Data) error {
	o, err := h.orgAdmin(r, c, org)
	if err != nil {
		return err
	}
	cfg, err := h.cfg.SSO.Config(r.Context(), c.Principal(), o.Name)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return err
	}
	refused := sp.Errs != nil
	if cfg != nil {
		sp.Configured, sp.SecretSet, sp.Domains = true, cfg.ClientSecret != "", cfg.Domains
		if !refused {
			sp.Form = ssoForm{Issuer: cfg.Issuer, ClientID: cfg.ClientID, Required: cfg.Required}
			names := make([]string, len(cfg.Domains))
			for i, d := range cfg.Domains {
				names[i] = d.Domain
			}
			sp.Form.Domains = strings.Join(names, "\n")
			for g, role := range cfg.GroupRoles {
				sp.RoleRows = append(sp.RoleRows, groupRoleRow{Group: g, Role: string(role)})
			}
			for g, chans := range cfg.GroupChannels {
				for ch, role := range chans {
					sp.GrantRows = append(sp.GrantRows, groupGrantRow{Group: g, Channel: ch, Role: role.String()})
				}
			}
			slices.SortFunc(sp.RoleRows, func(a, b groupRoleRow) int { return strings.Compare(a.Group, b.Group) })
			slices.SortFunc(sp.GrantRows, func(a, b groupGrantRow) int {
				return strings.Compare(a.Group+"\x00"+a.Channel, b.Group+"\x00"+b.Channel)
			})
		}
		for _, d := range cfg.Domains {
			if d.Confirmed && sp.TestURL == "" {
				sp.TestURL = h.cfg.Pages.AbsURL("/login") + "?email=" + url.QueryEscape("you@"+d.Domain)
			}
		}
	}
	for range blankMappingRows {
		sp.RoleRows = append(sp.RoleRows, groupRoleRow{Role: string(gatehouse.OrgMember)})
		sp.GrantRows = append(sp.GrantRows, groupGrantRow{Role: "read"})
	}
	chans, err := h.cfg.Channels.Channels(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	for _, ca := range chans {
		if ca.Channel.OwnerOrgID == o.ID {
			sp.Channels = append(sp.Channels, ca.Channel.Name)
		}
	}
	sp.Org, sp.Tabs = o, web.OrgTabs{Org: o.Name, Tab: "sso", CanManage: true}
	sp.RedirectURI, sp.GrantRoles = h.cfg.Pages.AbsURL("/login/sso/callback"), web.ChannelRoles()
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Single sign-on · "+o.Name, "orgs", c.User, c.CSRF, sp
	h.cfg.Pages.Render(w, r, status, "org_sso", p)
	return nil
}

// policyPage is the key policy form of an organization (Tabs set) or of
// the server.
type policyPage struct {
	Tabs *web.OrgTabs
	Org  *gatehouse.Org
	// MaxDays and WarningDays are the form's values, as typed after a
	// refusal; ServerMaxDays bounds an organization's policy.
	MaxDays, WarningDays string
	ServerMaxDays        int
	Errs                 web.FieldErrors
	ReplaceURL           string
}

func (h *Handlers) handleOrgPolicyPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	return h.renderOrgPolicy(w, r, c, r.PathValue("org"), http.StatusOK, &policyPage{}, &web.Data{})
}

func (h *Handlers) handleSetOrgPolicyPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	o, err := h.orgAdmin(r, c, r.PathValue("org"))
	if err != nil {
		return err
	}
	pp := &policyPage{MaxDays: r.PostFormValue("max_key_lifetime_days"), WarningDays: r.PostFormValue("expiry_warning_days"),
		ReplaceURL: "/orgs/" + o.Name + "/policy"}
	u, err := policyUpdate(pp.MaxDays, pp.WarningDays)
	if err == nil {
		_, err = h.cfg.Policies.SetOrgPolicy(r.Context(), c.Principal(), o.Name, u)
	}
	if err != nil {
		if code := gatehouse.ErrorCode(err); code == gatehouse.EINTERNAL || code == gatehouse.EFORBIDDEN || code == gatehouse.ENOTFOUND {
			return err
		}
		pp.Errs = web.ErrorsAt(err, "max_key_lifetime_days", "expiry_warning_days")
		return h.renderOrgPolicy(w, r, c, o.Name, reply.Status(err), pp, &web.Data{})
	}
	return h.renderOrgPolicy(w, r, c, o.Name, http.StatusOK, &policyPage{ReplaceURL: pp.ReplaceURL},
		&web.Data{Flash: "The key policy of " + o.Name + " is saved. It applies to keys created from now on."})
}

// policyUpdate reads the policy form: whole numbers of days.
func policyUpdate(maxDays, warningDays string) (gatehouse.PolicyUpdate, error) {
	var u gatehouse.PolicyUpdate
	for _, f := range []struct {
		name, value string
		dst         **int
	}{{"max_key_lifetime_days", maxDays, &u.MaxKeyLifetimeDays}, {"expiry_warning_days", warningDays, &u.ExpiryWarningDays}} {
		n, err := strconv.Atoi(strings.TrimSpace(f.value))
		if err != nil {
			return u, gatehouse.FieldErrorf(f.name, "Give a whole number of days.")
		}
		*f.dst = &n
	}
	return u, nil
}

func (h *Handlers) renderOrgPolicy(w http.ResponseWriter, r *http.Request, c *web.Ctx, org string, status int, pp *policyPage, p *web.Data) error {
	o, err := h.orgAdmin(r, c, org)
	if err != nil {
		return err
	}
	if pp.Errs == nil {
		pol, err := h.cfg.Policies.OrgPolicy(r.Context(), c.Principal(), o.Name)
		if err != nil {
			return err
		}
		pp.MaxDays, pp.WarningDays = strconv.Itoa(pol.MaxKeyLifetimeDays), strconv.Itoa(pol.ExpiryWarningDays)
	}
	if pp.ServerMaxDays, err = h.serverMaxDays(r, c); err != nil {
		return err
	}
	pp.Org, pp.Tabs = o, &web.OrgTabs{Org: o.Name, Tab: "policy", CanManage: true}
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Key policy · "+o.Name, "orgs", c.User, c.CSRF, pp
	h.cfg.Pages.Render(w, r, status, "org_policy", p)
	return nil
}
