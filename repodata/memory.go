package repodata

import (
	"io"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cache"
)

// memoryFor returns the cache that holds revision files of size bytes,
// or nil for those always sent from disk. A small file is answered from
// memory because opening, sending and closing a 2 KB shard index costs
// more than the bytes; a larger one (a repodata.json of a few thousand
// records) because one write of the whole document answered about a fifth
// more requests per second than sendfile from the page cache (4.4 MB,
// 2 cores), and these are a channel's most requested files.
func (x *Index) memoryFor(size int64) *cache.Cache[string, []byte] {
	switch {
	case size <= maxSmallSize:
		return x.small
	case x.hot != nil && size <= x.hotMax:
		return x.hot
	}
	return nil
}

// keep reads a revision file that f holds open into memory, for this
// answer and the next ones, if its size is kept there; on a failed read
// the open file still answers.
func (x *Index) keep(f *gatehouse.IndexFile) {
	c := x.memoryFor(f.Size)
	if c == nil {
		return
	}
	data := make([]byte, f.Size)
	if _, err := io.ReadFull(f.File, data); err != nil {
		if _, err := f.File.Seek(0, io.SeekStart); err != nil {
			x.log.Warn("rewinding an index file failed", "err", err)
		}
		return
	}
	f.File.Close()
	f.File, f.Data = nil, data
	c.Set(f.Path, data)
}

// forget drops files from memory once no reader is sent to them: a
// retired revision's, or a compacted revision's pieces.
func (x *Index) forget(paths ...string) {
	for _, p := range paths {
		x.small.Delete(p)
		if x.hot != nil {
			x.hot.Delete(p)
		}
	}
}
