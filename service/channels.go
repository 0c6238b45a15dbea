package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// Channels implements gatehouse.ChannelService.
type Channels struct{ *core }

// CreateChannel makes a channel owned by p's user, or by an organization
// p administers (or anyone's, for an administrator).
func (s *Channels) CreateChannel(ctx context.Context, p *gatehouse.Principal, req gatehouse.ChannelRequest) (*gatehouse.Channel, error) {
	if !p.IsPerson() {
		return nil, errNotAPerson
	}
	req.Name = strings.TrimSpace(req.Name)
	if err := gatehouse.ValidateChannelName(req.Name); err != nil {
		return nil, err
	}
	if req.Visibility == "" {
		req.Visibility = gatehouse.Public
	}
	vis, err := gatehouse.ParseVisibility(string(req.Visibility))
	if err != nil {
		return nil, err
	}
	ch := &gatehouse.Channel{Name: req.Name, Visibility: vis, CreatedAt: s.now()}
	switch owner := strings.TrimSpace(req.Owner); {
	case owner == "" || owner == p.User.Username:
		ch.OwnerUserID, ch.Owner = p.User.ID, p.User.Username
	default:
		if o, err := s.store.OrgByName(ctx, owner); err == nil {
			m, err := s.store.OrgMember(ctx, o.ID, p.User.ID)
			if (err != nil || !m.Role.CanManageMembers()) && !p.Scopes().Has(gatehouse.ScopeAdmin) {
				return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners and admins of %q can create its channels.", owner)
			}
			ch.OwnerOrgID, ch.Owner = o.ID, o.Name
		} else if u, err := s.store.UserByName(ctx, owner); err == nil && p.Scopes().Has(gatehouse.ScopeAdmin) {
			ch.OwnerUserID, ch.Owner = u.ID, u.Username
		} else {
			return nil, gatehouse.FieldErrorf("owner", "No organization %q that you administer.", owner)
		}
	}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.CreateChannel(ctx, ch); err != nil {
			return err
		}
		e := s.event(p, gatehouse.AuditChannelCreate, "channel:"+ch.Name)
		e.Detail = "owner=" + ch.Owner + " visibility=" + string(ch.Visibility)
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	s.channels.forgetName(ch.Name)
	return ch, nil
}

// roleOf is p's effective role on ch: administrators administer every
// channel; an organization key writes to its organization's channels;
// and the key p used cuts the role down to what it allows there.
func (s *Channels) roleOf(ctx context.Context, p *gatehouse.Principal, ch *gatehouse.Channel) (gatehouse.ChannelRole, error) {
	var role gatehouse.ChannelRole
	switch {
	case p.Org != nil:
		role = orgKeyRole(p, ch)
	case p.Scopes().Has(gatehouse.ScopeAdmin):
		role = gatehouse.ChannelAdmin
	default:
		var err error
		if role, err = s.store.ChannelRoleOf(ctx, ch.ID, p.User.ID); err != nil {
			return gatehouse.NoAccess, err
		}
	}
	return p.CapChannelRole(ch.Name, role), nil
}

// orgKeyRole is what an organization key holds on ch before its own
// restrictions: write on its organization's channels, nothing elsewhere.
func orgKeyRole(p *gatehouse.Principal, ch *gatehouse.Channel) gatehouse.ChannelRole {
	if ch.OwnerOrgID == p.Org.ID {
		return gatehouse.ChannelWrite
	}
	return gatehouse.NoAccess
}

// Channel returns the channel if p holds at least need on it. Those who
// cannot read it get "not found", so private names do not leak.
func (s *Channels) Channel(ctx context.Context, p *gatehouse.Principal, name string, need gatehouse.ChannelRole) (*gatehouse.Channel, gatehouse.ChannelRole, error) {
	ch, err := s.store.ChannelByName(ctx, name)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, 0, gatehouse.Errorf(gatehouse.ENOTFOUND, "No channel named %q that you can see.", name)
		}
		return nil, 0, err
	}
	role, err := s.roleOf(ctx, p, ch)
	if err != nil {
		return nil, 0, err
	}
	if role < gatehouse.ChannelRead && ch.Visibility == gatehouse.Private {
		return nil, 0, gatehouse.Errorf(gatehouse.ENOTFOUND, "No channel named %q that you can see.", name)
	}
	if role < need {
		return nil, role, gatehouse.Errorf(gatehouse.EFORBIDDEN, "You need %s access to channel %q; you have %s.", need, name, role)
	}
	return ch, role, nil
}

// Channels returns the channels p can see, ordered by name, with p's role
// on each: every public channel, and the private ones p can read.
func (s *Channels) Channels(ctx context.Context, p *gatehouse.Principal) ([]gatehouse.ChannelAccess, error) {
	all, err := s.store.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	out := []gatehouse.ChannelAccess{}
	for _, ch := range all {
		if p.Key != nil && !p.Key.AllowsChannel(ch.Name) {
			continue
		}
		role, err := s.roleOf(ctx, p, ch)
		if err != nil {
			return nil, err
		}
		if role >= gatehouse.ChannelRead || ch.Visibility == gatehouse.Public {
			out = append(out, gatehouse.ChannelAccess{Channel: ch, Role: role})
		}
	}
	return out, nil
}

