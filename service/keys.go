package service

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
	"github.com/gatehouse-dev/gatehouse/keyrule"
	"github.com/gatehouse-dev/gatehouse/service/keyauth"
	"github.com/gatehouse-dev/gatehouse/service/login"
)

// Keys implements gatehouse.KeyService.
type Keys struct{ *core }

// CreateKey mints a key for p's user. The rules: a name, at least one
// scope the owner holds, an expiry within a year and within every key
// policy that applies, channels the owner can see, and never more than the
// key p authenticated with (checklist A5). A key with the name of an
// unrevoked one replaces it, revoking the old one at once. The key, the
// revocation and their audit events commit together.
func (k *Keys) CreateKey(ctx context.Context, p *gatehouse.Principal, req gatehouse.KeyRequest) (*gatehouse.NewKey, error) {
	return k.create(ctx, p, p.Key, req, nil, nil)
}

// create applies the rules of CreateKey, delegating from parent (nil: a
// session, a password, or a login token whose scopes were checked). With
// org set it makes that organization's service key instead. also, if not
// nil, runs in the key's transaction once the key has its ID.
func (k *Keys) create(ctx context.Context, p *gatehouse.Principal, parent *gatehouse.APIKey, req gatehouse.KeyRequest, org *gatehouse.Org,
	also func(tx gatehouse.Store, key *gatehouse.APIKey) error) (*gatehouse.NewKey, error) {
	if !p.IsPerson() {
		return nil, errNotAPerson
	}
	now := k.now()
	req.Name = strings.TrimSpace(req.Name)
	if err := keyrule.ValidateName(req.Name); err != nil {
		return nil, err
	}
	if err := keyrule.ValidateScopes(p.User, req.Scopes); err != nil {
		return nil, err
	}
	if org != nil && req.Scopes.Has(gatehouse.ScopeAdmin) {
		return nil, gatehouse.FieldErrorf("scopes", "Organization keys cannot have the Administration scope.")
	}
	channels, err := keyrule.NormalizeChannels(req.Channels)
	if err != nil {
		return nil, err
	}
	if req.ChannelAccess > gatehouse.ChannelWrite || req.ChannelAccess < gatehouse.NoAccess {
		return nil, gatehouse.FieldErrorf("channel_access", "channel_access must be \"read\" or \"write\".")
	}
	if err := k.checkKeyChannels(ctx, p, org, channels); err != nil {
		return nil, err
	}
	if err := keyrule.ValidateExpiry(now, req.ExpiresAt); err != nil {
		return nil, err
	}
	rules, err := k.lifetimeRules(ctx, p.User, org, channels)
	if err != nil {
		return nil, err
	}
	if err := keyrule.CheckLifetime(now, req.ExpiresAt, keyrule.StrictestLifetime(rules)); err != nil {
		return nil, err
	}
	if err := keyrule.CheckRestrictedDelegation(parent, keyrule.Request{Scopes: req.Scopes, ExpiresAt: req.ExpiresAt,
		Channels: channels, ChannelAccess: req.ChannelAccess}); err != nil {
		return nil, err
	}
	via := string(p.Method)
	return k.mint(ctx, p, &gatehouse.APIKey{UserID: p.User.ID, Name: req.Name, Scopes: req.Scopes, CreatedAt: now,
		ExpiresAt: req.ExpiresAt.UTC(), CreatedVia: via, Channels: channels, ChannelAccess: req.ChannelAccess}, org, req.JWT && org == nil, also)
}

// mint generates the secret and stores key (an organization's, with org
// set), revoking a key of the same name and owner, with its audit events.
// With jwt set the secret is JWT-shaped (apikey.GenerateJWT): its claims
// are informative, and the stored hash covers the whole token.
func (k *Keys) mint(ctx context.Context, p *gatehouse.Principal, key *gatehouse.APIKey, org *gatehouse.Org, jwt bool,
	also func(tx gatehouse.Store, key *gatehouse.APIKey) error) (*gatehouse.NewKey, error) {
	var secret string
	var err error
	if jwt {
		secret, err = apikey.GenerateJWT(apikey.Claims{Subject: apikey.SubjectUUID(p.User.ID, p.User.CreatedAt),
			Expires: key.ExpiresAt, IssuedAt: key.CreatedAt, Issuer: k.cfg.PublicURL.String(), Name: p.User.Username})
	} else {
		secret, err = apikey.Generate()
	}
	if err != nil {
		return nil, err
	}
	h := apikey.Hash(secret)
	key.Hash, key.Hint = h[:], apikey.HintAny(secret)
	create, replace := gatehouse.AuditKeyCreate, gatehouse.AuditKeyReplace
	if org != nil {
		key.OrgID = org.ID
		create, replace = gatehouse.AuditOrgKeyCreate, gatehouse.AuditOrgKeyRevoke
	}
	var replaced *gatehouse.APIKey
	err = k.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if org == nil {
			if err := k.keyQuota(ctx, tx, p.User, key.Name, key.CreatedAt); err != nil {
				return err
			}
			if err := k.mayReplace(ctx, tx, p, key); err != nil {
				return err
			}
		}
		var err error
		if replaced, err = tx.CreateKey(ctx, key); err != nil {
			return err
		}
		if also != nil {
			if err := also(tx, key); err != nil {
				return err
			}
		}
		if replaced != nil {
			e := k.keyEvent(p, replace, replaced, org)
			e.Detail = "replaced by key:" + strconv.FormatInt(key.ID, 10)
			if err := k.audit(ctx, tx, e); err != nil {
				return err
			}
		}
		e := k.keyEvent(p, create, key, org)
		e.Detail = keyDetail(key, p)
		return k.audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	if replaced != nil {
		k.keys.Forget(replaced.Hash)
	}
	return &gatehouse.NewKey{Secret: secret, Key: key, Replaced: replaced}, nil
}

