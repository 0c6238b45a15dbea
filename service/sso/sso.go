// Package sso is single sign-on per organization: an organization's
// administrators configure an OpenID Connect provider and claim email
// domains, a server administrator confirms the claims, and people whose
// address is in a confirmed domain sign in at their organization's
// provider (authorization code + PKCE + nonce + state, ID tokens verified
// with coreos/go-oidc). The first sign-in creates the account; every
// sign-in brings the organization role and channel grants in line with
// the person's provider groups, taking back what a lost group gave.
package sso

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/service/idp"
)

// Config is what the service needs.
type Config struct {
	Store     gatehouse.Store
	Providers *idp.Providers
	// Sealer encrypts client secrets; nil accepts only references
	// (env:NAME, file:/path).
	Sealer    *secret.Sealer
	Clock     gatehouse.Clock
	Logger    *slog.Logger
	PublicURL *url.URL
	// Changed evicts the caches a committed change makes stale.
	Changed func(gatehouse.Change)
	// Getenv and ReadFile resolve secret references; nil: the process's.
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
}

// Service implements gatehouse.SSOService.
type Service struct {
	cfg Config
	now gatehouse.Clock
	log *slog.Logger
}

var _ gatehouse.SSOService = (*Service)(nil)

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.ReadFile == nil {
		cfg.ReadFile = os.ReadFile
	}
	if cfg.Changed == nil {
		cfg.Changed = func(gatehouse.Change) {}
	}
	return &Service{cfg: cfg, now: cfg.Clock, log: cfg.Logger}
}

// CallbackPath is where providers send people back.
const CallbackPath = "/login/sso/callback"

func (s *Service) absURL(path string) string {
	u := *s.cfg.PublicURL
	u.Path, u.RawQuery = path, ""
	return u.String()
}

func (s *Service) event(p *gatehouse.Principal, action, target string) *gatehouse.AuditEvent {
	e := &gatehouse.AuditEvent{Action: action, Target: target, Success: true, Time: s.now()}
	if p != nil && p.User != nil {
		e.ActorID, e.Actor = p.User.ID, p.User.Username
	}
	if p != nil && p.Addr.IsValid() {
		e.IP = p.Addr.String()
	}
	return e
}

func (s *Service) record(ctx context.Context, e *gatehouse.AuditEvent) {
	e.Time = s.now()
	if err := s.cfg.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit write failed", "action", e.Action, "err", err)
	}
}

// orgFor returns the organization and p's role in it; a server
// administrator acts as an owner; anyone else who is no member gets "not
// found".
func (s *Service) orgFor(ctx context.Context, p *gatehouse.Principal, name string) (*gatehouse.Org, gatehouse.OrgRole, error) {
	notFound := gatehouse.Errorf(gatehouse.ENOTFOUND, "No organization named %q that you belong to.", name)
	if !p.IsPerson() {
		return nil, "", notFound
	}
	o, err := s.cfg.Store.OrgByName(ctx, name)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, "", notFound
	} else if err != nil {
		return nil, "", err
	}
	if p.Scopes().Has(gatehouse.ScopeAdmin) {
		return o, gatehouse.OrgOwner, nil
	}
	m, err := s.cfg.Store.OrgMember(ctx, o.ID, p.User.ID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, "", notFound
	} else if err != nil {
		return nil, "", err
	}
	return o, m.Role, nil
}

// PutConfig sets the organization's provider; its owners and admins may.
func (s *Service) PutConfig(ctx context.Context, p *gatehouse.Principal, org string, req gatehouse.SSOConfigRequest) (*gatehouse.SSOConfig, error) {
	o, role, err := s.orgFor(ctx, p, org)
	if err != nil {
		return nil, err
	}
	if !role.CanManageMembers() {
		return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners and admins of %q can configure its single sign-on.", o.Name)
	}
	c := &gatehouse.SSOConfig{OrgID: o.ID, Org: o.Name, Required: req.Required, UpdatedAt: s.now()}
	c.Issuer = strings.TrimSpace(req.Issuer)
	if err := idp.ValidateIssuer("issuer", c.Issuer); err != nil {
		return nil, err
	}
	c.ClientID = strings.TrimSpace(req.ClientID)
	if c.ClientID == "" || len(c.ClientID) > 256 || !printable(c.ClientID) {
		return nil, gatehouse.FieldErrorf("client_id", "Give the client ID the provider assigned to Gatehouse (at most 256 characters).")
	}
	old, err := s.cfg.Store.SSOConfig(ctx, o.ID)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return nil, err
	}
	if c.ClientSecret, err = s.storedSecret(req.ClientSecret, o.ID, old); err != nil {
		return nil, err
	}
	if c.Domains, err = parseDomains(req.Domains); err != nil {
		return nil, err
	}
	if c.GroupRoles, err = parseGroupRoles(req.GroupRoles); err != nil {
		return nil, err
	}
	if c.GroupChannels, err = s.parseGroupChannels(ctx, o, req.GroupChannels); err != nil {
		return nil, err
	}
	err = s.cfg.Store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.PutSSOConfig(ctx, c); err != nil {
			return err
		}
		e := s.event(p, gatehouse.AuditSSOConfig, "org:"+o.Name)
		e.Detail = "issuer=" + c.Issuer + " client_id=" + c.ClientID + " domains=" + domainList(c.Domains) + " required=" + strconv.FormatBool(c.Required)
		return tx.AppendAudit(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.SSOConfig(ctx, o.ID)
}

