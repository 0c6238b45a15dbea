package keyauth

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/service/login"
)

// Authenticate verifies a credential. Failures count against the caller's
// address (and account, for passwords); a caller over its budget is
// refused with ERATELIMITED before anything is checked (checklist B7, E7).
func (a *Auth) Authenticate(ctx context.Context, c gatehouse.Credential, addr netip.Addr) (*gatehouse.Principal, error) {
	var (
		p   *gatehouse.Principal
		err error
	)
	switch {
	case strings.HasPrefix(c.Key, login.AccessTokenPrefix):
		// A login token (CLI login): never an API key.
		p, err = a.accessToken(ctx, c.Key, addr)
	case c.Key != "":
		if err = a.limits.AddrBlocked(addr); err == nil {
			p, err = a.keys.Authenticate(ctx, c.Key)
			if gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
				a.limits.AddrFailed(addr)
			}
		}
	case c.Present():
		p, err = a.checkPassword(ctx, c.Username, c.Password, addr)
	default:
		return nil, gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "No credential was sent.")
	}
	if err != nil {
		return nil, err
	}
	p.Addr = addr
	return p, nil
}

// SignIn checks the sign-in form's username and password and audits a
// success (checkPassword audits failures).
func (a *Auth) SignIn(ctx context.Context, username, pw string, addr netip.Addr, via string) (*gatehouse.Principal, error) {
	p, err := a.checkPassword(ctx, username, pw, addr)
	if err != nil {
		return nil, err
	}
	p.Addr = addr
	e := a.event(p, gatehouse.AuditSignIn, "")
	e.Detail = via
	a.record(ctx, e)
	return p, nil
}

var errBadPassword = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID CREDENTIALS", Message: "Wrong username or password."}

// checkPassword checks a username and password, with the same cost
// whether or not the user exists, and audits a failure. The budgets of the
// address and the account are reserved before the (bounded, costly) check
// and given back only if it succeeds.
func (a *Auth) checkPassword(ctx context.Context, username, pw string, addr netip.Addr) (*gatehouse.Principal, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	ip := ""
	if addr.IsValid() {
		ip = addr.String()
	}
	done, throttled, err := a.limits.ReservePassword(addr, username)
	if err != nil {
		if throttled {
			a.record(ctx, &gatehouse.AuditEvent{Actor: username, Action: gatehouse.AuditSignIn, IP: ip, Detail: "throttled"})
		}
		return nil, err
	}
	u, err := a.userByNameOrEmail(ctx, username)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		done(true) // not the caller's failure
		return nil, err
	}
	ok := false
	if u == nil || u.PasswordHash == "" {
		// No such user, or one who signs in only through their
		// organization's identity provider: the same cost either way.
		err = a.hasher.dummy(ctx, pw)
	} else {
		var malformed error
		ok, malformed, err = a.hasher.Verify(ctx, u.PasswordHash, pw)
		if malformed != nil {
			a.log.Error("stored password hash is malformed", "user_id", u.ID, "err", malformed)
			ok = false
		}
	}
	if err != nil { // busy, or the caller went away: nothing was checked
		done(true)
		return nil, err
	}
	if !ok || u.Disabled {
		done(false)
		detail := "wrong username or password"
		if ok && u.Disabled {
			detail = "account disabled"
		}
		e := &gatehouse.AuditEvent{Actor: username, Action: gatehouse.AuditSignIn, IP: ip, Detail: detail}
		if u != nil {
			e.ActorID = u.ID
		}
		a.record(ctx, e)
		if ok && u.Disabled {
			return nil, &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "ACCOUNT DISABLED", Message: "This account is disabled. Ask an administrator to enable it."}
		}
		return nil, errBadPassword
	}
	done(true)
	// checklist K5: members of an organization that requires single
	// sign-on never sign in with a password, on the web or over HTTP Basic.
	if org, err := a.ssoRequiredBy(ctx, u); err != nil {
		return nil, err
	} else if org != "" {
		a.record(ctx, &gatehouse.AuditEvent{ActorID: u.ID, Actor: username, Action: gatehouse.AuditSignIn, IP: ip,
			Detail: "password refused: organization " + org + " requires single sign-on"})
		return nil, &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "SSO REQUIRED",
			Message: "Your organization " + org + " requires its members to sign in through its identity provider. Go to " +
				a.absURL("/login") + " and enter your work email address."}
	}
	return &gatehouse.Principal{User: u, Method: gatehouse.AuthPassword}, nil
}

