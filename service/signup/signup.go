// Package signup is the rule of self-service sign-up: who may create an
// account on their own (the --signup mode and email domains), how fast
// one address may try (a limiter, checklist E7/E10's bounds), how the
// password is kept (argon2id, as every password here, with hashing
// concurrency capped), and what is audited. With approval, the request
// waits for an administrator, who approves (the account is created with
// the password chosen) or denies it.
package signup

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/password"
	"github.com/gatehouse-dev/gatehouse/ratelimit"
	"github.com/gatehouse-dev/gatehouse/signup"
	"golang.org/x/sync/semaphore"
)

// Store keeps the requests; Atomic's transaction store must be one too.
type Store interface {
	gatehouse.Store
	CreateSignupRequest(ctx context.Context, r *signup.Request) error
	SignupRequest(ctx context.Context, id int64) (*signup.Request, error)
	PendingSignupFor(ctx context.Context, username, email string) (*signup.Request, error)
	SignupRequests(ctx context.Context, status string, limit int) ([]*signup.Request, error)
	DecideSignupRequest(ctx context.Context, id int64, status, by string) (*signup.Request, error)
}

// Config is the administrator's choice and the service's bounds.
type Config struct {
	Mode signup.Mode
	// Domains, when set, are the only email domains that may sign up
	// (lowercase, without "@"); subdomains are not included.
	Domains []string
	// Contact is whom people without an account should ask, shown where
	// sign-up is off (an email address or a sentence); "" says "an
	// administrator of this server".
	Contact string
	// Burst sign-ups (successful or not) per address, one more every
	// Refill (defaults 5 and 10 minutes).
	Burst  int
	Refill time.Duration
	Clock  gatehouse.Clock
	// IPv6PrefixLen groups IPv6 addresses as the sign-in limiter does.
	IPv6PrefixLen int
}

// Audit actions of sign-up.
const (
	AuditSignup        = "user.signup"
	AuditSignupRequest = "signup.request"
	AuditSignupApprove = "signup.approve"
	AuditSignupDeny    = "signup.deny"
)

// Service decides sign-ups.
type Service struct {
	cfg   Config
	users gatehouse.Store
	// store keeps requests; nil when the backend does not.
	store   Store
	limiter *ratelimit.Limiter[netip.Prefix]
	hashing *semaphore.Weighted
}

// New returns the service; a store that keeps no requests allows only
// Off and Open.
func New(st gatehouse.Store, cfg Config) *Service {
	if cfg.Mode == "" {
		cfg.Mode = signup.Off
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 5
	}
	if cfg.Refill <= 0 {
		cfg.Refill = 10 * time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = gatehouse.SystemClock
	}
	for i, d := range cfg.Domains {
		cfg.Domains[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
	}
	s := &Service{cfg: cfg, users: st, hashing: semaphore.NewWeighted(2),
		limiter: ratelimit.New[netip.Prefix](ratelimit.Options{Burst: cfg.Burst, Refill: cfg.Refill, MaxSubjects: 10_000, Clock: cfg.Clock})}
	s.store, _ = st.(Store)
	return s
}

// Mode is the configured mode.
func (s *Service) Mode() signup.Mode { return s.cfg.Mode }

// Domains are the email domains allowed to sign up; none means any.
func (s *Service) Domains() []string { return s.cfg.Domains }

// Contact is whom to ask for an account.
func (s *Service) Contact() string { return s.cfg.Contact }

// Form is what a person types to sign up.
type Form struct {
	Username, Email, Password string
}

// SignUp creates the account (Open) or the request (Approval). It returns
// the user when the account exists now, nil when it waits.
func (s *Service) SignUp(ctx context.Context, f Form, addr netip.Addr) (*gatehouse.User, error) {
	if s.cfg.Mode == signup.Off || (s.cfg.Mode == signup.Approval && s.store == nil) {
		return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "This server does not offer sign-up. %s", s.AskSentence())
	}
	// Every attempt spends the address's budget, so that names cannot be
	// probed and hashes cannot be forced faster than the limit.
	subject := ratelimit.AddrKey(addr, s.cfg.IPv6PrefixLen)
	if blocked, wait := s.limiter.Blocked(subject); blocked {
		return nil, &gatehouse.Error{Code: gatehouse.ERATELIMITED, RetryAfter: wait,
			Message: "Too many sign-ups from your network. Try again later."}
	}
	s.limiter.Fail(subject)
	f.Username = strings.ToLower(strings.TrimSpace(f.Username))
	f.Email = strings.TrimSpace(f.Email)
	if err := gatehouse.ValidateName("username", f.Username); err != nil {
		return nil, err
	}
	if err := s.checkEmail(f.Email); err != nil {
		return nil, err
	}
	if err := gatehouse.ValidatePassword("password", f.Password); err != nil {
		return nil, err
	}
	if err := s.available(ctx, f.Username, f.Email); err != nil {
		return nil, err
	}
	hash, err := s.hash(ctx, f.Password)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock()
	if s.cfg.Mode == signup.Approval {
		req := &signup.Request{Username: f.Username, Email: f.Email, PasswordHash: hash, IP: addrText(addr), CreatedAt: now}
		err := s.store.Atomic(ctx, func(tx gatehouse.Store) error {
			if err := tx.(Store).CreateSignupRequest(ctx, req); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, &gatehouse.AuditEvent{Time: now, Actor: f.Username, Action: AuditSignupRequest,
				Target: "user:" + f.Username, IP: addrText(addr), Success: true, Detail: "email=" + f.Email})
		})
		return nil, err
	}
	u := &gatehouse.User{Username: f.Username, Email: f.Email, PasswordHash: hash, CreatedAt: now, PasswordChangedAt: now}
	err = s.createUser(ctx, u, &gatehouse.AuditEvent{Time: now, Actor: f.Username, Action: AuditSignup,
		Target: "user:" + f.Username, IP: addrText(addr), Success: true, Detail: "mode=open"})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Requests lists sign-up requests for an administrator: pending first
