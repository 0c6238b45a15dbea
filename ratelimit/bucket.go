package ratelimit

import "sync/atomic"

// bucket is one subject's failure budget: a token bucket of burst tokens
// that refills one token every refill. It is kept as the single number of
// the generic cell rate algorithm, the time at which the bucket will be
// full again, so that taking and returning a token are lock-free.
//
// golang.org/x/time/rate is not used: a token it has handed out can be
// returned (Reservation.Cancel) only before the reservation's time to act,
// which for a token available at once is the moment it was taken, so a
// token could not be given back after a password check succeeded.
type bucket struct {
	// full is when the bucket is full again, in nanoseconds on the
	// limiter's time line. At or before now, the bucket is full.
	full atomic.Int64
}

// take takes one token at now, or reports how long until one is free.
// A refused take changes nothing, so hammering a blocked subject does not
// push its wait further.
func (b *bucket) take(now, refill, window int64) (ok bool, wait int64) {
	for {
		full := b.full.Load()
		next := max(full, now) + refill
		if next-now > window {
			return false, next - now - window
		}
		if b.full.CompareAndSwap(full, next) {
			return true, 0
		}
	}
}

// wait reports how long until a token is free at now; 0 if one is.
func (b *bucket) wait(now, refill, window int64) int64 {
	return max(0, max(b.full.Load(), now)+refill-now-window)
}

// giveBack returns a token taken earlier. Tokens refill with time in any
// case, so it only undoes the take: a bucket that would overflow stays
// merely full, because take counts from max(full, now).
func (b *bucket) giveBack(refill int64) {
	b.full.Add(-refill)
}
