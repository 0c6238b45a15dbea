package repodata

import (
	"sync"

	"github.com/gatehouse-dev/gatehouse/conda/repofmt"
	"github.com/klauspost/compress/zstd"
)

// The shard index names every package of a subdir, so it is written
// whole on every change. Two thirds of it are sha256 addresses, which do
// not compress: the fastest zstd level makes it barely larger than the
// "better" level of repodata.json.zst, in a fraction of the time (26 ms
// of a 90 ms change at 100,000 records). It stays one frame with its
// content size, as clients that read one frame expect; a 1 MiB window
// (the index of 465,000 records is 670 kB) keeps its encoders small.
var indexEncoder = sync.OnceValue(func() *zstd.Encoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
	if err != nil {
		panic(err) // constant, valid options
	}
	return enc
})

type indexBufs struct {
	refs []repofmt.ShardRef
	raw  []byte
}

var indexPool = sync.Pool{New: func() any { return new(indexBufs) }}

// shardIndex returns the compressed shard index of segs.
func shardIndex(subdir string, segs []segment) ([]byte, error) {
	bufs := indexPool.Get().(*indexBufs)
	defer indexPool.Put(bufs)
	refs := bufs.refs[:0]
	for i := range segs {
		refs = append(refs, repofmt.ShardRef{Name: segs[i].Name, Hash: segs[i].Shard})
	}
	bufs.refs = refs
	raw, err := repofmt.AppendShardIndex(bufs.raw[:0], repofmt.ShardIndexInfo{Subdir: subdir, BaseURL: "./", ShardsBaseURL: "./shards/"}, refs)
	bufs.raw = raw
	if err != nil {
		return nil, err
	}
	return indexEncoder().EncodeAll(raw, make([]byte, 0, len(raw)*3/4+64)), nil
}
