package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse"
)

// shardsValidator suffixes a subdir in UpstreamStatus.Validators for the
// validators of its shard index.
const shardsValidator = "#shards"

// viaShards syncs the subdir through the upstream's CEP-16 shard index:
// the index is asked for conditionally (a 304 ends the sync), and only
// the shards of names whose hash differs from what the last sync applied
// are fetched and compared with the channel's records of that name.
// done is false when the upstream has no shard index (or an unreadable
// one): the caller reads repodata.json instead.
func (r *run) viaShards(ctx context.Context) (done bool, err error) {
	m, u, subdir, st := r.m, r.u, r.subdir, r.st
	prev, err := m.loadState(ctx, u, subdir)
	if err != nil {
		return true, err
	}
	due := r.hold.dueNames(m.cfg.Clock())
	var v *gatehouse.Validator
	if prev != nil && len(due) == 0 && !prev.incomplete() {
		vv := st.Validators[subdir+shardsValidator]
		v = &vv
	}
	indexURL := u.URL + "/" + subdir + "/repodata_shards.msgpack.zst"
	body, res, err := m.get(ctx, u, indexURL, v)
	if err != nil {
		return true, err
	}
	switch res.StatusCode {
	case http.StatusNotModified:
		return true, nil
	case http.StatusOK:
	default:
		return false, nil
	}
	idx, err := decodeShardIndex(body, indexURL)
	if err != nil {
		m.log.Warn("the upstream's shard index is not readable; reading its repodata.json", "channel_id", u.ChannelID, "subdir", subdir, "err", err)
		return false, nil
	}
	idx.v = gatehouse.Validator{ETag: res.Header.Get("ETag"), LastModified: res.Header.Get("Last-Modified")}
	var changed, removed []string
	for name, h := range idx.shards {
		if ph, ok := prev[name]; !ok || ph != h || due[name] {
			changed = append(changed, name)
		}
	}
	for name := range prev {
		if _, ok := idx.shards[name]; !ok {
			removed = append(removed, name)
		}
	}
	// A first sync, or one after many changes, reads one repodata.json
	// rather than thousands of shards.
	if prev == nil || len(changed)+len(removed) > max(256, len(idx.shards)/20) {
		return true, r.viaRepodata(ctx, idx)
	}
	slices.Sort(changed)
	slices.Sort(removed)
	fetched, fetchErr := m.fetchShards(ctx, u, idx, changed)

	scope := map[string]bool{}
	var add []*gatehouse.Package
	var remove []gatehouse.PackageRef
	for _, name := range changed {
		recs, ok := fetched[name]
		if !ok {
			r.failed[name] = true
			continue
		}
		scope[name] = true
		a, rm, err := r.diffName(ctx, name, recs)
		if err != nil {
			return true, err
		}
		add, remove = append(add, a...), append(remove, rm...)
	}
	for _, name := range removed {
		scope[name] = true
		err := m.cfg.Store.EachPackage(ctx, u.ChannelID, subdir, name, func(p *gatehouse.Package) error {
			remove = append(remove, gatehouse.PackageRef{Subdir: subdir, Filename: p.Filename})
			return nil
		})
		if err != nil {
			return true, err
		}
	}
	if err := r.apply(ctx, add, remove); err != nil {
		return true, err
	}
	if err := r.hold.finish(ctx, func(fn string) bool { return scope[nameOf(fn)] }); err != nil {
		return true, err
	}
	if err := r.keepState(ctx, idx); err != nil {
		return true, err
	}
	// The repodata.json validators predate what the shards applied.
	delete(st.Validators, subdir)
	return true, fetchErr
}

// diffName compares one name's upstream records (from its shard) with
// the channel's: what to add (new or changed), what to remove.
func (r *run) diffName(ctx context.Context, name string, recs []shardRecord) ([]*gatehouse.Package, []gatehouse.PackageRef, error) {
	m, u, subdir, st := r.m, r.u, r.subdir, r.st
	have := map[string]string{}
	err := m.cfg.Store.EachPackage(ctx, u.ChannelID, subdir, name, func(p *gatehouse.Package) error {
		have[p.Filename] = p.SHA256
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var add []*gatehouse.Package
	for _, rec := range recs {
		if nameOf(rec.filename) != name {
			continue // a shard holds its own name's records only
		}
		st.Progress.Records++
		sha := quickSHA(rec.raw)
		if cur, ok := have[rec.filename]; ok && cur == sha && sha != "" {
			delete(have, rec.filename)
			st.Progress.Admitted++
			continue
		}
		p, verdict := m.record(u.ChannelID, subdir, rec.filename, rec.raw, r.pol)
		if err := r.hold.note(ctx, rec.filename, verdict); err != nil {
			return nil, nil, err
		}
		if p == nil || verdict.Rule != "" {
			continue
		}
		delete(have, rec.filename)
		st.Progress.Admitted++
		add = append(add, p)
	}
	var remove []gatehouse.PackageRef
	for fn := range have {
		remove = append(remove, gatehouse.PackageRef{Subdir: subdir, Filename: fn})
	}
	slices.SortFunc(remove, func(a, b gatehouse.PackageRef) int { return strings.Compare(a.Filename, b.Filename) })
	return add, remove, nil
}

// incomplete reports whether a name was not all applied last time: the
// index is then read even if unchanged, to try those again.
func (s shardState) incomplete() bool {
	for _, h := range s {
		if h == ([32]byte{}) {
			return true
		}
	}
	return false
}

// keepState saves idx as what the channel now holds, less the names
// whose records were not all applied, and the index's validators.
func (r *run) keepState(ctx context.Context, idx *shardIndex) error {
	state := make(shardState, len(idx.shards))
	for name, hash := range idx.shards {
		if !r.failed[name] {
			state[name] = hash
		} else {
			state[name] = [32]byte{}
		}
	}
	if err := r.m.saveState(ctx, r.u, r.subdir, state); err != nil {
		return err
	}
	r.st.Validators[r.subdir+shardsValidator] = idx.v
	return nil
}

// fetchShards fetches and decodes the shards of names, PerUpstream at a
// time, each checked against its hash in the index. A shard that cannot
// be had is left out (its name is read again next time) and named in err.
func (m *Manager) fetchShards(ctx context.Context, u *gatehouse.Upstream, idx *shardIndex, names []string) (map[string][]shardRecord, error) {
	out := make(map[string][]shardRecord, len(names))
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	work := make(chan string)
	for range max(1, min(m.cfg.PerUpstream, len(names))) {
		wg.Go(func() {
			for name := range work {
				recs, err := m.fetchShard(ctx, u, idx, name)
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("the shard of %s: %w", name, err))
				} else {
					out[name] = recs
				}
				mu.Unlock()
			}
		})
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("and %d more shards", len(errs)-3))
	}
	return out, errors.Join(errs...)
}

