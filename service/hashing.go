package service

import (
	"context"
	"runtime"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/password"
	"golang.org/x/sync/semaphore"
)

// slots bound work whose cost does not depend on who asks, across
// requests: argon2id hashes, and package inspections (checklist F15: each
// may decompress up to its budget, and twenty at once took a gigabyte).
type slots struct {
	sem  *semaphore.Weighted
	wait time.Duration
	busy *gatehouse.Error
}

func newSlots(n int, wait time.Duration, busy *gatehouse.Error) *slots {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &slots{sem: semaphore.NewWeighted(int64(n)), wait: wait, busy: busy}
}

// run runs f in a slot: ctx's error if it ends first, the busy error if
// no slot frees up within the wait.
func (s *slots) run(ctx context.Context, f func() error) error {
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

var errInspectBusy = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, RetryAfter: 5 * time.Second,
	Message: "The server is busy checking other packages. Try the upload again in a few seconds."}

// inspectWait is how long an upload waits for a free inspection slot.
const inspectWait = time.Minute

// hasher bounds argon2id across requests (checklist E10): each hash or
// check holds 19 MiB and tens of milliseconds of a core, so a burst of
// sign-ins could otherwise take gigabytes. At most one runs per core; the
// rest wait a little for a slot, then are told to come back.
type hasher struct{ *slots }

// hashWait is how long a password check waits for a free slot.
const hashWait = 5 * time.Second

func newHasher(n int) *hasher { return &hasher{newSlots(n, hashWait, errHashBusy)} }

var errHashBusy = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, RetryAfter: time.Second,
	Message: "The server is busy checking passwords. Try again in a moment."}

// verify checks pw against hash; a malformed hash is false, with the error.
func (h *hasher) verify(ctx context.Context, hash, pw string) (ok bool, malformed error, err error) {
	err = h.run(ctx, func() error { ok, malformed = password.Verify(hash, pw); return nil })
	return ok, malformed, err
}

// dummy spends what a check costs, for a user who does not exist.
func (h *hasher) dummy(ctx context.Context, pw string) error {
	return h.run(ctx, func() error { password.VerifyDummy(pw); return nil })
}

// hash hashes a new password.
func (h *hasher) hash(ctx context.Context, pw string) (hash string, err error) {
	err = h.run(ctx, func() (err error) { hash, err = password.Hash(pw); return err })
	return hash, err
}