// keyEvent is the audit event of a key change: an organization key's
// changes are the organization's actions, with the acting person in the
// actor.
func (k *Keys) keyEvent(p *gatehouse.Principal, action string, key *gatehouse.APIKey, org *gatehouse.Org) *gatehouse.AuditEvent {
	e := k.event(p, action, keyauth.KeyTarget(key))
	if org != nil {
		e.Target = "org:" + org.Name + " " + e.Target
		e.Actor = "org:" + org.Name + " by " + e.Actor
	}
	return e
}

func keyDetail(key *gatehouse.APIKey, p *gatehouse.Principal) string {
	d := "scopes=" + key.Scopes.String() + " expires=" + key.ExpiresAt.Format(time.RFC3339) + " via=" + key.CreatedVia
	if len(key.Channels) > 0 {
		d += " channels=" + strings.Join(key.Channels, ",")
	}
	if key.ChannelAccess != gatehouse.NoAccess {
		d += " channel_access=" + key.ChannelAccess.String()
	}
	return d
}

// checkKeyChannels checks that every channel a key is limited to is one
// its owner can see now (an organization key: one of the organization's
// channels). A name the owner cannot see is "not found", as for any other
// request, so private names do not leak (checklist J6).
func (k *Keys) checkKeyChannels(ctx context.Context, p *gatehouse.Principal, org *gatehouse.Org, channels []string) error {
	for _, name := range channels {
		ch, _, err := (&Channels{k.core}).Channel(ctx, p, name, gatehouse.NoAccess)
		if err != nil {
			return fieldErr("channels", err)
		}
		if org != nil && ch.OwnerOrgID != org.ID {
			return gatehouse.FieldErrorf("channels", "Channel %q is not %s's: an organization key can only be limited to the organization's channels.", name, org.Name)
		}
	}
	return nil
}

// fieldErr names the field of a domain error that has none.
func fieldErr(field string, err error) error {
	var e *gatehouse.Error
	if errors.As(err, &e) && e.Field == "" {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// cliDefaultScopes is what a CLI key gets when nothing narrower was asked
// or granted: what a CLI needs to use the API and channels.
const cliDefaultScopes = gatehouse.DefaultKeyScopes

// CreateLoginKey creates the key a CLI asks for after logging in. A login
// token delegates its scopes, never more, for a key that may live up to a
// year, far past the token's ten minutes; any other caller needs the User
// resources scope, and the key may not outlive the key that creates it.
func (k *Keys) CreateLoginKey(ctx context.Context, p *gatehouse.Principal, req gatehouse.LoginKeyRequest) (*gatehouse.NewKey, error) {
	now := k.now()
	scopes := req.Scopes
	if scopes == 0 {
		scopes = cliDefaultScopes
		if p.Method == gatehouse.AuthOAuth {
			scopes = p.Scopes()
		}
	}
	expires := req.ExpiresAt
	if expires.IsZero() {
		// The default lifetime, or the longest the policies allow if
		// that is shorter.
		rules, err := k.lifetimeRules(ctx, p.User, nil, nil)
		if err != nil {
			return nil, err
		}
		life := min(gatehouse.Days(gatehouse.DefaultKeyDays), keyrule.StrictestLifetime(rules).Max)
		expires = now.UTC().Truncate(time.Second).Add(life)
		if p.Method == gatehouse.AuthKey && p.Key != nil && p.Key.ExpiresAt.Before(expires) {
			expires = p.Key.ExpiresAt
		}
	}
	name := strings.TrimSpace(req.Name)
	switch {
	case name != "":
	case req.Hostname != "":
		name = "cli-" + req.Hostname
	case p.Method == gatehouse.AuthOAuth && p.Key != nil && p.Key.Name != "" && p.Key.Name != login.StandInName:
		name = p.Key.Name
	default:
		name = "cli"
	}
	keyReq := gatehouse.KeyRequest{Name: name, Scopes: scopes, ExpiresAt: expires, JWT: req.JWT}
	if p.Method == gatehouse.AuthOAuth {
		if !scopes.SubsetOf(p.Scopes()) {
			return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "This login granted %s only; sign in again and approve the scopes the key needs.",
				strings.Join(p.Scopes().Labels(), " and "))
		}
		// A login token mints one key (checklist D9): it is spent in the
		// key's own transaction, so two requests racing with one token
		// cannot both succeed; and the key is tied to the login's grant,
		// so a replay of its authorization code revokes it.
		tok := p.Token
		return k.create(ctx, &gatehouse.Principal{User: p.User, Method: gatehouse.AuthOAuth, Addr: p.Addr}, nil, keyReq, nil,
			func(tx gatehouse.Store, key *gatehouse.APIKey) error {
				if tok == nil {
					return nil
				}
				if err := tx.UseAccessToken(ctx, tok.ID, now); err != nil {
					if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT || gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
						return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "TOKEN USED",
							Message: "This login token has made its key already; a login makes one key. Run gatehouse login again."}
					}
					return err
				}
				return tx.LinkLoginKey(ctx, tok.GrantID, key.ID)
			})
	}
	if err := p.Require(gatehouse.ScopeUser); err != nil {
		return nil, err
	}
	return k.create(ctx, p, p.Key, keyReq, nil, nil)
}

