package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/condaname"
)

// defaultSubdirs are followed when neither the filters nor the upstream's
// channeldata.json name any; a subdir the upstream lacks counts as empty.
var defaultSubdirs = []string{"noarch", "linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64"}

// syncChannel brings one channel in line with its upstream and records
// how it went.
func (m *Manager) syncChannel(ctx context.Context, channelID int64) {
	m.mu.Lock()
	u0, ok := m.ups[channelID]
	m.mu.Unlock()
	if !ok {
		return
	}
	u := *u0
	st := u.Status
	st.Validators = maps.Clone(st.Validators) // u0's map is the published one, read by others
	st.State, st.AttemptedAt, st.Error, st.Progress = "syncing", m.cfg.Clock().UTC(), "", gatehouse.SyncProgress{}
	if st.Validators == nil {
		st.Validators = map[string]gatehouse.Validator{}
	}
	m.setStatus(ctx, channelID, st)
	err := m.syncAll(ctx, &u, &st)
	if err != nil {
		st.State, st.Error = "failed", err.Error()
		m.log.Warn("upstream sync failed", "channel_id", channelID, "upstream", u.URL, "err", err)
	} else {
		st.State, st.RefreshedAt = "ok", m.cfg.Clock().UTC()
	}
	st.Progress.Subdir = ""
	m.setStatus(ctx, channelID, st)
}

func (m *Manager) syncAll(ctx context.Context, u *gatehouse.Upstream, st *gatehouse.UpstreamStatus) error {
	pol, err := Compile(u.Filters)
	if err != nil {
		return err
	}
	subdirs := slices.Clone(u.Filters.Subdirs)
	if len(subdirs) == 0 {
		subdirs = m.upstreamSubdirs(ctx, u)
	}
	var errs []error
	for _, sd := range subdirs {
		st.Progress.Subdir = sd
		if err := m.syncSubdir(ctx, u, pol, sd, st); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sd, err))
		}
	}
	return errors.Join(errs...)
}

// subdirsSeen is what an upstream's channeldata.json said, and its
// validators, so an unchanged one costs a 304.
type subdirsSeen struct {
	v       gatehouse.Validator
	subdirs []string
}

// upstreamSubdirs reads the subdirs from the upstream's channeldata.json
// (conditionally, after the first time), or falls back to the common ones.
func (m *Manager) upstreamSubdirs(ctx context.Context, u *gatehouse.Upstream) []string {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.FileTimeout)
	defer cancel()
	m.mu.Lock()
	seen, ok := m.subdirs[u.ChannelID]
	m.mu.Unlock()
	req, err := m.request(ctx, u, "channeldata.json")
	if err != nil {
		return defaultSubdirs
	}
	if ok && seen.v.ETag != "" {
		req.Header.Set("If-None-Match", seen.v.ETag)
	}
	if ok && seen.v.LastModified != "" {
		req.Header.Set("If-Modified-Since", seen.v.LastModified)
	}
	res, err := m.cfg.Client.Do(req)
	if err != nil {
		return defaultSubdirs
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotModified && ok {
		return seen.subdirs
	}
	var cd struct {
		Subdirs []string `json:"subdirs"`
	}
	if res.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(res.Body, 64<<20)).Decode(&cd) == nil && len(cd.Subdirs) > 0 {
		out := []string{"noarch"}
		for _, s := range cd.Subdirs {
			if condaname.ValidSubdir(s) && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		m.mu.Lock()
		m.subdirs[u.ChannelID] = subdirsSeen{gatehouse.Validator{ETag: res.Header.Get("ETag"), LastModified: res.Header.Get("Last-Modified")}, out}
		m.mu.Unlock()
		return out
	}
	return defaultSubdirs
}

