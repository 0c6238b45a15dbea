package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// otherStripeKey returns a key that does not share k's version counter.
func otherStripeKey(c *Cache[string, int], k string) string {
	for i := 0; ; i++ {
		o := fmt.Sprintf("other-%d", i)
		if c.stripeOf(o) != c.stripeOf(k) {
			return o
		}
	}
}

// changes are the writes that must stop an answer read before them from
// being stored.
var changes = []struct {
	name      string
	change    func(c *Cache[string, int])
	wantStore bool
}{
	{"nothing changed", func(c *Cache[string, int]) {}, true},
	{"another key on another stripe was deleted", func(c *Cache[string, int]) { c.Delete(otherStripeKey(c, "k")) }, true},
	{"the key was deleted", func(c *Cache[string, int]) { c.Delete("k") }, false},
	{"the key was set", func(c *Cache[string, int]) { c.Set("k", 2) }, false},
	{"DeleteFunc ran, even matching nothing", func(c *Cache[string, int]) {
		c.DeleteFunc(func(string, int) bool { return false })
	}, false},
	{"Clear ran", func(c *Cache[string, int]) { c.Clear() }, false},
}

func TestSetIfCurrent(t *testing.T) {
	for _, tt := range changes {
		name := "an answer is not stored when " + tt.name + " during the lookup"
		if tt.wantStore {
			name = "an answer is stored when " + tt.name + " during the lookup"
		}
		t.Run(name, func(t *testing.T) {
			c := New[string, int](Options{MaxEntries: 10})
			tk := c.Ticket("k")
			tt.change(c)
			if got := c.SetIfCurrent(tk, 1); got != tt.wantStore {
				t.Fatalf("SetIfCurrent = %v, want %v", got, tt.wantStore)
			}
			v, ok := c.Get("k")
			if tt.wantStore && (!ok || v != 1) {
				t.Fatalf("Get = %d, %v; want the stored answer 1", v, ok)
			}
			if !tt.wantStore && ok && v == 1 {
				t.Fatal("the stale answer was stored")
			}
		})
	}
	t.Run("an answer is stored when the key was deleted before the ticket was taken", func(t *testing.T) {
		c := New[string, int](Options{MaxEntries: 10})
		c.Delete("k")
		if !c.SetIfCurrent(c.Ticket("k"), 1) {
			t.Fatal("SetIfCurrent refused a ticket taken after the change")
		}
	})
}

// blockingLoad is a loader that waits to be released, so a test can act
// while it is in flight.
type blockingLoad struct {
	calls   atomic.Int32
	started chan struct{}
	release chan struct{}
	val     int
	err     error
}

func newBlockingLoad(val int, err error) *blockingLoad {
	return &blockingLoad{started: make(chan struct{}, 100), release: make(chan struct{}), val: val, err: err}
}

