package repodata

import (
	"context"
	"fmt"
	"os"

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

// readFile is os.ReadFile; tests count the reads.
var readFile = os.ReadFile

// readWhole loads a revision file of size bytes for the memory tier.
func readWhole(path string, size int64) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) {
		data, err := readFile(path)
		if err == nil && int64(len(data)) != size {
			err = fmt.Errorf("%s holds %d bytes, its revision says %d", path, len(data), size)
		}
		return data, err
	}
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
