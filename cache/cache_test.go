package cache

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told. It reads in a non-UTC
// zone, which must make no difference to expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 29, 1, 30, 0, 0, time.FixedZone("UTC+05:30", 5*3600+1800))}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func TestTTL(t *testing.T) {
	const ttl = 5 * time.Second
	tests := []struct {
		name    string
		ttl     time.Duration
		steps   func(c *Cache[string, int], clk *fakeClock)
		wantHit bool
	}{
		{"an entry is served until its TTL has passed", ttl, func(c *Cache[string, int], clk *fakeClock) {
			clk.Advance(ttl - time.Nanosecond)
		}, true},
		{"an entry is gone once its TTL has passed", ttl, func(c *Cache[string, int], clk *fakeClock) {
			clk.Advance(ttl)
		}, false},
		{"an entry set again lives a full TTL from the new write", ttl, func(c *Cache[string, int], clk *fakeClock) {
			clk.Advance(ttl - time.Second)
			c.Set("k", 1)
			clk.Advance(ttl - time.Nanosecond)
		}, true},
		{"a zero TTL means entries do not expire", 0, func(c *Cache[string, int], clk *fakeClock) {
			clk.Advance(100 * 365 * 24 * time.Hour)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			c := New[string, int](Options{MaxEntries: 10, TTL: tt.ttl, Clock: clk.Now})
			c.Set("k", 1)
			tt.steps(c, clk)
			if _, hit := c.Get("k"); hit != tt.wantHit {
				t.Fatalf("Get hit = %v, want %v", hit, tt.wantHit)
			}
		})
	}
}

func TestSizeBound(t *testing.T) {
	const maxEntries = 1000
	t.Run("ten times MaxEntries distinct inserts leave at most MaxEntries, and not an emptied cache", func(t *testing.T) {
		c := New[int, int](Options{MaxEntries: maxEntries})
		for i := range 10 * maxEntries {
			c.Set(i, i)
		}
		n := c.Len()
		t.Logf("Len() = %d after %d inserts", n, 10*maxEntries)
		if n > maxEntries {
			t.Fatalf("Len() = %d, want ≤ %d", n, maxEntries)
		}
		// Otter may evict a little before the limit; it never clears.
		if n < maxEntries*9/10 {
			t.Fatalf("Len() = %d, want close to %d: the cache must evict, not clear", n, maxEntries)
		}
	})
	t.Run("concurrent inserts stay within the write-buffer slack while running and within MaxEntries after", func(t *testing.T) {
		c := New[int, int](Options{MaxEntries: maxEntries})
		const writers = 8
		slack := writeBufferSlack()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var worst int
		var sampler sync.WaitGroup
		sampler.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				worst = max(worst, c.c.EstimatedSize())
				runtime.Gosched()
			}
		})
		for w := range writers {
			wg.Go(func() {
				for i := range 10 * maxEntries {
					c.Set(w*10*maxEntries+i, i)
				}
			})
		}
		wg.Wait()
		close(stop)
		sampler.Wait()
		t.Logf("largest size seen while writing: %d (MaxEntries %d, slack %d)", worst, maxEntries, slack)
		if worst > maxEntries+slack {
			t.Errorf("size reached %d while writing, want ≤ %d + %d", worst, maxEntries, slack)
		}
		if n := c.Len(); n > maxEntries {
			t.Errorf("Len() = %d after the writes, want ≤ %d", n, maxEntries)
		}
	})
}

