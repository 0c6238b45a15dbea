// Package orgreg is organization-wide registration: organization admins
// make registration tokens, deploy them to their machines (the
// anaconda-anon-usage org_token, or a conda credential), and the gate
// counts a request carrying a valid one as registered to the
// organization. Registration is not authorization: such a request is
// still anonymous, so it reaches public channels only. The package also
// records the registered clients the gate sees (per key and per token),
// in memory first and in bounded numbers (checklist I7).
package orgreg

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cache"
	"github.com/gatehouse-dev/gatehouse/orgtoken"
)

// Bounds are how many client records are kept (checklist I7): per
// organization, per API key, and in all; the least recently seen go first.
type Bounds struct {
	PerOrg, PerKey, Total int
}

// DefaultBounds fit a large organization and keep the table small.
var DefaultBounds = Bounds{PerOrg: 20_000, PerKey: 1_000, Total: 200_000}

// Config is what the service needs.
type Config struct {
	Store gatehouse.Store
	// Orgs tells p's role in an organization (an administrator who is no
	// member acts as an owner).
	Orgs   gatehouse.OrgService
	Clock  gatehouse.Clock
	Logger *slog.Logger
	// CacheTTL bounds how long a token's verdict is trusted without a
	// lookup: a revocation on another replica applies within it.
	CacheTTL time.Duration
	// Network names the gated network addr is in, "" if none.
	Network func(addr netip.Addr) string
	// Bounds: zero fields take DefaultBounds'.
	Bounds Bounds
	// Audit writes an event in the change's transaction.
	Audit func(ctx context.Context, tx gatehouse.Store, p *gatehouse.Principal, action, target, detail string) error
}

// Service implements gatehouse.RegistrationService.
type Service struct {
	cfg    Config
	tokens *cache.Cache[[32]byte, *gatehouse.RegistrationToken]
	rec    *Recorder
}

var _ gatehouse.RegistrationService = (*Service)(nil)

const maxCachedTokens = 10_000

// New returns the service; Recorder().Loop writes the clients it sees.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = gatehouse.SystemClock
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 5 * time.Second
	}
	if cfg.Network == nil {
		cfg.Network = func(netip.Addr) string { return "" }
	}
	if cfg.Bounds.PerOrg == 0 {
		cfg.Bounds.PerOrg = DefaultBounds.PerOrg
	}
	if cfg.Bounds.PerKey == 0 {
		cfg.Bounds.PerKey = DefaultBounds.PerKey
	}
	if cfg.Bounds.Total == 0 {
		cfg.Bounds.Total = DefaultBounds.Total
	}
	s := &Service{cfg: cfg,
		tokens: cache.New[[32]byte, *gatehouse.RegistrationToken](cache.Options{MaxEntries: maxCachedTokens, TTL: cfg.CacheTTL, Clock: cfg.Clock})}
	s.rec = newRecorder(s)
	return s
}

// Recorder returns the client recorder.
func (s *Service) Recorder() *Recorder { return s.rec }

// orgAdmin returns the organization if p may manage its registration.
func (s *Service) orgAdmin(ctx context.Context, p *gatehouse.Principal, org string) (*gatehouse.Org, error) {
	if p == nil || !p.IsPerson() {
		return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only people manage registration tokens; use a personal key or sign in.")
	}
	if err := p.Require(gatehouse.ScopeUser); err != nil {
		return nil, err
	}
	o, me, err := s.cfg.Orgs.Org(ctx, p, org)
	if err != nil {
		return nil, err
	}
	if !me.Role.CanManageMembers() {
		return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only owners and admins of %q manage its registration tokens.", o.Name)
	}
	return o, nil
}

// CreateToken makes a registration token of the organization; its owners
// and admins may. The token is in the answer and nowhere else.
func (s *Service) CreateToken(ctx context.Context, p *gatehouse.Principal, org, name string) (*gatehouse.NewRegistrationToken, error) {
	o, err := s.orgAdmin(ctx, p, org)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, gatehouse.FieldErrorf("name", "Name the token after where it goes, such as \"laptops\" or \"build farm\".")
	}
	if utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, gatehouse.FieldErrorf("name", "A token name is at most 100 printable characters.")
	}
	secret, err := orgtoken.Generate()
	if err != nil {
		return nil, err
	}
	h := orgtoken.Hash(secret)
	t := &gatehouse.RegistrationToken{OrgID: o.ID, Org: o.Name, Name: name, Hint: orgtoken.Hint(secret), Hash: h[:],
		CreatedAt: s.cfg.Clock(), CreatedBy: p.User.Username}
	err = s.cfg.Store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.CreateRegistrationToken(ctx, t); err != nil {
			return err
		}
		return s.cfg.Audit(ctx, tx, p, gatehouse.AuditRegTokenCreate, tokenTarget(o, t), t.Name)
	})
	if err != nil {
		return nil, err
	}
	s.tokens.Delete(h) // a cached "unknown" of the same value, however unlikely
	return &gatehouse.NewRegistrationToken{Token: secret, RegistrationToken: t}, nil
}

