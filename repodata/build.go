package repodata

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda/repofmt"
)

// state is one revision of a subdir's index, as built on disk: what
// readers serve, swapped whole when a change is applied.
type state struct {
	Rev    int64
	Subdir string
	// Base is the path of the revision's files less their suffix.
	Base string
	Size [numEnc]int64
	// Whole holds the sizes of the one-frame .zst and .gz files once the
	// revision is compacted (compact.go), zero before.
	Whole     [numEnc]int64
	ETag      string
	Built     time.Time
	IndexSize int64
	IndexETag string
	Segs      []segment
}

func (st *state) path(enc int) string { return st.Base + encSuffix[enc] }
func (st *state) indexPath() string   { return st.Base + ".shards.msgpack.zst" }

// find returns the index of name's segment, which Segs holds in name
// order.
func (st *state) find(name string) (int, bool) {
	return slices.BinarySearchFunc(st.Segs, name, func(s segment, n string) int { return strings.Compare(s.Name, n) })
}

// files lists the revision's files, for retiring them.
func (st *state) files() []string {
	return []string{st.path(encJSON), st.path(encZstd), st.path(encGzip), st.indexPath(),
		st.wholePath(encZstd), st.wholePath(encGzip)}
}

// builder builds one subdir of one channel.
type builder struct {
	x       *Index
	channel int64
	subdir  string
	dir     string
}

