package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/klauspost/compress/gzip"
)

// Repodata is built once per change of a channel, never per request: the
// cache holds, per channel and subdir, the JSON, its precompressed forms,
// one strong ETag for all of them (conda keeps one ETag per subdir), and
// the file table downloads are answered from. An entry is rebuilt when the
// channel's revision moves.

type subdirKey struct {
	channel int64
	subdir  string
}

// subdirIndex is one built subdir.
type subdirIndex struct {
	revision int64
	json     []byte
	zst      []byte
	gz       []byte
	etag     string
	built    time.Time
	files    map[string]*gatehouse.Package
}

type repodataCache struct {
	store gatehouse.Store
	now   gatehouse.Clock

	mu      sync.Mutex
	entries map[subdirKey]*subdirIndex
	// building serialises builds of one subdir, so a burst of clients
	// after a change triggers one build, not one per client.
	building map[subdirKey]*sync.Mutex
}

func newRepodataCache(store gatehouse.Store, now gatehouse.Clock) *repodataCache {
	return &repodataCache{store: store, now: now, entries: make(map[subdirKey]*subdirIndex), building: make(map[subdirKey]*sync.Mutex)}
}

// get returns the subdir's index at the channel's current revision.
func (c *repodataCache) get(ctx context.Context, ch *gatehouse.Channel, subdir string) (*subdirIndex, error) {
	return c.getWith(ctx, ch, subdir, c.build)
}

type builder func(ctx context.Context, ch *gatehouse.Channel, subdir string) (*subdirIndex, error)

func (c *repodataCache) getWith(ctx context.Context, ch *gatehouse.Channel, subdir string, build builder) (*subdirIndex, error) {
	k := subdirKey{ch.ID, subdir}
	c.mu.Lock()
	e := c.entries[k]
	if e != nil && e.revision >= ch.Revision {
		c.mu.Unlock()
		return e, nil
	}
	lock := c.building[k]
	if lock == nil {
		lock = &sync.Mutex{}
		c.building[k] = lock
	}
	c.mu.Unlock()

	lock.Lock()
	defer lock.Unlock()
	c.mu.Lock()
	e = c.entries[k]
	c.mu.Unlock()
	if e != nil && e.revision >= ch.Revision {
		return e, nil // built by the goroutine we waited for
	}
	e, err := build(ctx, ch, subdir)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[k] = e
	c.mu.Unlock()
	return e, nil
}

func (c *repodataCache) build(ctx context.Context, ch *gatehouse.Channel, subdir string) (*subdirIndex, error) {
	pkgs, err := c.store.ListPackages(ctx, ch.ID, subdir)
	if err != nil {
		return nil, err
	}
	entries := make([]conda.Entry, len(pkgs))
	files := make(map[string]*gatehouse.Package, len(pkgs))
	for i, p := range pkgs {
		entries[i] = conda.Entry{Filename: p.Filename, Record: p.Record}
		files[p.Filename] = p
	}
	data, err := conda.BuildRepodata(subdir, entries)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	return &subdirIndex{
		revision: ch.Revision,
		json:     data,
		zst:      conda.Zstd(data),
		gz:       gz.Bytes(),
		etag:     `"` + hex.EncodeToString(sum[:16]) + `"`,
		built:    c.now().Truncate(time.Second),
		files:    files,
	}, nil
}
