package ratelimit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 29, 1, 30, 0, 0, time.FixedZone("UTC-03:00", -3*3600))}
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

const (
	burst  = 3
	refill = 10 * time.Second
)

func newLimiter(clk *fakeClock) *Limiter[string] {
	return New[string](Options{Burst: burst, Refill: refill, Clock: clk.Now})
}

func fail(l *Limiter[string], subject string, n int) {
	for range n {
		l.Fail(subject)
	}
}

func TestBudget(t *testing.T) {
	tests := []struct {
		name        string
		steps       func(l *Limiter[string], clk *fakeClock)
		wantBlocked bool
		wantRetry   time.Duration
	}{
		{"a subject with no failures is not blocked", func(l *Limiter[string], clk *fakeClock) {}, false, 0},
		{"a subject with fewer than Burst failures is not blocked", func(l *Limiter[string], clk *fakeClock) {
			fail(l, "s", burst-1)
		}, false, 0},
		{"a subject with Burst failures is blocked for one refill", func(l *Limiter[string], clk *fakeClock) {
			fail(l, "s", burst)
		}, true, refill},
		{"the wait shrinks as time passes", func(l *Limiter[string], clk *fakeClock) {
			fail(l, "s", burst)
			clk.Advance(4 * time.Second)
		}, true, refill - 4*time.Second},
		{"failures while blocked do not push the wait further", func(l *Limiter[string], clk *fakeClock) {
			fail(l, "s", burst+20)
		}, true, refill},
		{"one refill frees one attempt", func(l *Limiter[string], clk *fakeClock) {
			fail(l, "s", burst)
			clk.Advance(refill)
		}, false, 0},
		{"one refill frees only one attempt", func(l *Limiter[string], clk *fakeClock) {
			fail(l, "s", burst)
			clk.Advance(refill)
			fail(l, "s", 1)
		}, true, refill},
		{"Burst refills give the whole budget back", func(l *Limiter[string], clk *fakeClock) {
			fail(l, "s", burst)
			clk.Advance(burst * refill)
			fail(l, "s", burst-1)
		}, false, 0},
		{"a long quiet time does not save up more than Burst", func(l *Limiter[string], clk *fakeClock) {
			clk.Advance(1000 * refill)
			fail(l, "s", burst)
		}, true, refill},
		{"another subject's failures do not count", func(l *Limiter[string], clk *fakeClock) {
			fail(l, "other", burst)
		}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			l := newLimiter(clk)
			tt.steps(l, clk)
			blocked, retry := l.Blocked("s")
			if blocked != tt.wantBlocked || retry != tt.wantRetry {
				t.Fatalf("Blocked = %v, %v; want %v, %v", blocked, retry, tt.wantBlocked, tt.wantRetry)
			}
		})
	}
}

func TestReserve(t *testing.T) {
	t.Run("reservations that succeed give their token back, so successes never block", func(t *testing.T) {
		l := newLimiter(newFakeClock())
		for i := range 100 {
			r, ok, _ := l.Reserve("s")
			if !ok {
				t.Fatalf("reservation %d refused", i)
			}
			r.Succeeded()
		}
		if blocked, _ := l.Blocked("s"); blocked {
			t.Fatal("blocked after successes only")
		}
	})

	t.Run("reservations that fail keep their token, and the next is refused with the wait", func(t *testing.T) {
		l := newLimiter(newFakeClock())
		for range burst {
			r, ok, _ := l.Reserve("s")
			if !ok {
				t.Fatal("reservation refused within the budget")
			}
			r.Failed()
		}
		r, ok, retry := l.Reserve("s")
		if ok || r != nil || retry != refill {
			t.Fatalf("Reserve = %v, %v, %v; want nil, false, %v", r, ok, retry, refill)
		}
	})

	t.Run("a second Succeeded, or Succeeded after Failed, changes nothing", func(t *testing.T) {
		l := newLimiter(newFakeClock())
		fail(l, "s", burst-1)
		r, _, _ := l.Reserve("s")
		r.Failed()
		r.Succeeded()
		r.Succeeded()
		if blocked, _ := l.Blocked("s"); !blocked {
			t.Fatal("a token kept by Failed was given back")
		}
		var none *Reservation
		none.Succeeded() // a refused Reserve's nil is safe to settle
		none.Failed()
	})

	t.Run("at most Burst reservations are outstanding at once", func(t *testing.T) {
		l := newLimiter(newFakeClock())
		var held []*Reservation
		for range burst {
			r, ok, _ := l.Reserve("s")
			if !ok {
				t.Fatal("reservation refused within the budget")
			}
			held = append(held, r)
		}
		if _, ok, _ := l.Reserve("s"); ok {
			t.Fatal("a reservation beyond Burst was granted")
		}
		held[0].Succeeded()
		if _, ok, _ := l.Reserve("s"); !ok {
			t.Fatal("a token given back was not reusable")
		}
	})
}

