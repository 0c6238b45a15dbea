package keyauth

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

func TestHasherRunsAtMostItsSlotsAtOnceAndSendsTheRestAway(t *testing.T) {
	// checklist E10: argon2id's memory is bounded by the slots, not by
	// how many requests arrive together.
	h := newHasher(2)
	h.wait = 50 * time.Millisecond
	var running, peak atomic.Int64
	release := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			errs <- h.Run(context.Background(), func() error {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-release
				running.Add(-1)
				return nil
			})
		})
	}
	// Those that find no slot within the wait give up; then the two
	// holders finish.
	busy := 0
	for range 8 {
		if err := <-errs; gatehouse.ErrorCode(err) == gatehouse.EUNAVAILABLE {
			busy++
		}
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a holder: %v", err)
		}
	}
	if peak.Load() != 2 || busy != 8 {
		t.Errorf("peak %d at once, %d sent away; want 2 and 8", peak.Load(), busy)
	}
}
