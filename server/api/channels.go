package api

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

type newChannelRequest struct {
	Name       string `json:"name"`
	Visibility string `json:"visibility"`
	Owner      string `json:"owner"`
}

type channelView struct {
	*gatehouse.Channel
	URL  string `json:"url"`
	Role string `json:"role"`
}

func (a *API) viewChannel(ch *gatehouse.Channel, role gatehouse.ChannelRole) channelView {
	return channelView{Channel: ch, URL: a.absURL("/repo/" + ch.Name), Role: role.String()}
}

func (a *API) handleCreateChannel(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req newChannelRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	ch, err := a.cfg.Channels.CreateChannel(r.Context(), p, gatehouse.ChannelRequest{
		Name: req.Name, Visibility: gatehouse.Visibility(req.Visibility), Owner: req.Owner})
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
