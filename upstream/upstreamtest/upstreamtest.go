// Package upstreamtest is an upstream conda channel for tests and load
// scripts: it serves repodata.json for the packages it is given (ETag,
// Last-Modified and 304 like a real channel), a CEP-16 shard index and
// shards (as conda-forge does; SetShards(false) withdraws them), and
// generates each package file deterministically on request. Forge makes a channel shaped like
// conda-forge's linux-64 (names, versions, build strings, depends,
// licences, timestamps) of any size. Knobs make it fail the ways upstreams
// do: down, slow, a file whose bytes differ from its record.
package upstreamtest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/conda/repofmt"
	"github.com/gatehouse-dev/gatehouse/condabuild"
)

// Pkg is one package file of the upstream.
type Pkg struct {
	Subdir, Name, Version, Build string
	BuildNumber                  int
	Depends                      []string
	License                      string
	Timestamp                    time.Time
	// Real packages are valid .conda files conda can install (built with
	// condabuild); others are opaque bytes whose digests match their
	// record, enough for proxies and mirrors, and cheap at scale.
	Real bool
}

// Filename is the package's file name.
func (p Pkg) Filename() string { return p.Name + "-" + p.Version + "-" + p.Build + ".conda" }

// Bytes returns the package file: the same for the same Pkg.
func (p Pkg) Bytes() []byte {
	if p.Real {
		var buf bytes.Buffer
		m := condabuild.Meta{Name: p.Name, Version: p.Version, Build: p.Build, BuildNumber: p.BuildNumber, Subdir: p.Subdir,
			Depends: p.Depends, License: p.License, Timestamp: p.Timestamp}
		payload := []byte("payload of " + p.Filename() + "\n")
		if err := condabuild.Build(&buf, m, []condabuild.File{condabuild.BytesFile("share/"+p.Name+"/payload", payload, 0o644)}); err != nil {
			panic(err)
		}
		return buf.Bytes()
	}
	// 512 to 4,607 bytes, from the file name.
	seed := sha256.Sum256([]byte(p.Subdir + "/" + p.Filename()))
	n := 512 + int(seed[0])<<4 | int(seed[1]&0x0f)
	out := make([]byte, 0, n)
	for len(out) < n {
		seed = sha256.Sum256(seed[:])
		out = append(out, seed[:]...)
	}
	return out[:n]
}

// Record returns the package's repodata record for its bytes b.
func (p Pkg) Record(b []byte) map[string]any {
	sha, m5 := sha256.Sum256(b), md5.Sum(b)
	deps := p.Depends
	if deps == nil {
		deps = []string{}
	}
	r := map[string]any{"name": p.Name, "version": p.Version, "build": p.Build, "build_number": p.BuildNumber,
		"depends": deps, "license": p.License, "subdir": p.Subdir,
		"md5": hex.EncodeToString(m5[:]), "sha256": hex.EncodeToString(sha[:]), "size": len(b)}
	if !p.Timestamp.IsZero() { // old records have none
		r["timestamp"] = p.Timestamp.UnixMilli()
	}
	if p.Subdir == "noarch" {
		r["noarch"] = "generic"
	}
	return r
}

// Server is a running test upstream.
type Server struct {
	*httptest.Server
	// Token, when set, is required as Authorization: Bearer.
	Token string

	down, slow, noShards, noETag atomic.Bool
	notModified                  atomic.Int64
	mu                           sync.Mutex
	pkgs                         map[string]map[string]Pkg // subdir -> filename -> Pkg
	recs                         map[string][]byte         // subdir/filename -> record JSON
	corrupt                      map[string]bool
	rev                          int
	modified                     time.Time // Last-Modified: one second later at each change
	hits                         map[string]int
	repodata                     map[string][]byte                     // cache per subdir, per revision
	shards                       map[string]*shard                     // subdir/name -> its shard, dropped when the name changes
	names                        map[string]map[string]map[string]bool // subdir -> name -> filenames
	index                        map[string][]byte                     // subdir -> shard index, per revision
}

// shard is one package name's CEP-16 shard, compressed, and its address.
type shard struct {
	data []byte
	hash [32]byte
}

