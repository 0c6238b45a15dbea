package server

import (
	"math"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"golang.org/x/time/rate"
)

// failureLimiter slows down repeated failures (bad keys, wrong passwords)
// per subject: an address or an account name. Each subject has a token
// bucket; a failure takes a token, and an empty bucket refuses further
// attempts with 429 until it refills. Successes cost nothing, so a client
// that gets its credential right is never slowed. Memory is bounded: past
// max subjects, full buckets are dropped first (checklist I5).
type failureLimiter struct {
	now   gatehouse.Clock
	burst int
	every rate.Limit
	max   int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

func newFailureLimiter(now gatehouse.Clock, burst int, refill time.Duration, max int) *failureLimiter {
	return &failureLimiter{now: now, burst: burst, every: rate.Every(refill), max: max, buckets: make(map[string]*rate.Limiter)}
}

// blocked reports whether subject has used its budget, and if so how many
// seconds until it may try again.
func (l *failureLimiter) blocked(subject string) (bool, int) {
	now := l.now()
	l.mu.Lock()
	b := l.buckets[subject]
	l.mu.Unlock()
	if b == nil {
		return false, 0
	}
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	wait := (1 - tokens) / float64(l.every)
	return true, int(math.Ceil(wait))
}

// fail records one failure by subject.
func (l *failureLimiter) fail(subject string) {
	now := l.now()
	l.mu.Lock()
	b := l.buckets[subject]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.pruneLocked(now)
		}
		b = rate.NewLimiter(l.every, l.burst)
		l.buckets[subject] = b
	}
	l.mu.Unlock()
	b.AllowN(now, 1)
}

func (l *failureLimiter) pruneLocked(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.max {
		// Every bucket is busy: an attack from very many addresses. Start
		// over rather than grow without bound.
		clear(l.buckets)
	}
}

func rateLimited(retryAfter int) error {
	if retryAfter < 1 {
		retryAfter = 1
	}
	return &credError{
		Err:        gatehouse.Errorf(gatehouse.ERATELIMITED, "Too many failed attempts from this address. Wait %d seconds and try again.", retryAfter),
		Reason:     "TOO MANY ATTEMPTS",
		RetryAfter: retryAfter,
	}
}