// run is one subdir's sync.
type run struct {
	m      *Manager
	u      *gatehouse.Upstream
	pol    *Policy
	subdir string
	st     *gatehouse.UpstreamStatus
	hold   *held
	// failed names the packages some of whose records were not applied
	// (a mirror's file copy failed): read again by the next sync.
	failed map[string]bool
}

// syncSubdir brings one subdir in line with the upstream at a cost in
// proportion to what changed: through the upstream's CEP-16 shard index
// when it has one (only the shards whose hash changed are fetched), else
// through its repodata.json, read as a stream and compared by file name
// and sha256 with what the channel holds. Both ask conditionally, so an
// unchanged upstream costs one 304.
func (m *Manager) syncSubdir(ctx context.Context, u *gatehouse.Upstream, pol *Policy, subdir string, st *gatehouse.UpstreamStatus) error {
	hold, err := m.loadHeld(ctx, u.ChannelID, subdir)
	if err != nil {
		return err
	}
	r := &run{m: m, u: u, pol: pol, subdir: subdir, st: st, hold: hold, failed: map[string]bool{}}
	done, err := r.viaShards(ctx)
	if done || err != nil {
		return err
	}
	return r.viaRepodata(ctx, nil)
}

// viaRepodata reads the subdir's repodata.json and applies the
// difference: new and changed records the filters admit are added,
// records gone upstream (or now filtered) removed. Small differences go
// in one transaction; a large one (a first sync) in batches, so memory
// holds one batch. With idx (a shard index read just before), the
// document is read even if unchanged, and idx becomes the shard state.
func (r *run) viaRepodata(ctx context.Context, idx *shardIndex) error {
	m, u, subdir, st := r.m, r.u, r.subdir, r.st
	// RepodataTimeout bounds the wait for the upstream's next bytes, not
	// the whole read: a first sync of conda-forge's 465,000 records takes
	// as long as the database needs to write them.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idle := time.AfterFunc(m.cfg.RepodataTimeout, cancel)
	defer idle.Stop()
	req, err := m.request(rctx, u, subdir+"/repodata.json")
	if err != nil {
		return err
	}
	v := st.Validators[subdir]
	if r.hold.due(m.cfg.Clock()) || idx != nil {
		v = gatehouse.Validator{} // a release held for its age may be admitted now
	}
	if v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	res, err := m.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("the upstream did not answer: %w", err)
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusNotModified:
		return nil
	case http.StatusOK:
	case http.StatusNotFound:
		if subdir == "noarch" {
			return &statusErr{res.StatusCode, subdir + "/repodata.json"}
		}
		// The upstream has no such subdir: nothing of it is kept.
		if err := r.hold.finish(ctx, nil); err != nil {
			return err
		}
		return r.apply(ctx, nil, m.removeAll(ctx, u.ChannelID, subdir))
	default:
		return &statusErr{res.StatusCode, subdir + "/repodata.json"}
	}

	// What the channel holds now, compactly: about 70 bytes a record, so
	// conda-forge's 465,000 take some 30 MB (the records themselves stay
	// in the database, and the document is read one record at a time).
	have, err := m.holding(ctx, u.ChannelID, subdir)
	if err != nil {
		return err
	}
	var batch []*gatehouse.Package
	err = readRepodata(res.Body, func(fn string, raw []byte) error {
		idle.Reset(m.cfg.RepodataTimeout)
		st.Progress.Records++
		sha := quickSHA(raw)
		if have.unchanged(fn, sha) {
			st.Progress.Admitted++
			return nil
		}
		p, verdict := m.record(u.ChannelID, subdir, fn, raw, r.pol)
		if err := r.hold.note(ctx, fn, verdict); err != nil {
			return err
		}
		if p == nil || verdict.Rule != "" {
			return nil // filtered or unreadable: absent here (and removed below if it was kept)
		}
		have.see(fn) // changed upstream (if it was here): the add replaces it
		st.Progress.Admitted++
		batch = append(batch, p)
		if len(batch) >= m.cfg.BatchSize {
			err := r.apply(ctx, batch, nil)
			batch = nil
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	gone := have.unseen(subdir)
	if err := r.apply(ctx, batch, gone); err != nil {
		return err
	}
	if err := r.hold.finish(ctx, nil); err != nil {
		return err
	}
	if idx != nil {
		if err := r.keepState(ctx, idx); err != nil {
			return err
		}
	} else {
		// Read without shards: a shard state from before no longer says
		// what the channel holds.
		delete(st.Validators, subdir+shardsValidator)
		if err := m.cfg.Blobs.Delete(ctx, stateKey(u.ChannelID, subdir)); err != nil {
			return err
		}
	}
	st.Validators[subdir] = gatehouse.Validator{ETag: res.Header.Get("ETag"), LastModified: res.Header.Get("Last-Modified")}
	return nil
}

func (m *Manager) removeAll(ctx context.Context, channelID int64, subdir string) []gatehouse.PackageRef {
	var out []gatehouse.PackageRef
	m.cfg.Store.EachPackage(ctx, channelID, subdir, "", func(p *gatehouse.Package) error {
		out = append(out, gatehouse.PackageRef{Subdir: subdir, Filename: p.Filename})
		return nil
	})
	return out
}

// apply commits what changed: for a mirror, only the records whose files
// it copied and verified (the rest wait for the next sync, their names
// marked failed); removals go in the same transaction, more than a batch
// of them in further ones. Blobs of what went are deleted after the
// commit.
func (r *run) apply(ctx context.Context, add []*gatehouse.Package, remove []gatehouse.PackageRef) error {
	m, u, st := r.m, r.u, r.st
	if u.Mode == gatehouse.UpstreamMirror && len(add) > 0 {
		add = m.copyFiles(ctx, u, st, add, r.failed)
	}
	for len(add) > 0 || len(remove) > 0 {
		n := min(len(remove), m.cfg.BatchSize)
		gone, err := m.cfg.Store.ApplyPackages(ctx, u.ChannelID, add, remove[:n])
		if err != nil {
			return err
		}
		if m.cfg.Changed != nil {
			m.cfg.Changed(u.ChannelID)
		}
		st.Progress.Added += int64(len(add))
		st.Progress.Removed += int64(n)
		add, remove = nil, remove[n:]
		for _, p := range gone {
			m.cfg.Blobs.Delete(context.WithoutCancel(ctx), p.BlobKey)
		}
		m.setStatus(ctx, u.ChannelID, *st)
	}
	return nil
}

// copyFiles fetches the batch's files that are not stored yet, at most
// PerUpstream at a time, and returns the packages whose file is stored;
// the names of the others go in failed.
func (m *Manager) copyFiles(ctx context.Context, u *gatehouse.Upstream, st *gatehouse.UpstreamStatus, batch []*gatehouse.Package, failed map[string]bool) []*gatehouse.Package {
	st.Progress.FilesTotal += int64(len(batch))
	ok := make([]bool, len(batch))
	var wg sync.WaitGroup
	work := make(chan int)
	for range m.cfg.PerUpstream {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				p := batch[i]
				if _, _, err := m.cfg.Blobs.Attributes(ctx, p.BlobKey); err == nil {
					ok[i] = true // copied by a sync a crash cut short
					continue
				}
				if err := m.fetchShared(ctx, u, p); err != nil {
					m.log.Warn("copying an upstream file failed", "channel_id", u.ChannelID, "file", p.Subdir+"/"+p.Filename, "err", err)
					continue
				}
				ok[i] = true
			}
		}()
	}
	for i := range batch {
		work <- i
	}
	close(work)
	wg.Wait()
	var out []*gatehouse.Package
	for i, p := range batch {
		if ok[i] {
			out = append(out, p)
			st.Progress.Files++
		} else {
			st.Progress.FilesFailed++
			failed[p.Name] = true
		}
	}
	return out
}