// Start starts an upstream serving pkgs; Close it when done.
func Start(pkgs []Pkg) *Server {
	s := &Server{pkgs: map[string]map[string]Pkg{}, corrupt: map[string]bool{}, hits: map[string]int{}, repodata: map[string][]byte{},
		recs: map[string][]byte{}, shards: map[string]*shard{}, names: map[string]map[string]map[string]bool{}, index: map[string][]byte{}, modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.Set(pkgs)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Set replaces the packages served, and serves every file right again.
func (s *Server) Set(pkgs []Pkg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.corrupt)
	clear(s.recs)
	clear(s.shards)
	clear(s.names)
	s.pkgs = map[string]map[string]Pkg{"noarch": {}}
	for _, p := range pkgs {
		s.addLocked(p)
	}
	s.changedLocked()
}

// changedLocked starts a new revision: new validators, new documents.
func (s *Server) changedLocked() {
	s.rev++
	s.modified = s.modified.Add(time.Second)
	clear(s.repodata)
	clear(s.index)
}

// Add adds (or replaces) packages.
func (s *Server) Add(pkgs ...Pkg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range pkgs {
		s.addLocked(p)
	}
	s.changedLocked()
}

func (s *Server) addLocked(p Pkg) {
	if s.pkgs[p.Subdir] == nil {
		s.pkgs[p.Subdir] = map[string]Pkg{}
	}
	s.pkgs[p.Subdir][p.Filename()] = p
	rec, _ := json.Marshal(p.Record(p.Bytes()))
	s.recs[p.Subdir+"/"+p.Filename()] = rec
	delete(s.shards, p.Subdir+"/"+p.Name)
	if s.names[p.Subdir] == nil {
		s.names[p.Subdir] = map[string]map[string]bool{}
	}
	if s.names[p.Subdir][p.Name] == nil {
		s.names[p.Subdir][p.Name] = map[string]bool{}
	}
	s.names[p.Subdir][p.Name][p.Filename()] = true
}

// Remove removes a package file.
func (s *Server) Remove(subdir, filename string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pkgs[subdir][filename]; ok {
		delete(s.shards, subdir+"/"+p.Name)
		delete(s.names[subdir][p.Name], filename)
		if len(s.names[subdir][p.Name]) == 0 {
			delete(s.names[subdir], p.Name)
		}
	}
	delete(s.pkgs[subdir], filename)
	delete(s.recs, subdir+"/"+filename)
	s.changedLocked()
}

// SetShards offers the CEP-16 shard index and shards (the default) or
// answers 404 for them, as an upstream without shards does.
func (s *Server) SetShards(on bool) { s.noShards.Store(!on) }

// SetETags sends ETags (the default) or only Last-Modified.
func (s *Server) SetETags(on bool) { s.noETag.Store(!on) }

// SetDown makes every request fail with 503 (or a cut connection).
func (s *Server) SetDown(down bool) { s.down.Store(down) }

// SetSlow makes every request wait until the client gives up.
func (s *Server) SetSlow(slow bool) { s.slow.Store(slow) }

// Corrupt makes the file's bytes differ from its record.
func (s *Server) Corrupt(filename string) {
	s.mu.Lock()
	s.corrupt[filename] = true
	s.mu.Unlock()
}

// Uncorrupt serves the file right again.
func (s *Server) Uncorrupt(filename string) {
	s.mu.Lock()
	delete(s.corrupt, filename)
	s.mu.Unlock()
}

// NotModified returns how many 304s the upstream answered.
func (s *Server) NotModified() int { return int(s.notModified.Load()) }

// Hits returns how often path was requested.
func (s *Server) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// HitsUnder returns how many requests asked for paths under prefix.
func (s *Server) HitsUnder(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.hits {
		if strings.HasPrefix(p, prefix) {
			n += c
		}
	}
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	s.mu.Unlock()
	if s.slow.Load() {
		<-r.Context().Done()
		return
	}
	if s.down.Load() {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == "channeldata.json" {
		s.mu.Lock()
		var subdirs []string
		for sd := range s.pkgs {
			subdirs = append(subdirs, sd)
		}
		etag, mod := fmt.Sprintf(`"rev-%d-cd"`, s.rev), s.modified
		s.mu.Unlock()
		slices.Sort(subdirs)
		data, _ := json.Marshal(map[string]any{"channeldata_version": 1, "packages": map[string]any{}, "subdirs": subdirs})
		s.serveDoc(w, r, "application/json", data, etag, mod)
		return
	}
	subdir, file, ok := strings.Cut(path, "/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	pkgs, known := s.pkgs[subdir]
	s.mu.Unlock()
	if !known {
		http.NotFound(w, r)
		return
	}
	switch {
	case file == "repodata.json":
		data, etag, mod := s.repodataOf(subdir)
		s.serveDoc(w, r, "application/json", data, etag, mod)
		return
	case file == "repodata_shards.msgpack.zst" && !s.noShards.Load():
		data, etag, mod := s.indexOf(subdir)
		s.serveDoc(w, r, "application/octet-stream", data, etag, mod)
		return
	case strings.HasPrefix(file, "shards/") && !s.noShards.Load():
		data, ok := s.shardByAddress(subdir, strings.TrimSuffix(strings.TrimPrefix(file, "shards/"), ".msgpack.zst"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
		return
	}
	s.mu.Lock()
	p, ok := pkgs[file]
	bad := s.corrupt[file]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	b := p.Bytes()
	if bad {
		b = append(slices.Clone(b[:len(b)-1]), b[len(b)-1]^0xff)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// serveDoc answers a conditional GET of a document that changes with the
// revision: If-None-Match wins over If-Modified-Since, as in RFC 9110.
func (s *Server) serveDoc(w http.ResponseWriter, r *http.Request, ctype string, data []byte, etag string, mod time.Time) {
	lm := mod.UTC().Format(http.TimeFormat)
	w.Header().Set("Last-Modified", lm)
	if !s.noETag.Load() {
		w.Header().Set("ETag", etag)
	}
	inm, ims := r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
	if (inm != "" && inm == etag && !s.noETag.Load()) || (inm == "" && ims != "" && ims == lm) {
		s.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// repodataOf returns the subdir's repodata.json, built from the cached
// records once per revision.
func (s *Server) repodataOf(subdir string) ([]byte, string, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	etag, mod := fmt.Sprintf(`"rev-%d"`, s.rev), s.modified
	if data, ok := s.repodata[subdir]; ok {
		return data, etag, mod
	}
	fns := make([]string, 0, len(s.pkgs[subdir]))
	for fn := range s.pkgs[subdir] {
		fns = append(fns, fn)
	}
	slices.Sort(fns)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"info":{"subdir":%q},"packages":{},"packages.conda":{`, subdir)
	for i, fn := range fns {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, "%q:", fn)
		buf.Write(s.recs[subdir+"/"+fn])
	}
	buf.WriteString(`},"removed":[],"repodata_version":1}`)
	s.repodata[subdir] = buf.Bytes()
	return buf.Bytes(), etag, mod
}

// shardLocked returns a name's shard, encoding it if it changed.
func (s *Server) shardLocked(subdir, name string, fns []string) *shard {
	if sh, ok := s.shards[subdir+"/"+name]; ok {
		return sh
	}
	entries := make([]repofmt.Entry, len(fns))
	for i, fn := range fns {
		entries[i] = repofmt.Entry{Filename: fn, Record: s.recs[subdir+"/"+fn]}
	}
	raw, err := repofmt.AppendShard(nil, entries)
	if err != nil {
		panic(err)
	}
	data := repofmt.Zstd(raw)
	sh := &shard{data: data, hash: sha256.Sum256(data)}
	s.shards[subdir+"/"+name] = sh
	return sh
}

// indexOf returns the subdir's shard index: only the shards of names that
// changed are encoded again.
func (s *Server) indexOf(subdir string) ([]byte, string, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	etag, mod := fmt.Sprintf(`"rev-%d-shards"`, s.rev), s.modified
	if data, ok := s.index[subdir]; ok {
		return data, etag, mod
	}
	refs := make([]repofmt.ShardRef, 0, len(s.names[subdir]))
	for name, set := range s.names[subdir] {
		sh, ok := s.shards[subdir+"/"+name]
		if !ok {
			fns := make([]string, 0, len(set))
			for fn := range set {
				fns = append(fns, fn)
			}
			slices.Sort(fns)
			sh = s.shardLocked(subdir, name, fns)
		}
		refs = append(refs, repofmt.ShardRef{Name: name, Hash: sh.hash})
	}
	slices.SortFunc(refs, func(a, b repofmt.ShardRef) int { return strings.Compare(a.Name, b.Name) })
	raw, err := repofmt.AppendShardIndex(nil, repofmt.ShardIndexInfo{Subdir: subdir, BaseURL: "./", ShardsBaseURL: "./shards/"}, refs)
	if err != nil {
		panic(err)
	}
	s.index[subdir] = repofmt.Zstd(raw)
	return s.index[subdir], etag, mod
}

// shardByAddress finds a current shard of the subdir by its sha256 hex.
func (s *Server) shardByAddress(subdir, address string) ([]byte, bool) {
	want, err := hex.DecodeString(address)
	if err != nil || len(want) != 32 {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, sh := range s.shards {
		if strings.HasPrefix(key, subdir+"/") && bytes.Equal(sh.hash[:], want) {
			return sh.data, true
		}
	}
	return nil, false
}

// WriteRepodata writes repodata.json for pkgs, one record at a time, so a
// conda-forge-sized channel streams to a file without being held whole.
func WriteRepodata(w interface{ Write([]byte) (int, error) }, subdir string, pkgs []Pkg) error {
	slices.SortFunc(pkgs, func(a, b Pkg) int { return strings.Compare(a.Filename(), b.Filename()) })
	if _, err := fmt.Fprintf(w, `{"info":{"subdir":%q},"packages":{},"packages.conda":{`, subdir); err != nil {
		return err
	}
	for i, p := range pkgs {
		rec, _ := json.Marshal(p.Record(p.Bytes()))
		sep := ","
		if i == 0 {
			sep = ""
		}
		if _, err := fmt.Fprintf(w, "%s%q:%s", sep, p.Filename(), rec); err != nil {
			return err
		}
	}
	_, err := w.Write([]byte(`},"removed":[],"repodata_version":1}`))
	return err
}

var (
	forgeLicenses = []string{"MIT", "BSD-3-Clause", "Apache-2.0", "GPL-3.0-or-later", "LGPL-2.1-or-later", "MPL-2.0",
		"BSD-2-Clause", "MIT AND BSD-3-Clause", "Apache-2.0 OR MIT", "ISC", "Zlib", "GPL-2.0-only", "PSF-2.0", "Unlicense"}
	forgePrefixes = []string{"", "", "", "py", "lib", "r-", "perl-", "ros-humble-", "jupyter", "google-cloud-", "types-", "pytest-", "xorg-lib", "font-"}
	forgeSyll     = []string{"ar", "bo", "cu", "da", "el", "fi", "go", "ha", "io", "ja", "ka", "lo", "mu", "na", "or", "pa",
		"qu", "ra", "si", "to", "ur", "vi", "wa", "xe", "yo", "ze", "ml", "tk", "gl", "sql", "net", "zip"}
	forgePython = []string{"py39", "py310", "py311", "py312", "py313"}
)

// Forge returns n packages shaped like conda-forge's linux-64: about 15
// files per name (versions × builds for several Pythons), realistic
// build strings (py312h1a2b3c4_0), two to six depends on other names of
// the channel with version bounds, licences that are SPDX expressions,
// timestamps over the last eight years. The same n and seed give the same
// packages.
func Forge(n int, seed uint64) []Pkg {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	names := make([]string, 0, n/15+1)
	seen := map[string]bool{}
	for len(names) < n/15+1 {
		name := forgePrefixes[rng.IntN(len(forgePrefixes))]
		for range 2 + rng.IntN(3) {
			name += forgeSyll[rng.IntN(len(forgeSyll))]
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Pkg, 0, n)
	for i := 0; len(out) < n; i++ {
		name := names[i%len(names)]
		major, minor, patch := rng.IntN(5), rng.IntN(30), rng.IntN(12)
		version := fmt.Sprintf("%d.%d.%d", major, minor, patch)
		h := sha256.Sum256(fmt.Appendf(nil, "%s-%s-%d", name, version, i))
		py := forgePython[rng.IntN(len(forgePython))]
		bn := rng.IntN(3)
		build := fmt.Sprintf("%sh%s_%d", py, hex.EncodeToString(h[:4]), bn)
		deps := []string{"libgcc >=13", fmt.Sprintf("python >=%s.%s,<%s.%s.0a0", py[2:3], py[3:], py[2:3], py[3:])}
		for range rng.IntN(5) {
			d := names[rng.IntN(len(names))]
			if d != name {
				deps = append(deps, fmt.Sprintf("%s >=%d.%d", d, rng.IntN(4), rng.IntN(20)))
			}
		}
		slices.Sort(deps)
		deps = slices.Compact(deps)
		out = append(out, Pkg{Subdir: "linux-64", Name: name, Version: version, Build: build, BuildNumber: bn, Depends: deps,
			License:   forgeLicenses[rng.IntN(len(forgeLicenses))],
			Timestamp: end.Add(-time.Duration(rng.Int64N(int64(8 * 365 * 24 * time.Hour)))).Truncate(time.Millisecond)})
	}
	return out
}
