package service

import (
	"context"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cache"
)

// Policies implements gatehouse.PolicyService: the server's key policy for
// administrators, an organization's for its owners and admins.
type Policies struct{ *core }

var _ gatehouse.PolicyService = (*Policies)(nil)

// policyCache keeps policies for the key cache TTL: a key check on every
// API request reads the expiry warning, and key creation reads lifetimes.
type policyCache struct {
	c        *core
	policies *cache.Cache[int64, gatehouse.KeyPolicy]
}

func newPolicyCache(c *core) *policyCache {
	return &policyCache{c: c, policies: cache.New[int64, gatehouse.KeyPolicy](cache.Options{
		MaxEntries: 10_000, TTL: c.cfg.KeyCacheTTL, Clock: c.now})}
}

// get returns the stored policy of org (0: the server), as stored: zero
// fields mean "not set".
func (pc *policyCache) get(ctx context.Context, org int64) (gatehouse.KeyPolicy, error) {
	if p, ok := pc.policies.Get(org); ok {
		return p, nil
	}
	t := pc.policies.Ticket(org)
	p, err := pc.c.store.KeyPolicy(ctx, org)
	if err != nil {
		return p, err
	}
	pc.policies.SetIfCurrent(t, p)
	return p, nil
}

// server returns the server's policy with the defaults filled in.
func (pc *policyCache) server(ctx context.Context) (gatehouse.KeyPolicy, error) {
	p, err := pc.get(ctx, 0)
	def := gatehouse.DefaultServerPolicy()
	if p.MaxKeyLifetimeDays == 0 {
		p.MaxKeyLifetimeDays = def.MaxKeyLifetimeDays
	}
	if p.ExpiryWarningDays == 0 {
		p.ExpiryWarningDays = def.ExpiryWarningDays
	}
	return p, err
}

func (pc *policyCache) forget(org int64) { pc.policies.Delete(org) }

// ServerPolicy returns the server's policy, for administrators.
func (s *Policies) ServerPolicy(ctx context.Context, p *gatehouse.Principal) (gatehouse.KeyPolicy, error) {
	if err := requireAdmin(p); err != nil {
		return gatehouse.KeyPolicy{}, err
	}
	return s.policies.server(ctx)
}

// SetServerPolicy changes the server's policy: keys live from one day to
// a year, and are flagged up to 90 days before they expire.
func (s *Policies) SetServerPolicy(ctx context.Context, p *gatehouse.Principal, u gatehouse.PolicyUpdate) (gatehouse.KeyPolicy, error) {
	if err := requireAdmin(p); err != nil {
		return gatehouse.KeyPolicy{}, err
	}
	cur, err := s.policies.server(ctx)
	if err != nil {
		return cur, err
	}
	next, err := u.Apply(cur, false)
	if err != nil {
		return cur, err
	}
	return next, s.setPolicy(ctx, p, 0, "server", next)
}

// OrgPolicy returns an organization's policy to its members.
func (s *Policies) OrgPolicy(ctx context.Context, p *gatehouse.Principal, org string) (gatehouse.KeyPolicy, error) {
	o, _, err := (&Orgs{s.core}).Org(ctx, p, org)
	if err != nil {
		return gatehouse.KeyPolicy{}, err
	}
	return s.policies.get(ctx, o.ID)
}

// SetOrgPolicy changes an organization's policy; its owners and admins
// may. A lifetime of 0 leaves the server's rule alone in charge.
func (s *Policies) SetOrgPolicy(ctx context.Context, p *gatehouse.Principal, org string, u gatehouse.PolicyUpdate) (gatehouse.KeyPolicy, error) {
	o, err := s.orgAdmin(ctx, p, org)
	if err != nil {
		return gatehouse.KeyPolicy{}, err
	}
	cur, err := s.policies.get(ctx, o.ID)
	if err != nil {
		return cur, err
	}
	next, err := u.Apply(cur, true)
	if err != nil {
		return cur, err
	}
	return next, s.setPolicy(ctx, p, o.ID, "org:"+o.Name, next)
}