// upstreamDigest is what a record says about its file.
type upstreamDigest struct {
	MD5              string `json:"md5"`
	SHA256           string `json:"sha256"`
	Size             int64  `json:"size"`
	IndexedTimestamp int64  `json:"indexed_timestamp"`
}

// record turns an upstream record into a package of the channel, checked
// the way an upload is (name rules, file name), and judged by the policy.
// It returns nil for a record that is not valid.
func (m *Manager) record(channelID int64, subdir, fn string, raw []byte, pol *Policy) (*gatehouse.Package, Verdict) {
	_, format, err := conda.ParseFilename(fn)
	if err != nil {
		return nil, Verdict{}
	}
	ix, err := conda.ParseIndexJSON(raw)
	if err != nil || ix.Filename(format) != fn || (ix.Subdir != "" && ix.Subdir != subdir) {
		return nil, Verdict{}
	}
	var d upstreamDigest
	if json.Unmarshal(raw, &d) != nil || d.Size < 0 {
		return nil, Verdict{}
	}
	if v := pol.Check(subdir, ix, m.cfg.Clock()); v.Rule != "" {
		return nil, v
	}
	// CEP-47: the time the upstream indexed it, or else its build time,
	// so the same upstream data gives the same records on every replica.
	ts := d.IndexedTimestamp
	if ts <= 0 {
		ts = max(ix.Timestamp, 0)
	}
	rec, err := conda.Record(ix, d.MD5, d.SHA256, d.Size, ts)
	if err != nil {
		return nil, Verdict{}
	}
	return &gatehouse.Package{ChannelID: channelID, Subdir: subdir, Filename: fn, Name: ix.Name, Version: ix.Version,
		Build: ix.Build, Size: d.Size, MD5: d.MD5, SHA256: d.SHA256, Record: rec, Meta: []byte("{}"),
		BlobKey: blobKey(channelID, subdir, d.SHA256, fn)}, Verdict{}
}

