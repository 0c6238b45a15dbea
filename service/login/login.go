// Package login implements gatehouse.LoginService: CLI logins through
// OAuth 2.0 for public clients. The authorization code grant with PKCE
// (S256) and a loopback redirect (RFC 8252), and the device authorization
// grant (RFC 8628), both end in a short-lived access token ("gat-..."),
// which the CLI spends on creating its API key. Codes, device codes and
// tokens are random, stored as SHA-256 only, and used at most once: a
// grant moves from approved to used in one conditional update, so a
// replay, even a concurrent one, gets invalid_grant and no token
// (checklist D1). Every decision is audited, in the transaction of the
// change it records.
package login

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/ratelimit"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/usercode"
)

// Config is what the login service needs.
type Config struct {
	Store     gatehouse.Store
	Clock     gatehouse.Clock
	Logger    *slog.Logger
	PublicURL *url.URL
	// FailureLimit wrong user codes or failed token requests from one
	// address in a burst, then one more per FailureRefill;
	// AccountFailureLimit wrong user codes per account (checklist D4).
	FailureLimit        int
	FailureRefill       time.Duration
	AccountFailureLimit int
	// IPv6PrefixLen is the IPv6 network that counts as one address
	// (checklist B8); 0 is a /64.
	IPv6PrefixLen int
	// DeviceStarts is how many device logins one address may start in a
	// burst, then one more a minute (checklist D4); 0 is 10.
	DeviceStarts int
	// KeysRevoked is told of keys revoked here, to evict them from the
	// caches of this process (other replicas hear it from the store).
	KeysRevoked func([]*gatehouse.APIKey)
	// RateLimited is called for every request refused as over budget
	// (a metric); nil does nothing.
	RateLimited func()
}

// Service implements gatehouse.LoginService.
type Service struct {
	cfg   Config
	store gatehouse.Store
	now   gatehouse.Clock
	log   *slog.Logger
	// addrs and accounts count wrong user codes and failed token requests;
	// they are apart from the limiters of keys and passwords, so mistyped
	// codes never block signing in.
	addrs    *ratelimit.Limiter[netip.Prefix]
	accounts *ratelimit.Limiter[int64]
	// starts counts device logins started per address (checklist D4):
	// each is a row kept for an hour, so they are not free.
	starts *ratelimit.Limiter[netip.Prefix]
	// lastSweep is when expired grants and tokens were last deleted, in
	// UnixNano of the clock.
	lastSweep atomic.Int64
}

var _ gatehouse.LoginService = (*Service)(nil)

// New returns the login service; cfg's limits must be set.
func New(cfg Config) *Service {
	if cfg.RateLimited == nil {
		cfg.RateLimited = func() {}
	}
	opts := func(burst int, refill time.Duration) ratelimit.Options {
		return ratelimit.Options{Burst: burst, Refill: refill, MaxSubjects: 100_000, Clock: cfg.Clock}
	}
	if cfg.DeviceStarts <= 0 {
		cfg.DeviceStarts = 10
	}
	return &Service{cfg: cfg, store: cfg.Store, now: cfg.Clock, log: cfg.Logger,
		addrs:    ratelimit.New[netip.Prefix](opts(cfg.FailureLimit, cfg.FailureRefill)),
		accounts: ratelimit.New[int64](opts(cfg.AccountFailureLimit, 30*time.Second)),
		starts:   ratelimit.New[netip.Prefix](opts(cfg.DeviceStarts, time.Minute)),
	}
}

// addrSubject is who an address's failures count against.
func (s *Service) addrSubject(a netip.Addr) netip.Prefix {
	return ratelimit.AddrKey(a, s.cfg.IPv6PrefixLen)
}

func rateLimited(wait time.Duration, msg string) error {
	return &gatehouse.Error{Code: gatehouse.ERATELIMITED, Reason: "TOO MANY ATTEMPTS",
		RetryAfter: time.Duration(seconds(wait)) * time.Second, Message: msg}
}

// seconds rounds a wait up to whole seconds, at least one.
func seconds(wait time.Duration) int { return max(1, int(math.Ceil(wait.Seconds()))) }

// event starts an audit event for p's action.
func event(p *gatehouse.Principal, action, target string) *gatehouse.AuditEvent {
	e := &gatehouse.AuditEvent{Action: action, Target: target, Success: true}
	if p.User != nil {
		e.ActorID, e.Actor = p.User.ID, p.User.Username
	}
	if p.Addr.IsValid() {
		e.IP = p.Addr.String()
	}
	return e
}

