package identitypages

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/server/web"
)

// An organization's service keys: keys that belong to the organization,
// for CI and shared build machines. Any owner or admin lists, creates
// and revokes them; the key is shown once, in the answer to the POST.

// orgAdmin returns the organization if c may administer it: "not found"
// for someone who is not a member, a refusal for a member who is no owner
// or admin. The services check again; this only spares people a form
// that cannot work.
func (h *Handlers) orgAdmin(r *http.Request, c *web.Ctx, name string) (*gatehouse.Org, error) {
	o, me, err := h.cfg.Orgs.Org(r.Context(), c.Principal(), name)
	if err != nil {
		return nil, err
	}
	if !me.Role.CanManageMembers() {
		return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN,
			"Only owners and admins of %s manage its service keys, single sign-on and key policy. Ask one of them.", o.Name)
	}
	return o, nil
}

type orgKeysPage struct {
	web.KeyDialog
	Tabs       web.OrgTabs
	Org        *gatehouse.Org
	Keys       []orgKeyRow
	RevokeID   int64
	ReplaceURL string
}

// newOrgKeysPage is the page of keys with the create dialog holding
// form.
func newOrgKeysPage(form web.KeyForm) *orgKeysPage {
	return &orgKeysPage{KeyDialog: web.KeyDialog{Form: form}}
}

// nameDialog puts org's name and address in the create dialog.
func (kp *orgKeysPage) nameDialog(org string) {
	d := &kp.KeyDialog
	d.IDPrefix, d.Action, d.Title, d.Submit = "org-", "/orgs/"+org+"/keys", "Create a service key of "+org, "Create service key"
	d.Noun, d.Lifetime = "Service key", "Service keys of "+org+" live at most"
	d.RestrictHelp = "Leave all unticked for every channel of " + org + "."
}

// newOrgKeyForm is the create dialog as it opens.
func newOrgKeyForm() web.KeyForm {
	return web.KeyForm{ScopeChannels: true, Expiration: web.DefaultExpiry()}
}

type orgKeyRow struct {
	web.KeyRow
	CreatedBy string
}

func (h *Handlers) handleOrgKeysPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	kp := newOrgKeysPage(newOrgKeyForm())
	q := r.URL.Query()
	kp.FormOpen = q.Has("create")
	if id, err := strconv.ParseInt(q.Get("revoke"), 10, 64); err == nil {
		kp.RevokeID = id
	}
	return h.renderOrgKeys(w, r, c, r.PathValue("org"), http.StatusOK, kp, &web.Data{})
}

func (h *Handlers) handleCreateOrgKeyPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	org := r.PathValue("org")
	o, err := h.orgAdmin(r, c, org)
	if err != nil {
		return err
	}
	f := web.KeyForm{
		Name:       r.PostFormValue("name"),
		Expiration: r.PostFormValue("expiration"),
		CustomDate: strings.TrimSpace(r.PostFormValue("custom_date")),
		Channels:   r.PostForm["channel"],
		ReadOnly:   r.PostFormValue("read_only") == "on",
	}
	scopes, err := gatehouse.ParseScopes(r.PostForm["scope"])
	f.ScopeUser, f.ScopeChannels = scopes.Has(gatehouse.ScopeUser), scopes.Has(gatehouse.ScopeChannels)
	kp := newOrgKeysPage(f)
	kp.ReplaceURL = "/orgs/" + o.Name + "/keys"
	var nk *gatehouse.NewKey
	if err == nil {
		var maxDays int
		if maxDays, _, err = h.orgKeyLimit(r, c, o); err == nil {
			var expires time.Time
			if expires, err = web.KeyExpiry(h.cfg.Clock(), f.Expiration, f.CustomDate, gatehouse.Days(maxDays)); err == nil {
				req := gatehouse.KeyRequest{Name: f.Name, Scopes: scopes, ExpiresAt: expires, Channels: f.Channels}
				if f.ReadOnly {
					req.ChannelAccess = gatehouse.ChannelRead
				}
				nk, err = h.cfg.Keys.CreateOrgKey(r.Context(), c.Principal(), o.Name, req)
			}
		}
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
			return err
		}
		kp.FormOpen, kp.Errs = true, web.ErrorsAt(err, "name", "scopes", "channels", "channel_access", "expires_at")
		return h.renderOrgKeys(w, r, c, o.Name, reply.Status(err), kp, &web.Data{})
	}
	kp.Form = newOrgKeyForm()
	kp.Created = &web.CreatedKey{Key: nk.Secret, Name: nk.Key.Name, Scopes: nk.Key.Scopes.Labels(),
		ExpiresAt: nk.Key.ExpiresAt, Replaced: nk.Replaced != nil}
	return h.renderOrgKeys(w, r, c, o.Name, http.StatusOK, kp, &web.Data{})
}

