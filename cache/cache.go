// Package cache is the one in-memory cache of the server: bounded by entry
// count, with a per-entry time to live, and safe against the race in which
// a slow lookup returns an answer that a concurrent eviction has already
// made stale (see [Ticket]).
//
// It is built on github.com/maypok86/otter/v2: lock-free reads with no
// allocation, W-TinyLFU eviction (recency and frequency, so a flood of
// one-off keys does not push out the keys in use), expiry on a timer wheel
// driven by an injectable clock. golang-lru/v2 was the alternative; its
// expirable LRU reads time.Now itself, so expiry could not be tested
// without sleeping, and every read takes a lock.
package cache

import (
	"hash/maphash"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// Options configure a Cache.
type Options struct {
	// MaxEntries bounds the number of entries. When full, the cache evicts
	// the entries least likely to be used again; it never empties itself.
	// It must be positive, except for NewWeighted.
	MaxEntries int
	// MaxWeight bounds, for NewWeighted only, the sum of the entries'
	// weights instead (bytes, for a cache of file contents).
	MaxWeight uint64
	// TTL is how long an entry lives after it was stored. Zero means no
	// expiry: entries leave only by eviction or deletion.
	TTL time.Duration
	// Clock tells the time for expiry; nil means time.Now. Tests pass a
	// fake clock to move time without sleeping.
	Clock func() time.Time
}

// stripes is the number of version counters a cache keeps for Tickets.
// More stripes mean fewer loads skipped because a different key that
// shares a counter was deleted; each costs 16 bytes.
const stripes = 1024

// Cache is a bounded, expiring map from K to V, safe for concurrent use.
// Get never blocks and, for small K and V, never allocates. Make one with
// New; the zero Cache is not usable.
type Cache[K comparable, V any] struct {
	c    *otter.Cache[K, V]
	seed maphash.Seed

	// mu orders writes against the changes that concern every key:
	// Set, SetIfCurrent and Delete hold it for reading, DeleteFunc and
	// Clear for writing, so no conditional write can slip between a
	// DeleteFunc's epoch bump and its sweep.
	mu    sync.RWMutex
	epoch atomic.Uint64
	// stripe i counts the writes to the keys that hash to i. Its mutex
	// makes "check the version, then store" atomic with respect to
	// "bump the version, then delete".
	stripe [stripes]struct {
		mu  sync.Mutex
		ver atomic.Uint64
	}

	flights sync.Mutex
	calls   map[K]*call[K, V]
}

// New returns an empty cache. It panics if MaxEntries is not positive: an
// unbounded cache is what this package exists to replace.
func New[K comparable, V any](o Options) *Cache[K, V] {
	if o.MaxEntries <= 0 || o.MaxWeight != 0 {
		panic("cache: Options.MaxEntries must be positive (MaxWeight is for NewWeighted)")
	}
	return newCache(o, &otter.Options[K, V]{MaximumSize: o.MaxEntries})
}

// NewWeighted returns an empty cache bounded by o.MaxWeight, the sum of
// weigh over its entries. It panics if MaxWeight is zero or MaxEntries is
// set.
func NewWeighted[K comparable, V any](o Options, weigh func(K, V) uint32) *Cache[K, V] {
	if o.MaxWeight == 0 || o.MaxEntries != 0 || weigh == nil {
		panic("cache: NewWeighted needs Options.MaxWeight and a weigh function, and no MaxEntries")
	}
	return newCache(o, &otter.Options[K, V]{MaximumWeight: o.MaxWeight, Weigher: weigh})
}

func newCache[K comparable, V any](o Options, oo *otter.Options[K, V]) *Cache[K, V] {
	if o.TTL > 0 {
		oo.ExpiryCalculator = otter.ExpiryWriting[K, V](o.TTL)
	}
	if o.Clock != nil {
		oo.Clock = clock(o.Clock)
	}
	return &Cache[K, V]{
		c:     otter.Must(oo),
		seed:  maphash.MakeSeed(),
		calls: make(map[K]*call[K, V]),
	}
}

// clock adapts a time function to otter's clock. The ticks only pace the
// periodic sweep of expired entries; whether an entry expired is always
// judged by the function, so a fake clock needs no fake ticks.
type clock func() time.Time

func (f clock) NowNano() int64 { return f().UnixNano() }

func (f clock) Tick(d time.Duration) <-chan time.Time {
	// The sweeping goroutine returns once the cache is unreachable, and
	// the ticker is collected with it.
	return time.Tick(d)
}

// Get returns the live value stored under k, if any.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	return c.c.GetIfPresent(k)
}

// Set stores v under k. A load of k in flight is not stored afterwards:
// its answer may be older than v.
func (c *Cache[K, V]) Set(k K, v V) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := &c.stripe[c.stripeOf(k)]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ver.Add(1)
	c.c.Set(k, v)
}

// SetIfAbsent stores v under k unless k has a live value. It returns the
// value k now has and whether it is v, so that callers racing to create
// one shared value (a rate-limit bucket) all get the same one.
func (c *Cache[K, V]) SetIfAbsent(k K, v V) (actual V, stored bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := &c.stripe[c.stripeOf(k)]
	s.mu.Lock()
	defer s.mu.Unlock()
	actual, stored = c.c.SetIfAbsent(k, v)
	if stored {
		s.ver.Add(1)
	}
	return actual, stored
}

// Delete removes k, for instance after the thing it caches was revoked.
// Any load of k that started before Delete returns its answer to its
// callers but does not store it.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := &c.stripe[c.stripeOf(k)]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ver.Add(1)
	c.c.Invalidate(k)
}

// DeleteFunc removes every entry for which del returns true, for instance
// every key of a user whose rights changed. As the cache cannot know
// which keys in flight del would have matched, every load that started
// before DeleteFunc is not stored. del must not call the cache.
func (c *Cache[K, V]) DeleteFunc(del func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch.Add(1)
	for k, v := range c.c.All() {
		if del(k, v) {
			c.c.Invalidate(k)
		}
	}
}

// Clear removes every entry, and every load in flight is not stored.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch.Add(1)
	c.c.InvalidateAll()
}

// Len reports the number of entries, after applying pending evictions and
// expiries, so it is at most MaxEntries when no write is under way.
// While writes go on, the cache may briefly exceed MaxEntries: otter
// admits a write before it evicts for it, and runs behind by up to its
// write buffer (128 × GOMAXPROCS rounded up to a power of two), twice
// while a drain is under way. Len is meant for metrics and tests, not for
// the hot path.
func (c *Cache[K, V]) Len() int {
	c.c.CleanUp()
	return c.c.EstimatedSize()
}

// Weight reports the sum of the entries' weights in a NewWeighted cache,
// after pending evictions, with the same lag as Len while writes go on.
func (c *Cache[K, V]) Weight() uint64 {
	c.c.CleanUp()
	return c.c.WeightedSize()
}

func (c *Cache[K, V]) stripeOf(k K) uint32 {
	return uint32(maphash.Comparable(c.seed, k) % stripes)
}

// All returns the live entries, in no particular order, without changing
// any version: for diagnostics and tests, not for the hot path.
func (c *Cache[K, V]) All() iter.Seq2[K, V] { return c.c.All() }
