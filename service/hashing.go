package service

import (
	"context"
	"runtime"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/password"
	"golang.org/x/sync/semaphore"
)

// hasher bounds argon2id across requests (checklist E10): each hash or
// check holds 19 MiB and tens of milliseconds of a core, so a burst of
// sign-ins could otherwise take gigabytes. At most one runs per core; the
// rest wait a little for a slot, then are told to come back.
type hasher struct {
	sem  *semaphore.Weighted
	wait time.Duration
}

// hashWait is how long a password check waits for a free slot.
const hashWait = 5 * time.Second

func newHasher(slots int) *hasher {
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	return &hasher{sem: semaphore.NewWeighted(int64(slots)), wait: hashWait}
}

var errHashBusy = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, RetryAfter: time.Second,
	Message: "The server is busy checking passwords. Try again in a moment."}

// run runs f in a slot: ctx's error if it ends first, errHashBusy if no
// slot frees up within the wait.
func (h *hasher) run(ctx context.Context, f func()) error {
	wctx, cancel := context.WithTimeout(ctx, h.wait)
	defer cancel()
	if err := h.sem.Acquire(wctx, 1); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errHashBusy
	}
	defer h.sem.Release(1)
	f()
	return nil
}

// verify checks pw against hash; a malformed hash is false, with the error.
func (h *hasher) verify(ctx context.Context, hash, pw string) (ok bool, malformed error, err error) {
	err = h.run(ctx, func() { ok, malformed = password.Verify(hash, pw) })
	return ok, malformed, err
}

// dummy spends what a check costs, for a user who does not exist.
func (h *hasher) dummy(ctx context.Context, pw string) error {
	return h.run(ctx, func() { password.VerifyDummy(pw) })
}

// hash hashes a new password.
func (h *hasher) hash(ctx context.Context, pw string) (hash string, err error) {
	var herr error
	if err := h.run(ctx, func() { hash, herr = password.Hash(pw) }); err != nil {
		return "", err
	}
	return hash, herr
}
