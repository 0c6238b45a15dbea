// Package repodata keeps the index files of channels on disk:
// repodata.json per subdir with its .zst and gzip forms, the CEP-16 shard
// index and shards, and channeldata.json. The database is the source of
// truth; the index is derived data each replica builds for itself in its
// data directory and can always rebuild.
//
// A change costs what changed. Each subdir is written as one segment per
// package name (see segment.go); the store keeps a change log of the names
// each channel revision touched, so bringing a subdir from revision r to
// the current one re-renders only those names, writes their shards, and
// copies every other segment from the previous files in the kernel. The
// new revision's files get new names, the manifest on disk is replaced,
// and readers switch to the new revision with one pointer swap: they see
// the old files or the new ones, never a mix. Old files are removed
// seconds later (readers that opened them keep reading), old shards after
// ShardRetention or sooner when they outgrow their budget (see trash.go).
//
// Memory holds, per subdir that clients asked for, one small entry per
// package name (about 150 bytes), never the records or the files:
// downloads leave by sendfile.
package repodata

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cache"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/conda/repofmt"
	"github.com/gatehouse-dev/gatehouse/condaname"
)

// Config configures an Index.
type Config struct {
	Store gatehouse.Store
	// Dir holds the built files; it is created if missing.
	Dir    string
	Clock  gatehouse.Clock
	Logger *slog.Logger
	// ShardRetention keeps shards no index names any more (default 24 h).
	ShardRetention time.Duration
	// MaxChanges is the most change-log rows applied incrementally at
	// once; more rebuild the subdir (default 20,000).
	MaxChanges int
	// CompactAfter is how long a subdir goes without a change before its
	// .zst and .gz are compressed again as one frame (compact.go; default
	// 10 s, negative: never).
	CompactAfter time.Duration
	// MemoryBudget is how many bytes of current revision files larger
	// than the small ones are kept in memory (default 32 MiB, negative:
	// none); a file larger than a quarter of it is always sent from disk.
	MemoryBudget int64
}

// Index implements gatehouse.IndexService.
type Index struct {
	cfg   Config
	store gatehouse.Store
	now   gatehouse.Clock
	log   *slog.Logger

	mu   sync.Mutex
	subs map[subKey]*sub

	packages *cache.Cache[pkgKey, *gatehouse.Package]
	small    *cache.Cache[string, []byte]
	// shards holds small shards' answers, built once and shared by every
	// request: content-addressed, a shard never changes under its name.
	shards *cache.Cache[shardKey, *gatehouse.IndexFile]
	// hot holds revision files above maxSmallSize up to hotMax, bounded
	// in bytes (nil when the budget is negative).
	hot         *cache.Cache[string, []byte]
	hotMax      int64
	channeldata *cache.Cache[int64, *channelData]
	subdirs     *cache.Cache[int64, *subdirSet]
}

var _ gatehouse.IndexService = (*Index)(nil)

// errNoPackage never echoes the file name asked for: it comes from a URL,
// where a key may sit by mistake (checklist J2).
var errNoPackage = gatehouse.Errorf(gatehouse.ENOTFOUND, "This channel has no package file by that name.")

type subKey struct {
	channel int64
	subdir  string
}

// sub is one subdir's current revision, the lock its builders take, and
// what replaced revisions left to remove.
type sub struct {
	mu      sync.Mutex
	cur     atomic.Pointer[state]
	dir     string
	trash   trash
	compact compacting
}

type pkgKey struct {
	channel, rev     int64
	subdir, filename string
}

type subdirSet struct {
	revision int64
	has      map[string]bool
}

const (
	// maxSmall bounds the small revision files kept in memory, and
	// separately the small shards' answers: the hottest small files,
	// answered without opening a file.
	maxSmall     = 2048
	maxSmallSize = 16 << 10
)

