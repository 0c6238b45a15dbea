package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condaname"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// Channels implements gatehouse.ChannelService.
type Channels struct{ *core }

// errNoChannel answers for a missing channel and a private one alike, and
// never echoes the name asked for: it comes from a URL, where a key may
// sit by mistake (checklist J2, J6).
var errNoChannel = gatehouse.Errorf(gatehouse.ENOTFOUND, "There is no channel by that name that you can see.")

// CreateChannel makes a channel owned by p's user, or by an organization
// p administers (or anyone's, for an administrator).
func (s *Channels) CreateChannel(ctx context.Context, p *gatehouse.Principal, req gatehouse.ChannelRequest) (*gatehouse.Channel, error) {
	if !p.IsPerson() {
		return nil, errNotAPerson
	}
	req.Name = strings.TrimSpace(req.Name)
	if err := condaname.ValidateChannel(req.Name); err != nil {
		return nil, err
	}
	// Well-known names are reserved: with channel_alias pointing here,
	// "-c conda-forge" must not install from whoever took the name
	// (checklist G6). Administrators may create them (an upstream mirror).
	unavailable := gatehouse.Errorf(gatehouse.ECONFLICT, "The channel name %q is not available. Choose another name.", req.Name)
	if s.reserved[condaname.CanonicalChannel(req.Name)] && !p.Scopes().Has(gatehouse.ScopeAdmin) {
		return nil, unavailable
	}
	if req.Visibility == "" {
		// The safe default, the same everywhere (API, CLI, web form).
		req.Visibility = gatehouse.Private
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
	if req.Upstream != nil {
		// A proxy or mirror makes the server fetch URLs on the creator's
		// behalf: only administrators define them, as Artifactory and
		// Nexus let only administrators define remote repositories
		// (server-side request forgery; the egress guard refuses
		// internal addresses as well).
		if !p.Scopes().Has(gatehouse.ScopeAdmin) {
			return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only administrators can create proxy and mirror channels. Ask an administrator to create it; you can then be given a role on it.")
		}
		if err := upstream.ValidateRequest(req.Upstream); err != nil {
			return nil, err
		}
	}
	var up *gatehouse.Upstream
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := s.channelQuota(ctx, tx, p, ch); err != nil {
			return err
		}
		if err := tx.CreateChannel(ctx, ch); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
				// Taken, privately or not, or a look-alike: one answer
				// for every reason, so it reveals no private name
				// (checklist J6).
				return unavailable
			}
			return err
		}
		e := s.event(p, gatehouse.AuditChannelCreate, "channel:"+ch.Name)
		e.Detail = "owner=" + ch.Owner + " visibility=" + string(ch.Visibility)
		if req.Upstream != nil {
			var err error
			if up, err = s.upstreams.Configure(ctx, tx, ch.ID, *req.Upstream); err != nil {
				return err
			}
			// The URL is the operator's; the token never reaches the log.
			e.Detail += " upstream=" + up.URL + " mode=" + string(up.Mode)
		}
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	if up != nil {
		s.upstreams.Activate(up)
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
			return nil, 0, errNoChannel
		}
		return nil, 0, err
	}
	role, err := s.roleOf(ctx, p, ch)
	if err != nil {
		return nil, 0, err
	}
	if role < gatehouse.ChannelRead && ch.Visibility == gatehouse.Private {
		return nil, 0, errNoChannel
	}
	if role < need {
		return nil, role, gatehouse.Errorf(gatehouse.EFORBIDDEN, "You need %s access to channel %q; you have %s.", need, name, role)
	}
	return ch, role, nil
}