// audit appends e in tx, with the change it records.
func (s *Service) audit(ctx context.Context, tx gatehouse.Store, e *gatehouse.AuditEvent) error {
	e.Time = s.now()
	return tx.AppendAudit(ctx, e)
}

// record appends e on its own; a failure is logged.
func (s *Service) record(ctx context.Context, e *gatehouse.AuditEvent) {
	e.Time = s.now()
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit write failed", "action", e.Action, "err", err)
	}
}

// absURL returns the public URL of path.
func (s *Service) absURL(path string) string {
	u := *s.cfg.PublicURL
	u.Path = path
	u.RawQuery = ""
	return u.String()
}

// Lifetimes. Checklist D1: a code used after 10 minutes fails; D4: device
// codes expire within 10 minutes.
const (
	codeLifetime        = 5 * time.Minute
	deviceLifetime      = 10 * time.Minute
	AccessTokenLifetime = 10 * time.Minute
	// deviceInterval is how often a device-flow client may poll.
	deviceInterval = 5 * time.Second
	// pollSlack forgives a poll that arrives a little early, because the
	// previous one was held up in transit; closer than interval minus
	// slack is slow_down.
	pollSlack = time.Second
	// sweepLoginsEvery bounds how often redeeming deletes expired grants
	// and tokens.
	sweepLoginsEvery = time.Minute
	// loginKeepExpired is how long expired grants stay to be reported as
	// expired (a late device poll hears expired_token, not invalid_grant).
	loginKeepExpired = time.Hour
)

// AccessTokenPrefix marks access tokens, so they are never taken for API
// keys ("gk-") and secret scanners can tell them apart.
const AccessTokenPrefix = "gat-"

const (
	grantTypeCode   = "authorization_code"
	grantTypeDevice = "urn:ietf:params:oauth:grant-type:device_code"
)

// publicClients are the clients that may log in, by client_id, with the
// name the consent page shows. All are public: no secrets (RFC 8252 §8.4).
var publicClients = map[string]string{
	"gatehouse-cli":                        "the Gatehouse command line",
	"b4ad7f1d-c784-46b5-a9fe-106e50441f5a": "anaconda-auth (conda)",
}

// StandInName names a login token that names no machine.
const StandInName = "CLI login"

// Client returns the name of a known public client.
func (s *Service) Client(clientID string) (string, bool) {
	name, ok := publicClients[clientID]
	return name, ok
}

// DeviceInterval is how often a device-flow client may poll.
func (s *Service) DeviceInterval() time.Duration { return deviceInterval }

func loginDetail(clientID, machine string, scopes gatehouse.Scopes, flow string) string {
	return "client=" + clientID + " machine=" + machine + " scopes=" + scopes.String() + " flow=" + flow
}

// loginTarget names a login in the audit log.
func loginTarget(machine string) string {
	if machine == "" {
		return "login"
	}
	return "login (" + machine + ")"
}

// ApproveCode stores an approved code grant and returns its code.
func (s *Service) ApproveCode(ctx context.Context, p *gatehouse.Principal, req gatehouse.CodeGrantRequest) (string, error) {
	code := secret.Token()
	now := s.now()
	g := &gatehouse.OAuthGrant{
		Kind: gatehouse.GrantCode, CodeHash: secret.Hash(code), ClientID: req.ClientID, RedirectURI: req.RedirectURI,
		CodeChallenge: req.CodeChallenge, Scopes: req.Scopes, ClientName: req.ClientName, UserID: p.User.ID,
		Status: gatehouse.GrantApproved, CreatedAt: now, ExpiresAt: now.Add(codeLifetime),
	}
	err := s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.CreateGrant(ctx, g); err != nil {
			return err
		}
		e := event(p, gatehouse.AuditOAuthApprove, loginTarget(req.ClientName))
		e.Detail = loginDetail(req.ClientID, req.ClientName, req.Scopes, "code") + " grant=" + strconv.FormatInt(g.ID, 10)
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// DenyCode records that p denied a code-flow login.
func (s *Service) DenyCode(ctx context.Context, p *gatehouse.Principal, req gatehouse.CodeGrantRequest) {
	e := event(p, gatehouse.AuditOAuthDeny, loginTarget(req.ClientName))
	e.Detail = loginDetail(req.ClientID, req.ClientName, req.Scopes, "code")
	s.record(ctx, e)
}

// createGrantAttempts bounds retries after a user code collision, which
// takes two pending logins drawing the same of 2^34 codes.
const createGrantAttempts = 5

// StartDevice creates a pending device grant.
func (s *Service) StartDevice(ctx context.Context, req gatehouse.DeviceRequest) (string, *gatehouse.OAuthGrant, error) {
	r, ok, wait := s.starts.Reserve(s.addrSubject(req.Addr))
	if !ok {
		s.cfg.RateLimited()
		return "", nil, rateLimited(wait, "Too many sign-ins were started from this address. Wait "+strconv.Itoa(seconds(wait))+" seconds, or finish the one your terminal shows.")
	}
	r.Failed() // every start spends its token: a start is what is limited
	now := s.now()
	deviceCode := secret.Token()
	g := &gatehouse.OAuthGrant{
		Kind: gatehouse.GrantDevice, CodeHash: secret.Hash(deviceCode), ClientID: req.ClientID,
		Scopes: req.Scopes, ClientName: req.ClientName,
		Status: gatehouse.GrantPending, CreatedAt: now, ExpiresAt: now.Add(deviceLifetime),
	}
	var err error
	for range createGrantAttempts {
		g.UserCode = usercode.New()
		if err = s.store.CreateGrant(ctx, g); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			break
		}
	}
	if err != nil {
		return "", nil, err
	}
	return deviceCode, g, nil
}

