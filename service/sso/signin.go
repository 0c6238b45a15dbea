package sso

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/secret"
	"golang.org/x/oauth2"
)

// LoginLifetime is how long a person has at the provider.
const LoginLifetime = 10 * time.Minute

// derive makes the PKCE verifier and the nonce of a sign-in from the
// browser's secret (kept in an HttpOnly cookie) and the state, so neither
// is stored anywhere and neither can be learnt from the URLs the sign-in
// passes through.
func derive(browserSecret, state, what string) string {
	m := hmac.New(sha256.New, []byte(browserSecret))
	m.Write([]byte(what + "|" + state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SplitEmail returns the lower-cased domain of an address, or "" when it is
// not one (a username).
func SplitEmail(email string) string {
	local, domain, ok := strings.Cut(strings.TrimSpace(email), "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(domain, "@ /\\") {
		return ""
	}
	return strings.ToLower(domain)
}

// Begin starts a sign-in at the provider of the organization that has a
// confirmed claim of the address's domain; nil when there is none.
func (s *Service) Begin(ctx context.Context, email, next string) (*gatehouse.SSOStart, error) {
	domain := SplitEmail(email)
	if domain == "" || len(email) > 254 {
		return nil, nil
	}
	claim, err := s.cfg.Store.ConfirmedSSODomain(ctx, domain)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.SSOConfig(ctx, claim.OrgID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	oc, err := s.oauthConfig(ctx, c)
	if err != nil {
		return nil, err
	}
	state, browser := secret.Token(), secret.Token()
	now := s.now()
	l := &gatehouse.SSOLogin{StateHash: secret.Hash(state), BrowserHash: secret.Hash(browser), OrgID: c.OrgID,
		Next: next, CreatedAt: now, ExpiresAt: now.Add(LoginLifetime)}
	if err := s.cfg.Store.CreateSSOLogin(ctx, l); err != nil {
		return nil, err
	}
	u := oc.AuthCodeURL(state,
		oauth2.SetAuthURLParam("nonce", derive(browser, state, "nonce")),
		oauth2.S256ChallengeOption(derive(browser, state, "pkce")),
		oauth2.SetAuthURLParam("login_hint", strings.TrimSpace(email)))
	return &gatehouse.SSOStart{RedirectURL: u, BrowserSecret: browser, Org: c.Org}, nil
}

// oauthConfig is the code flow of the organization's provider.
func (s *Service) oauthConfig(ctx context.Context, c *gatehouse.SSOConfig) (*oauth2.Config, error) {
	prov, err := s.cfg.Providers.Provider(ctx, c.Issuer)
	if err != nil {
		s.log.Warn("identity provider unavailable", "issuer", c.Issuer, "err", err)
		return nil, err
	}
	secretValue, err := s.clientSecret(c)
	if err != nil {
		s.log.Error("the client secret of an organization's provider cannot be read", "org", c.Org, "err", err)
		return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "Single sign-on of %s is misconfigured on this server (its client secret cannot be read). Tell the server's administrator.", c.Org)
	}
	scopes := []string{"openid", "email", "profile"}
	if len(c.GroupRoles) > 0 || len(c.GroupChannels) > 0 {
		scopes = append(scopes, "groups")
	}
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: secretValue, Endpoint: prov.Endpoint(),
		RedirectURL: s.absURL(CallbackPath), Scopes: scopes}, nil
}

// refusal is the error of a sign-in that cannot go on: a page says what
// happened and to sign in again.
func refusal(msg string) *gatehouse.Error {
	return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "SSO FAILED", Message: msg + " Sign in again from the sign-in page."}
}

// Finish checks the provider's answer (checklist K1, K2, K3) and signs the
// person in: their account is created on first sign-in, and their role
// and grants follow their groups.
func (s *Service) Finish(ctx context.Context, cb gatehouse.SSOCallback) (*gatehouse.Principal, string, error) {
	// A refusal is audited once the state names a sign-in; junk without
	// one (a stray GET of the callback) writes nothing.
	fail := func(org int64, detail string, err error) (*gatehouse.Principal, string, error) {
		if org == 0 {
			return nil, "", err
		}
		e := &gatehouse.AuditEvent{Action: gatehouse.AuditSSOSignIn, Success: false, Detail: detail,
			Target: "org_id:" + strconv.FormatInt(org, 10)}
		if cb.Addr.IsValid() {
			e.IP = cb.Addr.String()
		}
		s.record(ctx, e)
		return nil, "", err
	}
	if cb.State == "" || !secret.IsToken(cb.State) {
		return fail(0, "missing or malformed state", refusal("This sign-in came back without a valid state."))
	}
	l, err := s.cfg.Store.TakeSSOLogin(ctx, secret.Hash(cb.State))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return fail(0, "unknown or used state", refusal("This sign-in is unknown, was used already, or was started elsewhere."))
	} else if err != nil {
		return nil, "", err
	}
	if !s.now().Before(l.ExpiresAt) {
		return fail(l.OrgID, "expired state", refusal("This sign-in took longer than ten minutes."))
	}
	if !secret.IsToken(cb.BrowserSecret) || subtle.ConstantTimeCompare(secret.Hash(cb.BrowserSecret), l.BrowserHash) != 1 {
		return fail(l.OrgID, "state from another browser", refusal("This sign-in was started in another browser."))
	}
	if cb.Error != "" {
		return fail(l.OrgID, "provider error: "+gatehouse.Shorten(cb.Error, 64), refusal("The identity provider did not sign you in ("+gatehouse.Shorten(printableOr(cb.Error), 64)+")."))
	}
	if cb.Code == "" {
		return fail(l.OrgID, "no code", refusal("The identity provider sent no authorization code."))
	}
	c, err := s.cfg.Store.SSOConfig(ctx, l.OrgID)
	if err != nil {
		return nil, "", err
	}
	oc, err := s.oauthConfig(ctx, c)
	if err != nil {
		return fail(l.OrgID, "provider unavailable", err)
	}
	xctx, cancel := context.WithTimeout(s.cfg.Providers.Context(ctx), 10*time.Second)
	defer cancel()
	tok, err := oc.Exchange(xctx, cb.Code, oauth2.VerifierOption(derive(cb.BrowserSecret, cb.State, "pkce")))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.Response == nil || re.Response.StatusCode < 500) {
			return fail(l.OrgID, "code exchange refused: "+gatehouse.Shorten(re.ErrorCode, 64), refusal("The identity provider refused the sign-in code."))
		}
		s.log.Warn("identity provider unavailable during code exchange", "issuer", c.Issuer, "err", err)
		return fail(l.OrgID, "code exchange failed", errors.Join(gatehouse.Errorf(gatehouse.EUNAVAILABLE,
			"The identity provider %s did not answer. Try again in a minute.", c.Issuer), err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return fail(l.OrgID, "no id_token", refusal("The identity provider sent no ID token."))
	}
	idt, err := s.cfg.Providers.Verify(ctx, c.Issuer, c.ClientID, raw)
	if err != nil {
		return fail(l.OrgID, "id token refused: "+gatehouse.ErrorMessage(err), refusalOf(err))
	}
	want := derive(cb.BrowserSecret, cb.State, "nonce")
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(want)) != 1 {
		return fail(l.OrgID, "wrong nonce", refusal("The ID token does not belong to this sign-in (wrong nonce)."))
	}
	var cl claims
	if err := idt.Claims(&cl); err != nil {
		return fail(l.OrgID, "unreadable claims", refusal("The ID token's claims cannot be read."))
	}
	p, err := s.signIn(ctx, c, idt.Subject, &cl, cb)
	if err != nil {
		return fail(l.OrgID, gatehouse.ErrorMessage(err), err)
	}
	return p, l.Next, nil
}

// refusalOf keeps an unavailable provider's error as it is and turns any
// other token refusal into a sign-in refusal.
func refusalOf(err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.EUNAVAILABLE {
		return err
	}
	return refusal(gatehouse.ErrorMessage(err))
}

func printableOr(s string) string {
	if printable(s) {
		return s
	}
	return "an unreadable error"
}
