package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
	"github.com/gatehouse-dev/gatehouse/password"
)

// credential is what a request presented, before it is verified.
type credential struct {
	key      string // an API key, from any of the accepted forms
	username string // HTTP Basic with a password that is not a key
	password string
}

func (c credential) present() bool { return c.key != "" || c.username != "" || c.password != "" }

var errConflictingCredentials = &credError{
	Err:    gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "The request carries two different credentials. Send one API key, in one place."),
	Reason: "INVALID API KEY",
}

var errBadAuthorization = &credError{
	Err:    gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "The Authorization header is not understood. Send: Authorization: Bearer <API key>."),
	Reason: "INVALID API KEY",
}

// readCredential takes the credential from the Authorization header
// (Bearer, token, or Basic) and from pathKey, the /t/<key>/ segment of a
// channel URL. Two that disagree are refused, never "first wins"
// (checklist B4).
func readCredential(r *http.Request, pathKey string) (credential, error) {
	var c credential
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, value, _ := strings.Cut(h, " ")
		value = strings.TrimSpace(value)
		switch strings.ToLower(scheme) {
		case "bearer", "token":
			c.key = value
		case "basic":
			raw, err := base64.StdEncoding.DecodeString(value)
			if err != nil {
				return c, errBadAuthorization
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return c, errBadAuthorization
			}
			// Clients that can only do Basic (rattler, mamba) put the key
			// in the password; the user name may be anything.
			if strings.HasPrefix(pass, apikey.Prefix) {
				c.key = pass
			} else {
				c.username, c.password = user, pass
			}
		default:
			return c, errBadAuthorization
		}
		if c.key == "" && c.password == "" {
			return c, errBadAuthorization
		}
	}
	if pathKey != "" {
		if c.present() && c.key != pathKey {
			return c, errConflictingCredentials
		}
		c.key = pathKey
	}
	return c, nil
}

// authenticateCredential verifies c. Failures count against the caller's
// address (and account, for passwords), and a caller over its budget is
// refused with 429 before anything is checked (checklist B7, E7).
func (s *Server) authenticateCredential(ctx context.Context, c credential, ip netip.Addr) (*gatehouse.Principal, error) {
	subject := ip.String()
	if blocked, wait := s.limiter.blocked(subject); blocked {
		s.metrics.rateLimited.Inc()
		return nil, rateLimited(wait)
	}
	if c.key != "" {
		p, err := s.keys.authenticate(ctx, c.key)
		if err != nil && gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED {
			s.limiter.fail(subject)
		}
		return p, err
	}
	return s.passwordSignIn(ctx, c.username, c.password, ip)
}

var errBadPassword = &credError{
	Err:    gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Wrong username or password."),
	Reason: "INVALID CREDENTIALS",
}

// passwordSignIn checks a username and password, with the same cost
// whether or not the user exists, and audits the outcome.
func (s *Server) passwordSignIn(ctx context.Context, username, pw string, ip netip.Addr) (*gatehouse.Principal, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	account := "account:" + username
	if blocked, wait := s.accounts.blocked(account); blocked {
		s.metrics.rateLimited.Inc()
		s.audit(ctx, &gatehouse.AuditEvent{Actor: username, Action: gatehouse.AuditSignIn, IP: ip.String(), Detail: "throttled"})
		e := rateLimited(wait).(*credError)
		e.Err.Message = "Too many failed sign-ins for this account. Wait a little and try again."
		return nil, e
	}
	u, err := s.store.UserByName(ctx, username)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return nil, err
	}
	ok := false
	if u == nil {
		password.VerifyDummy(pw)
	} else {
		ok, err = password.Verify(u.PasswordHash, pw)
		if err != nil {
			s.log.Error("stored password hash is malformed", "user_id", u.ID, "err", err)
			ok = false
		}
	}
	if !ok || u.Disabled {
		s.limiter.fail(ip.String())
		s.accounts.fail(account)
		detail := "wrong username or password"
		if ok && u.Disabled {
			detail = "account disabled"
		}
		e := &gatehouse.AuditEvent{Actor: username, Action: gatehouse.AuditSignIn, IP: ip.String(), Detail: detail}
		if u != nil {
			e.ActorID = u.ID
		}
		s.audit(ctx, e)
		if ok && u.Disabled {
			return nil, &credError{Err: gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "This account is disabled. Ask an administrator to enable it."), Reason: "ACCOUNT DISABLED"}
		}
		return nil, errBadPassword
	}
	return &gatehouse.Principal{User: u, Method: gatehouse.AuthPassword}, nil
}
