package repodata

import (
	"os"
	"sync"
	"time"
)

// What a subdir's replaced revisions leave on disk is its trash: the
// files of revisions readers may still be about to open, and shards no
// revision names any more. Both are bounded, so that sustained uploads
// cannot fill a small data disk (issue 8's soak, checklist I4):
//
//   - a replaced revision's files go retireAfter after the swap, or at
//     once when maxRetired newer replaced revisions wait already. A
//     reader that opened them keeps reading (an unlinked file lives until
//     its last descriptor closes); one that looked the revision up but
//     had not opened it yet gets a 503 it retries.
//   - an unreferenced shard stays ShardRetention for clients holding an
//     older shard index, but the unreferenced shards of a subdir never
//     take more than its current repodata.json.zst (at least
//     minOrphanBudget): the oldest go first.
//
// The work is done when a revision is retired and by a timer that fires
// once the last grace ends, so the disk is back to one revision a few
// seconds after the last change, not at the next minute's sweep.
const (
	retireAfter     = 5 * time.Second
	maxRetired      = 2
	minOrphanBudget = 256 << 10
)

// trash is one subdir's list of files to remove.
type trash struct {
	mu      sync.Mutex
	revs    []retiredRev // oldest first
	orphans []orphan     // oldest first; stale entries are skipped
	// orphaned maps an unreferenced shard to its size; a shard named again
	// leaves it.
	orphaned    map[[32]byte]int64
	orphanBytes int64
	timer       *time.Timer
	closed      bool
}

type retiredRev struct {
	files []string
	at    time.Time
}

type orphan struct {
	hash [32]byte
	at   time.Time
}

// retire schedules the files of old, which next replaced, and the shards
// in replaced (named by old, not by next), then removes what is due.
func (x *Index) retire(s *sub, old *state, replaced [][32]byte) {
	now := x.now()
	t := &s.trash
	t.mu.Lock()
	defer t.mu.Unlock()
	files := old.files()
	t.revs = append(t.revs, retiredRev{files, now})
	x.forget(files...)
	if t.orphaned == nil {
		t.orphaned = map[[32]byte]int64{}
	}
	for _, h := range replaced {
		if _, ok := t.orphaned[h]; ok {
			continue
		}
		p := shardPath(s.dir, h)
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		os.Chtimes(p, now, now) // its retention starts now, also for a later process
		t.orphaned[h] = fi.Size()
		t.orphanBytes += fi.Size()
		t.orphans = append(t.orphans, orphan{h, now})
	}
	x.pruneLocked(s, now)
	if len(t.revs) > 0 && !t.closed {
		if t.timer == nil {
			t.timer = time.AfterFunc(retireAfter, func() { x.prune(s) })
		} else {
			t.timer.Reset(retireAfter)
		}
	}
}

// named takes the shard h out of the trash: a change named it again.
// Call it before writing the shard, so no pruning removes it after.
func (s *sub) named(h [32]byte) {
	t := &s.trash
	t.mu.Lock()
	if n, ok := t.orphaned[h]; ok {
		delete(t.orphaned, h)
		t.orphanBytes -= n
	}
	t.mu.Unlock()
}

// prune removes what is due in s's trash.
func (x *Index) prune(s *sub) {
	t := &s.trash
	t.mu.Lock()
	defer t.mu.Unlock()
	x.pruneLocked(s, x.now())
	if len(t.revs) > 0 && t.timer != nil && !t.closed {
		wait := max(t.revs[0].at.Add(retireAfter).Sub(x.now()), 100*time.Millisecond)
		t.timer.Reset(wait)
	}
}

func (x *Index) pruneLocked(s *sub, now time.Time) {
	t := &s.trash
	n := 0
	for i, r := range t.revs {
		if now.Sub(r.at) < retireAfter && len(t.revs)-i <= maxRetired {
			break
		}
		for _, f := range r.files {
			os.Remove(f)
		}
		n++
	}
	t.revs = append(t.revs[:0], t.revs[n:]...)

	budget := int64(minOrphanBudget)
	if cur := s.cur.Load(); cur != nil {
		budget = max(budget, cur.Size[encZstd])
	}
	n = 0
	for _, o := range t.orphans {
		size, ok := t.orphaned[o.hash]
		if ok && t.orphanBytes <= budget && now.Sub(o.at) < x.cfg.ShardRetention {
			break
		}
		if ok {
			os.Remove(shardPath(s.dir, o.hash))
			delete(t.orphaned, o.hash)
			t.orphanBytes -= size
		}
		n++
	}
	t.orphans = append(t.orphans[:0], t.orphans[n:]...)
}

// Close stops the timers of the index's subdirs; replaced files not
// removed yet are left to the next process's start (sweepStale) and to
// the shard retention.
func (x *Index) Close() {
	x.mu.Lock()
	subs := make([]*sub, 0, len(x.subs))
	for _, s := range x.subs {
		subs = append(subs, s)
	}
	x.mu.Unlock()
	for _, s := range subs {
		s.trash.mu.Lock()
		s.trash.closed = true
		if s.trash.timer != nil {
			s.trash.timer.Stop()
		}
		s.trash.mu.Unlock()
		s.closeCompact()
	}
	// A compaction running now finishes before Close returns.
	compactSlot <- struct{}{}
	<-compactSlot
}
