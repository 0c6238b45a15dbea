package service

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/keyrule"
)

// Organization service keys: keys that belong to an organization, for CI
// and shared build machines. They act as the organization on its own
// channels (at most write), survive the departure of the person who made
// them, and any owner or admin of the organization lists and revokes them.

// CreateOrgKey makes a service key of the organization, with the rules of
// CreateKey; p must be an owner or admin of it. Without a channel access
// the key may write, which CI needs to upload.
func (k *Keys) CreateOrgKey(ctx context.Context, p *gatehouse.Principal, org string, req gatehouse.KeyRequest) (*gatehouse.NewKey, error) {
	o, err := k.orgAdmin(ctx, p, org)
	if err != nil {
		return nil, err
	}
	if req.ChannelAccess == gatehouse.NoAccess {
		req.ChannelAccess = gatehouse.ChannelWrite
	}
	return k.create(ctx, p, p.Key, req, o, nil)
}

// ListOrgKeys lists the organization's keys for its owners and admins.
func (k *Keys) ListOrgKeys(ctx context.Context, p *gatehouse.Principal, org string) ([]*gatehouse.APIKey, error) {
	o, err := k.orgAdmin(ctx, p, org)
	if err != nil {
		return nil, err
	}
	keys, err := k.store.ListOrgKeys(ctx, o.ID)
	if keys == nil && err == nil {
		keys = []*gatehouse.APIKey{}
	}
	// Name who made each key: the list is short, and the creator may have
	// left (their account is kept or gone; the key stays either way).
	names := map[int64]string{}
	for _, key := range keys {
		name, ok := names[key.UserID]
		if !ok {
			if u, err := k.store.UserByID(ctx, key.UserID); err == nil {
				name = u.Username
			} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
				return nil, err
			}
			names[key.UserID] = name
		}
		key.CreatedBy = name
	}
	return keys, err
}

// RevokeOrgKey revokes one of the organization's keys; any owner or admin
// may, whoever made it.
func (k *Keys) RevokeOrgKey(ctx context.Context, p *gatehouse.Principal, org string, id int64) (*gatehouse.APIKey, error) {
	o, err := k.orgAdmin(ctx, p, org)
	if err != nil {
		return nil, err
	}
	var key *gatehouse.APIKey
	err = k.store.Atomic(ctx, func(tx gatehouse.Store) error {
		var err error
		if key, err = tx.RevokeOrgKey(ctx, o.ID, id, k.now(), gatehouse.RevokedByUser); err != nil {
			return err
		}
		return k.audit(ctx, tx, k.keyEvent(p, gatehouse.AuditOrgKeyRevoke, key, o))
	})
	if err != nil {
		return nil, err
	}
	k.keys.Forget(key.Hash)
	return key, nil
}

// Limits says how long p's next unrestricted key may live (the strictest
// of the server's policy and those of p's organizations) and how early
// expiring keys are flagged.
func (k *Keys) Limits(ctx context.Context, p *gatehouse.Principal) (*gatehouse.KeyLimits, error) {
	var rules []gatehouse.LifetimeRule
	var err error
	if p.IsPerson() {
		rules, err = k.lifetimeRules(ctx, p.User, nil, nil)
	} else {
		rules, err = k.lifetimeRules(ctx, nil, p.Org, nil)
	}
	if err != nil {
		return nil, err
	}
	max := keyrule.StrictestLifetime(rules)
	warn := k.warning(p)
	l := &gatehouse.KeyLimits{Max: max, MaxDays: int(max.Max / (24 * time.Hour)), Warning: warn, WarningDays: int(warn / (24 * time.Hour))}
	for _, r := range rules {
		if r.Max < gatehouse.MaxKeyLifetime {
			l.Rules = append(l.Rules, r)
		}
	}
	return l, nil
}

// ExpiryWarning is how early the key p used is flagged.
func (k *Keys) ExpiryWarning(p *gatehouse.Principal) time.Duration { return k.warning(p) }
