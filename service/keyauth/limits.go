package keyauth

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/ratelimit"
)

// Limiters slow down repeated failures: bad keys, tokens and passwords per
// address (checklist B7), passwords per account name whatever the address
// (checklist E7: slowed, never locked). Successes cost nothing. Their
// memory is bounded (checklist I5).
type Limiters struct {
	addrs    *ratelimit.Limiter[netip.Prefix]
	accounts *ratelimit.Limiter[string]
	metrics  *metrics
	// v6Bits is the IPv6 network that counts as one address (checklist
	// B8): guesses spread over a /64 share one budget.
	v6Bits int
}

const maxLimitedSubjects = 100_000

func newLimiters(cfg Config, m *metrics) *Limiters {
	opts := func(burst int, refill time.Duration) ratelimit.Options {
		return ratelimit.Options{Burst: burst, Refill: refill, MaxSubjects: maxLimitedSubjects, Clock: cfg.Clock}
	}
	return &Limiters{
		addrs:    ratelimit.New[netip.Prefix](opts(cfg.FailureLimit, cfg.FailureRefill)),
		accounts: ratelimit.New[string](opts(cfg.AccountFailureLimit, 30*time.Second)),
		metrics:  m,
		v6Bits:   cfg.IPv6PrefixLen,
	}
}

// addrSubject is who an address's failures count against: the address,
// or its IPv6 network.
func (l *Limiters) addrSubject(a netip.Addr) netip.Prefix { return ratelimit.AddrKey(a, l.v6Bits) }

// AddrBlocked refuses an address over its failure budget with
// ERATELIMITED.
func (l *Limiters) AddrBlocked(a netip.Addr) error {
	if blocked, wait := l.addrs.Blocked(l.addrSubject(a)); blocked {
		l.metrics.rateLimited.Inc()
		return rateLimited(wait, fmt.Sprintf("Too many failed attempts from this address. Wait %d seconds and try again.", seconds(wait)))
	}
	return nil
}

// AddrFailed counts a failure against an address.
func (l *Limiters) AddrFailed(a netip.Addr) { l.addrs.Fail(l.addrSubject(a)) }

// ReservePassword takes one failure from the address's and the account's
// budgets before a password is checked, so concurrent guesses cannot all
// pass a "blocked?" test before any is counted (checklist E7, E10, E11).
// The caller checks the password, then calls done(true) to give both
// back, or done(false) to keep them spent. A refusal says which budget ran
// out; blockedAccount tells the caller to audit a throttled account.
func (l *Limiters) ReservePassword(a netip.Addr, username string) (done func(ok bool), blockedAccount bool, err error) {
	ra, ok, wait := l.addrs.Reserve(l.addrSubject(a))
	if !ok {
		l.metrics.rateLimited.Inc()
		return nil, false, rateLimited(wait, fmt.Sprintf("Too many failed attempts from this address. Wait %d seconds and try again.", seconds(wait)))
	}
	rc, ok, wait := l.accounts.Reserve("account:" + username)
	if !ok {
		ra.Succeeded() // not tried: the address keeps its token
		l.metrics.rateLimited.Inc()
		return nil, true, rateLimited(wait, "Too many failed sign-ins for this account. Wait a little and try again.")
	}
	return func(ok bool) {
		if ok {
			ra.Succeeded()
			rc.Succeeded()
		} else {
			ra.Failed()
			rc.Failed()
		}
	}, false, nil
}

// CountRateLimited counts a request refused with 429 elsewhere (a login
// flow's own limiter) in the same series.
func (l *Limiters) CountRateLimited() { l.metrics.rateLimited.Inc() }

// seconds rounds a wait up to whole seconds, at least one, as
// Retry-After counts it.
func seconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// rateLimited is the ERATELIMITED error.
func rateLimited(wait time.Duration, msg string) error {
	return &gatehouse.Error{Code: gatehouse.ERATELIMITED, Reason: "TOO MANY ATTEMPTS",
		RetryAfter: time.Duration(seconds(wait)) * time.Second, Message: msg}
}