// PendingDevice finds the pending grant of a typed user code. Wrong codes
// are throttled per address and per account (checklist D4).
func (s *Service) PendingDevice(ctx context.Context, p *gatehouse.Principal, code string) (*gatehouse.OAuthGrant, error) {
	ip, account := s.addrSubject(p.Addr), p.User.ID
	blocked, wait := s.addrs.Blocked(ip)
	if !blocked {
		blocked, wait = s.accounts.Blocked(account)
	}
	if blocked {
		s.cfg.RateLimited()
		return nil, rateLimited(wait, "Too many wrong codes. Wait "+strconv.Itoa(seconds(wait))+" seconds, then type the code your terminal shows.")
	}
	g, err := s.store.GrantByUserCode(ctx, code)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return nil, err
	}
	if err != nil || !s.now().Before(g.ExpiresAt) {
		s.addrs.Fail(ip)
		s.accounts.Fail(account)
		return nil, gatehouse.Errorf(gatehouse.EINVALID,
			"The code %s is not valid: it may be mistyped, used already, or expired (codes last 10 minutes). Check your terminal, or start the sign-in again there.", code)
	}
	return g, nil
}

// DecideDevice approves or denies a pending device grant; a grant decided
// already is ECONFLICT.
func (s *Service) DecideDevice(ctx context.Context, p *gatehouse.Principal, g *gatehouse.OAuthGrant, approve bool) error {
	to, action := gatehouse.GrantApproved, gatehouse.AuditOAuthApprove
	if !approve {
		to, action = gatehouse.GrantDenied, gatehouse.AuditOAuthDeny
	}
	err := s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.SetGrantStatus(ctx, g.ID, gatehouse.GrantPending, to, p.User.ID); err != nil {
			return err
		}
		e := event(p, action, loginTarget(g.ClientName))
		e.Detail = loginDetail(g.ClientID, g.ClientName, g.Scopes, "device") + " grant=" + strconv.FormatInt(g.ID, 10)
		return s.audit(ctx, tx, e)
	})
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "This sign-in was approved or denied already.")
	}
	return err
}

// oauthErr is an OAuth error answer: code as Reason, EINVALID unless the
// caller says otherwise.
func oauthErr(reason, description string) *gatehouse.Error {
	return &gatehouse.Error{Code: gatehouse.EINVALID, Reason: reason, Message: description}
}

var (
	errInvalidGrant  = oauthErr("invalid_grant", "The code is not valid: it is unknown, used already, expired, or was issued for another client, redirect URI or code verifier. Sign in again.")
	errUnknownDevice = oauthErr("invalid_grant", "The device code is not valid: it is unknown or used already. Sign in again.")
)