// ListKeys returns all of p's user's keys, newest first (none for an
// organization key, which has no person behind it).
func (k *Keys) ListKeys(ctx context.Context, p *gatehouse.Principal) ([]*gatehouse.APIKey, error) {
	if !p.IsPerson() {
		return []*gatehouse.APIKey{}, nil
	}
	return k.store.ListKeys(ctx, p.User.ID)
}

// RevokeKey revokes one of p's user's keys and evicts it here at once.
func (k *Keys) RevokeKey(ctx context.Context, p *gatehouse.Principal, id int64, reason string) (*gatehouse.APIKey, error) {
	if !p.IsPerson() {
		return nil, errNotAPerson
	}
	var key *gatehouse.APIKey
	err := k.store.Atomic(ctx, func(tx gatehouse.Store) error {
		// A key may not take away a key stronger than itself (issue: a
		// user-scope key revoking the owner's admin key).
		if p.Key != nil {
			target, err := tx.KeyByID(ctx, p.User.ID, id)
			if err != nil {
				return err
			}
			if !target.Scopes.SubsetOf(p.Key.Scopes) {
				return gatehouse.Errorf(gatehouse.EFORBIDDEN, "A key can only revoke keys with no more scopes than its own (%s); revoke this one in Account Settings → API Keys.", strings.Join(p.Key.Scopes.Names(), ", "))
			}
		}
		var err error
		if key, err = tx.RevokeKey(ctx, p.User.ID, id, k.now(), reason); err != nil {
			return err
		}
		e := k.event(p, gatehouse.AuditKeyRevoke, keyauth.KeyTarget(key))
		e.Detail = "reason=" + reason
		return k.audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	k.keys.Forget(key.Hash)
	return key, nil
}

// keyQuota refuses a new key to an ordinary user who holds the most
// active keys the server allows, unless it replaces one of them (checklist
// I4: 2,000 keys in three seconds were accepted before).
func (k *Keys) keyQuota(ctx context.Context, tx gatehouse.Store, u *gatehouse.User, name string, now time.Time) error {
	limit := k.cfg.Quotas.KeysPerUser
	if limit < 0 || u.IsAdmin {
		return nil
	}
	n, err := tx.CountActiveKeys(ctx, u.ID, now)
	if err != nil || n < limit {
		return err
	}
	keys, err := tx.ListKeys(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, old := range keys {
		if old.Name == name && old.Status(now) == gatehouse.KeyActive {
			return nil // a replacement: the count stays
		}
	}
	return gatehouse.Errorf(gatehouse.EQUOTA, "You have %d active API keys, the most this server allows. Revoke the keys you no longer use in Account Settings → API Keys, then create this one.", n)
}

// mintFor is mint as the trusted-publishing service calls it: nothing to
// do in the key's transaction.
func (k *Keys) mintFor(ctx context.Context, p *gatehouse.Principal, key *gatehouse.APIKey, org *gatehouse.Org) (*gatehouse.NewKey, error) {
	return k.mint(ctx, p, key, org, false, nil)
}

// mayReplace refuses to let a key replace (and so revoke) a key of the
// same name that holds scopes it lacks.
func (k *Keys) mayReplace(ctx context.Context, tx gatehouse.Store, p *gatehouse.Principal, key *gatehouse.APIKey) error {
	if p.Key == nil || p.Method != gatehouse.AuthKey {
		return nil
	}
	keys, err := tx.ListKeys(ctx, p.User.ID)
	if err != nil {
		return err
	}
	for _, old := range keys {
		if old.Name == key.Name && old.Status(key.CreatedAt) == gatehouse.KeyActive && !old.Scopes.SubsetOf(p.Key.Scopes) {
			return gatehouse.Errorf(gatehouse.EFORBIDDEN, "A key named %q with more scopes than this key exists; this key cannot replace it. Choose another name.", key.Name)
		}
	}
	return nil
}