// writeBufferSlack is how far otter may run ahead of its evictions while
// writes go on: the writes it has admitted but not yet given to its policy
// sit in a buffer of 128 × GOMAXPROCS (rounded up to a power of two)
// tasks, a drain in progress holds up to as many more, and each writer
// holds one. Measured, 8 writers on 2 cores peak at about twice the
// buffer; the assertion allows four times, for the skew of otter's
// striped size counter, so that it cannot flake yet still proves the
// size does not grow with the number of inserts.
func writeBufferSlack() int {
	p := 1
	for p < min(runtime.GOMAXPROCS(0), runtime.NumCPU()) {
		p *= 2
	}
	return 4 * 128 * p
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name    string
		del     func(c *Cache[string, int])
		wantLen int
	}{
		{"Delete removes only its key", func(c *Cache[string, int]) { c.Delete("a") }, 2},
		{"Delete of an absent key changes nothing", func(c *Cache[string, int]) { c.Delete("zzz") }, 3},
		{"DeleteFunc removes every entry it matches", func(c *Cache[string, int]) {
			c.DeleteFunc(func(k string, v int) bool { return v%2 == 1 })
		}, 1},
		{"Clear removes everything", func(c *Cache[string, int]) { c.Clear() }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string, int](Options{MaxEntries: 10})
			for i, k := range []string{"a", "b", "c"} {
				c.Set(k, i+1)
			}
			tt.del(c)
			if n := c.Len(); n != tt.wantLen {
				t.Fatalf("Len() = %d, want %d", n, tt.wantLen)
			}
		})
	}
}

func TestSetIfAbsent(t *testing.T) {
	t.Run("racing creators all get the one value that was stored", func(t *testing.T) {
		c := New[string, *int](Options{MaxEntries: 10})
		const n = 16
		got := make([]*int, n)
		stored := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i], stored[i] = c.SetIfAbsent("k", new(int)) })
		}
		wg.Wait()
		winners := 0
		for i := range n {
			if stored[i] {
				winners++
			}
			if got[i] != got[0] {
				t.Fatalf("caller %d got a different value than caller 0", i)
			}
		}
		if winners != 1 {
			t.Fatalf("%d callers stored, want 1", winners)
		}
	})
	t.Run("an expired value counts as absent", func(t *testing.T) {
		clk := newFakeClock()
		c := New[string, *int](Options{MaxEntries: 10, TTL: time.Second, Clock: clk.Now})
		c.Set("k", new(int))
		clk.Advance(time.Second)
		fresh := new(int)
		if v, stored := c.SetIfAbsent("k", fresh); !stored || v != fresh {
			t.Fatalf("SetIfAbsent = %p, %v; want the new value, true", v, stored)
		}
	})
}

func TestNewPanicsWithoutABound(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New with MaxEntries 0 did not panic")
		}
	}()
	New[string, int](Options{})
}

func ExampleCache_DeleteFunc() {
	type key struct{ user, id int }
	c := New[key, string](Options{MaxEntries: 100, TTL: 5 * time.Second})
	c.Set(key{1, 1}, "alice's first key")
	c.Set(key{1, 2}, "alice's second key")
	c.Set(key{2, 1}, "bob's key")
	// Alice was disabled: forget every key of hers.
	c.DeleteFunc(func(k key, _ string) bool { return k.user == 1 })
	fmt.Println(c.Len())
	// Output: 1
}

func TestWeightBound(t *testing.T) {
	// A cache of file contents is bounded in bytes, not entries: 100
	// files of 10 kB in a 64 kB budget keep at most 64 kB, and what
	// stays answers with its own bytes.
	c := NewWeighted(Options{MaxWeight: 64 << 10}, func(_ string, v []byte) uint32 { return uint32(len(v)) })
	for i := range 100 {
		c.Set(fmt.Sprint(i), bytes.Repeat([]byte{byte(i)}, 10_000))
	}
	if w := c.Weight(); w > 64<<10 || w == 0 {
		t.Fatalf("weight %d after 100 sets of 10 kB, want 1..%d", w, 64<<10)
	}
	for k, v := range c.All() {
		if len(v) != 10_000 || v[0] != byte(must(strconv.Atoi(k))) {
			t.Fatalf("%s holds the wrong bytes", k)
		}
	}
	for _, o := range []Options{{}, {MaxEntries: 5, MaxWeight: 10}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewWeighted(%+v) did not panic", o)
				}
			}()
			NewWeighted(o, func(string, []byte) uint32 { return 1 })
		}()
	}
	defer func() {
		if recover() == nil {
			t.Error("New with MaxWeight did not panic")
		}
	}()
	New[string, int](Options{MaxEntries: 5, MaxWeight: 10})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
