// Package policy keeps key policies: the server's maximum key lifetime
// and expiry warning window, and organizations' stricter ones. It serves
// gatehouse.PolicyService (who may read and change them, each change
// audited in its transaction) and a cache the key rules read on every key
// creation and the API on every request (the expiry warning).
package policy

import (
	"context"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cache"
	"github.com/gatehouse-dev/gatehouse/keyrule"
)

// Service implements gatehouse.PolicyService.
type Service struct {
	store gatehouse.Store
	now   gatehouse.Clock
	cache *cache.Cache[int64, gatehouse.KeyPolicy]
}

var _ gatehouse.PolicyService = (*Service)(nil)

// New returns the service; policies are cached for ttl.
func New(store gatehouse.Store, clock gatehouse.Clock, ttl time.Duration) *Service {
	return &Service{store: store, now: clock,
		cache: cache.New[int64, gatehouse.KeyPolicy](cache.Options{MaxEntries: 10_000, TTL: ttl, Clock: clock})}
}

// Get returns the stored policy of org (0: the server), as stored: zero
// fields mean "not set".
func (s *Service) Get(ctx context.Context, org int64) (gatehouse.KeyPolicy, error) {
	if p, ok := s.cache.Get(org); ok {
		return p, nil
	}
	t := s.cache.Ticket(org)
	p, err := s.store.KeyPolicy(ctx, org)
	if err != nil {
		return p, err
	}
	s.cache.SetIfCurrent(t, p)
	return p, nil
}

// Server returns the server's policy with the defaults filled in.
func (s *Service) Server(ctx context.Context) (gatehouse.KeyPolicy, error) {
	p, err := s.Get(ctx, 0)
	def := gatehouse.DefaultServerPolicy()
	if p.MaxKeyLifetimeDays == 0 {
		p.MaxKeyLifetimeDays = def.MaxKeyLifetimeDays
	}
	if p.ExpiryWarningDays == 0 {
		p.ExpiryWarningDays = def.ExpiryWarningDays
	}
	return p, err
}

// Forget drops every cached policy (a change on another replica).
func (s *Service) Forget() { s.cache.Clear() }

// ServerPolicy returns the server's policy, for administrators.
func (s *Service) ServerPolicy(ctx context.Context, p *gatehouse.Principal) (gatehouse.KeyPolicy, error) {
	if err := p.Require(gatehouse.ScopeAdmin); err != nil {
		return gatehouse.KeyPolicy{}, err
	}
	return s.Server(ctx)
}

// SetServerPolicy changes the server's policy: keys live from one day to
// a year, and are flagged up to 90 days before they expire.
func (s *Service) SetServerPolicy(ctx context.Context, p *gatehouse.Principal, u gatehouse.PolicyUpdate) (gatehouse.KeyPolicy, error) {
	if err := p.Require(gatehouse.ScopeAdmin); err != nil {
		return gatehouse.KeyPolicy{}, err
	}
	cur, err := s.Server(ctx)
	if err != nil {
		return cur, err
	}
	next, err := keyrule.ApplyPolicyUpdate(cur, u, false)
	if err != nil {
		return cur, err
	}
	return next, s.set(ctx, p, 0, "server", next)
}

// org returns the organization and p's role in it: a server administrator
// acts as an owner; anyone else who is no member gets "not found".
func (s *Service) org(ctx context.Context, p *gatehouse.Principal, name string) (*gatehouse.Org, gatehouse.OrgRole, error) {
	notFound := gatehouse.Errorf(gatehouse.ENOTFOUND, "No organization named %q that you belong to.", name)
	if !p.IsPerson() {
		return nil, "", notFound
	}
	o, err := s.store.OrgByName(ctx, name)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, "", notFound
	} else if err != nil {
		return nil, "", err
	}
	if p.Scopes().Has(gatehouse.ScopeAdmin) {
		return o, gatehouse.OrgOwner, nil
	}
	m, err := s.store.OrgMember(ctx, o.ID, p.User.ID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, "", notFound
	} else if err != nil {
		return nil, "", err
	}
	return o, m.Role, nil
}

// OrgPolicy returns an organization's policy to its members.
func (s *Service) OrgPolicy(ctx context.Context, p *gatehouse.Principal, org string) (gatehouse.KeyPolicy, error) {
	o, _, err := s.org(ctx, p, org)
	if err != nil {
		return gatehouse.KeyPolicy{}, err
	}
	return s.Get(ctx, o.ID)
}

// SetOrgPolicy changes an organization's policy; its owners and admins
// may. A lifetime of 0 leaves the server's rule alone in charge.
func (s *Service) SetOrgPolicy(ctx context.Context, p *gatehouse.Principal, org string, u gatehouse.PolicyUpdate) (gatehouse.KeyPolicy, error) {
	o, role, err := s.org(ctx, p, org)
	if err != nil {
		return gatehouse.KeyPolicy{}, err
	}
	if !role.CanManageMembers() {
		return gatehouse.KeyPolicy{}, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners and admins of %q can change its key policy.", o.Name)
	}
	cur, err := s.Get(ctx, o.ID)
	if err != nil {
		return cur, err
	}
	next, err := keyrule.ApplyPolicyUpdate(cur, u, true)
	if err != nil {
		return cur, err
	}
	return next, s.set(ctx, p, o.ID, "org:"+o.Name, next)
}

func (s *Service) set(ctx context.Context, p *gatehouse.Principal, org int64, target string, pol gatehouse.KeyPolicy) error {
	err := s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.SetKeyPolicy(ctx, org, pol, s.now()); err != nil {
			return err
		}
		e := &gatehouse.AuditEvent{Time: s.now(), ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditPolicyUpdate,
			Target: target, Success: true, Detail: "max_key_lifetime_days=" + strconv.Itoa(pol.MaxKeyLifetimeDays) +
				" expiry_warning_days=" + strconv.Itoa(pol.ExpiryWarningDays)}
		if p.Addr.IsValid() {
			e.IP = p.Addr.String()
		}
		return tx.AppendAudit(ctx, e)
	})
	if err == nil {
		s.cache.Delete(org)
	}
	return err
}
