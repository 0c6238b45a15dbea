package identitypages

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/server/web"
)

// Administration → Key policy (the server's) and Domains (organizations'
// claims of email domains for single sign-on, confirmed or rejected
// here). adminPage keeps everyone else out.

func (h *Handlers) handleServerPolicyPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	return h.renderServerPolicy(w, r, c, http.StatusOK, &policyPage{}, &web.Data{})
}

func (h *Handlers) handleSetServerPolicyPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	pp := &policyPage{MaxDays: r.PostFormValue("max_key_lifetime_days"), WarningDays: r.PostFormValue("expiry_warning_days"),
		ReplaceURL: "/admin/policy"}
	u, err := policyUpdate(pp.MaxDays, pp.WarningDays)
	if err == nil {
		_, err = h.cfg.Policies.SetServerPolicy(r.Context(), c.Principal(), u)
	}
	if err != nil {
		if code := gatehouse.ErrorCode(err); code == gatehouse.EINTERNAL || code == gatehouse.EFORBIDDEN {
			return err
		}
		pp.Errs = web.ErrorsAt(err, "max_key_lifetime_days", "expiry_warning_days")
		return h.renderServerPolicy(w, r, c, reply.Status(err), pp, &web.Data{})
	}
	return h.renderServerPolicy(w, r, c, http.StatusOK, &policyPage{ReplaceURL: pp.ReplaceURL},
		&web.Data{Flash: "The server's key policy is saved. It applies to keys created from now on; existing keys keep their expiry."})
}

func (h *Handlers) renderServerPolicy(w http.ResponseWriter, r *http.Request, c *web.Ctx, status int, pp *policyPage, p *web.Data) error {
	if pp.Errs == nil {
		pol, err := h.cfg.Policies.ServerPolicy(r.Context(), c.Principal())
		if err != nil {
			return err
		}
		pp.MaxDays, pp.WarningDays = strconv.Itoa(pol.MaxKeyLifetimeDays), strconv.Itoa(pol.ExpiryWarningDays)
	}
	pp.ServerMaxDays = gatehouse.DefaultMaxKeyLifetimeDays
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Key policy", "admin", c.User, c.CSRF, pp
	h.cfg.Pages.Render(w, r, status, "admin_policy", p)
	return nil
}

type domainsPage struct {
	Pending, Confirmed []*gatehouse.SSODomain
	ReplaceURL         string
}

func (h *Handlers) handleDomainsPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	return h.renderDomains(w, r, c, http.StatusOK, &domainsPage{}, &web.Data{})
}

func (h *Handlers) handleConfirmDomainPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	domain, org := r.PathValue("domain"), strings.TrimSpace(r.PostFormValue("org"))
	dp := &domainsPage{ReplaceURL: "/admin/domains"}
	if err := h.cfg.SSO.ConfirmDomain(r.Context(), c.Principal(), domain, org); err != nil {
		return h.domainActionFailed(w, r, c, dp, err)
	}
	return h.renderDomains(w, r, c, http.StatusOK, dp, &web.Data{Flash: "The claim of " + domain + " by " + org +
		" is confirmed: addresses at " + domain + " now sign in at " + org + "'s provider."})
}

func (h *Handlers) handleRejectDomainPage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	domain, org := r.PathValue("domain"), strings.TrimSpace(r.PostFormValue("org"))
	dp := &domainsPage{ReplaceURL: "/admin/domains"}
	if err := h.cfg.SSO.RejectDomain(r.Context(), c.Principal(), domain, org); err != nil {
		return h.domainActionFailed(w, r, c, dp, err)
	}
	return h.renderDomains(w, r, c, http.StatusOK, dp, &web.Data{Flash: "The claim of " + domain + " by " + org +
		" was rejected and removed from its single sign-on settings."})
}

func (h *Handlers) domainActionFailed(w http.ResponseWriter, r *http.Request, c *web.Ctx, dp *domainsPage, err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
		return err
	}
	return h.renderDomains(w, r, c, reply.Status(err), dp, &web.Data{Error: gatehouse.ErrorMessage(err)})
}

func (h *Handlers) renderDomains(w http.ResponseWriter, r *http.Request, c *web.Ctx, status int, dp *domainsPage, p *web.Data) error {
	ds, err := h.cfg.SSO.Domains(r.Context(), c.Principal())
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.Confirmed {
			dp.Confirmed = append(dp.Confirmed, d)
		} else {
			dp.Pending = append(dp.Pending, d)
		}
	}
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Domains", "admin", c.User, c.CSRF, dp
	h.cfg.Pages.Render(w, r, status, "admin_domains", p)
	return nil
}