// New returns an Index writing under cfg.Dir.
func New(cfg Config) (*Index, error) {
	if cfg.Clock == nil {
		cfg.Clock = gatehouse.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ShardRetention == 0 {
		cfg.ShardRetention = 24 * time.Hour
	}
	if cfg.MaxChanges == 0 {
		cfg.MaxChanges = 20_000
	}
	if cfg.CompactAfter == 0 {
		cfg.CompactAfter = 10 * time.Second
	}
	if cfg.MemoryBudget == 0 {
		cfg.MemoryBudget = 32 << 20
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	opts := func(n int) cache.Options { return cache.Options{MaxEntries: n, TTL: time.Hour, Clock: cfg.Clock} }
	var hot *cache.Cache[string, []byte]
	hotMax := min(cfg.MemoryBudget/4, 1<<31)
	if cfg.MemoryBudget > 0 {
		hot = cache.NewWeighted(cache.Options{MaxWeight: uint64(cfg.MemoryBudget), TTL: time.Hour, Clock: cfg.Clock},
			func(_ string, b []byte) uint32 { return uint32(len(b)) })
	}
	return &Index{cfg: cfg, store: cfg.Store, now: cfg.Clock, log: cfg.Logger, subs: map[subKey]*sub{}, hot: hot, hotMax: hotMax,
		packages:    cache.New[pkgKey, *gatehouse.Package](opts(4096)),
		small:       cache.New[string, []byte](opts(maxSmall)),
		shards:      cache.New[shardKey, *gatehouse.IndexFile](opts(maxSmall)),
		channeldata: cache.New[int64, *channelData](opts(256)),
		subdirs:     cache.New[int64, *subdirSet](opts(4096)),
	}, nil
}

// File returns an index file of ch at its current revision.
func (x *Index) File(ctx context.Context, ch *gatehouse.Channel, name string, gzip bool) (*gatehouse.IndexFile, error) {
	if name == "channeldata.json" {
		return x.channelData(ctx, ch)
	}
	dir, file, _ := strings.Cut(name, "/")
	if hex, ok := strings.CutPrefix(file, "shards/"); ok {
		return x.shard(ch, dir, hex)
	}
	switch file {
	case "repodata.json", "repodata.json.zst", "repodata_shards.msgpack.zst":
	default:
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such file in channel %q.", ch.Name)
	}
	// The file is opened here, so that the revision cannot be removed
	// between this answer and the caller's read: an open file outlives its
	// name. A revision replaced and removed between the lookup and the
	// open (two newer ones were built meanwhile) is looked up again; the
	// current one is never removed.
	for try := 0; ; try++ {
		st, err := x.current(ctx, ch, dir)
		if err != nil {
			return nil, err
		}
		f := revisionFile(st, file, gzip)
		if c := x.memoryFor(f.Size); c != nil {
			// Revision files never change under their name. The requests
			// that miss together share one read; a hit builds no loader.
			if data, ok := c.Get(f.Path); ok {
				f.Data = data
				return f, nil
			}
			if f.Data, err = c.GetOrLoad(ctx, f.Path, readWhole(f.Path, f.Size)); err == nil {
				return f, nil
			}
		} else {
			f.File, err = os.Open(f.Path)
			if err == nil {
				return f, nil
			}
		}
		if ctx.Err() != nil {
			// The client left while others' read of the file went on.
			return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "The index could not be read. Try again in a moment.")
		}
		if !os.IsNotExist(err) || try == 2 {
			x.log.Error("opening an index file failed", "channel", ch.Name, "subdir", dir, "err", err)
			return nil, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "The index could not be read. Try again in a moment.")
		}
	}
}

// revisionFile describes the form asked for of st's files.
func revisionFile(st *state, file string, gzip bool) *gatehouse.IndexFile {
	f := &gatehouse.IndexFile{Path: st.path(encJSON), Size: st.Size[encJSON], ContentType: "application/json", ETag: st.ETag, ModTime: st.Built}
	switch {
	case file == "repodata_shards.msgpack.zst":
		f.Path, f.Size, f.ETag, f.ContentType = st.indexPath(), st.IndexSize, st.IndexETag, "application/octet-stream"
	case file == "repodata.json.zst":
		f.Path, f.Size, f.ContentType = st.path(encZstd), st.Size[encZstd], "application/zstd"
		if st.Whole[encZstd] > 0 {
			f.Path, f.Size = st.wholePath(encZstd), st.Whole[encZstd]
		}
	case gzip:
		f.Path, f.Size, f.Encoding = st.path(encGzip), st.Size[encGzip], "gzip"
		if st.Whole[encGzip] > 0 {
			f.Path, f.Size = st.wholePath(encGzip), st.Whole[encGzip]
		}
	}
	return f
}

// Package returns ch's package file subdir/filename, from the store (and
// a small cache per revision).
func (x *Index) Package(ctx context.Context, ch *gatehouse.Channel, subdir, filename string) (*gatehouse.Package, error) {
	k := pkgKey{ch.ID, ch.Revision, subdir, filename}
	if p, ok := x.packages.Get(k); ok {
		return p, nil
	}
	if !condaname.ValidSubdir(subdir) {
		return nil, errNoPackage
	}
	p, err := x.store.PackageByFilename(ctx, ch.ID, subdir, filename)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errNoPackage
	} else if err != nil {
		return nil, err
	}
	p.Record, p.Meta = nil, nil // not needed for a download; keep the cache small
	x.packages.Set(k, p)
	return p, nil
}

func (x *Index) subdirDir(channel int64, subdir string) string {
	return filepath.Join(x.cfg.Dir, strconv.FormatInt(channel, 10), subdir)
}