// userByNameOrEmail finds the account a sign-in names: by username, or
// by email address when exactly one account has it (the sign-in page asks
// for either).
func (a *Auth) userByNameOrEmail(ctx context.Context, name string) (*gatehouse.User, error) {
	if !strings.Contains(name, "@") {
		return a.store.UserByName(ctx, name)
	}
	us, err := a.store.UsersByEmail(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(us) != 1 {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such user.")
	}
	return us[0], nil
}

// ssoRequiredBy returns the name of an organization of u that requires
// single sign-on, or "".
// Server administrators are exempt: they are the way back in when a
// provider is misconfigured.
func (a *Auth) ssoRequiredBy(ctx context.Context, u *gatehouse.User) (string, error) {
	if u.IsAdmin {
		return "", nil
	}
	ms, err := a.store.UserOrgs(ctx, u.ID)
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		c, err := a.store.SSOConfig(ctx, m.OrgID)
		switch gatehouse.ErrorCode(err) {
		case "":
			if c.Required {
				return m.OrgName, nil
			}
		case gatehouse.ENOTFOUND:
		default:
			return "", err
		}
	}
	return "", nil
}

// StartSession signs p's user in: a fresh session ID every time, so a
// cookie planted before sign-in is worthless (checklist E2). The store
// keeps only the token's SHA-256.
func (a *Auth) StartSession(ctx context.Context, p *gatehouse.Principal, userAgent string) (string, time.Time, error) {
	token := secret.Token()
	now := a.now()
	sess := &gatehouse.Session{Hash: secret.Hash(token), UserID: p.User.ID, CreatedAt: now,
		ExpiresAt: now.Add(gatehouse.SessionIdleTimeout), UserAgent: truncateUA(userAgent)}
	if p.Addr.IsValid() {
		sess.IP = p.Addr.String()
	}
	if err := a.store.CreateSession(ctx, sess); err != nil {
		return "", time.Time{}, err
	}
	return token, sess.CreatedAt.Add(gatehouse.SessionMaxAge), nil
}

// Session returns the live session of token and its user, or nils when
// there is none. Sessions end after the idle timeout or the maximum age,
// whichever comes first, and with their user's account.
func (a *Auth) Session(ctx context.Context, token string) (*gatehouse.Session, *gatehouse.User, error) {
	if !secret.IsToken(token) {
		return nil, nil, nil
	}
	sess, u, err := a.store.SessionByHash(ctx, secret.Hash(token))
	switch gatehouse.ErrorCode(err) {
	case "":
	case gatehouse.ENOTFOUND:
		return nil, nil, nil
	default:
		return nil, nil, err
	}
	now := a.now()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.CreatedAt.Add(gatehouse.SessionMaxAge)) || u.Disabled {
		return nil, nil, nil
	}
	// Slide the idle timeout, writing at most once a minute per session.
	next := now.Add(gatehouse.SessionIdleTimeout)
	if maxEnd := sess.CreatedAt.Add(gatehouse.SessionMaxAge); next.After(maxEnd) {
		next = maxEnd
	}
	if next.Sub(sess.ExpiresAt) > time.Minute {
		if err := a.store.ExtendSession(ctx, sess.ID, next); err != nil {
			a.log.Warn("extending session failed", "err", err)
		}
	}
	return sess, u, nil
}

// EndSession deletes the session server-side, so a replayed cookie is
// worthless (checklist E3), and audits the sign-out when p is given.
func (a *Auth) EndSession(ctx context.Context, token string, p *gatehouse.Principal) error {
	if token != "" {
		if err := a.store.DeleteSession(ctx, secret.Hash(token)); err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return err
		}
	}
	if p != nil {
		a.record(ctx, a.event(p, gatehouse.AuditSignOut, ""))
	}
	return nil
}

func truncateUA(ua string) string {
	if len(ua) > 256 {
		return ua[:256]
	}
	return ua
}
