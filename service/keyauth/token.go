package keyauth

import (
	"context"
	"net/netip"
	"strconv"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/service/login"
)

var errBadAccessToken = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID TOKEN",
	Message: "This login token is not valid. Run gatehouse login again."}

// accessToken verifies an access token. Failures count against the
// address like bad keys (checklist B7). The principal's Key stands for
// the token: ID 0, the token's scopes and expiry, the machine's name, so
// that Principal.Scopes and Require limit the caller to what was granted.
func (a *Auth) accessToken(ctx context.Context, token string, addr netip.Addr) (*gatehouse.Principal, error) {
	if err := a.limits.AddrBlocked(addr); err != nil {
		return nil, err
	}
	fail := func(err error) (*gatehouse.Principal, error) {
		if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
			a.limits.AddrFailed(addr)
		}
		return nil, err
	}
	body := token[len(login.AccessTokenPrefix):]
	if !secret.IsToken(body) {
		return fail(errBadAccessToken)
	}
	t, u, err := a.store.AccessTokenByHash(ctx, secret.Hash(token))
	switch gatehouse.ErrorCode(err) {
	case "":
	case gatehouse.ENOTFOUND:
		return fail(errBadAccessToken)
	default:
		return nil, err
	}
	switch {
	case !a.now().Before(t.ExpiresAt):
		return fail(&gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "TOKEN EXPIRED",
			Message: "This login token expired: they last " + strconv.Itoa(int(login.AccessTokenLifetime.Minutes())) + " minutes. Run gatehouse login again."})
	case u.Disabled:
		return fail(&gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "ACCOUNT DISABLED",
			Message: "This account is disabled. Ask an administrator to enable it."})
	}
	name := t.ClientName
	if name == "" {
		name = login.StandInName
	}
	stand := &gatehouse.APIKey{UserID: u.ID, Name: name, Hash: t.Hash, Hint: login.AccessTokenPrefix + "…", Scopes: t.Scopes,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, CreatedVia: string(gatehouse.AuthOAuth)}
	return &gatehouse.Principal{User: u, Key: stand, Token: t, Method: gatehouse.AuthOAuth}, nil
}
