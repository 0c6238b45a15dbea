package cache

import (
	"context"
	"errors"
)

// A Ticket records the versions that concern one key at a moment. Take it
// with [Cache.Ticket] before a slow lookup, and store the lookup's answer
// with [Cache.SetIfCurrent]: if the key was written or deleted in the
// meantime, the answer may predate the change and is not stored.
//
// The contract: a Set, SetIfAbsent or Delete of the key, or any DeleteFunc
// or Clear, that begins after Ticket returned makes SetIfCurrent refuse.
// Versions are kept in a fixed array of counters that keys share by hash,
// plus one epoch for DeleteFunc and Clear, so memory does not grow with
// the keys; the price is that a write of another key that shares the
// counter also makes SetIfCurrent refuse. Such a false "changed" only
// skips caching one answer. A missed change cannot happen.
type Ticket[K comparable] struct {
	key    K
	epoch  uint64
	ver    uint64
	stripe uint32
}

// Ticket returns the current versions for k. Take it before the lookup
// starts, so that a change committed during the lookup is seen.
func (c *Cache[K, V]) Ticket(k K) Ticket[K] {
	i := c.stripeOf(k)
	// The epoch is read first: a DeleteFunc between the two reads is
	// then caught by the epoch, a Delete by the stripe.
	e := c.epoch.Load()
	return Ticket[K]{key: k, epoch: e, ver: c.stripe[i].ver.Load(), stripe: i}
}

// SetIfCurrent stores v under the ticket's key if nothing that concerns
// the key changed since the ticket was taken, and reports whether it did.
func (c *Cache[K, V]) SetIfCurrent(t Ticket[K], v V) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := &c.stripe[t.stripe]
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.current(t) {
		return false
	}
	c.c.Set(t.key, v)
	return true
}

// current reports whether t's versions still hold. Without the locks it
// may be out of date by the time it returns; SetIfCurrent holds them.
func (c *Cache[K, V]) current(t Ticket[K]) bool {
	return c.epoch.Load() == t.epoch && c.stripe[t.stripe].ver.Load() == t.ver
}

// ErrNoStore, returned by a loader given to [Cache.GetOrLoad], hands the
// loaded value to the callers without storing it: for answers that must
// not be remembered, such as a 404 for a subdir that does not exist.
// GetOrLoad then returns the value and a nil error.
var ErrNoStore = errors.New("cache: do not store this value")

// errLoadPanicked is what callers sharing a load see when it panicked;
// the caller that ran it gets the panic itself.
var errLoadPanicked = errors.New("cache: the shared load panicked")

// call is one load in flight, shared by the callers that asked for its
// key while it ran.
type call[K comparable, V any] struct {
	t    Ticket[K] // taken before load started
	done chan struct{}
	val  V
	err  error
	// joined counts the callers that share this load, for tests.
	joined int
}

// GetOrLoad returns k's value, calling load on a miss. Concurrent misses
// of one key share one call of load, and its answer is stored only if
// still current (see [Ticket]). A caller that arrives after a change of k
// does not share a load that started before it, but starts its own.
//
// Errors are returned, not stored. A loader returns ErrNoStore to answer
// without storing. If the caller that runs load has its context canceled,
// the callers sharing the load retry with their own context. load runs
// with the context of the first caller, and must not call the cache for k.
func (c *Cache[K, V]) GetOrLoad(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	if v, ok := c.c.GetIfPresent(k); ok {
		return v, nil
	}
	for {
		c.flights.Lock()
		if v, ok := c.c.GetIfPresent(k); ok {
			// Stored by a load that finished since the first look.
			c.flights.Unlock()
			return v, nil
		}
		if f := c.calls[k]; f != nil && c.current(f.t) {
			f.joined++
			c.flights.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				var zero V
				return zero, ctx.Err()
			}
			if f.err != nil && isContextErr(f.err) && ctx.Err() == nil {
				continue // the leader gave up; we have not
			}
			return f.val, f.err
		}
		f := &call[K, V]{t: c.Ticket(k), done: make(chan struct{})}
		c.calls[k] = f
		c.flights.Unlock()
		return c.run(ctx, f, load)
	}
}

func (c *Cache[K, V]) run(ctx context.Context, f *call[K, V], load func(context.Context) (V, error)) (v V, err error) {
	returned := false
	defer func() {
		if !returned {
			// load panicked or called runtime.Goexit: release the callers
			// waiting for it, and let the panic go on.
			f.err = errLoadPanicked
		}
		c.flights.Lock()
		if c.calls[f.t.key] == f {
			delete(c.calls, f.t.key)
		}
		c.flights.Unlock()
		close(f.done)
	}()
	v, err = load(ctx)
	returned = true
	switch {
	case errors.Is(err, ErrNoStore):
		err = nil
	case err == nil:
		c.SetIfCurrent(f.t, v)
	}
	f.val, f.err = v, err
	return v, err
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