// current returns the subdir's index at ch's revision or later, bringing
// it up to date first when it is older. Subdirs conda does not know that
// hold no packages are ENOTFOUND and cost nothing (checklist I6).
func (x *Index) current(ctx context.Context, ch *gatehouse.Channel, dir string) (*state, error) {
	if !condaname.ValidSubdir(dir) {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such file in channel %q.", ch.Name)
	}
	k := subKey{ch.ID, dir}
	x.mu.Lock()
	s := x.subs[k]
	x.mu.Unlock()
	if s != nil {
		if st := s.cur.Load(); st != nil && st.Rev >= ch.Revision {
			return st, nil
		}
	}
	if !condaname.KnownSubdir(dir) {
		has, err := x.hasPackages(ctx, ch, dir)
		if err != nil {
			return nil, err
		}
		if !has {
			return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Channel %q has no packages for that platform.", ch.Name)
		}
	}
	if s == nil {
		x.mu.Lock()
		if s = x.subs[k]; s == nil {
			s = &sub{dir: x.subdirDir(ch.ID, dir)}
			x.subs[k] = s
		}
		x.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.cur.Load()
	if st != nil && st.Rev >= ch.Revision {
		return st, nil
	}
	b := &builder{x: x, channel: ch.ID, subdir: dir, dir: x.subdirDir(ch.ID, dir)}
	if st == nil {
		if err := os.MkdirAll(filepath.Join(b.dir, "shards"), 0o700); err != nil {
			return nil, err
		}
		if st = b.loadManifest(); st != nil {
			x.sweepStale(b.dir, st)
		}
	}
	next, replaced, err := x.update(ctx, s, b, st, ch.Revision)
	if err != nil {
		if st != nil {
			// Serve the revision we have; the next request tries again.
			x.log.Error("updating repodata failed; serving the previous revision", "channel", ch.Name, "subdir", dir, "err", err)
			s.cur.Store(st)
			return st, nil
		}
		return nil, err
	}
	if next != st {
		s.cur.Store(next)
		if st != nil && next.Base != st.Base {
			x.retire(s, st, replaced)
		}
	}
	if next.Whole[encZstd] == 0 {
		x.scheduleCompact(s)
	}
	return next, nil
}

// update brings st (nil: nothing built) to the channel's current
// revision, at least want. It returns the new state and the shards st
// named that it does not.
func (x *Index) update(ctx context.Context, s *sub, b *builder, st *state, want int64) (*state, [][32]byte, error) {
	if st == nil {
		rev, err := x.store.ChannelRevision(ctx, b.channel)
		if err != nil {
			return nil, nil, err
		}
		next, err := b.full(ctx, max(rev, want))
		return next, nil, err
	}
	changes, more, err := x.store.PackageChanges(ctx, b.channel, st.Rev, x.cfg.MaxChanges)
	if err != nil {
		return nil, nil, err
	}
	rev := max(st.Rev, want)
	if more {
		last, err := x.store.ChannelRevision(ctx, b.channel)
		if err != nil {
			return nil, nil, err
		}
		next, err := b.full(ctx, max(rev, last))
		if err != nil {
			return nil, nil, err
		}
		return next, unnamed(st, next), nil
	}
	names := map[string]bool{}
	for _, c := range changes {
		rev = max(rev, c.Revision)
		if c.Subdir == b.subdir {
			names[c.Name] = true
		}
	}
	if len(names) == 0 {
		next := *st
		next.Rev = rev
		return &next, nil, nil
	}
	changed := make(map[string]*rendered, len(names))
	var replaced [][32]byte
	for name := range names {
		entries, err := loadName(ctx, x.store, b.channel, b.subdir, name)
		if err != nil {
			return nil, nil, err
		}
		var r *rendered
		if len(entries) > 0 {
			if r, err = render(name, entries); err != nil {
				return nil, nil, err
			}
			s.named(r.hash)
			if err := writeShard(b.dir, r); err != nil {
				return nil, nil, err
			}
		}
		changed[name] = r
		if i, ok := st.find(name); ok && (r == nil || r.hash != st.Segs[i].Shard) {
			replaced = append(replaced, st.Segs[i].Shard)
		}
	}
	next, err := b.apply(st, rev, changed)
	if err != nil {
		return nil, nil, err
	}
	return next, replaced, nil
}

// unnamed lists the shards old names and next does not.
func unnamed(old, next *state) [][32]byte {
	keep := make(map[[32]byte]bool, len(next.Segs))
	for i := range next.Segs {
		keep[next.Segs[i].Shard] = true
	}
	var out [][32]byte
	for i := range old.Segs {
		if h := old.Segs[i].Shard; !keep[h] {
			out = append(out, h)
		}
	}
	return out
}

// hasPackages reports whether ch holds packages in dir, from the list of
// its subdirs at its current revision (one light query per change).
func (x *Index) hasPackages(ctx context.Context, ch *gatehouse.Channel, dir string) (bool, error) {
	set, ok := x.subdirs.Get(ch.ID)
	if !ok || set.revision < ch.Revision {
		list, err := x.store.ChannelSubdirs(ctx, ch.ID)
		if err != nil {
			return false, err
		}
		set = &subdirSet{revision: ch.Revision, has: make(map[string]bool, len(list))}
		for _, s := range list {
			set.has[s] = true
		}
		x.subdirs.Set(ch.ID, set)
	}
	return set.has[dir], nil
}

// Sweep removes what replaced revisions left once it is due (see
// trash.go), and shards unreferenced for longer than ShardRetention that
// an earlier process left. Call it from time to time (the server does,
// every minute); retirement itself does not wait for it.
func (x *Index) Sweep() {
	now := x.now()
	x.mu.Lock()
	subs := make([]*sub, 0, len(x.subs))
	for _, s := range x.subs {
		subs = append(subs, s)
	}
	x.mu.Unlock()
	for _, s := range subs {
		x.prune(s)
		if st := s.cur.Load(); st != nil {
			x.sweepShards(filepath.Dir(st.Base), st, now)
		}
	}
}

// sweepShards removes shards st does not name whose last use is older
// than the retention.
func (x *Index) sweepShards(dir string, st *state, now time.Time) {
	entries, err := os.ReadDir(filepath.Join(dir, "shards"))
	if err != nil {
		return
	}
	used := make(map[string]bool, len(st.Segs))
	for i := range st.Segs {
		used[filepath.Base(shardPath(dir, st.Segs[i].Shard))] = true
	}
	for _, e := range entries {
		if used[e.Name()] {
			continue
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) >= x.cfg.ShardRetention {
			os.Remove(filepath.Join(dir, "shards", e.Name()))
		}
	}
}

// sweepStale removes, at first load, files of revisions other than st's
// that a previous process left (its retired files, crashed writes).
func (x *Index) sweepStale(dir string, st *state) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	mine := filepath.Base(st.Base)
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || n == "manifest" || strings.HasPrefix(n, mine+".") {
			continue
		}
		os.Remove(filepath.Join(dir, n))
	}
}