// storedSecret turns the secret an administrator typed into what the
// store keeps: a reference as it is, anything else sealed. Empty keeps the
// stored secret.
func (s *Service) storedSecret(in string, orgID int64, old *gatehouse.SSOConfig) (string, error) {
	in = strings.TrimSpace(in)
	switch {
	case in == "":
		if old != nil {
			return old.ClientSecret, nil
		}
		return "", nil
	case len(in) > 4096 || !printable(in):
		return "", gatehouse.FieldErrorf("client_secret", "The client secret is at most 4096 printable characters.")
	case strings.HasPrefix(in, "env:"):
		if !envNameRE.MatchString(in[4:]) {
			return "", gatehouse.FieldErrorf("client_secret", "A reference env:NAME names an environment variable of the server: letters, digits and '_'.")
		}
		return in, nil
	case strings.HasPrefix(in, "file:"):
		if !strings.HasPrefix(in[5:], "/") {
			return "", gatehouse.FieldErrorf("client_secret", "A reference file:/path names an absolute path on the server.")
		}
		return in, nil
	case s.cfg.Sealer == nil:
		return "", gatehouse.FieldErrorf("client_secret", "This server has no --secret-key to encrypt client secrets with: give a reference (env:NAME or file:/path) instead, or ask the server's administrator to configure one.")
	}
	return s.cfg.Sealer.Seal(in, sealContext(orgID)), nil
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

func sealContext(orgID int64) string { return "sso-client-secret:org:" + strconv.FormatInt(orgID, 10) }

// clientSecret resolves the stored secret for a token request.
func (s *Service) clientSecret(c *gatehouse.SSOConfig) (string, error) {
	v := c.ClientSecret
	switch {
	case v == "":
		return "", nil
	case strings.HasPrefix(v, "env:"):
		if got := s.cfg.Getenv(v[4:]); got != "" {
			return got, nil
		}
		return "", errors.New("the environment variable " + v[4:] + " of the client secret reference is empty")
	case strings.HasPrefix(v, "file:"):
		b, err := s.cfg.ReadFile(v[5:])
		return strings.TrimSpace(string(b)), err
	case s.cfg.Sealer == nil:
		return "", errors.New("the client secret is sealed but this server has no --secret-key")
	}
	return s.cfg.Sealer.Open(v, sealContext(c.OrgID))
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

func parseDomains(in []string) ([]gatehouse.SSODomain, error) {
	if len(in) > 20 {
		return nil, gatehouse.FieldErrorf("domains", "An organization claims at most 20 domains.")
	}
	var out []gatehouse.SSODomain
	seen := map[string]bool{}
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(d))
		if len(d) > 253 || !domainRE.MatchString(d) {
			return nil, gatehouse.FieldErrorf("domains", "%q is not a domain name such as example.com.", gatehouse.Shorten(d, 64))
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, gatehouse.SSODomain{Domain: d})
		}
	}
	slices.SortFunc(out, func(a, b gatehouse.SSODomain) int { return strings.Compare(a.Domain, b.Domain) })
	return out, nil
}

func domainList(ds []gatehouse.SSODomain) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Domain
	}
	return strings.Join(names, ",")
}

func validGroup(g string) bool { return g != "" && len(g) <= 256 && printable(g) }

func parseGroupRoles(in map[string]string) (map[string]gatehouse.OrgRole, error) {
	if len(in) > 100 {
		return nil, gatehouse.FieldErrorf("group_roles", "Map at most 100 groups.")
	}
	out := map[string]gatehouse.OrgRole{}
	for g, r := range in {
		if !validGroup(g) {
			return nil, gatehouse.FieldErrorf("group_roles", "Group names are 1 to 256 printable characters.")
		}
		switch role := gatehouse.OrgRole(r); role {
		case gatehouse.OrgAdmin, gatehouse.OrgMember:
			out[g] = role
		default:
			return nil, gatehouse.FieldErrorf("group_roles", "A group gives the role \"member\" or \"admin\" (owners are named by hand); %q gives %q.", gatehouse.Shorten(g, 64), gatehouse.Shorten(r, 64))
		}
	}
	return out, nil
}