// Redeem trades a code (with its PKCE verifier) or an approved device
// code for an access token, exactly once. Failed attempts count against
// the address.
func (s *Service) Redeem(ctx context.Context, req gatehouse.TokenRequest, addr netip.Addr) (*gatehouse.IssuedToken, error) {
	s.maybeSweep(ctx)
	ip := s.addrSubject(addr)
	if blocked, wait := s.addrs.Blocked(ip); blocked {
		s.cfg.RateLimited()
		e := rateLimited(wait, "Too many failed attempts from this address. Wait "+strconv.Itoa(seconds(wait))+" seconds and try again.").(*gatehouse.Error)
		e.Reason = "invalid_request"
		return nil, e
	}
	if _, ok := publicClients[req.ClientID]; !ok {
		s.addrs.Fail(ip)
		return nil, &gatehouse.Error{Code: gatehouse.EINVALID, Reason: "invalid_client", Message: "Unknown client_id."}
	}
	var (
		g   *gatehouse.OAuthGrant
		err error
	)
	switch req.GrantType {
	case grantTypeCode:
		g, err = s.exchangeCode(ctx, req)
	case grantTypeDevice:
		g, err = s.exchangeDevice(ctx, req)
	case "":
		err = oauthErr("invalid_request", "grant_type is required.")
	default:
		err = oauthErr("unsupported_grant_type", "Supported grant types: "+grantTypeCode+", "+grantTypeDevice+".")
	}
	var tok *gatehouse.IssuedToken
	if err == nil {
		tok, err = s.issueToken(ctx, g, addr)
	}
	if err != nil {
		switch gatehouse.ErrorReason(err) {
		case "invalid_grant":
			s.addrs.Fail(ip)
			e := &gatehouse.AuditEvent{Action: gatehouse.AuditOAuthToken, Target: "login", IP: addr.String(),
				Detail: "client=" + req.ClientID + " grant_type=" + req.GrantType + ": " + gatehouse.ErrorMessage(err)}
			if g != nil {
				e.ActorID, e.Target = g.UserID, loginTarget(g.ClientName)
			}
			s.record(ctx, e)
		case "slow_down":
			s.addrs.Fail(ip)
		}
		return nil, err
	}
	return tok, nil
}

// exchangeCode checks an authorization code and uses it up. A code
// presented with the wrong client, redirect URI or verifier is used up
// too: the client it was issued to never makes that mistake, so whoever
// did holds a stolen code. On failure the grant is returned when known,
// for the audit record.
func (s *Service) exchangeCode(ctx context.Context, req gatehouse.TokenRequest) (*gatehouse.OAuthGrant, error) {
	if req.Code == "" || req.RedirectURI == "" || req.CodeVerifier == "" {
		return nil, oauthErr("invalid_request", "code, redirect_uri and code_verifier are required (PKCE).")
	}
	g, err := s.store.GrantByCodeHash(ctx, secret.Hash(req.Code))
	switch gatehouse.ErrorCode(err) {
	case "":
	case gatehouse.ENOTFOUND:
		return nil, errInvalidGrant
	default:
		return nil, err
	}
	if g.Kind == gatehouse.GrantCode && g.Status == gatehouse.GrantUsed {
		// A code presented again with the client's own redirect URI and
		// PKCE verifier means the client's secrets are out: what the
		// code issued is revoked (checklist D9, RFC 6749 §4.1.2). A
		// replay without the verifier gains nothing and revokes nothing,
		// so a code seen in a browser's history cannot be used to take
		// someone's key away.
		if g.ClientID == req.ClientID && g.RedirectURI == req.RedirectURI && pkceMatches(req.CodeVerifier, g.CodeChallenge) {
			if err := s.revokeIssue(ctx, g); err != nil {
				return g, err
			}
		}
		return g, errInvalidGrant
	}
	if g.Kind != gatehouse.GrantCode || g.Status != gatehouse.GrantApproved || !s.now().Before(g.ExpiresAt) {
		return g, errInvalidGrant
	}
	if g.ClientID != req.ClientID || g.RedirectURI != req.RedirectURI || !pkceMatches(req.CodeVerifier, g.CodeChallenge) {
		if err := s.store.SetGrantStatus(ctx, g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0); err != nil &&
			gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			return g, err
		}
		return g, errInvalidGrant
	}
	if err := s.store.SetGrantStatus(ctx, g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return g, errInvalidGrant // a replay that raced the first use
		}
		return g, err
	}
	return g, nil
}

// revokeIssue deletes the access tokens a grant issued and revokes the
// keys they minted, and audits it.
func (s *Service) revokeIssue(ctx context.Context, g *gatehouse.OAuthGrant) error {
	if _, err := s.store.DeleteGrantTokens(ctx, g.ID); err != nil {
		return err
	}
	keys, err := s.store.GrantKeys(ctx, g.ID)
	if err != nil {
		return err
	}
	var revoked []*gatehouse.APIKey
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		for _, k := range keys {
			rk, err := tx.RevokeKey(ctx, k.UserID, k.ID, s.now(), gatehouse.RevokedReplayedLogin)
			if err != nil {
				return err
			}
			revoked = append(revoked, rk)
			e := &gatehouse.AuditEvent{ActorID: k.UserID, Action: gatehouse.AuditKeyRevoke,
				Target: "key:" + strconv.FormatInt(k.ID, 10) + " (" + k.Name + ")",
				Detail: "reason=" + gatehouse.RevokedReplayedLogin + " grant=" + strconv.FormatInt(g.ID, 10)}
			if err := s.audit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(revoked) > 0 && s.cfg.KeysRevoked != nil {
		s.cfg.KeysRevoked(revoked)
	}
	return nil
}

// pkceMatches checks an S256 code verifier against the challenge
// (RFC 7636 §4.1, §4.6): 43 to 128 unreserved characters whose SHA-256,
// base64url without padding, is the challenge.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return secret.Equal(base64.RawURLEncoding.EncodeToString(sum[:]), challenge)
}