// Channels returns the channels p can see, ordered by name, with p's role
// on each and the subdirs holding packages: every public channel, and the
// private ones p can read. Three queries, whatever the number of channels.
func (s *Channels) Channels(ctx context.Context, p *gatehouse.Principal) ([]gatehouse.ChannelAccess, error) {
	all, err := s.store.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	roles, err := s.store.ChannelRoles(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	subdirs, err := s.store.AllChannelSubdirs(ctx)
	if err != nil {
		return nil, err
	}
	admin := p.Scopes().Has(gatehouse.ScopeAdmin)
	out := []gatehouse.ChannelAccess{}
	for _, ch := range all {
		if p.Key != nil && !p.Key.AllowsChannel(ch.Name) {
			continue
		}
		var role gatehouse.ChannelRole
		switch {
		case p.Org != nil:
			role = orgKeyRole(p, ch)
		case admin:
			role = gatehouse.ChannelAdmin
		default:
			role = roles[ch.ID]
		}
		if role = p.CapChannelRole(ch.Name, role); role >= gatehouse.ChannelRead || ch.Visibility == gatehouse.Public {
			out = append(out, gatehouse.ChannelAccess{Channel: ch, Role: role, Subdirs: subdirs[ch.ID]})
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
// have none): the channel's administrators may, and anyone may drop their
// own.
func (s *Channels) RevokeGrant(ctx context.Context, p *gatehouse.Principal, name, username string) error {
	// Anyone may give up their own grant; removing others' takes admin.
	need := gatehouse.ChannelAdmin
	if p.IsPerson() && username == p.User.Username {
		need = gatehouse.ChannelRead
	}
	ch, _, err := s.Channel(ctx, p, name, need)
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
		return nil, gatehouse.Refusal("ACCESS DENIED", "This channel does not exist, or it is private and needs an API key with the Platform channels scope. Add your key to the channel URL (%s) or run: gatehouse login --at %s",
			s.absURL("/repo/t/")+"<key>/<channel>", s.cfg.PublicURL.Host)
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
	return nil, gatehouse.Refusal("ACCESS DENIED", "This channel does not exist, or %s has no access to it. Ask an administrator of the channel to grant you read access.", p.User.Username)
}

// EnsureToolsChannel makes sure the registration-exempt tools channel
// exists, public, owned by the first administrator.
func (s *Channels) EnsureToolsChannel(ctx context.Context, name string) error {
	if ch, err := s.store.ChannelByName(ctx, name); err == nil {
		// The tools channel is exempt from the gate and serves the CLI
		// every client installs: only the server's administrators may
		// own it, never a user who took the name first (checklist C9).
		if ch.OwnerUserID != 0 {
			if u, err := s.store.UserByID(ctx, ch.OwnerUserID); err != nil {
				return fmt.Errorf("looking up the owner of the tools channel: %w", err)
			} else if u.IsAdmin && !u.Disabled {
				return nil
			}
		}
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "The tools channel %q is owned by %s, who is not an administrator of this server: it is exempt from the registration gate and serves the CLI to everyone, so only an administrator may own it. Choose another --tools-channel, or have an administrator take the channel over.", name, ch.Owner)
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

// Upstream returns the channel's upstream, nil for a hosted channel.
func (s *Channels) Upstream(ch *gatehouse.Channel) *gatehouse.Upstream {
	u, ok := s.upstreams.Upstream(ch.ID)
	if !ok {
		return nil
	}
	return u
}

// Sync starts the channel's sync now; its administrators may.
func (s *Channels) Sync(ctx context.Context, p *gatehouse.Principal, name string) (*gatehouse.Channel, *gatehouse.Upstream, error) {
	ch, _, err := s.Channel(ctx, p, name, gatehouse.ChannelAdmin)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.upstreams.Sync(ch.ID); err != nil {
		return nil, nil, err
	}
	s.record(ctx, s.event(p, gatehouse.AuditChannelSync, "channel:"+ch.Name))
	return ch, s.Upstream(ch), nil
}

// quotaExempt reports whether quotas spare this action: an administrator
// acting, or a channel of an administrator's.
func (c *core) quotaExempt(ctx context.Context, p *gatehouse.Principal, ch *gatehouse.Channel) (bool, error) {
	if p.Method == gatehouse.AuthSystem || p.Scopes().Has(gatehouse.ScopeAdmin) {
		return true, nil
	}
	if ch.OwnerUserID == 0 {
		return false, nil
	}
	if ch.OwnerUserID == p.User.ID {
		return p.User.IsAdmin, nil
	}
	owner, err := c.store.UserByID(ctx, ch.OwnerUserID)
	if err != nil {
		return false, err
	}
	return owner.IsAdmin, nil
}

// channelQuota refuses an ordinary owner's channel past the most the
// server allows (checklist I4).
func (s *Channels) channelQuota(ctx context.Context, tx gatehouse.Store, p *gatehouse.Principal, ch *gatehouse.Channel) error {
	limit := s.cfg.Quotas.ChannelsPerOwner
	if limit < 0 {
		return nil
	}
	if exempt, err := s.quotaExempt(ctx, p, ch); err != nil || exempt {
		return err
	}
	n, err := tx.CountChannels(ctx, ch.OwnerUserID, ch.OwnerOrgID)
	if err != nil || n < limit {
		return err
	}
	return gatehouse.Errorf(gatehouse.EQUOTA, "%s owns %d channels, the most this server allows. Delete a channel it no longer needs, or ask an administrator.", ch.Owner, n)
}