func (s *Service) parseGroupChannels(ctx context.Context, o *gatehouse.Org, in map[string]map[string]string) (map[string]map[string]gatehouse.ChannelRole, error) {
	if len(in) > 100 {
		return nil, gatehouse.FieldErrorf("group_channels", "Map at most 100 groups.")
	}
	out := map[string]map[string]gatehouse.ChannelRole{}
	for g, chans := range in {
		if !validGroup(g) {
			return nil, gatehouse.FieldErrorf("group_channels", "Group names are 1 to 256 printable characters.")
		}
		out[g] = map[string]gatehouse.ChannelRole{}
		for name, r := range chans {
			role, err := gatehouse.ParseChannelRole(r)
			if err != nil {
				return nil, gatehouse.FieldErrorf("group_channels", "Channel roles are \"read\", \"write\" or \"admin\".")
			}
			ch, err := s.cfg.Store.ChannelByName(ctx, name)
			if err != nil || ch.OwnerOrgID != o.ID {
				return nil, gatehouse.FieldErrorf("group_channels", "Groups can be given channels of %s only; %q is not one of them.", o.Name, gatehouse.Shorten(name, 64))
			}
			out[g][name] = role
		}
	}
	return out, nil
}

// Config shows the organization's provider to its members, never the
// secret.
func (s *Service) Config(ctx context.Context, p *gatehouse.Principal, org string) (*gatehouse.SSOConfig, error) {
	o, _, err := s.orgFor(ctx, p, org)
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.SSOConfig(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Domains lists every domain claim, for server administrators.
func (s *Service) Domains(ctx context.Context, p *gatehouse.Principal) ([]*gatehouse.SSODomain, error) {
	if err := p.Require(gatehouse.ScopeAdmin); err != nil {
		return nil, err
	}
	ds, err := s.cfg.Store.ListSSODomains(ctx)
	if ds == nil && err == nil {
		ds = []*gatehouse.SSODomain{}
	}
	return ds, err
}

// ConfirmDomain confirms an organization's claim of a domain, for server
// administrators: from then on addresses in it sign in at that
// organization's provider.
func (s *Service) ConfirmDomain(ctx context.Context, p *gatehouse.Principal, domain, org string) error {
	if err := p.Require(gatehouse.ScopeAdmin); err != nil {
		return err
	}
	domain = strings.ToLower(strings.TrimSpace(domain))
	o, err := s.cfg.Store.OrgByName(ctx, org)
	if err != nil {
		return err
	}
	return s.cfg.Store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.ConfirmSSODomain(ctx, domain, o.ID, p.User.Username, s.now()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.event(p, gatehouse.AuditSSODomainConfirm, "org:"+o.Name+" domain:"+domain))
	})
}

// RejectDomain drops an organization's claim of a domain that awaits
// confirmation, for server administrators. The rest of the organization's
// configuration stays as it is.
func (s *Service) RejectDomain(ctx context.Context, p *gatehouse.Principal, domain, org string) error {
	if err := p.Require(gatehouse.ScopeAdmin); err != nil {
		return err
	}
	domain = strings.ToLower(strings.TrimSpace(domain))
	o, err := s.cfg.Store.OrgByName(ctx, org)
	if err != nil {
		return err
	}
	notClaimed := gatehouse.Errorf(gatehouse.ENOTFOUND, "%s has not claimed %s.", o.Name, gatehouse.Shorten(domain, 64))
	return s.cfg.Store.Atomic(ctx, func(tx gatehouse.Store) error {
		c, err := tx.SSOConfig(ctx, o.ID)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return notClaimed
		} else if err != nil {
			return err
		}
		i := slices.IndexFunc(c.Domains, func(d gatehouse.SSODomain) bool { return d.Domain == domain })
		if i < 0 {
			return notClaimed
		}
		if c.Domains[i].Confirmed {
			return gatehouse.Errorf(gatehouse.ECONFLICT, "The claim of %s by %s is confirmed already; the organization's owners and admins can remove it from its single sign-on settings.", domain, o.Name)
		}
		c.Domains = slices.Delete(c.Domains, i, i+1)
		if err := tx.PutSSOConfig(ctx, c); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.event(p, gatehouse.AuditSSODomainReject, "org:"+o.Name+" domain:"+domain))
	})
}