// channelData is a built channeldata.json.
type channelData struct {
	revision int64
	data     []byte
	etag     string
	built    time.Time
}

// channelData builds channeldata.json once per revision. It reads every
// package's record and metadata: a page of the web UI and conda's
// channel notices ask for it, solvers do not.
func (x *Index) channelData(ctx context.Context, ch *gatehouse.Channel) (*gatehouse.IndexFile, error) {
	cd, ok := x.channeldata.Get(ch.ID)
	if !ok || cd.revision < ch.Revision {
		var err error
		cd, err = x.channeldata.GetOrLoad(ctx, ch.ID, func(ctx context.Context) (*channelData, error) {
			return x.buildChannelData(ctx, ch)
		})
		if err != nil {
			return nil, err
		}
		if cd.revision < ch.Revision {
			x.channeldata.Delete(ch.ID)
			if cd, err = x.buildChannelData(ctx, ch); err != nil {
				return nil, err
			}
			x.channeldata.Set(ch.ID, cd)
		}
	}
	return &gatehouse.IndexFile{Data: cd.data, Size: int64(len(cd.data)), ContentType: "application/json", ETag: cd.etag, ModTime: cd.built}, nil
}

func (x *Index) buildChannelData(ctx context.Context, ch *gatehouse.Channel) (*channelData, error) {
	subdirs, err := x.store.ChannelSubdirs(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	var cps []repofmt.ChannelPackage
	for _, sd := range subdirs {
		err := x.store.EachPackage(ctx, ch.ID, sd, "", func(p *gatehouse.Package) error {
			ix, err := conda.ParseIndexJSON(p.Record)
			if err != nil {
				return err
			}
			cp := repofmt.ChannelPackage{Index: *ix}
			if err := repofmt.DecodeMeta(p.Meta, &cp); err != nil {
				return err
			}
			cps = append(cps, cp)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	data, err := repofmt.BuildChannelData(subdirs, cps)
	if err != nil {
		return nil, err
	}
	return &channelData{revision: ch.Revision, data: data, etag: etag(data), built: x.now()}, nil
}

// etag is one strong validator per content.
func etag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// Len is how many built files and subdir lists the index holds, for
// metrics and for the tests that prove clients cannot grow it.
func (x *Index) Len() int {
	x.mu.Lock()
	n := len(x.subs)
	x.mu.Unlock()
	n += x.packages.Len() + x.small.Len() + x.shards.Len() + x.channeldata.Len() + x.subdirs.Len()
	if x.hot != nil {
		n += x.hot.Len()
	}
	return n
}