func (s *Policies) setPolicy(ctx context.Context, p *gatehouse.Principal, org int64, target string, pol gatehouse.KeyPolicy) error {
	err := s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.SetKeyPolicy(ctx, org, pol, s.now()); err != nil {
			return err
		}
		e := s.event(p, gatehouse.AuditPolicyUpdate, target)
		e.Detail = policyDetail(pol)
		return s.audit(ctx, tx, e)
	})
	if err == nil {
		s.policies.forget(org)
	}
	return err
}

func policyDetail(p gatehouse.KeyPolicy) string {
	return "max_key_lifetime_days=" + strconv.Itoa(p.MaxKeyLifetimeDays) + " expiry_warning_days=" + strconv.Itoa(p.ExpiryWarningDays)
}

// orgAdmin returns the organization if p may administer it: a person who
// is an owner or admin of it, or a server administrator.
func (c *core) orgAdmin(ctx context.Context, p *gatehouse.Principal, org string) (*gatehouse.Org, error) {
	if !p.IsPerson() {
		return nil, errNotAPerson
	}
	o, me, err := (&Orgs{c}).Org(ctx, p, org)
	if err != nil {
		return nil, err
	}
	if !me.Role.CanManageMembers() {
		return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners and admins of %q can do this.", o.Name)
	}
	return o, nil
}

// errNotAPerson refuses an organization service key what only people do.
var errNotAPerson = gatehouse.Errorf(gatehouse.EFORBIDDEN,
	"Organization keys act for their organization on its channels; they cannot manage keys, channels, organizations or settings. Use a personal key or sign in.")

// lifetimeRules are the policies that bound a new key: the server's, and
// the stricter ones of the organizations whose channels it can reach. An
// organization key reaches its own organization's; a personal key limited
// to channels reaches their owners'; an unlimited personal key reaches
// those of every organization its owner belongs to.
func (c *core) lifetimeRules(ctx context.Context, owner *gatehouse.User, org *gatehouse.Org, channels []string) ([]gatehouse.LifetimeRule, error) {
	srv, err := c.policies.server(ctx)
	if err != nil {
		return nil, err
	}
	rules := []gatehouse.LifetimeRule{{Source: "the server", Max: gatehouse.Days(srv.MaxKeyLifetimeDays)}}
	add := func(id int64, name string) error {
		pol, err := c.policies.get(ctx, id)
		if err != nil {
			return err
		}
		if pol.MaxKeyLifetimeDays > 0 {
			rules = append(rules, gatehouse.LifetimeRule{Source: gatehouse.PolicySource(name), Max: gatehouse.Days(pol.MaxKeyLifetimeDays)})
		}
		return nil
	}
	switch {
	case org != nil:
		return rules, add(org.ID, org.Name)
	case len(channels) > 0:
		seen := map[int64]bool{}
		for _, name := range channels {
			ch, err := c.channels.channel(ctx, name)
			if err != nil {
				return nil, err
			}
			if ch == nil || ch.OwnerOrgID == 0 || seen[ch.OwnerOrgID] {
				continue
			}
			seen[ch.OwnerOrgID] = true
			if err := add(ch.OwnerOrgID, ch.Owner); err != nil {
				return nil, err
			}
		}
	default:
		ms, err := c.store.UserOrgs(ctx, owner.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if err := add(m.OrgID, m.OrgName); err != nil {
				return nil, err
			}
		}
	}
	return rules, nil
}

// warning is how early the key p used is flagged: its organization's
// window for an organization key (if set), else the server's. It reads
// the cache; on a miss it asks the store with a short deadline.
func (c *core) warning(p *gatehouse.Principal) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv, _ := c.policies.server(ctx)
	days := srv.ExpiryWarningDays
	if p != nil && p.Org != nil {
		if pol, err := c.policies.get(ctx, p.Org.ID); err == nil && pol.ExpiryWarningDays > 0 {
			days = pol.ExpiryWarningDays
		}
	}
	return gatehouse.Days(days)
}
