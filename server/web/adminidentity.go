package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// Administration → Key policy (the server's) and Domains (organizations'
// claims of email domains for single sign-on, confirmed or rejected
// here). adminPage keeps everyone else out.

func (s *Pages) handleServerPolicyPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	return s.renderServerPolicy(w, r, c, http.StatusOK, &policyPage{}, &Data{})
}

func (s *Pages) handleSetServerPolicyPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	pp := &policyPage{MaxDays: r.PostFormValue("max_key_lifetime_days"), WarningDays: r.PostFormValue("expiry_warning_days"),
		ReplaceURL: "/admin/policy"}
	u, err := policyUpdate(pp.MaxDays, pp.WarningDays)
	if err == nil {
		_, err = s.cfg.Policies.SetServerPolicy(r.Context(), c.Principal(), u)
	}
	if err != nil {
		if code := gatehouse.ErrorCode(err); code == gatehouse.EINTERNAL || code == gatehouse.EFORBIDDEN {
			return err
		}
		pp.Errs = errorsAt(err, "max_key_lifetime_days", "expiry_warning_days")
		return s.renderServerPolicy(w, r, c, reply.Status(err), pp, &Data{})
	}
	return s.renderServerPolicy(w, r, c, http.StatusOK, &policyPage{ReplaceURL: pp.ReplaceURL},
		&Data{Flash: "The server's key policy is saved. It applies to keys created from now on; existing keys keep their expiry."})
}

func (s *Pages) renderServerPolicy(w http.ResponseWriter, r *http.Request, c *Ctx, status int, pp *policyPage, p *Data) error {
	if pp.Errs == nil {
		pol, err := s.cfg.Policies.ServerPolicy(r.Context(), c.Principal())
		if err != nil {
			return err
		}
		pp.MaxDays, pp.WarningDays = strconv.Itoa(pol.MaxKeyLifetimeDays), strconv.Itoa(pol.ExpiryWarningDays)
	}
	pp.ServerMaxDays = gatehouse.DefaultMaxKeyLifetimeDays
	p.Title, p.Tab, p.User, p.CSRF, p.Content = "Key policy", "admin", c.User, c.CSRF, pp
	s.Render(w, r, status, "admin_policy", p)
	return nil
}

type domainsPage struct {
	Pending, Confirmed []*gatehouse.SSODomain
	ReplaceURL         string
}

func (s *Pages) handleDomainsPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	return s.renderDomains(w, r, c, http.StatusOK, &domainsPage{}, &Data{})
}

func (s *Pages) handleConfirmDomainPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	domain, org := r.PathValue("domain"), strings.TrimSpace(r.PostFormValue("org"))
	dp := &domainsPage{ReplaceURL: "/admin/domains"}
	if err := s.cfg.SSO.ConfirmDomain(r.Context(), c.Principal(), domain, org); err != nil {
		return s.domainActionFailed(w, r, c, dp, err)
	}
	return s.renderDomains(w, r, c, http.StatusOK, dp, &Data{Flash: "The claim of " + domain + " by " + org +
		" is confirmed: addresses at " + domain + " now sign in at " + org + "'s provider."})
}

func (s *Pages) handleRejectDomainPage(w http.ResponseWriter, r *http.Request, c *Ctx) error {
	domain, org := r.PathValue("domain"), strings.TrimSpace(r.PostFormValue("org"))
	dp := &domainsPage{ReplaceURL: "/admin/domains"}
	if err := s.cfg.SSO.RejectDomain(r.Context(), c.Principal(), domain, org); err != nil {
		return s.domainActionFailed(w, r, c, dp, err)
	}
	return s.renderDomains(w, r, c, http.StatusOK, dp, &Data{Flash: "The claim of " + domain + " by " + org +
		" was rejected and removed from its single sign-on settings."})
}

func (s *Pages) domainActionFailed(w http.ResponseWriter, r *http.Request, c *Ctx, dp *domainsPage, err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL {
		return err
	}
	return s.renderDomains(w, r, c, reply.Status(err), dp, &Data{Error: gatehouse.ErrorMessage(err)})
}

func (s *Pages) renderDomains(w http.ResponseWriter, r *http.Request, c *Ctx, status int, dp *domainsPage, p *Data) error {
	ds, err := s.cfg.SSO.Domains(r.Context(), c.Principal())
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
	s.Render(w, r, status, "admin_domains", p)
	return nil
}
