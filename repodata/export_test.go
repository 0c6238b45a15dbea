package repodata

import (
	"sync/atomic"
	"time"
)

// CountReads counts the revision files read into memory from now until
// restore is called; each read takes at least hold, so that concurrent
// requests overlap.
func CountReads(hold time.Duration) (reads func() int64, restore func()) {
	var n atomic.Int64
	orig := readFile
	readFile = func(p string) ([]byte, error) {
		n.Add(1)
		time.Sleep(hold)
		return orig(p)
	}
	return n.Load, func() { readFile = orig }
}