func tokenTarget(o *gatehouse.Org, t *gatehouse.RegistrationToken) string {
	return "org:" + o.Name + "/registration_token:" + strconv.FormatInt(t.ID, 10) + " (" + t.Hint + ")"
}

// ListTokens lists the organization's tokens, revoked included, with
// their last use and client counts.
func (s *Service) ListTokens(ctx context.Context, p *gatehouse.Principal, org string) ([]*gatehouse.RegistrationToken, error) {
	o, err := s.orgAdmin(ctx, p, org)
	if err != nil {
		return nil, err
	}
	list, err := s.cfg.Store.ListRegistrationTokens(ctx, o.ID)
	if list == nil && err == nil {
		list = []*gatehouse.RegistrationToken{}
	}
	return list, err
}

// RevokeToken revokes one of the organization's tokens, here at once and
// on other replicas within CacheTTL. Clients already counted stay listed.
func (s *Service) RevokeToken(ctx context.Context, p *gatehouse.Principal, org string, id int64) (*gatehouse.RegistrationToken, error) {
	o, err := s.orgAdmin(ctx, p, org)
	if err != nil {
		return nil, err
	}
	var t *gatehouse.RegistrationToken
	err = s.cfg.Store.Atomic(ctx, func(tx gatehouse.Store) error {
		var err error
		if t, err = tx.RevokeRegistrationToken(ctx, o.ID, id, s.cfg.Clock()); err != nil {
			return err
		}
		return s.cfg.Audit(ctx, tx, p, gatehouse.AuditRegTokenRevoke, tokenTarget(o, t), t.Name)
	})
	if err != nil {
		return nil, err
	}
	if len(t.Hash) == 32 {
		s.tokens.Delete([32]byte(t.Hash))
	}
	return t, nil
}

// OrgClients lists the organization's clients and counts them.
func (s *Service) OrgClients(ctx context.Context, p *gatehouse.Principal, org string, f gatehouse.ClientFilter) ([]*gatehouse.Client, int, error) {
	o, err := s.orgAdmin(ctx, p, org)
	if err != nil {
		return nil, 0, err
	}
	f.OrgID = o.ID
	cs, err := s.cfg.Store.ListClients(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.cfg.Store.CountClients(ctx, f)
	return cs, n, err
}

// Refusals of a registration token presented as a credential. They are
// 403s on channel URLs (conda shows the message; a 401 would make it
// print the token).
var (
	errInvalidToken = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID REGISTRATION TOKEN",
		Message: "This organization registration token is not valid: copy the whole token again, or ask your organization's administrators for the current one."}
	errRevokedToken = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "REGISTRATION TOKEN REVOKED",
		Message: "This organization registration token was revoked. Ask your organization's administrators for the current one."}
)

// Registered answers the gate for a request without an API key: the
// token in cred (a credential that looks like a registration token) or,
// failing that, the first valid o/ token of the User-Agent. A bad cred is
// an error; o/ tokens that are not valid only leave the request
// unregistered. Tokens are checked from memory after the first lookup.
func (s *Service) Registered(ctx context.Context, cred, userAgent string, addr netip.Addr) (*gatehouse.RegistrationToken, error) {
	if cred != "" {
		t, err := s.lookup(ctx, cred)
		if err != nil {
			return nil, err
		}
		s.rec.seenToken(t, userAgent, addr)
		return t, nil
	}
	if !orgtoken.HasOrg(userAgent) {
		return nil, nil
	}
	a := orgtoken.ParseUserAgent(userAgent)
	for _, v := range a.Orgs[:a.NOrgs] {
		t, err := s.lookup(ctx, v)
		if err == nil {
			s.rec.seenToken(t, userAgent, addr)
			return t, nil
		}
		if gatehouse.ErrorCode(err) == gatehouse.EUNAVAILABLE {
			return nil, err
		}
	}
	return nil, nil
}

// lookup returns the active token whose value is v.
func (s *Service) lookup(ctx context.Context, v string) (*gatehouse.RegistrationToken, error) {
	if orgtoken.Check(v) != nil {
		return nil, errInvalidToken
	}
	h := orgtoken.Hash(v)
	t, ok := s.tokens.Get(h)
	if !ok {
		var err error
		t, err = s.cfg.Store.RegistrationTokenByHash(ctx, h[:])
		switch {
		case gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND:
			t = nil
		case err != nil:
			return nil, err
		}
		s.tokens.Set(h, t) // nil remembers an unknown token
	}
	if t == nil || !orgtoken.Equal(t.Hash, h[:]) {
		return nil, errInvalidToken
	}
	if !t.RevokedAt.IsZero() {
		return nil, errRevokedToken
	}
	return t, nil
}

// ErrInvalidToken reports whether err is the refusal of a bad or revoked
// registration token.
func ErrInvalidToken(err error) bool {
	return errors.Is(err, errInvalidToken) || errors.Is(err, errRevokedToken)
}