func (b *blockingLoad) load(ctx context.Context) (int, error) {
	b.calls.Add(1)
	b.started <- struct{}{}
	select {
	case <-b.release:
		return b.val, b.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// waitJoined polls until n callers share the load of k in flight.
func waitJoined(t *testing.T, c *Cache[string, int], k string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.flights.Lock()
		joined := -1
		if f := c.calls[k]; f != nil {
			joined = f.joined
		}
		c.flights.Unlock()
		if joined >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers joined the load, want %d", joined, n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestGetOrLoadChangeDuringLoad(t *testing.T) {
	for _, tt := range changes {
		name := "a load's answer goes to its caller but is not stored when " + tt.name + " while it ran"
		if tt.wantStore {
			name = "a load's answer goes to its caller and is stored when " + tt.name + " while it ran"
		}
		t.Run(name, func(t *testing.T) {
			c := New[string, int](Options{MaxEntries: 10})
			l := newBlockingLoad(1, nil)
			type result struct {
				v   int
				err error
			}
			res := make(chan result)
			go func() {
				v, err := c.GetOrLoad(t.Context(), "k", l.load)
				res <- result{v, err}
			}()
			<-l.started
			tt.change(c)
			close(l.release)
			r := <-res
			if r.err != nil || r.v != 1 {
				t.Fatalf("GetOrLoad = %d, %v; want 1, nil", r.v, r.err)
			}
			v, ok := c.Get("k")
			if stored := ok && v == 1; stored != tt.wantStore {
				t.Fatalf("answer stored = %v, want %v", stored, tt.wantStore)
			}
		})
	}
}

func TestGetOrLoad(t *testing.T) {
	t.Run("concurrent misses of one key share one load", func(t *testing.T) {
		c := New[string, int](Options{MaxEntries: 10})
		l := newBlockingLoad(7, nil)
		const n = 32
		var wg sync.WaitGroup
		got := make([]int, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { got[i], errs[i] = c.GetOrLoad(t.Context(), "k", l.load) })
		}
		<-l.started
		waitJoined(t, c, "k", n-1)
		close(l.release)
		wg.Wait()
		if calls := l.calls.Load(); calls != 1 {
			t.Fatalf("load called %d times, want 1", calls)
		}
		for i := range n {
			if got[i] != 7 || errs[i] != nil {
				t.Fatalf("caller %d got %d, %v; want 7, nil", i, got[i], errs[i])
			}
		}
		if v, ok := c.Get("k"); !ok || v != 7 {
			t.Fatalf("Get = %d, %v; want 7, true", v, ok)
		}
	})

	t.Run("a hit does not call load", func(t *testing.T) {
		c := New[string, int](Options{MaxEntries: 10})
		c.Set("k", 3)
		v, err := c.GetOrLoad(t.Context(), "k", func(context.Context) (int, error) {
			t.Fatal("load called on a hit")
			return 0, nil
		})
		if v != 3 || err != nil {
			t.Fatalf("GetOrLoad = %d, %v; want 3, nil", v, err)
		}
	})

	t.Run("a caller arriving after a Delete starts its own load instead of sharing the stale one", func(t *testing.T) {
		c := New[string, int](Options{MaxEntries: 10})
		stale := newBlockingLoad(1, nil)
		done := make(chan int)
		go func() {
			v, _ := c.GetOrLoad(t.Context(), "k", stale.load)
			done <- v
		}()
		<-stale.started
		c.Delete("k")
		v, err := c.GetOrLoad(t.Context(), "k", func(context.Context) (int, error) { return 2, nil })
		if v != 2 || err != nil {
			t.Fatalf("GetOrLoad after Delete = %d, %v; want the fresh 2, nil", v, err)
		}
		close(stale.release)
		if v := <-done; v != 1 {
			t.Fatalf("the first caller got %d, want its own answer 1", v)
		}
		if v, _ := c.Get("k"); v != 2 {
			t.Fatalf("Get = %d, want 2: the stale load must not overwrite the fresh answer", v)
		}
	})

	t.Run("errors go to every caller sharing the load and are not stored", func(t *testing.T) {
		c := New[string, int](Options{MaxEntries: 10})
		boom := errors.New("database is down")
		l := newBlockingLoad(0, boom)
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = c.GetOrLoad(t.Context(), "k", l.load) })
		}
		<-l.started
		waitJoined(t, c, "k", n-1)
		close(l.release)
		wg.Wait()
		for i, err := range errs {
			if !errors.Is(err, boom) {
				t.Fatalf("caller %d got %v, want %v", i, err, boom)
			}
		}
		if _, ok := c.Get("k"); ok {
			t.Fatal("an error was stored")
		}
		if _, err := c.GetOrLoad(t.Context(), "k", func(context.Context) (int, error) { return 1, nil }); err != nil {
			t.Fatalf("the next GetOrLoad did not load again: %v", err)
		}
	})

	t.Run("a load that returns ErrNoStore answers every caller and stores nothing", func(t *testing.T) {
		c := New[string, int](Options{MaxEntries: 10})
		var calls atomic.Int32
		load := func(context.Context) (int, error) {
			calls.Add(1)
			return 404, fmt.Errorf("no such subdir: %w", ErrNoStore)
		}
		for range 2 {
			v, err := c.GetOrLoad(t.Context(), "k", load)
			if v != 404 || err != nil {
				t.Fatalf("GetOrLoad = %d, %v; want 404, nil", v, err)
			}
		}
		if calls.Load() != 2 {
			t.Fatalf("load called %d times, want 2: nothing may be stored", calls.Load())
		}
		if n := c.Len(); n != 0 {
			t.Fatalf("Len() = %d, want 0", n)
		}
	})

	t.Run("a caller whose context ends stops waiting for a shared load", func(t *testing.T) {
		c := New[string, int](Options{MaxEntries: 10})
		l := newBlockingLoad(1, nil)
		go c.GetOrLoad(t.Context(), "k", l.load)
		<-l.started
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := c.GetOrLoad(ctx, "k", l.load); !errors.Is(err, context.Canceled) {
			t.Fatalf("GetOrLoad = %v, want context.Canceled", err)
		}
		close(l.release)
	})

	t.Run("callers sharing a load retry with their own context when the first caller's ends", func(t *testing.T) {
		c := New[string, int](Options{MaxEntries: 10})
		l := newBlockingLoad(1, nil)
		leaderCtx, cancelLeader := context.WithCancel(t.Context())
		leaderErr := make(chan error)
		go func() {
			_, err := c.GetOrLoad(leaderCtx, "k", l.load)
			leaderErr <- err
		}()
		<-l.started
		res := make(chan error)
		go func() {
			v, err := c.GetOrLoad(t.Context(), "k", l.load)
			if err == nil && v != 1 {
				err = fmt.Errorf("got %d, want 1", v)
			}
			res <- err
		}()
		waitJoined(t, c, "k", 1)
		cancelLeader()
		if err := <-leaderErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("leader got %v, want context.Canceled", err)
		}
		<-l.started // the waiter's own load
		close(l.release)
		if err := <-res; err != nil {
			t.Fatalf("waiter: %v", err)
		}
	})

	t.Run("a load that panics releases the callers sharing it with an error", func(t *testing.T) {
		c := New[string, int](Options{MaxEntries: 10})
		started, release := make(chan struct{}), make(chan struct{})
		panicked := make(chan any)
		go func() {
			defer func() { panicked <- recover() }()
			c.GetOrLoad(t.Context(), "k", func(context.Context) (int, error) {
				close(started)
				<-release
				panic("bug in loader")
			})
		}()
		<-started
		res := make(chan error)
		go func() {
			_, err := c.GetOrLoad(t.Context(), "k", nil)
			res <- err
		}()
		waitJoined(t, c, "k", 1)
		close(release)
		if p := <-panicked; p != "bug in loader" {
			t.Fatalf("the loading caller recovered %v, want the loader's panic", p)
		}
		if err := <-res; !errors.Is(err, errLoadPanicked) {
			t.Fatalf("the waiting caller got %v, want errLoadPanicked", err)
		}
	})
}

