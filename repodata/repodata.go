// Package repodata builds and keeps the index files of channels:
// repodata.json per subdir with its precompressed forms, and
// channeldata.json. Each is built once per change of its channel (the
// channel's revision), never per request, and kept in a bounded cache; a
// burst of clients after a change triggers one build, not one per client.
package repodata

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cache"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/klauspost/compress/gzip"
)

// Index implements gatehouse.IndexService over a store.
type Index struct {
	store gatehouse.Store
	now   gatehouse.Clock
	// built holds built subdirs and channeldata by (channel, subdir), and
	// subdirs the subdirs that hold packages, per channel: both at the
	// revision they were built for.
	built   *cache.Cache[key, *subdir]
	subdirs *cache.Cache[int64, *subdirSet]
}

var _ gatehouse.IndexService = (*Index)(nil)

type key struct {
	channel int64
	subdir  string // "" is channeldata.json
}

// subdir is one built subdir (or channeldata.json).
type subdir struct {
	revision int64
	json     []byte
	zst      []byte
	gz       []byte
	etag     string
	built    time.Time
	files    map[string]*gatehouse.Package
}

type subdirSet struct {
	revision int64
	has      map[string]bool
}

// maxBuilt bounds the built subdirs kept: only subdirs that hold packages
// or that conda knows are built at all, so this is per channel a handful.
const maxBuilt = 4096

// New returns an Index over store; now dates the builds.
func New(store gatehouse.Store, now gatehouse.Clock) *Index {
	return &Index{store: store, now: now,
		built:   cache.New[key, *subdir](cache.Options{MaxEntries: maxBuilt, TTL: time.Hour, Clock: now}),
		subdirs: cache.New[int64, *subdirSet](cache.Options{MaxEntries: maxBuilt, TTL: time.Hour, Clock: now}),
	}
}

// File returns an index file of ch at its current revision.
func (x *Index) File(ctx context.Context, ch *gatehouse.Channel, name string, gzip bool) (*gatehouse.IndexFile, error) {
	if name == "channeldata.json" {
		sd, err := x.get(ctx, ch, "", x.buildChannelData)
		if err != nil {
			return nil, err
		}
		return &gatehouse.IndexFile{Data: sd.json, ContentType: "application/json", ETag: sd.etag, ModTime: sd.built}, nil
	}
	dir, file, _ := strings.Cut(name, "/")
	if file != "repodata.json" && file != "repodata.json.zst" {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such file in channel %q.", ch.Name)
	}
	sd, err := x.subdir(ctx, ch, dir)
	if err != nil {
		return nil, err
	}
	f := &gatehouse.IndexFile{Data: sd.json, ContentType: "application/json", ETag: sd.etag, ModTime: sd.built}
	switch {
	case file == "repodata.json.zst":
		f.Data, f.ContentType = sd.zst, "application/zstd"
	case gzip:
		f.Data, f.Encoding = sd.gz, "gzip"
	}
	return f, nil
}

// Package returns ch's package file subdir/filename.
func (x *Index) Package(ctx context.Context, ch *gatehouse.Channel, subdir, filename string) (*gatehouse.Package, error) {
	sd, err := x.subdir(ctx, ch, subdir)
	if err != nil {
		return nil, err
	}
	if p := sd.files[filename]; p != nil {
		return p, nil
	}
	return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Channel %q has no package %s for %s.", ch.Name, filename, subdir)
}

// subdir returns the built subdir, if the channel has packages there or
// conda knows it; anything else is ENOTFOUND without a build, so clients
// asking for made-up subdirs create no entries (checklist I6).
func (x *Index) subdir(ctx context.Context, ch *gatehouse.Channel, dir string) (*subdir, error) {
	if !gatehouse.ValidSubdir(dir) {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such file in channel %q.", ch.Name)
	}
	if !gatehouse.KnownSubdir(dir) {
		has, err := x.hasPackages(ctx, ch, dir)
		if err != nil {
			return nil, err
		}
		if !has {
			return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "Channel %q has no packages for %s.", ch.Name, dir)
		}
	}
	return x.get(ctx, ch, dir, x.buildSubdir)
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

type builder func(ctx context.Context, ch *gatehouse.Channel, dir string) (*subdir, error)

// get returns the entry at the channel's revision, building it (once for
// all concurrent callers) when the one kept is older.
func (x *Index) get(ctx context.Context, ch *gatehouse.Channel, dir string, build builder) (*subdir, error) {
	k := key{ch.ID, dir}
	if sd, ok := x.built.Get(k); ok && sd.revision >= ch.Revision {
		return sd, nil
	}
	for {
		sd, err := x.built.GetOrLoad(ctx, k, func(ctx context.Context) (*subdir, error) {
			return build(ctx, ch, dir)
		})
		if err != nil {
			return nil, err
		}
		if sd.revision >= ch.Revision {
			return sd, nil
		}
		// An entry of an older revision: replace it and build again.
		x.built.Delete(k)
	}
}

func (x *Index) buildSubdir(ctx context.Context, ch *gatehouse.Channel, dir string) (*subdir, error) {
	pkgs, err := x.store.ListPackages(ctx, ch.ID, dir)
	if err != nil {
		return nil, err
	}
	entries := make([]conda.Entry, len(pkgs))
	files := make(map[string]*gatehouse.Package, len(pkgs))
	for i, p := range pkgs {
		entries[i] = conda.Entry{Filename: p.Filename, Record: p.Record}
		files[p.Filename] = p
	}
	data, err := conda.BuildRepodata(dir, entries)
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	return &subdir{
		revision: ch.Revision,
		json:     data,
		zst:      conda.Zstd(data),
		gz:       gz.Bytes(),
		etag:     etag(data),
		built:    x.now().Truncate(time.Second),
		files:    files,
	}, nil
}

func (x *Index) buildChannelData(ctx context.Context, ch *gatehouse.Channel, _ string) (*subdir, error) {
	pkgs, err := x.store.ListPackages(ctx, ch.ID, "")
	if err != nil {
		return nil, err
	}
	subdirs := []string{}
	seen := map[string]bool{}
	cps := make([]conda.ChannelPackage, 0, len(pkgs))
	for _, p := range pkgs {
		if !seen[p.Subdir] {
			seen[p.Subdir] = true
			subdirs = append(subdirs, p.Subdir)
		}
		ix, err := conda.ParseIndexJSON(p.Record)
		if err != nil {
			return nil, fmt.Errorf("package %s/%s has a record that no longer parses: %w", p.Subdir, p.Filename, err)
		}
		cp := conda.ChannelPackage{Index: *ix}
		if err := conda.DecodeMeta(p.Meta, &cp); err != nil {
			return nil, fmt.Errorf("package %s/%s has unreadable metadata: %w", p.Subdir, p.Filename, err)
		}
		cps = append(cps, cp)
	}
	data, err := conda.BuildChannelData(subdirs, cps)
	if err != nil {
		return nil, err
	}
	return &subdir{revision: ch.Revision, json: data, etag: etag(data), built: x.now()}, nil
}

// etag is one strong validator per content.
func etag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// Len is how many built files and subdir lists the index holds, for
// metrics and for the tests that prove clients cannot grow it.
func (x *Index) Len() int { return x.built.Len() + x.subdirs.Len() }