// (oldest first, the queue), then the decided ones, newest first.
func (s *Service) Requests(ctx context.Context, p *gatehouse.Principal) (pending, decided []*signup.Request, err error) {
	if err := p.Require(gatehouse.ScopeAdmin); err != nil {
		return nil, nil, err
	}
	if s.store == nil {
		return nil, nil, nil
	}
	all, err := s.store.SignupRequests(ctx, "", 200)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range all {
		if r.Status == signup.Pending {
			pending = append([]*signup.Request{r}, pending...)
		} else {
			decided = append(decided, r)
		}
	}
	return pending, decided, nil
}

// Decide approves (creating the account with the password chosen) or
// denies a pending request; an administrator's action, audited.
func (s *Service) Decide(ctx context.Context, p *gatehouse.Principal, id int64, approve bool) (*signup.Request, error) {
	if err := p.Require(gatehouse.ScopeAdmin); err != nil {
		return nil, err
	}
	if s.store == nil {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such sign-up request.")
	}
	status, action := signup.Denied, AuditSignupDeny
	if approve {
		status, action = signup.Approved, AuditSignupApprove
	}
	var out *signup.Request
	err := s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		r, err := tx.(Store).DecideSignupRequest(ctx, id, status, p.User.Username)
		if err != nil {
			return err
		}
		out = r
		e := &gatehouse.AuditEvent{Time: s.cfg.Clock(), ActorID: p.User.ID, Actor: p.User.Username, Action: action,
			Target: "user:" + r.Username, IP: addrText(p.Addr), Success: true, Detail: "email=" + r.Email}
		if err := tx.AppendAudit(ctx, e); err != nil {
			return err
		}
		if !approve {
			return nil
		}
		now := s.cfg.Clock()
		u := &gatehouse.User{Username: r.Username, Email: r.Email, PasswordHash: r.PasswordHash, CreatedAt: now, PasswordChangedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
				return gatehouse.Errorf(gatehouse.ECONFLICT, "The username %s was taken since the request; deny it and ask them to sign up again.", r.Username)
			}
			return err
		}
		return tx.AppendAudit(ctx, &gatehouse.AuditEvent{Time: now, ActorID: p.User.ID, Actor: p.User.Username,
			Action: gatehouse.AuditUserCreate, Target: "user:" + u.Username, IP: addrText(p.Addr), Success: true, Detail: "admin=false signup=approved"})
	})
	return out, err
}

// AskSentence says whom to ask for an account.
func (s *Service) AskSentence() string {
	if s.cfg.Contact != "" {
		return "To get an account, ask " + s.cfg.Contact + "."
	}
	return "To get an account, ask an administrator of this server."
}

func (s *Service) checkEmail(email string) error {
	at := strings.LastIndexByte(email, '@')
	if len(email) > 254 || at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n<>,;") {
		return gatehouse.FieldErrorf("email", "Type your email address, such as ada@example.com.")
	}
	if len(s.cfg.Domains) == 0 {
		return nil
	}
	domain := strings.ToLower(email[at+1:])
	for _, d := range s.cfg.Domains {
		if domain == d {
			return nil
		}
	}
	return gatehouse.FieldErrorf("email", "Sign-up here is for addresses at %s. %s", strings.Join(s.cfg.Domains, ", "), s.AskSentence())
}

// available refuses a username that is taken or waiting, and an email
// that an account or a pending request has.
func (s *Service) available(ctx context.Context, username, email string) error {
	taken := gatehouse.FieldErrorf("username", "That username or email address is taken. Choose another username, or sign in.")
	if _, err := s.users.UserByName(ctx, username); err == nil {
		return taken
	} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return err
	}
	if us, err := s.users.UsersByEmail(ctx, email); err != nil {
		return err
	} else if len(us) > 0 {
		return taken
	}
	if s.store != nil {
		if r, err := s.store.PendingSignupFor(ctx, username, email); err != nil {
			return err
		} else if r != nil {
			return gatehouse.FieldErrorf("username", "A request for that username or email address is already waiting for an administrator.")
		}
	}
	return nil
}

func (s *Service) createUser(ctx context.Context, u *gatehouse.User, e *gatehouse.AuditEvent) error {
	return s.users.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, e)
	})
}

// hash is argon2id with at most two hashes at once (checklist E10).
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.hashing.Acquire(wctx, 1); err != nil {
		return "", &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, RetryAfter: 5 * time.Second, Message: "The server is busy. Try again in a few seconds."}
	}
	defer s.hashing.Release(1)
	return password.Hash(pw)
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}