// exchangeDevice answers a device-flow poll: pending (or slow_down when
// polled faster than the interval), denied, expired, or the token, once.
func (s *Service) exchangeDevice(ctx context.Context, req gatehouse.TokenRequest) (*gatehouse.OAuthGrant, error) {
	if req.DeviceCode == "" {
		return nil, oauthErr("invalid_request", "device_code is required.")
	}
	g, err := s.store.GrantByCodeHash(ctx, secret.Hash(req.DeviceCode))
	switch gatehouse.ErrorCode(err) {
	case "":
	case gatehouse.ENOTFOUND:
		return nil, errUnknownDevice
	default:
		return nil, err
	}
	if g.Kind != gatehouse.GrantDevice || g.ClientID != req.ClientID || g.Status == gatehouse.GrantUsed {
		return g, errUnknownDevice
	}
	now := s.now()
	if !now.Before(g.ExpiresAt) {
		return g, oauthErr("expired_token", "The sign-in expired before it was approved (codes last 10 minutes). Start it again.")
	}
	switch g.Status {
	case gatehouse.GrantPending:
		tooSoon := !g.LastPolledAt.IsZero() && now.Sub(g.LastPolledAt) < deviceInterval-pollSlack
		if err := s.store.TouchGrantPoll(ctx, g.ID, now); err != nil {
			return g, err
		}
		if tooSoon {
			return g, oauthErr("slow_down", "Polling too fast: wait at least "+strconv.Itoa(int(deviceInterval.Seconds()))+" seconds between requests.")
		}
		return g, oauthErr("authorization_pending", "Waiting for the code to be entered and approved at "+s.absURL("/device")+".")
	case gatehouse.GrantDenied:
		return g, oauthErr("access_denied", "The sign-in was denied in the browser.")
	}
	if err := s.store.SetGrantStatus(ctx, g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return g, errUnknownDevice
		}
		return g, err
	}
	return g, nil
}

// issueToken creates the access token for a grant just used, for its
// user as they are now.
func (s *Service) issueToken(ctx context.Context, g *gatehouse.OAuthGrant, addr netip.Addr) (*gatehouse.IssuedToken, error) {
	u, err := s.store.UserByID(ctx, g.UserID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || err == nil && u.Disabled {
		return nil, oauthErr("invalid_grant", "The account that approved this sign-in is disabled or gone.")
	} else if err != nil {
		return nil, err
	}
	token := AccessTokenPrefix + secret.Token()
	now := s.now()
	t := &gatehouse.AccessToken{Hash: secret.Hash(token), UserID: u.ID, Scopes: g.Scopes, ClientName: g.ClientName,
		CreatedAt: now, ExpiresAt: now.Add(AccessTokenLifetime), GrantID: g.ID}
	p := &gatehouse.Principal{User: u, Addr: addr}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.CreateAccessToken(ctx, t); err != nil {
			return err
		}
		e := event(p, gatehouse.AuditOAuthToken, loginTarget(g.ClientName))
		e.Detail = "client=" + g.ClientID + " flow=" + g.Kind + " scopes=" + g.Scopes.String() + " grant=" + strconv.FormatInt(g.ID, 10)
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	return &gatehouse.IssuedToken{Token: token, Scopes: g.Scopes, ExpiresIn: AccessTokenLifetime}, nil
}

// maybeSweep deletes expired grants and tokens if the last sweep was over
// a minute ago; only the caller that wins the compare-and-swap sweeps.
func (s *Service) maybeSweep(ctx context.Context) {
	now := s.now().UnixNano()
	last := s.lastSweep.Load()
	if now-last < int64(sweepLoginsEvery) || !s.lastSweep.CompareAndSwap(last, now) {
		return
	}
	if n, err := s.Sweep(ctx); err != nil {
		s.log.Warn("deleting expired sign-ins failed", "err", err)
	} else if n > 0 {
		s.log.Debug("deleted expired sign-ins", "count", n)
	}
}

// Sweep deletes grants and access tokens that expired over an hour
// ago, and returns how many.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	return s.store.DeleteExpiredOAuth(ctx, s.now().Add(-loginKeepExpired))
}
