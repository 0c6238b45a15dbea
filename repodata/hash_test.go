package repodata_test

import (
	"crypto/sha256"
	"hash"
	"sync/atomic"
	"time"
)

func sha256New() hash.Hash { return sha256.New() }

// testClock is a clock the test moves; safe for the cache's goroutines.
type testClock struct{ t atomic.Pointer[time.Time] }

func (c *testClock) now() time.Time  { return *c.t.Load() }
func (c *testClock) set(t time.Time) { c.t.Store(&t) }