// full builds the subdir at revision rev from every package, streaming
// from the store: memory holds one name's records at a time. The conda
// section is written to a side file during the walk and copied after the
// tar section.
func (b *builder) full(ctx context.Context, rev int64) (*state, error) {
	base := filepath.Join(b.dir, fmt.Sprintf("r%d", rev))
	main, err := createOutputs(base)
	if err != nil {
		return nil, err
	}
	side, err := createOutputs(base + ".side")
	if err != nil {
		main.remove(base)
		return nil, err
	}
	defer side.remove(base + ".side")
	header, middle, footer := fixed(b.subdir)
	for enc := range numEnc {
		if _, err := main.write(enc, encode(enc, header)); err != nil {
			main.remove(base)
			return nil, err
		}
	}
	var (
		segs    []segment
		name    string
		entries []repofmt.Entry
		seen    [numSec]bool
	)
	flush := func() error {
		if len(entries) == 0 {
			return nil
		}
		r, err := render(name, entries)
		if err != nil {
			return err
		}
		if err := writeShard(b.dir, r); err != nil {
			return err
		}
		seg := segment{Name: name, Shard: r.hash}
		first := [numSec]bool{!seen[secTar], !seen[secConda]}
		if err := main.writeSegment(&seg, r, first, secTar); err != nil {
			return err
		}
		if err := side.writeSegment(&seg, r, first, secConda); err != nil {
			return err
		}
		for sec := range numSec {
			seen[sec] = seen[sec] || seg.has(sec)
		}
		segs = append(segs, seg)
		entries = entries[:0]
		return nil
	}
	err = b.x.store.EachPackage(ctx, b.channel, b.subdir, "", func(p *gatehouse.Package) error {
		if p.Name != name {
			if err := flush(); err != nil {
				return err
			}
			name = p.Name
		}
		entries = append(entries, repofmt.Entry{Filename: p.Filename, Record: slices.Clone(p.Record)})
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = b.finish(main, side, segs, middle, footer)
	}
	if err != nil {
		main.remove(base)
		return nil, err
	}
	if err := main.commit(base); err != nil {
		return nil, err
	}
	return b.seal(rev, base, main, segs)
}

// finish writes the middle, the conda section from side, and the footer.
func (b *builder) finish(main, side *outputs, segs []segment, middle, footer []byte) error {
	var condaAt [numEnc]int64
	for enc := range numEnc {
		if _, err := main.write(enc, encode(enc, middle)); err != nil {
			return err
		}
		condaAt[enc] = main.off[enc]
		if err := side.w[enc].Flush(); err != nil {
			return err
		}
		if side.off[enc] > 0 {
			if _, err := main.copyFrom(enc, side.f[enc], span{0, side.off[enc]}); err != nil {
				return err
			}
		}
		if _, err := main.write(enc, encode(enc, footer)); err != nil {
			return err
		}
	}
	for i := range segs {
		if segs[i].has(secConda) {
			for enc := range numEnc {
				segs[i].Part[secConda][enc].Off += condaAt[enc]
			}
		}
	}
	return nil
}

// apply builds revision rev from old by re-rendering the names in
// changed (nil: the name has no packages left) and copying every other
// segment's pieces from old's files.
func (b *builder) apply(old *state, rev int64, changed map[string]*rendered) (*state, error) {
	names := make([]string, 0, len(changed))
	for n := range changed {
		names = append(names, n)
	}
	slices.Sort(names)
	// segs are the new revision's segments, in name order: old's, copied
	// between the changed names; fresh lists those, in order, with what
	// to write for them.
	type freshSeg struct {
		k int
		r *rendered
	}
	segs := make([]segment, 0, len(old.Segs)+len(names))
	fresh := make([]freshSeg, 0, len(names))
	i := 0
	for _, name := range names {
		k, _ := slices.BinarySearchFunc(old.Segs[i:], name, func(s segment, n string) int { return strings.Compare(s.Name, n) })
		segs = append(segs, old.Segs[i:i+k]...)
		i += k
		if i < len(old.Segs) && old.Segs[i].Name == name {
			i++
		}
		if r := changed[name]; r != nil {
			fresh = append(fresh, freshSeg{len(segs), r})
			segs = append(segs, segment{Name: r.name, Shard: r.hash})
		}
	}
	segs = append(segs, old.Segs[i:]...)
	var src [numEnc]*os.File
	for enc := range numEnc {
		f, err := os.Open(old.path(enc))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		src[enc] = f
	}
	base := filepath.Join(b.dir, fmt.Sprintf("r%d", rev))
	out, err := createOutputs(base)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*state, error) { out.remove(base); return nil, err }
	header, middle, footer := fixed(b.subdir)
	for enc := range numEnc {
		if _, err := out.write(enc, encode(enc, header)); err != nil {
			return fail(err)
		}
	}
	for sec := range numSec {
		if sec == secConda {
			for enc := range numEnc {
				if _, err := out.write(enc, encode(enc, middle)); err != nil {
					return fail(err)
				}
			}
		}
		// A run of unchanged pieces, contiguous in old's files, copied at
		// once: from[enc] in old lands at to[enc] in the new file.
		var from, to [numEnc]span
		run := false
		flushRun := func() error {
			if !run {
				return nil
			}
			run = false
			for enc := range numEnc {
				if _, err := out.copyFrom(enc, src[enc], from[enc]); err != nil {
					return err
				}
			}
			return nil
		}
		first := true
		next := 0 // in fresh
		for k := range segs {
			seg := &segs[k]
			var fr *rendered
			if next < len(fresh) && fresh[next].k == k {
				fr = fresh[next].r
				next++
			}
			has := seg.has(sec)
			if fr != nil {
				has = len(fr.frag[sec]) > 0
			}
			if !has {
				continue
			}
			isFirst := first
			first = false
			switch {
			case fr != nil:
				if err := flushRun(); err != nil {
					return fail(err)
				}
				f := [numSec]bool{}
				f[sec] = isFirst
				if err := out.writeSegment(seg, fr, f, sec); err != nil {
					return fail(err)
				}
			case seg.First[sec] == isFirst:
				p := seg.Part[sec]
				if !run || from[encJSON].Off+from[encJSON].N != p[encJSON].Off {
					if err := flushRun(); err != nil {
						return fail(err)
					}
					run = true
					for enc := range numEnc {
						from[enc] = span{p[enc].Off, 0}
						to[enc] = span{out.off[enc], 0}
					}
				}
				for enc := range numEnc {
					seg.Part[sec][enc].Off = to[enc].Off + from[enc].N
					from[enc].N += p[enc].N
				}
			default:
				// The piece moved to or from the head of its section:
				// rewrite it with or without its leading comma.
				if err := flushRun(); err != nil {
					return fail(err)
				}
				p := seg.Part[sec][encJSON]
				body := make([]byte, p.N)
				if _, err := src[encJSON].ReadAt(body, p.Off); err != nil {
					return fail(err)
				}
				if len(body) > 0 && body[0] == ',' {
					body = body[1:]
				}
				if !isFirst {
					body = append([]byte{','}, body...)
				}
				for enc := range numEnc {
					sp, err := out.write(enc, encode(enc, body))
					if err != nil {
						return fail(err)
					}
					seg.Part[sec][enc] = sp
				}
				seg.First[sec] = isFirst
			}
		}
		if err := flushRun(); err != nil {
			return fail(err)
		}
	}
	for enc := range numEnc {
		if _, err := out.write(enc, encode(enc, footer)); err != nil {
			return fail(err)
		}
	}
	if err := out.commit(base); err != nil {
		return nil, err
	}
	return b.seal(rev, base, out, segs)
}

// seal writes the shard index and the manifest of a built revision.
func (b *builder) seal(rev int64, base string, out *outputs, segs []segment) (*state, error) {
	st := &state{Rev: rev, Subdir: b.subdir, Base: base, Size: out.off, Segs: segs, Built: b.x.now().UTC().Truncate(time.Second)}
	st.ETag = contentTag(b.subdir, segs)
	z, err := shardIndex(b.subdir, segs)
	if err != nil {
		return nil, err
	}
	if err := writeFile(st.indexPath(), z); err != nil {
		return nil, err
	}
	st.IndexSize = int64(len(z))
	st.IndexETag = `"` + strings.Trim(contentTag(b.subdir+"/shards", segs), `"`) + `"`
	if err := b.saveManifest(st); err != nil {
		return nil, err
	}
	return st, nil
}

func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp) // a full disk leaves no partial file behind
		return err
	}
	return os.Rename(tmp, path)
}
