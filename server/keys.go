package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
)

// keyView is a key's metadata as the API shows it: never the key itself
// (checklist A3), and explicit nulls for times that have not happened.
type keyView struct {
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
}

func viewKey(k *gatehouse.APIKey, now time.Time) keyView {
	v := keyView{ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: k.Scopes, Status: string(k.Status(now)),
		CreatedAt: k.CreatedAt.UTC(), ExpiresAt: k.ExpiresAt.UTC(), RevokeReason: k.RevokeReason}
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
	Name      string           `json:"name"`
	Scopes    gatehouse.Scopes `json:"scopes"`
	ExpiresAt utcTime          `json:"expires_at"`
}

// utcTime decodes only RFC 3339 timestamps in UTC ("Z").
type utcTime struct{ time.Time }

func (t *utcTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return gatehouse.FieldErrorf("expires_at", "expires_at must be a string such as \"2027-01-31T00:00:00Z\".")
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		return gatehouse.FieldErrorf("expires_at", "expires_at must be an RFC 3339 time in UTC, such as \"2027-01-31T00:00:00Z\".")
	}
	t.Time = v.UTC()
	return nil
}

// createdKey is the only answer that ever holds a key.
type createdKey struct {
	Key string `json:"key"`
	keyView
	Replaced *keyView `json:"replaced,omitempty"`
}

// createKey mints a key for p's user. The rules: a name, at least one
// scope the owner holds, an expiry within a year, and never more than the
// key p authenticated with (checklist A5). A key with the name of an
// unrevoked one replaces it, revoking the old one at once.
func (s *Server) createKey(ctx context.Context, p *gatehouse.Principal, req newKeyRequest, ip netip.Addr) (string, *gatehouse.APIKey, *gatehouse.APIKey, error) {
	now := s.now()
	req.Name = strings.TrimSpace(req.Name)
	if err := gatehouse.ValidateKeyName(req.Name); err != nil {
		return "", nil, nil, err
	}
	if err := gatehouse.ValidateKeyScopes(p.User, req.Scopes); err != nil {
		return "", nil, nil, err
	}
	if err := gatehouse.ValidateKeyExpiry(now, req.ExpiresAt.Time); err != nil {
		return "", nil, nil, err
	}
	if err := gatehouse.CheckDelegation(p.Key, req.Scopes, req.ExpiresAt.Time); err != nil {
		return "", nil, nil, err
	}
	secret, err := apikey.Generate()
	if err != nil {
		return "", nil, nil, err
	}
	h := apikey.Hash(secret)
	k := &gatehouse.APIKey{
		UserID: p.User.ID, Name: req.Name, Hash: h[:], Hint: apikey.Hint(secret), Scopes: req.Scopes,
		CreatedAt: now, ExpiresAt: req.ExpiresAt.Time, CreatedVia: string(p.Method),
	}
	replaced, err := s.store.CreateKey(ctx, k)
	if err != nil {
		return "", nil, nil, err
	}
	if replaced != nil {
		s.keys.forget(replaced.Hash)
		s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditKeyReplace,
			Target: keyTarget(replaced), IP: ip.String(), Success: true, Detail: "replaced by key:" + strconv.FormatInt(k.ID, 10)})
	}
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditKeyCreate,
		Target: keyTarget(k), IP: ip.String(), Success: true,
		Detail: "scopes=" + k.Scopes.String() + " expires=" + k.ExpiresAt.Format(time.RFC3339) + " via=" + string(p.Method)})
	return secret, k, replaced, nil
}

// revokeKey revokes one of p's user's keys; revoking twice succeeds and
// someone else's key is "not found" (checklist A7).
func (s *Server) revokeKey(ctx context.Context, p *gatehouse.Principal, id int64, reason string, ip netip.Addr) error {
	k, err := s.store.RevokeKey(ctx, p.User.ID, id, s.now(), reason)
	if err != nil {
		return err
	}
	s.keys.forget(k.Hash)
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditKeyRevoke,
		Target: keyTarget(k), IP: ip.String(), Success: true, Detail: "reason=" + reason})
	return nil
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	var req newKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	secret, k, replaced, err := s.createKey(r.Context(), p, req, s.clientAddr(r))
	if err != nil {
		return err
	}
	out := createdKey{Key: secret, keyView: viewKey(k, s.now())}
	if replaced != nil {
		v := viewKey(replaced, s.now())
		out.Replaced = &v
	}
	w.Header().Set("Cache-Control", "no-store") // checklist A1
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	keys, err := s.store.ListKeys(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	now := s.now()
	views := make([]keyView, len(keys))
	for i, k := range keys {
		views[i] = viewKey(k, now)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"keys": views})
	return nil
}

func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "No such key.")
	}
	if err := s.revokeKey(r.Context(), p, id, gatehouse.RevokedByUser, s.clientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
