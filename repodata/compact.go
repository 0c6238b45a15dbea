package repodata

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compaction. The .zst and .gz files of a revision are built from pieces
// compressed one by one (segment.go), so that a change copies what it did
// not touch. That costs ratio: each piece starts with an empty window, and
// a subdir of many small names compresses about 70 % worse than one frame
// of the whole document. So once a subdir has had no change for
// CompactAfter, its repodata.json is compressed again as one zstd frame
// and one gzip member, in the background, one subdir at a time, and
// readers switch to those files with the same pointer swap as a change.
// The pieces stay: the next change is built from them, and is served from
// them until it has settled in turn. A subdir that never settles is
// compacted at the latest maxCompactDelay after its first unsettled change.
//
// The whole-document files are derived from the revision's JSON alone,
// with fixed encoder settings, so every replica writes the same bytes.
// They are not in the manifest: a restart compacts again.

const maxCompactDelayFactor = 10

// wholePath is where the one-frame form of encoding enc lies.
func (st *state) wholePath(enc int) string { return st.Base + ".whole" + encSuffix[enc] }

// compactSlot lets one compaction run at a time in the process: it is a
// background nicety that must not take both cores from the hot path.
var compactSlot = make(chan struct{}, 1)

// compacting is a subdir's pending compaction: its timer, and since when
// changes have kept it waiting.
type compacting struct {
	mu      sync.Mutex
	timer   *time.Timer
	armed   bool      // the timer is set and has not fired
	waiting time.Time // zero when nothing waits
	closed  bool
}

// scheduleCompact (re)starts s's compaction timer after a change: the
// revision compacts once no change came for CompactAfter, but waits no
// longer than maxCompactDelayFactor times that since the first change it
// has not compacted.
func (x *Index) scheduleCompact(s *sub) {
	d := x.cfg.CompactAfter
	if d < 0 {
		return
	}
	c := &s.compact
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	now := time.Now()
	if c.waiting.IsZero() {
		c.waiting = now
	}
	if c.armed && now.Sub(c.waiting) >= maxCompactDelayFactor*d {
		return // the timer set earlier fires soon: do not push it back
	}
	c.armed = true
	if c.timer == nil {
		c.timer = time.AfterFunc(d, func() {
			c.mu.Lock()
			c.armed = false
			c.mu.Unlock()
			x.compactSub(s)
		})
		return
	}
	c.timer.Reset(d)
}

// Compact compacts every subdir whose current revision is not compacted
// yet, now, one after the other. The timers do it by themselves; tests
// and tools that want the smallest files at once call this.
func (x *Index) Compact() error {
	x.mu.Lock()
	subs := make([]*sub, 0, len(x.subs))
	for _, s := range x.subs {
		subs = append(subs, s)
	}
	x.mu.Unlock()
	var errs []error
	for _, s := range subs {
		errs = append(errs, x.compactSub(s))
	}
	return errors.Join(errs...)
}

// compactSub writes the whole-document forms of s's current revision and
// swaps them in, unless a newer revision came meanwhile (its own timer
// compacts it).
func (x *Index) compactSub(s *sub) error {
	compactSlot <- struct{}{}
	defer func() { <-compactSlot }()
	s.compact.mu.Lock()
	closed := s.compact.closed
	s.compact.mu.Unlock()
	st := s.cur.Load()
	if closed || st == nil || st.Whole[encZstd] > 0 {
		return nil
	}
	sizes, err := writeWhole(st)
	if err != nil {
		x.log.Warn("compacting repodata failed; its pieces are served", "subdir", st.Subdir, "err", err)
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.cur.Load()
	if cur == nil || cur.Base != st.Base {
		for _, enc := range []int{encZstd, encGzip} {
			os.Remove(st.wholePath(enc))
		}
		return nil
	}
	next := *cur
	next.Whole = sizes
	s.cur.Store(&next)
	x.forget(st.path(encZstd), st.path(encGzip))
	s.compact.mu.Lock()
	s.compact.waiting = time.Time{}
	s.compact.mu.Unlock()
	return nil
}

// writeWhole compresses st's repodata.json, read once, into one zstd frame
// and one gzip member beside it, and returns their sizes.
func writeWhole(st *state) (sizes [numEnc]int64, err error) {
	src, err := os.Open(st.path(encJSON))
	if err != nil {
		return sizes, err
	}
	defer src.Close()
	var files [numEnc]*os.File
	defer func() {
		for _, enc := range []int{encZstd, encGzip} {
			if files[enc] != nil {
				files[enc].Close()
				os.Remove(files[enc].Name())
			}
		}
	}()
	var bufs [numEnc]*bufio.Writer
	for _, enc := range []int{encZstd, encGzip} {
		if files[enc], err = os.Create(st.wholePath(enc) + ".tmp"); err != nil {
			return sizes, err
		}
		bufs[enc] = bufio.NewWriterSize(files[enc], 64<<10)
	}
	// Concurrency 1 keeps the output the same on every machine. A 1 MiB
	// window: on 100,000 conda-forge-shaped records (45 MB of JSON) it
	// gives 10.85 MB against 10.65 MB for the level's default 8 MiB, and
	// the encoder allocates 7 MB instead of 22 MB, which a busy server's
	// RSS would carry.
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	if err != nil {
		return sizes, err
	}
	zw.ResetContentSize(bufs[encZstd], st.Size[encJSON])
	gw, err := gzip.NewWriterLevel(bufs[encGzip], gzip.DefaultCompression)
	if err != nil {
		return sizes, err
	}
	n, err := io.Copy(io.MultiWriter(zw, gw), src)
	if err == nil && n != st.Size[encJSON] {
		err = errors.New("repodata.json changed size while it was compacted")
	}
	if err == nil {
		err = errors.Join(zw.Close(), gw.Close())
	}
	for _, enc := range []int{encZstd, encGzip} {
		if err != nil {
			break
		}
		err = bufs[enc].Flush()
	}
	if err != nil {
		zw.Close()
		return sizes, err
	}
	for _, enc := range []int{encZstd, encGzip} {
		fi, err := files[enc].Stat()
		if err != nil {
			return sizes, err
		}
		if err := files[enc].Close(); err != nil {
			return sizes, err
		}
		name := files[enc].Name()
		files[enc] = nil
		if err := os.Rename(name, st.wholePath(enc)); err != nil {
			os.Remove(name)
			return sizes, err
		}
		sizes[enc] = fi.Size()
	}
	return sizes, nil
}

// closeCompact stops s's compaction timer; a compaction running now
// finishes, and one that starts after sees closed.
func (s *sub) closeCompact() {
	c := &s.compact
	c.mu.Lock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
}
