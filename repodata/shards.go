package repodata

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condaname"
)

// shardKey names a shard in memory: its channel, subdir and address.
type shardKey struct {
	channel     int64
	subdir, hex string
}

// shard returns a shard file: content-addressed, so any shard of the
// subdir's directory is served whatever the revision, and marked
// immutable. Small ones are answered from memory.
func (x *Index) shard(ch *gatehouse.Channel, dir, file string) (*gatehouse.IndexFile, error) {
	hex, ok := strings.CutSuffix(file, ".msgpack.zst")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" || !condaname.ValidSubdir(dir) {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such shard in channel %q.", ch.Name)
	}
	k := shardKey{ch.ID, dir, hex}
	if f, ok := x.shards.Get(k); ok {
		return f, nil
	}
	path := filepath.Join(x.subdirDir(ch.ID, dir), "shards", file)
	f := &gatehouse.IndexFile{ContentType: "application/octet-stream", ETag: `"` + hex + `"`, Immutable: true}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such shard in channel %q; fetch the shard index again.", ch.Name)
	}
	if fi.Size() <= maxSmallSize {
		if data, err := os.ReadFile(path); err == nil {
			f.Data, f.Size = data, int64(len(data))
			// The key's strings are cut from the request's URL.
			x.shards.Set(shardKey{k.channel, strings.Clone(dir), strings.Clone(hex)}, f)
			return f, nil
		}
	}
	f.ModTime = fi.ModTime().UTC().Truncate(time.Second)
	f.Path, f.Size = path, fi.Size()
	return f, nil
}