// SetVisibility changes who may read the channel; only its administrators
// may.
func (s *Channels) SetVisibility(ctx context.Context, p *gatehouse.Principal, name string, vis gatehouse.Visibility) (*gatehouse.Channel, error) {
	ch, _, err := s.Channel(ctx, p, name, gatehouse.ChannelAdmin)
	if err != nil {
		return nil, err
	}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.SetChannelVisibility(ctx, ch.ID, vis); err != nil {
			return err
		}
		e := s.event(p, gatehouse.AuditChannelUpdate, "channel:"+ch.Name)
		e.Detail = "visibility=" + string(vis)
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	s.channels.forget(ch.ID)
	ch.Visibility = vis
	return ch, nil
}

// Grant gives username the role on the channel, replacing any grant they
// had; only the channel's administrators may.
func (s *Channels) Grant(ctx context.Context, p *gatehouse.Principal, name, username string, role gatehouse.ChannelRole) error {
	ch, _, err := s.Channel(ctx, p, name, gatehouse.ChannelAdmin)
	if err != nil {
		return err
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil {
		return err
	}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.PutChannelGrant(ctx, ch.ID, u.ID, role, s.now()); err != nil {
			return err
		}
		e := s.event(p, gatehouse.AuditChannelGrant, "channel:"+ch.Name+" user:"+u.Username)
		e.Detail = "role=" + role.String()
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	s.channels.forget(ch.ID)
	return nil
}

// RevokeGrant removes username's grant on the channel (ENOTFOUND if they
// have none); only the channel's administrators may.
func (s *Channels) RevokeGrant(ctx context.Context, p *gatehouse.Principal, name, username string) error {
	ch, _, err := s.Channel(ctx, p, name, gatehouse.ChannelAdmin)
	if err != nil {
		return err
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil {
		return err
	}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.DeleteChannelGrant(ctx, ch.ID, u.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, s.event(p, gatehouse.AuditChannelRevoke, "channel:"+ch.Name+" user:"+u.Username))
	})
	if err != nil {
		return err
	}
	s.channels.forget(ch.ID)
	return nil
}

// Grants lists the channel's explicit grants, for its readers.
func (s *Channels) Grants(ctx context.Context, p *gatehouse.Principal, name string) (*gatehouse.Channel, []*gatehouse.ChannelGrant, error) {
	ch, _, err := s.Channel(ctx, p, name, gatehouse.ChannelRead)
	if err != nil {
		return nil, nil, err
	}
	grants, err := s.store.ChannelGrants(ctx, ch.ID)
	if err != nil {
		return nil, nil, err
	}
	if grants == nil {
		grants = []*gatehouse.ChannelGrant{}
	}
	return ch, grants, nil
}

// Readable returns the channel if p (nil: anonymous) may read it, from the
// cache. A missing channel and a private one look the same to those who
// cannot read it, so names of private channels do not leak.
func (s *Channels) Readable(ctx context.Context, p *gatehouse.Principal, name string) (*gatehouse.Channel, error) {
	// A key limited to other channels is refused here whatever this
	// channel is, and the refusal does not say whether it exists.
	if p != nil && p.Key != nil && !p.Key.AllowsChannel(name) {
		return nil, p.Key.ChannelRefusal(name, s.absURL("/settings/keys"))
	}
	ch, err := s.channels.channel(ctx, name)
	if err != nil {
		return nil, err
	}
	if ch != nil && ch.Visibility == gatehouse.Public {
		return ch, nil
	}
	if p == nil {
		return nil, gatehouse.Refusal("ACCESS DENIED", "Channel %q does not exist, or it is private and needs an API key with the Platform channels scope. Add your key to the channel URL (%s) or run: gatehouse login --at %s",
			name, s.absURL("/repo/t/<key>/"+name), s.cfg.PublicURL.Host)
	}
	if ch != nil {
		var role gatehouse.ChannelRole
		if p.Org != nil {
			role = orgKeyRole(p, ch)
		} else if role, err = s.channels.role(ctx, ch, p.User.ID); err != nil {
			return nil, err
		}
		if p.CapChannelRole(name, role) >= gatehouse.ChannelRead {
			return ch, nil
		}
	}
	return nil, gatehouse.Refusal("ACCESS DENIED", "Channel %q does not exist, or %s has no access to it. Ask an administrator of the channel to grant you read access.", name, p.User.Username)
}

// EnsureToolsChannel makes sure the registration-exempt tools channel
// exists, public, owned by the first administrator.
func (s *Channels) EnsureToolsChannel(ctx context.Context, name string) error {
	if _, err := s.store.ChannelByName(ctx, name); err == nil {
		return nil
	} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return fmt.Errorf("looking up the tools channel: %w", err)
	}
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if !u.IsAdmin {
			continue
		}
		ch := &gatehouse.Channel{Name: name, Visibility: gatehouse.Public, OwnerUserID: u.ID, Owner: u.Username, CreatedAt: s.now()}
		err := s.store.Atomic(ctx, func(tx gatehouse.Store) error {
			if err := tx.CreateChannel(ctx, ch); err != nil {
				return err
			}
			e := s.event(&gatehouse.Principal{Method: gatehouse.AuthSystem}, gatehouse.AuditChannelCreate, "channel:"+name)
			e.Detail = "owner=" + u.Username + " visibility=public tools channel"
			return s.audit(ctx, tx, e)
		})
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			return fmt.Errorf("creating the tools channel: %w", err)
		}
		if err == nil {
			s.log.Info("created the tools channel", "channel", name, "owner", u.Username)
		}
		return nil
	}
	return nil
}
