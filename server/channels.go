package server

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

type newChannelRequest struct {
	Name       string `json:"name"`
	Visibility string `json:"visibility"`
	Owner      string `json:"owner"`
}

// createChannel makes a channel owned by p's user, or by an organization
// p administers (or anyone's, for an administrator).
func (s *Server) createChannel(ctx context.Context, p *gatehouse.Principal, req newChannelRequest, ip netip.Addr) (*gatehouse.Channel, error) {
	req.Name = strings.TrimSpace(req.Name)
	if err := gatehouse.ValidateChannelName(req.Name); err != nil {
		return nil, err
	}
	if req.Visibility == "" {
		req.Visibility = string(gatehouse.Public)
	}
	vis, err := gatehouse.ParseVisibility(req.Visibility)
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
	if err := s.store.CreateChannel(ctx, ch); err != nil {
		return nil, err
	}
	s.chans.forget(ch.Name, ch.ID)
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditChannelCreate,
		Target: "channel:" + ch.Name, IP: ip.String(), Success: true, Detail: "owner=" + ch.Owner + " visibility=" + string(ch.Visibility)})
	return ch, nil
}

// channelFor returns the channel if p holds at least role on it. Those who
// cannot read it get "not found", so private names do not leak.
func (s *Server) channelFor(ctx context.Context, p *gatehouse.Principal, name string, need gatehouse.ChannelRole) (*gatehouse.Channel, gatehouse.ChannelRole, error) {
	ch, err := s.store.ChannelByName(ctx, name)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, 0, gatehouse.Errorf(gatehouse.ENOTFOUND, "No channel named %q that you can see.", name)
		}
		return nil, 0, err
	}
	role, err := s.store.ChannelRoleOf(ctx, ch.ID, p.User.ID)
	if err != nil {
		return nil, 0, err
	}
	if p.Scopes().Has(gatehouse.ScopeAdmin) {
		role = gatehouse.ChannelAdmin
	}
	if role < gatehouse.ChannelRead && ch.Visibility == gatehouse.Private {
		return nil, 0, gatehouse.Errorf(gatehouse.ENOTFOUND, "No channel named %q that you can see.", name)
	}
	if role < need {
		return nil, role, gatehouse.Errorf(gatehouse.EFORBIDDEN, "You need %s access to channel %q; you have %s.", need, name, role)
	}
	return ch, role, nil
}

type channelView struct {
	*gatehouse.Channel
	URL  string `json:"url"`
	Role string `json:"role"`
}

func (s *Server) viewChannel(ch *gatehouse.Channel, role gatehouse.ChannelRole) channelView {
	return channelView{Channel: ch, URL: s.absURL("/repo/" + ch.Name), Role: role.String()}
}

func (s *Server) handleCreateChannel(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req newChannelRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ch, err := s.createChannel(r.Context(), p, req, s.clientAddr(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.viewChannel(ch, gatehouse.ChannelAdmin))
	return nil
}

// visibleChannels returns the channels p can see, ordered by name, with
// p's role on each: every public channel, and the private ones p can read.
func (s *Server) visibleChannels(ctx context.Context, p *gatehouse.Principal) ([]channelView, error) {
	all, err := s.store.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	out := []channelView{}
	for _, ch := range all {
		role, err := s.store.ChannelRoleOf(ctx, ch.ID, p.User.ID)
		if err != nil {
			return nil, err
		}
		if p.Scopes().Has(gatehouse.ScopeAdmin) {
			role = gatehouse.ChannelAdmin
		}
		if role >= gatehouse.ChannelRead || ch.Visibility == gatehouse.Public {
			out = append(out, s.viewChannel(ch, role))
		}
	}
	return out, nil
}

// handleListChannels lists the channels p can read.
func (s *Server) handleListChannels(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	out, err := s.visibleChannels(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": out})
	return nil
}

func (s *Server) handleGetChannel(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ch, role, err := s.channelFor(r.Context(), p, r.PathValue("channel"), gatehouse.NoAccess)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewChannel(ch, role))
	return nil
}

// setChannelVisibility changes who may read the channel; only its
// administrators may.
func (s *Server) setChannelVisibility(ctx context.Context, p *gatehouse.Principal, name string, vis gatehouse.Visibility, ip netip.Addr) (*gatehouse.Channel, error) {
	ch, _, err := s.channelFor(ctx, p, name, gatehouse.ChannelAdmin)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetChannelVisibility(ctx, ch.ID, vis); err != nil {
		return nil, err
	}
	s.chans.forget(ch.Name, ch.ID)
	ch.Visibility = vis
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditChannelUpdate,
		Target: "channel:" + ch.Name, IP: ip.String(), Success: true, Detail: "visibility=" + string(vis)})
	return ch, nil
}

// grantChannelRole gives username the role on the channel, replacing any
// grant they had; only the channel's administrators may.
func (s *Server) grantChannelRole(ctx context.Context, p *gatehouse.Principal, name, username string, role gatehouse.ChannelRole, ip netip.Addr) (*gatehouse.Channel, *gatehouse.User, error) {
	ch, _, err := s.channelFor(ctx, p, name, gatehouse.ChannelAdmin)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil {
		return nil, nil, err
	}
	if err := s.store.PutChannelGrant(ctx, ch.ID, u.ID, role, s.now()); err != nil {
		return nil, nil, err
	}
	s.chans.forget(ch.Name, ch.ID)
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditChannelGrant,
		Target: "channel:" + ch.Name + " user:" + u.Username, IP: ip.String(), Success: true, Detail: "role=" + role.String()})
	return ch, u, nil
}

// revokeChannelGrant removes username's grant on the channel (ENOTFOUND
// if they have none); only the channel's administrators may.
func (s *Server) revokeChannelGrant(ctx context.Context, p *gatehouse.Principal, name, username string, ip netip.Addr) error {
	ch, _, err := s.channelFor(ctx, p, name, gatehouse.ChannelAdmin)
	if err != nil {
		return err
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil {
		return err
	}
	if err := s.store.DeleteChannelGrant(ctx, ch.ID, u.ID); err != nil {
		return err
	}
	s.chans.forget(ch.Name, ch.ID)
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditChannelRevoke,
		Target: "channel:" + ch.Name + " user:" + u.Username, IP: ip.String(), Success: true})
	return nil
}

func (s *Server) handleUpdateChannel(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Visibility string `json:"visibility"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	vis, err := gatehouse.ParseVisibility(req.Visibility)
	if err != nil {
		return err
	}
	ch, err := s.setChannelVisibility(r.Context(), p, r.PathValue("channel"), vis, s.clientAddr(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewChannel(ch, gatehouse.ChannelAdmin))
	return nil
}

func (s *Server) handlePutChannelMember(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	role, err := gatehouse.ParseChannelRole(req.Role)
	if err != nil {
		return err
	}
	if _, _, err := s.grantChannelRole(r.Context(), p, r.PathValue("channel"), r.PathValue("user"), role, s.clientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleDeleteChannelMember(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if err := s.revokeChannelGrant(r.Context(), p, r.PathValue("channel"), r.PathValue("user"), s.clientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleListChannelMembers(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ch, _, err := s.channelFor(r.Context(), p, r.PathValue("channel"), gatehouse.ChannelRead)
	if err != nil {
		return err
	}
	grants, err := s.store.ChannelGrants(r.Context(), ch.ID)
	if err != nil {
		return err
	}
	if grants == nil {
		grants = []*gatehouse.ChannelGrant{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"channel": ch.Name, "owner": ch.Owner, "members": grants})
	return nil
}
