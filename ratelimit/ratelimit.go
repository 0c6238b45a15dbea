// Package ratelimit slows down guessing: each subject (an address, see
// [AddrSubject], or an account name) has a budget of failures that refills
// with time. Successes cost nothing, so a client that gets its credential
// right is never slowed.
//
// Memory is bounded by a [cache.Cache] of MaxSubjects buckets (checklist
// I5): past that, the buckets least recently and least frequently used are
// dropped, one at a time; nobody's budget is ever reset wholesale. A full
// bucket is not dropped ahead of that, as dropping it could lose a failure
// being counted in it at the same moment.
//
// The honest limit of any bounded table: a subject that stays quiet while
// an attacker cycles more than MaxSubjects other subjects through it may
// be forgotten, and then starts again with a full budget. A subject that
// keeps trying stays, as each attempt uses its bucket and the cache keeps
// what is used often and lately; so a flood cannot reset an active
// guesser's budget.
package ratelimit

import (
	"math"
	"time"

	"github.com/gatehouse-dev/gatehouse/cache"
)

// Options configure a Limiter.
type Options struct {
	// Burst is how many failures a subject may have in a row. It must be
	// at least 1.
	Burst int
	// Refill is how often one failure is forgiven. It must be positive.
	Refill time.Duration
	// MaxSubjects bounds how many subjects are remembered; 0 means 100,000.
	MaxSubjects int
	// Clock tells the time; nil means time.Now. Tests pass a fake clock.
	Clock func() time.Time
}

// Limiter keeps a failure budget per subject: an address (see
// [AddrKey]), an account name, anything comparable. It is safe for concurrent
// use.
type Limiter[K comparable] struct {
	clock   func() time.Time // nil: time.Since(base)
	base    time.Time        // the zero of the buckets' time line
	refill  int64            // nanoseconds per token
	window  int64            // burst × refill: an empty bucket's time to refill
	buckets *cache.Cache[K, *bucket]
}

// New returns a Limiter. It panics if Burst or Refill is not positive, or
// their product overflows: those are programming errors, as configuration
// is validated before.
func New[K comparable](o Options) *Limiter[K] {
	if o.Burst < 1 || o.Refill <= 0 {
		panic("ratelimit: Options.Burst and Options.Refill must be positive")
	}
	if int64(o.Burst) > math.MaxInt64/int64(o.Refill) {
		panic("ratelimit: Options.Burst × Options.Refill overflows a time.Duration")
	}
	if o.MaxSubjects <= 0 {
		o.MaxSubjects = 100_000
	}
	base := time.Now()
	if o.Clock != nil {
		base = o.Clock()
	}
	return &Limiter[K]{
		clock:  o.Clock,
		base:   base,
		refill: int64(o.Refill),
		window: int64(o.Burst) * int64(o.Refill),
		// No TTL: a bucket's state is in the bucket, not in its age.
		buckets: cache.New[K, *bucket](cache.Options{MaxEntries: o.MaxSubjects}),
	}
}

// now is the time on the buckets' time line. It is measured on the
// monotonic clock when it can be, so a wall-clock step does not refill or
// drain every budget; time.Since reads only that clock, which is cheaper.
func (l *Limiter[K]) now() int64 {
	if l.clock == nil {
		return int64(time.Since(l.base))
	}
	return int64(l.clock().Sub(l.base))
}

// Blocked reports whether subject has used up its budget, and if so how
// long until it may try again. An unknown subject costs no memory.
func (l *Limiter[K]) Blocked(subject K) (blocked bool, retryAfter time.Duration) {
	b, ok := l.buckets.Get(subject)
	if !ok {
		return false, 0
	}
	w := b.wait(l.now(), l.refill, l.window)
	return w > 0, time.Duration(w)
}

// Fail records one failure of subject, for checks cheap enough to make
// first and count after (a malformed or unknown API key). Where checking
// is slow and may run in parallel, use Reserve.
func (l *Limiter[K]) Fail(subject K) {
	l.bucket(subject).take(l.now(), l.refill, l.window)
}

// Reserve takes one failure from subject's budget before a check is made,
// so that parallel guesses cannot all pass a "blocked?" test before any
// of them is counted. If ok, the caller makes the check and then calls
// exactly one of r.Succeeded or r.Failed. If not, it refuses the attempt
// and asks the client to wait retryAfter.
//
// Because tokens are taken up front, at most Burst checks of one subject
// run at once, even when they all succeed: use Reserve for password-like
// checks, and Blocked with Fail where many parallel successes are normal.
func (l *Limiter[K]) Reserve(subject K) (r *Reservation, ok bool, retryAfter time.Duration) {
	b := l.bucket(subject)
	ok, w := b.take(l.now(), l.refill, l.window)
	if !ok {
		return nil, false, time.Duration(w)
	}
	return &Reservation{b: b, refill: l.refill}, true, 0
}

// Len reports how many subjects are remembered, for metrics and tests.
func (l *Limiter[K]) Len() int {
	return l.buckets.Len()
}

// bucket returns subject's bucket, creating a full one if there is none.
// Racing callers get the same bucket.
func (l *Limiter[K]) bucket(subject K) *bucket {
	if b, ok := l.buckets.Get(subject); ok {
		return b
	}
	nb := &bucket{}
	nb.full.Store(l.now())
	b, _ := l.buckets.SetIfAbsent(subject, nb)
	return b
}

// A Reservation is one failure taken from a budget ahead of a check.
type Reservation struct {
	b      *bucket
	refill int64
	done   bool
}

// Succeeded gives the reserved failure back: the check passed. A call
// after Succeeded or Failed does nothing, as does one on a nil
// Reservation. A Reservation is used by one goroutine.
func (r *Reservation) Succeeded() {
	if r == nil || r.done {
		return
	}
	r.done = true
	r.b.giveBack(r.refill)
}

// Failed keeps the reserved failure spent: the check failed.
func (r *Reservation) Failed() {
	if r != nil {
		r.done = true
	}
}