// blobKey is where a fetched file is stored: flat in its subdir's
// directory, named by its content and file name, as hosted uploads are
// (no directory to create and sync per file); a file name too long for
// one key segment gets a directory of its own. Records made before this
// layout keep their nested keys, which the rows hold.
func blobKey(channelID int64, subdir, sha256, filename string) string {
	if len(sha256)+1+len(filename) <= gatehouse.MaxBlobKeySegment {
		return fmt.Sprintf("upstream/%d/%s/%s-%s", channelID, subdir, sha256, filename)
	}
	return fmt.Sprintf("upstream/%d/%s/%s/%s", channelID, subdir, sha256, filename)
}

// quickSHA finds a record's "sha256" without decoding it: enough to tell
// an unchanged record (the full check runs on anything new).
func quickSHA(raw []byte) string {
	i := bytes.Index(raw, []byte(`"sha256":"`))
	if i < 0 || len(raw) < i+10+64 {
		return ""
	}
	return string(raw[i+10 : i+10+64])
}

// readRepodata streams a repodata.json, calling fn for each record of
// "packages" and "packages.conda" with its file name and raw JSON (valid
// only during the call). Memory holds one record at a time.
func readRepodata(r io.Reader, fn func(filename string, raw []byte) error) error {
	dec := json.NewDecoder(r)
	bad := func(what string) error { return fmt.Errorf("the upstream's repodata.json is not valid: %s", what) }
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return bad("not an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return bad(err.Error())
		}
		key, _ := t.(string)
		if key != "packages" && key != "packages.conda" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return bad(err.Error())
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			if t == nil && err == nil {
				continue // null
			}
			return bad(key + " is not an object")
		}
		var raw json.RawMessage
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return bad(err.Error())
			}
			name, _ := t.(string)
			raw = raw[:0]
			if err := dec.Decode(&raw); err != nil {
				return bad(err.Error())
			}
			if err := fn(name, raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return bad(err.Error())
		}
	}
	return nil
}