// TestConcurrentGuesses is the case the old check-then-count limiter got
// wrong (25 of 39 concurrent wrong guesses were checked): every guess
// reserves first, so no more wrong guesses are verified than the budget
// allows, however many run at once.
func TestConcurrentGuesses(t *testing.T) {
	const budget = 10
	type wave struct{ correct, wrong int }
	tests := []struct {
		name  string
		waves []wave
	}{
		{"40 concurrent wrong guesses against a budget of 10 get exactly 10 verifications", []wave{{0, 40}}},
		{"correct guesses among concurrent wrong ones spend nothing: the wrong ones still get exactly 10 in all", []wave{{5, 35}, {0, 40}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New[string](Options{Burst: budget, Refill: time.Hour, Clock: newFakeClock().Now})
			verified := 0
			for _, w := range tt.waves {
				verified += guessWave(l, "192.0.2.1", w.correct, w.wrong)
			}
			if verified != budget {
				t.Fatalf("%d wrong guesses verified, want exactly %d", verified, budget)
			}
		})
	}
}

// guessWave runs correct+wrong guesses at once. Each reserves, and those
// let through hold their reservation until every guess has tried, as a
// slow password check would; it returns how many wrong guesses were
// verified.
func guessWave(l *Limiter[string], subject string, correct, wrong int) int {
	n := correct + wrong
	var verifiedWrong atomic.Int32
	var tried sync.WaitGroup
	tried.Add(n)
	start, allTried := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			r, ok, _ := l.Reserve(subject)
			tried.Done()
			if !ok {
				return
			}
			<-allTried
			if i < correct {
				r.Succeeded()
				return
			}
			verifiedWrong.Add(1)
			r.Failed()
		})
	}
	close(start)
	tried.Wait()
	close(allTried)
	wg.Wait()
	return int(verifiedWrong.Load())
}

// TestIPv6NetworkIsOneSubject: checklist B8.
func TestIPv6NetworkIsOneSubject(t *testing.T) {
	// checklist B8
	l := New[string](Options{Burst: 10, Refill: time.Minute, Clock: newFakeClock().Now})
	for i := range 10 {
		a := mustAddr(t, fmt.Sprintf("2001:db8:0:1:%x:%x::%x", i*7919&0xffff, i*104729&0xffff, i+1))
		l.Fail(AddrSubject(a, DefaultIPv6PrefixLen))
	}
	tests := []struct {
		name        string
		addr        string
		wantBlocked bool
	}{
		{"a new address in the same /64 is blocked", "2001:db8:0:1:ffff:ffff:ffff:ffff", true},
		{"an address in the next /64 is not", "2001:db8:0:2::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if blocked, _ := l.Blocked(AddrSubject(mustAddr(t, tt.addr), DefaultIPv6PrefixLen)); blocked != tt.wantBlocked {
				t.Fatalf("Blocked = %v, want %v", blocked, tt.wantBlocked)
			}
		})
	}
}

func TestMappedIPv4IsTheIPv4Subject(t *testing.T) {
	l := New[string](Options{Burst: 2, Refill: time.Minute, Clock: newFakeClock().Now})
	fail(l, AddrSubject(mustAddr(t, "::ffff:192.0.2.7"), 64), 2)
	if blocked, _ := l.Blocked(AddrSubject(mustAddr(t, "192.0.2.7"), 64)); !blocked {
		t.Fatal("failures from the IPv4-mapped form did not count against the IPv4 address")
	}
}

// TestBoundedMemory: checklist I5. A flood of distinct subjects leaves at
// most MaxSubjects buckets.
func TestBoundedMemory(t *testing.T) {
	// checklist I5
	const maxSubjects = 10_000
	flood := 1_000_000
	if raceEnabled {
		flood = 100_000
	}
	l := New[string](Options{Burst: 5, Refill: time.Minute, MaxSubjects: maxSubjects, Clock: newFakeClock().Now})
	for i := range flood {
		l.Fail(fmt.Sprintf("198.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff))
	}
	if n := l.Len(); n > maxSubjects {
		t.Fatalf("%d subjects remembered after a flood of %d, want ≤ %d", n, flood, maxSubjects)
	}
}

// TestFloodDoesNotResetAnActiveSubject: a guesser that keeps trying stays
// among the used buckets, so flooding distinct subjects through the table
// cannot hand it a fresh budget. Here it tries once per MaxSubjects/10 new
// subjects. (Measured: once per MaxSubjects/2 still kept it in 20 of 20
// runs; once per 2 × MaxSubjects lost it in 20 of 20. A quiet subject may
// be forgotten; see the package comment.)
func TestFloodDoesNotResetAnActiveSubject(t *testing.T) {
	const maxSubjects = 1000
	l := New[string](Options{Burst: 5, Refill: time.Hour, MaxSubjects: maxSubjects, Clock: newFakeClock().Now})
	const hot = "203.0.113.9"
	fail(l, hot, 5)
	for i := range 10 * maxSubjects {
		l.Fail(fmt.Sprintf("flood-%d", i))
		if i%(maxSubjects/10) == 0 {
			if blocked, _ := l.Blocked(hot); !blocked {
				t.Fatalf("the active subject's spent budget was reset after %d flood subjects", i)
			}
		}
	}
	if blocked, _ := l.Blocked(hot); !blocked {
		t.Fatal("the active subject's spent budget was reset by the flood")
	}
}

func TestNewPanicsOnAnEmptyBudget(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New with Burst 0 did not panic")
		}
	}()
	New[string](Options{Refill: time.Second})
}
