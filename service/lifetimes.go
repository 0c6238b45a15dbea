package service

// Key lifetime rules and expiry warnings, over the policies of
// service/policy.

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

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
	srv, err := c.policies.Server(ctx)
	if err != nil {
		return nil, err
	}
	rules := []gatehouse.LifetimeRule{{Source: gatehouse.ServerPolicySource, Max: gatehouse.Days(srv.MaxKeyLifetimeDays)}}
	add := func(id int64, name string) error {
		pol, err := c.policies.Get(ctx, id)
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
	srv, _ := c.policies.Server(ctx)
	days := srv.ExpiryWarningDays
	if p != nil && p.Org != nil {
		if pol, err := c.policies.Get(ctx, p.Org.ID); err == nil && pol.ExpiryWarningDays > 0 {
			days = pol.ExpiryWarningDays
		}
	}
	return gatehouse.Days(days)
}