func (m *Manager) fetchShard(ctx context.Context, u *gatehouse.Upstream, idx *shardIndex, name string) ([]shardRecord, error) {
	want := idx.shards[name]
	body, res, err := m.get(ctx, u, idx.shardsBase+hex.EncodeToString(want[:])+".msgpack.zst", nil)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, &statusErr{res.StatusCode, "a shard"}
	}
	if sha256.Sum256(body) != want {
		return nil, errors.New("its sha256 differs from the index's")
	}
	return decodeShard(body)
}

// holdingSet is what a channel's subdir holds, compactly, for comparing
// with a repodata.json: per file, a 64-bit hash of its name and the first
// 8 bytes of its sha256, with the names back to back for the removals.
type holdingSet struct {
	keys  []holdingKey // by fn
	names []byte
}

type holdingKey struct {
	fn, sha uint64
	off     uint32
	n       uint16
	seen    bool
}

var holdingSeed = maphash.MakeSeed()

func sha64(hexSHA string) (uint64, bool) {
	var b [8]byte
	if len(hexSHA) != 64 {
		return 0, false
	}
	if _, err := hex.Decode(b[:], []byte(hexSHA[:16])); err != nil {
		return 0, false
	}
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]), true
}

func (m *Manager) holding(ctx context.Context, channelID int64, subdir string) (*holdingSet, error) {
	h := &holdingSet{}
	err := m.cfg.Store.EachPackage(ctx, channelID, subdir, "", func(p *gatehouse.Package) error {
		sha, _ := sha64(p.SHA256)
		if len(p.Filename) > 0xffff {
			return nil
		}
		h.keys = append(h.keys, holdingKey{fn: maphash.String(holdingSeed, p.Filename), sha: sha, off: uint32(len(h.names)), n: uint16(len(p.Filename))})
		h.names = append(h.names, p.Filename...)
		return nil
	})
	slices.SortFunc(h.keys, func(a, b holdingKey) int {
		switch {
		case a.fn < b.fn:
			return -1
		case a.fn > b.fn:
			return 1
		}
		return 0
	})
	return h, err
}

func (h *holdingSet) find(fn string) *holdingKey {
	k := maphash.String(holdingSeed, fn)
	i, _ := slices.BinarySearchFunc(h.keys, k, func(e holdingKey, k uint64) int {
		switch {
		case e.fn < k:
			return -1
		case e.fn > k:
			return 1
		}
		return 0
	})
	for ; i < len(h.keys) && h.keys[i].fn == k; i++ {
		if e := &h.keys[i]; string(h.names[e.off:e.off+uint32(e.n)]) == fn {
			return e
		}
	}
	return nil
}

// unchanged reports whether the channel holds fn with this sha256, and
// marks it seen.
func (h *holdingSet) unchanged(fn, hexSHA string) bool {
	sha, ok := sha64(hexSHA)
	e := h.find(fn)
	if !ok || e == nil || e.sha != sha {
		return false
	}
	e.seen = true
	return true
}

// see marks fn as still upstream.
func (h *holdingSet) see(fn string) {
	if e := h.find(fn); e != nil {
		e.seen = true
	}
}

// unseen returns the files not seen upstream, by name.
func (h *holdingSet) unseen(subdir string) []gatehouse.PackageRef {
	var out []gatehouse.PackageRef
	for _, e := range h.keys {
		if !e.seen {
			out = append(out, gatehouse.PackageRef{Subdir: subdir, Filename: string(h.names[e.off : e.off+uint32(e.n)])})
		}
	}
	slices.SortFunc(out, func(a, b gatehouse.PackageRef) int { return strings.Compare(a.Filename, b.Filename) })
	return out
}