// TestNoMissedChange races loads against deletes of the keys they load,
// and checks the contract of Ticket: once everything has stopped, no key
// holds a value older than the last change of its source.
func TestNoMissedChange(t *testing.T) {
	const keys = 8
	c := New[int, int64](Options{MaxEntries: 100})
	var source [keys]atomic.Int64
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 3000 {
				k := (w + i) % keys
				c.GetOrLoad(ctx, k, func(context.Context) (int64, error) {
					return source[k].Load(), nil
				})
			}
		})
	}
	for w := range 2 {
		wg.Go(func() {
			for i := range 2000 {
				k := (w + i) % keys
				source[k].Add(1) // commit, then evict, as the server does
				if i%50 == 0 {
					c.DeleteFunc(func(key int, _ int64) bool { return key == k })
				} else {
					c.Delete(k)
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if v, ok := c.Get(k); ok && v != source[k].Load() {
			t.Errorf("key %d holds %d, but its source is at %d", k, v, source[k].Load())
		}
	}
}

func ExampleCache_GetOrLoad() {
	c := New[string, string](Options{MaxEntries: 1000, TTL: 5 * time.Second})
	lookup := func(name string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			if name == "nope" {
				// Answer this request, but remember nothing.
				return "", ErrNoStore
			}
			return "channel " + name, nil // stands for a database query
		}
	}
	v, _ := c.GetOrLoad(context.Background(), "conda-forge", lookup("conda-forge"))
	fmt.Println(v)
	_, _ = c.GetOrLoad(context.Background(), "nope", lookup("nope"))
	fmt.Println(c.Len())
	// Output:
	// channel conda-forge
	// 1
}
