package api

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

type newChannelRequest struct {
	Name       string           `json:"name"`
	Visibility string           `json:"visibility"`
	Owner      string           `json:"owner"`
	Upstream   *upstreamRequest `json:"upstream"`
}

// upstreamRequest is the "upstream" of a new proxy or mirror channel; the
// token is write-only: no answer ever holds it.
type upstreamRequest struct {
	URL     string            `json:"url"`
	Mode    string            `json:"mode"`
	Filters gatehouse.Filters `json:"filters"`
	Token   string            `json:"token"`
}

type channelView struct {
	*gatehouse.Channel
	URL      string              `json:"url"`
	Role     string              `json:"role"`
	Kind     string              `json:"kind"` // "hosted", "proxy" or "mirror"
	Upstream *gatehouse.Upstream `json:"upstream,omitempty"`
}

func (a *API) viewChannel(ch *gatehouse.Channel, role gatehouse.ChannelRole) channelView {
	v := channelView{Channel: ch, URL: a.absURL("/repo/" + ch.Name), Role: role.String(), Kind: "hosted"}
	if u := a.cfg.Channels.Upstream(ch); u != nil {
		v.Upstream, v.Kind = u, string(u.Mode)
	}
	return v
}

// handleSyncChannel starts a mirror's sync (or a proxy's refresh): 202
// with the channel, whose upstream status shows the progress.
func (a *API) handleSyncChannel(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ch, _, err := a.cfg.Channels.Sync(r.Context(), p, r.PathValue("channel"))
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusAccepted, a.viewChannel(ch, gatehouse.ChannelAdmin))
	return nil
}

func (a *API) handleCreateChannel(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req newChannelRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	creq := gatehouse.ChannelRequest{Name: req.Name, Visibility: gatehouse.Visibility(req.Visibility), Owner: req.Owner}
	if u := req.Upstream; u != nil {
		creq.Upstream = &gatehouse.UpstreamRequest{URL: u.URL, Mode: u.Mode, Filters: u.Filters, Token: u.Token}
	}
	ch, err := a.cfg.Channels.CreateChannel(r.Context(), p, creq)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusCreated, a.viewChannel(ch, gatehouse.ChannelAdmin))
	return nil
}

// handleListChannels lists the channels p can read.
func (a *API) handleListChannels(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	list, err := a.cfg.Channels.Channels(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]channelView, len(list))
	for i, c := range list {
		out[i] = a.viewChannel(c.Channel, c.Role)
	}
	reply.JSON(w, http.StatusOK, map[string]any{"channels": out})
	return nil
}

func (a *API) handleGetChannel(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ch, role, err := a.cfg.Channels.Channel(r.Context(), p, r.PathValue("channel"), gatehouse.NoAccess)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, a.viewChannel(ch, role))
	return nil
}

func (a *API) handleUpdateChannel(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Visibility string `json:"visibility"`
	}
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	vis, err := gatehouse.ParseVisibility(req.Visibility)
	if err != nil {
		return err
	}
	ch, err := a.cfg.Channels.SetVisibility(r.Context(), p, r.PathValue("channel"), vis)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, a.viewChannel(ch, gatehouse.ChannelAdmin))
	return nil
}

func (a *API) handlePutChannelMember(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req struct {
		Role string `json:"role"`
	}
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	role, err := gatehouse.ParseChannelRole(req.Role)
	if err != nil {
		return err
	}
	if err := a.cfg.Channels.Grant(r.Context(), p, r.PathValue("channel"), r.PathValue("user"), role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleDeleteChannelMember(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if err := a.cfg.Channels.RevokeGrant(r.Context(), p, r.PathValue("channel"), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) handleListChannelMembers(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ch, grants, err := a.cfg.Channels.Grants(r.Context(), p, r.PathValue("channel"))
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusOK, map[string]any{"channel": ch.Name, "owner": ch.Owner, "members": grants})
	return nil
}
