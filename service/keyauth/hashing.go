package keyauth

import (
	"context"
	"runtime"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/password"
	"golang.org/x/sync/semaphore"
)

// Slots bound work whose cost does not depend on who asks, across
// requests: argon2id hashes, and package inspections (checklist F15: each
// may decompress up to its budget, and twenty at once took a gigabyte).
type Slots struct {
	sem  *semaphore.Weighted
	wait time.Duration
	busy *gatehouse.Error
}

func NewSlots(n int, wait time.Duration, busy *gatehouse.Error) *Slots {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Slots{sem: semaphore.NewWeighted(int64(n)), wait: wait, busy: busy}
}

// Run runs f in a slot: ctx's error if it ends first, the busy error if
// no slot frees up within the wait.
func (s *Slots) Run(ctx context.Context, f func() error) error {
	wctx, cancel := context.WithTimeout(ctx, s.wait)
	defer cancel()
	if err := s.sem.Acquire(wctx, 1); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.busy
	}
	defer s.sem.Release(1)
	return f()
}

// Hasher bounds argon2id across requests (checklist E10): each hash or
// check holds 19 MiB and tens of milliseconds of a core, so a burst of
// sign-ins could otherwise take gigabytes. At most one runs per core; the
// rest wait a little for a slot, then are told to come back.
type Hasher struct{ *Slots }

// hashWait is how long a password check waits for a free slot.
const hashWait = 5 * time.Second

func newHasher(n int) *Hasher { return &Hasher{NewSlots(n, hashWait, errHashBusy)} }

var errHashBusy = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, RetryAfter: time.Second,
	Message: "The server is busy checking passwords. Try again in a moment."}

// Verify checks pw against hash; a malformed hash is false, with the error.
func (h *Hasher) Verify(ctx context.Context, hash, pw string) (ok bool, malformed error, err error) {
	err = h.Run(ctx, func() error { ok, malformed = password.Verify(hash, pw); return nil })
	return ok, malformed, err
}

// dummy spends what a check costs, for a user who does not exist.
func (h *Hasher) dummy(ctx context.Context, pw string) error {
	return h.Run(ctx, func() error { password.VerifyDummy(pw); return nil })
}

// Hash hashes a new password.
func (h *Hasher) Hash(ctx context.Context, pw string) (hash string, err error) {
	err = h.Run(ctx, func() (err error) { hash, err = password.Hash(pw); return err })
	return hash, err
}
