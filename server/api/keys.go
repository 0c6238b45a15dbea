package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/keyrule"
	"github.com/gatehouse-dev/gatehouse/server/reply"
)

// KeyView is a key's metadata as the API shows it: never the key itself
// (checklist A3), and explicit nulls for times that have not happened.
type KeyView struct {
	ID           int64            `json:"id"`
	Name         string           `json:"name"`
	Hint         string           `json:"hint"`
	Scopes       gatehouse.Scopes `json:"scopes"`
	Status       string           `json:"status"`
	CreatedAt    time.Time        `json:"created_at"`
	ExpiresAt    time.Time        `json:"expires_at"`
	LastUsedAt   *time.Time       `json:"last_used_at"`
	RevokedAt    *time.Time       `json:"revoked_at"`
	RevokeReason string           `json:"revoke_reason,omitempty"`
	// Channels and ChannelAccess are the key's restrictions: null and ""
	// when it may reach every channel its owner can, as its owner can.
	Channels      []string `json:"channels"`
	ChannelAccess string   `json:"channel_access"`
	// Org names the organization of a service key.
	Org string `json:"org,omitempty"`
	// ExpiringSoon flags an active key within the expiry warning window.
	ExpiringSoon bool   `json:"expiring_soon"`
	CreatedVia   string `json:"created_via,omitempty"`
	// CreatedBy names who made an organization service key.
	CreatedBy string `json:"created_by,omitempty"`
}

// ViewKey returns k's metadata, its status as of now.
func ViewKey(k *gatehouse.APIKey, now time.Time) KeyView {
	v := KeyView{ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: k.Scopes, Status: string(k.Status(now)),
		CreatedAt: k.CreatedAt.UTC(), ExpiresAt: k.ExpiresAt.UTC(), RevokeReason: k.RevokeReason,
		Channels: k.Channels, CreatedVia: k.CreatedVia, CreatedBy: k.CreatedBy}
	if k.ChannelAccess != gatehouse.NoAccess {
		v.ChannelAccess = k.ChannelAccess.String()
	}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt.UTC()
		v.LastUsedAt = &t
	}
	if !k.RevokedAt.IsZero() {
		t := k.RevokedAt.UTC()
		v.RevokedAt = &t
	}
	return v
}

// newKeyRequest is what a caller asks for. ExpiresAt must be RFC 3339 in
// UTC ("2027-01-31T00:00:00Z"); anything else is refused (checklist A2).
type newKeyRequest struct {
	Name          string           `json:"name"`
	Scopes        gatehouse.Scopes `json:"scopes"`
	ExpiresAt     UTCTime          `json:"expires_at"`
	Channels      []string         `json:"channels"`
	ChannelAccess string           `json:"channel_access"`
}

// keyRequest checks the restrictions and returns the service's request.
func (r newKeyRequest) keyRequest() (gatehouse.KeyRequest, error) {
	access, err := keyrule.ParseChannelAccess(r.ChannelAccess)
	if err != nil {
		return gatehouse.KeyRequest{}, err
	}
	return gatehouse.KeyRequest{Name: r.Name, Scopes: r.Scopes, ExpiresAt: r.ExpiresAt.Time, Channels: r.Channels, ChannelAccess: access}, nil
}

// createdKey is the only answer that ever holds a key.
type createdKey struct {
	Key string `json:"key"`
	KeyView
	Replaced *KeyView `json:"replaced,omitempty"`
}

func (a *API) handleCreateKey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req newKeyRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	kr, err := req.keyRequest()
	if err != nil {
		return err
	}
	nk, err := a.cfg.Keys.CreateKey(r.Context(), p, kr)
	if err != nil {
		return err
	}
	a.replyCreated(w, nk)
	return nil
}

// replyCreated answers a key creation: the one answer that holds the key.
func (a *API) replyCreated(w http.ResponseWriter, nk *gatehouse.NewKey) {
	now := a.now()
	out := createdKey{Key: nk.Secret, KeyView: ViewKey(nk.Key, now)}
	if nk.Replaced != nil {
		v := ViewKey(nk.Replaced, now)
		out.Replaced = &v
	}
	w.Header().Set("Cache-Control", "no-store") // checklist A1
	reply.JSON(w, http.StatusCreated, out)
}

func (a *API) handleListKeys(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	keys, err := a.cfg.Keys.ListKeys(r.Context(), p)
	if err != nil {
		return err
	}
	return a.replyKeys(w, r, p, keys, "")
}

// replyKeys lists keys, flagging those that expire within the warning
// window, with the limits that apply to new ones.
func (a *API) replyKeys(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal, keys []*gatehouse.APIKey, org string) error {
	limits, err := a.cfg.Keys.Limits(r.Context(), p)
	if err != nil {
		return err
	}
	now := a.now()
	views := make([]KeyView, len(keys))
	for i, k := range keys {
		views[i] = ViewKey(k, now)
		views[i].Org = org
		views[i].ExpiringSoon = gatehouse.ExpiringSoon(k, now, limits.Warning)
	}
	w.Header().Set("Cache-Control", "no-store")
	reply.JSON(w, http.StatusOK, map[string]any{"keys": views, "expiry_warning_days": limits.WarningDays,
		"max_key_lifetime_days": limits.MaxDays})
	return nil
}

func (a *API) handleRevokeKey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such key.")
	}
	if _, err := a.cfg.Keys.RevokeKey(r.Context(), p, id, gatehouse.RevokedByUser); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
