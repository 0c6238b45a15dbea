package repodata_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda/repofmt"
	"github.com/gatehouse-dev/gatehouse/repodata"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
	"github.com/klauspost/compress/zstd"
)

type fixture struct {
	t     testing.TB
	store *sqlstore.DB
	ch    *gatehouse.Channel
	index *repodata.Index
	dir   string
	clock *testClock
	seq   int
	opts  []func(*repodata.Config)
}

func newFixture(t testing.TB, opts ...func(*repodata.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u := &gatehouse.User{Username: "alice", PasswordHash: "x", CreatedAt: time.Now()}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	ch := &gatehouse.Channel{Name: "lab", Visibility: gatehouse.Public, OwnerUserID: u.ID}
	if err := db.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &fixture{t: t, store: db, ch: ch, dir: t.TempDir(), clock: &testClock{}, opts: opts}
	f.clock.set(now)
	f.index = f.open()
	return f
}

func (f *fixture) open() *repodata.Index {
	cfg := repodata.Config{Store: f.store, Dir: f.dir, Clock: f.clock.now}
	for _, o := range f.opts {
		o(&cfg)
	}
	x, err := repodata.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(x.Close)
	return x
}

func (f *fixture) record(name, version, build, subdir string) []byte {
	f.seq++
	return fmt.Appendf(nil, `{"build":%q,"build_number":0,"depends":["dep-%d"],"md5":"%032x","name":%q,"sha256":"%064x","size":%d,"subdir":%q,"timestamp":1700000000000,"version":%q}`,
		build, f.seq%7, f.seq, name, f.seq, f.seq*10, subdir, version)
}

func (f *fixture) add(subdir, name, version, build, ext string) {
	f.t.Helper()
	fn := name + "-" + version + "-" + build + ext
	p := &gatehouse.Package{ChannelID: f.ch.ID, Subdir: subdir, Filename: fn, Name: name, Version: version, Build: build,
		Size: 1, MD5: strings.Repeat("0", 32), SHA256: strings.Repeat("0", 64), Record: f.record(name, version, build, subdir),
		BlobKey: fmt.Sprintf("k/%d/%s", f.seq, fn)}
	if _, err := f.store.AddPackage(context.Background(), p, true); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) del(subdir, fn string) {
	f.t.Helper()
	if _, err := f.store.DeletePackage(context.Background(), f.ch.ID, subdir, fn); err != nil {
		f.t.Fatal(err)
	}
}

// channel returns the channel at its current revision, as the channel
// cache hands it to the handlers.
func (f *fixture) channel() *gatehouse.Channel {
	ch, err := f.store.ChannelByName(context.Background(), "lab")
	if err != nil {
		f.t.Fatal(err)
	}
	return ch
}

func readFile(t testing.TB, file *gatehouse.IndexFile) []byte {
	t.Helper()
	if file.File != nil {
		defer file.File.Close()
	}
	if file.Data != nil {
		return file.Data
	}
	b, err := os.ReadFile(file.Path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != file.Size {
		t.Fatalf("%s: %d bytes, the index says %d", file.Path, len(b), file.Size)
	}
	return b
}

// want is repodata.json as a full, from-scratch write gives it: every
// record in name order, then file name order.
func (f *fixture) want(subdir string) []byte {
	f.t.Helper()
	var entries []repofmt.Entry
	err := f.store.EachPackage(context.Background(), f.ch.ID, subdir, "", func(p *gatehouse.Package) error {
		entries = append(entries, repofmt.Entry{Filename: p.Filename, Record: slices.Clone(p.Record)})
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	header := `{"info":{"subdir":"` + subdir + `"},"packages":{`
	var tar, cnd []string
	for _, e := range entries {
		s := `"` + e.Filename + `":` + string(e.Record)
		if strings.HasSuffix(e.Filename, ".conda") {
			cnd = append(cnd, s)
		} else {
			tar = append(tar, s)
		}
	}
	return []byte(header + strings.Join(tar, ",") + `},"packages.conda":{` + strings.Join(cnd, ",") + `},"removed":[],"repodata_version":1}`)
}

// check asserts every form of the subdir's index holds what a full build
// would, and that each shard the index names holds that name's records.
func (f *fixture) check(x *repodata.Index, subdir string) {
	f.t.Helper()
	ctx := context.Background()
	ch := f.channel()
	get := func(name string, gz bool) *gatehouse.IndexFile {
		file, err := x.File(ctx, ch, subdir+"/"+name, gz)
		if err != nil {
			f.t.Fatal(err)
		}
		return file
	}
	plain := get("repodata.json", false)
	js := readFile(f.t, plain)
	if want := f.want(subdir); !bytes.Equal(js, want) {
		f.t.Fatalf("repodata.json differs from a full build:\n got %s\nwant %s", js, want)
	}
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	zf := get("repodata.json.zst", false)
	if z, err := dec.DecodeAll(readFile(f.t, zf), nil); err != nil || !bytes.Equal(z, js) {
		f.t.Fatalf("repodata.json.zst does not decode to repodata.json: %v", err)
	}
	gf := get("repodata.json", true)
	gr, err := gzip.NewReader(bytes.NewReader(readFile(f.t, gf)))
	if err != nil {
		f.t.Fatal(err)
	}
	if g, err := io.ReadAll(gr); err != nil || !bytes.Equal(g, js) {
		f.t.Fatalf("the gzip form does not decode to repodata.json: %v", err)
	}
	if gf.Encoding != "gzip" || zf.ETag != plain.ETag || gf.ETag != plain.ETag {
		f.t.Errorf("encoding %q; ETags %s %s %s, want one per content", gf.Encoding, plain.ETag, zf.ETag, gf.ETag)
	}
	idx := get("repodata_shards.msgpack.zst", false)
	raw, err := dec.DecodeAll(readFile(f.t, idx), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	names := map[string][]repofmt.Entry{}
	f.store.EachPackage(ctx, f.ch.ID, subdir, "", func(p *gatehouse.Package) error {
		names[p.Name] = append(names[p.Name], repofmt.Entry{Filename: p.Filename, Record: slices.Clone(p.Record)})
		return nil
	})
	for name, entries := range names {
		shard, _ := repofmt.AppendShard(nil, entries)
		z := repofmt.Zstd(shard)
		sum := sha256sum(z)
		if !bytes.Contains(raw, append([]byte{0xc4, 32}, sum...)) {
			f.t.Errorf("the shard index lacks %s's shard %x", name, sum)
		}
		sf, err := x.File(ctx, ch, subdir+"/shards/"+hex.EncodeToString(sum)+".msgpack.zst", false)
		if err != nil {
			f.t.Fatalf("shard of %s: %v", name, err)
		}
		if !bytes.Equal(readFile(f.t, sf), z) || !sf.Immutable {
			f.t.Errorf("shard of %s differs or is not immutable", name)
		}
	}
}

func TestAChangeGivesWhatAFullBuildGives(t *testing.T) {
	f := newFixture(t)
	f.check(f.index, "noarch") // empty
	f.add("noarch", "numpy", "2.0", "py_0", ".conda")
	f.check(f.index, "noarch")
	steps := []func(){
		func() { f.add("noarch", "aaa", "1.0", "0", ".tar.bz2") },      // a new first name, tar only
		func() { f.add("noarch", "aaa", "1.0", "0", ".conda") },        // its conda twin
		func() { f.add("noarch", "zlib", "1.3", "h0", ".conda") },      // a new last name
		func() { f.del("noarch", "aaa-1.0-0.tar.bz2") },                // the first tar goes
		func() { f.add("noarch", "numpy", "2.1", "py_0", ".tar.bz2") }, // numpy becomes first tar
		func() { f.del("noarch", "aaa-1.0-0.conda") },                  // aaa gone entirely
		func() { f.add("noarch", "numpy", "2.0", "py_0", ".conda") },   // replace: same file, new record
		func() { f.add("linux-64", "numpy", "2.0", "h1", ".conda") },   // another subdir only
		func() { f.del("noarch", "numpy-2.1-py_0.tar.bz2"); f.del("noarch", "zlib-1.3-h0.conda") },
	}
	for i, step := range steps {
		t.Run(fmt.Sprintf("step %d", i+1), func(t *testing.T) {
			f.t = t
			step()
			f.check(f.index, "noarch")
			f.check(f.index, "linux-64")
		})
	}
}

func TestRandomChangesMatchAFullBuild(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(1, 2))
	live := map[string]bool{}
	for i := 0; i < 300; i++ {
		name := fmt.Sprintf("p%02d", rng.IntN(30))
		ext := []string{".conda", ".tar.bz2"}[rng.IntN(2)]
		fn := name + "-1." + fmt.Sprint(rng.IntN(3)) + "-0" + ext
		if live[fn] && rng.IntN(2) == 0 {
			f.del("noarch", fn)
			delete(live, fn)
		} else {
			v := strings.TrimSuffix(strings.TrimPrefix(fn, name+"-"), "-0"+ext)
			f.add("noarch", name, v, "0", ext)
			live[fn] = true
		}
		if i%7 == 0 {
			f.check(f.index, "noarch")
		}
	}
	f.check(f.index, "noarch")
	t.Run("a new process picks the manifest up and catches up from the change log", func(t *testing.T) {
		f.t = t
		f.add("noarch", "p99", "1.0", "0", ".conda")
		f.check(f.open(), "noarch")
	})
	t.Run("a lost index directory is rebuilt", func(t *testing.T) {
		f.t = t
		os.RemoveAll(f.dir)
		f.check(f.open(), "noarch")
	})
}

func TestRetiredFilesAndOldShardsAreSwept(t *testing.T) {
	f := newFixture(t)
	f.add("noarch", "a", "1", "0", ".conda")
	f.check(f.index, "noarch")
	f.add("noarch", "a", "2", "0", ".conda")
	f.check(f.index, "noarch")
	count := func(glob string) int {
		m, _ := filepath.Glob(filepath.Join(f.dir, fmt.Sprint(f.ch.ID), "noarch", glob))
		return len(m)
	}
	if count("r*.json") != 2 || count("shards/*") != 2 {
		t.Fatalf("before the sweep: %d revisions, %d shards; want 2 and 2", count("r*.json"), count("shards/*"))
	}
	f.index.Sweep()
	if count("r*.json") != 2 {
		t.Error("a replaced revision was removed at once; readers may be about to open it")
	}
	f.clock.set(f.clock.now().Add(6 * time.Second))
	f.index.Sweep()
	if count("r*.json") != 1 || count("shards/*") != 2 {
		t.Errorf("after 6 seconds: %d revisions, %d shards; want 1 and 2 (the old shard is kept for clients with an old index)", count("r*.json"), count("shards/*"))
	}
	f.clock.set(f.clock.now().Add(25 * time.Hour))
	f.index.Sweep()
	if count("shards/*") != 1 {
		t.Errorf("after the retention: %d shards, want the one in use", count("shards/*"))
	}
	f.check(f.index, "noarch")

	t.Run("shards a previous process left are swept by their age", func(t *testing.T) {
		f.t = t
		f.add("noarch", "a", "3", "0", ".conda")
		f.check(f.index, "noarch")
		x := f.open()
		f.add("noarch", "a", "4", "0", ".conda")
		f.check(x, "noarch")
		// The shard x replaced was retired by the first index, which x
		// knows nothing of; its file's time tells its age.
		m, _ := filepath.Glob(filepath.Join(f.dir, fmt.Sprint(f.ch.ID), "noarch", "shards/*"))
		for _, p := range m {
			os.Chtimes(p, f.clock.now().Add(-26*time.Hour), f.clock.now().Add(-26*time.Hour))
		}
		f.clock.set(f.clock.now().Add(time.Minute))
		x.Sweep()
		if count("shards/*") != 1 {
			t.Errorf("%d shards, want the one in use", count("shards/*"))
		}
		f.check(x, "noarch")
	})
}

func sha256sum(b []byte) []byte {
	h := sha256New()
	h.Write(b)
	return h.Sum(nil)
}

// Small revision files (a few packages' repodata.json, most shard indexes)
// are answered from memory after the first ask; a change gives new files
// under new names, so memory never answers with an old revision, and a
// large file is still handed out open, for sendfile.
func TestSmallIndexFilesAreAnsweredFromMemoryAndNeverStale(t *testing.T) {
	f := newFixture(t, func(c *repodata.Config) { c.MemoryBudget = -1 }) // small files only
	ctx := context.Background()
	f.add("noarch", "tiny", "1.0", "0", ".conda")
	for range 2 {
		file, err := f.index.File(ctx, f.channel(), "noarch/repodata.json", false)
		if err != nil {
			t.Fatal(err)
		}
		if file.File != nil || file.Data == nil {
			t.Fatalf("a %d-byte repodata.json was not answered from memory", file.Size)
		}
		if got, want := file.Data, f.want("noarch"); !bytes.Equal(got, want) {
			t.Fatalf("from memory:\n%s\nwant\n%s", got, want)
		}
	}
	f.add("noarch", "tiny", "2.0", "0", ".conda")
	file, err := f.index.File(ctx, f.channel(), "noarch/repodata.json", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, file), f.want("noarch"); !bytes.Equal(got, want) {
		t.Fatalf("after a change:\n%s\nwant\n%s", got, want)
	}
	for i := range 200 {
		f.add("noarch", fmt.Sprintf("big-%03d", i), "1.0", "0", ".conda")
	}
	file, err = f.index.File(ctx, f.channel(), "noarch/repodata.json", false)
	if err != nil {
		t.Fatal(err)
	}
	if file.File == nil || file.Data != nil {
		t.Fatalf("a %d-byte repodata.json was not handed out open", file.Size)
	}
	if got, want := readFile(t, file), f.want("noarch"); !bytes.Equal(got, want) {
		t.Fatal("the large repodata.json differs from a full build")
	}
}

func TestMidSizeIndexFilesAreAnsweredFromMemoryWithinTheirBudget(t *testing.T) {
	// A repodata.json of a few hundred records is above the small-file
	// size but within a quarter of the memory budget: after the first
	// ask it is answered from memory, never stale after a change, and
	// the retired revisions leave memory with their files, so churn
	// keeps memory within the budget. A file above a quarter of the
	// budget is always sent from disk.
	const budget = 512 << 10
	f := newFixture(t, func(c *repodata.Config) { c.MemoryBudget = budget })
	ctx := context.Background()
	for i := range 150 {
		f.add("noarch", fmt.Sprintf("mid-%03d", i), "1.0", "0", ".conda")
	}
	get := func() *gatehouse.IndexFile {
		t.Helper()
		file, err := f.index.File(ctx, f.channel(), "noarch/repodata.json", false)
		if err != nil {
			t.Fatal(err)
		}
		return file
	}
	file := get()
	if file.Size <= 16<<10 || file.Size > budget/4 {
		t.Fatalf("the fixture's repodata.json is %d bytes, want between 16 KiB and %d", file.Size, budget/4)
	}
	for range 2 {
		if file.File != nil || file.Data == nil {
			t.Fatalf("a %d-byte repodata.json was not answered from memory", file.Size)
		}
		if !bytes.Equal(file.Data, f.want("noarch")) {
			t.Fatal("the repodata.json from memory differs from a full build")
		}
		file = get()
	}
	for i := range 30 {
		f.add("noarch", fmt.Sprintf("mid-%03d", i), "2.0", "0", ".conda")
		file = get()
		if got := readFile(t, file); !bytes.Equal(got, f.want("noarch")) {
			t.Fatalf("after change %d: the answer is stale", i)
		}
		// Each revision's files: repodata.json here; the index is asked
		// for its .zst, gzip and shard index too.
		for _, name := range []string{"noarch/repodata.json.zst", "noarch/repodata_shards.msgpack.zst"} {
			if _, err := f.index.File(ctx, f.channel(), name, false); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.index.File(ctx, f.channel(), "noarch/repodata.json", true); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.index.Len(); n > 20 {
		t.Fatalf("after 30 changes the index holds %d entries: retired revisions stayed in memory", n)
	}

	for i := range 400 {
		f.add("noarch", fmt.Sprintf("big-%03d", i), "1.0", "0", ".conda")
	}
	file = get()
	if file.Size <= budget/4 {
		t.Fatalf("the large repodata.json is %d bytes, want more than %d", file.Size, budget/4)
	}
	if file.File == nil || file.Data != nil {
		t.Fatalf("a %d-byte repodata.json, over a quarter of the budget, was not sent from disk", file.Size)
	}
	if !bytes.Equal(readFile(t, file), f.want("noarch")) {
		t.Fatal("the large repodata.json differs from a full build")
	}
}

// Requests that miss the memory tier together (a new revision, asked for
// by every client at once) share one read of the file: memory holds one
// copy of it, not one per request.
func TestConcurrentMissesShareOneRead(t *testing.T) {
	f := newFixture(t, func(c *repodata.Config) { c.MemoryBudget = 512 << 10 })
	for i := range 150 {
		f.add("noarch", fmt.Sprintf("mid-%03d", i), "1.0", "0", ".conda")
	}
	reads, restore := repodata.CountReads(50 * time.Millisecond)
	defer restore()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			file, err := f.index.File(context.Background(), f.channel(), "noarch/repodata.json", false)
			if err == nil && (file.Data == nil || file.File != nil) {
				err = fmt.Errorf("answered from disk, not memory")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := reads(); n != 1 {
		t.Errorf("16 concurrent requests read the file %d times, want once", n)
	}
	// And memory kept it: the next request reads nothing.
	if _, err := f.index.File(context.Background(), f.channel(), "noarch/repodata.json", false); err != nil {
		t.Fatal(err)
	}
	if n := reads(); n != 1 {
		t.Errorf("a later request read the file again (%d reads): memory did not keep it", n)
	}
}