func (h *Handlers) handleRevokeOrgKeyPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	org := r.PathValue("org")
	kp := newOrgKeysPage(newOrgKeyForm())
	kp.ReplaceURL = "/orgs/" + org + "/keys"
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such key.")
	}
	k, err := h.cfg.Keys.RevokeOrgKey(r.Context(), c.Principal(), org, id)
	if err != nil {
		if code := gatehouse.ErrorCode(err); code == gatehouse.EINTERNAL || code == gatehouse.EFORBIDDEN {
			return err
		}
		return h.renderOrgKeys(w, r, c, org, reply.Status(err), kp, &web.Data{Error: gatehouse.ErrorMessage(err)})
	}
	return h.renderOrgKeys(w, r, c, org, http.StatusOK, kp,
		&web.Data{Flash: "The key “" + k.Name + "” of " + org + " was revoked. Anything that still uses it is refused from now on."})
}

// serverMaxDays is the longest the server's key policy lets any key
// live; people who are not administrators learn it through their limits.
func (h *Handlers) serverMaxDays(r *http.Request, c *web.Ctx) (int, error) {
	limits, err := h.cfg.Keys.Limits(r.Context(), c.Principal())
	if err != nil {
		return 0, err
	}
	for _, rule := range limits.Rules {
		if rule.Source == gatehouse.ServerPolicySource {
			return int(rule.Max / (24 * time.Hour)), nil
		}
	}
	return gatehouse.DefaultMaxKeyLifetimeDays, nil
}

// orgKeyLimit is the longest an organization's key may live: the
// server's policy or the organization's, whichever is stricter, and the
// notes that name the policies shorter than a year.
func (h *Handlers) orgKeyLimit(r *http.Request, c *web.Ctx, o *gatehouse.Org) (int, []string, error) {
	maxDays, err := h.serverMaxDays(r, c)
	if err != nil {
		return 0, nil, err
	}
	var notes []string
	if maxDays < gatehouse.DefaultMaxKeyLifetimeDays {
		notes = append(notes, "The server's key policy allows keys of at most "+strconv.Itoa(maxDays)+" days.")
	}
	pol, err := h.cfg.Policies.OrgPolicy(r.Context(), c.Principal(), o.Name)
	if err != nil {
		return 0, nil, err
	}
	if pol.MaxKeyLifetimeDays > 0 {
		notes = append(notes, "The key policy of "+o.Name+" allows keys of at most "+strconv.Itoa(pol.MaxKeyLifetimeDays)+" days.")
		maxDays = min(maxDays, pol.MaxKeyLifetimeDays)
	}
	return maxDays, notes, nil
}

// renderOrgKeys fills in the organization's keys and the form's bounds.
func (h *Handlers) renderOrgKeys(w http.ResponseWriter, r *http.Request, c *web.Ctx, org string, status int, kp *orgKeysPage, p *web.Data) error {
	o, err := h.orgAdmin(r, c, org)
	if err != nil {
		return err
	}
	keys, err := h.cfg.Keys.ListOrgKeys(r.Context(), c.Principal(), o.Name)
	if err != nil {
		return err
	}
	if kp.MaxDays, kp.PolicyNotes, err = h.orgKeyLimit(r, c, o); err != nil {
		return err
	}
	limits, err := h.cfg.Keys.Limits(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	now := h.cfg.Clock()
	kp.Org, kp.Tabs = o, web.OrgTabs{Org: o.Name, Tab: "keys", CanManage: true}
	kp.nameDialog(o.Name)
	kp.Keys = make([]orgKeyRow, len(keys))
	for i, k := range keys {
		kp.Keys[i] = orgKeyRow{KeyRow: web.KeyRow{ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: k.Scopes.Labels(), Status: k.Status(now),
			Replaced: k.RevokeReason == gatehouse.RevokedReplaced, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt,
			LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, ExpiringSoon: gatehouse.ExpiringSoon(k, now, limits.Warning),
			Restriction: restriction(k)}, CreatedBy: k.CreatedBy}
	}
	chans, err := h.cfg.Channels.Channels(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	for _, ca := range chans {
		if ca.Channel.OwnerOrgID == o.ID {
			kp.ChannelChoices = append(kp.ChannelChoices, web.ChannelChoice{Name: ca.Channel.Name, Selected: slices.Contains(kp.Form.Channels, ca.Channel.Name)})
		}
	}
	minDate, maxDate := web.CustomDateBounds(now, gatehouse.Days(kp.MaxDays))
	kp.MinDate, kp.MaxDate = minDate.Format(time.DateOnly), maxDate.Format(time.DateOnly)
	kp.Presets = web.PresetOptions(kp.MaxDays, kp.Form.Expiration)
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Service keys · "+o.Name, "orgs", c.User, c.CSRF, kp
	h.cfg.Pages.Render(w, r, status, "org_keys", p)
	return nil
}

// restriction says which channels a key may reach, and how: "" for
// every channel as its owner can.
func restriction(k *gatehouse.APIKey) string {
	var parts []string
	if len(k.Channels) > 0 {
		parts = append(parts, strings.Join(k.Channels, ", "))
	}
	switch k.ChannelAccess {
	case gatehouse.ChannelRead:
		parts = append(parts, "read-only")
	case gatehouse.ChannelWrite:
		parts = append(parts, "read and write")
	}
	return strings.Join(parts, ", ")
}
