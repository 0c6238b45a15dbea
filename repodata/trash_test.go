package repodata_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/repodata"
)

// diskUse is what the subdir's index takes on disk: files and bytes, and
// how many revisions of repodata.json are there.
func (f *fixture) diskUse(subdir string) (files int, size int64, revisions int) {
	f.t.Helper()
	root := filepath.Join(f.dir, fmt.Sprint(f.ch.ID), subdir)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			files++
			size += info.Size()
		}
		if strings.HasSuffix(p, ".json") {
			revisions++
		}
		return nil
	})
	return files, size, revisions
}

// liveSize is what the current revision needs: its three forms of
// repodata.json, its shard index and the shards it names.
func (f *fixture) liveSize(x *repodata.Index, subdir string) (size, zst int64) {
	f.t.Helper()
	ctx := context.Background()
	ch := f.channel()
	for _, name := range []string{"repodata.json", "repodata.json.zst", "repodata_shards.msgpack.zst"} {
		file, err := x.File(ctx, ch, subdir+"/"+name, false)
		if err != nil {
			f.t.Fatal(err)
		}
		file.File.Close()
		size += file.Size
		if name == "repodata.json.zst" {
			zst = file.Size
		}
	}
	gz, err := x.File(ctx, ch, subdir+"/repodata.json", true)
	if err != nil {
		f.t.Fatal(err)
	}
	gz.File.Close()
	size += gz.Size
	shards, _ := filepath.Glob(filepath.Join(f.dir, fmt.Sprint(f.ch.ID), subdir, "shards", "*"))
	// Every shard counts as live here: the bound below allows the
	// orphans' budget on top, so this only loosens it.
	for _, p := range shards {
		if fi, err := os.Stat(p); err == nil {
			size += fi.Size()
		}
	}
	return size, zst
}

// Checklist I4, G2 (issue 8, found by the long soak run): sustained
// uploads, each made visible before the next, with no time passing (the
// worst case for a grace period), leave at most three revisions on disk
// and unreferenced shards within their budget. Before, every replaced
// revision stayed two minutes and every old shard a day: a small data
// disk filled up.
func TestManyChangesInARowKeepTheDiskBounded(t *testing.T) {
	f := newFixture(t)
	for i := range 40 {
		f.add("noarch", fmt.Sprintf("base%02d", i), "1.0", "0", ".conda")
	}
	f.check(f.index, "noarch")
	for i := range 400 {
		// One name takes most of the changes, so its shard grows and
		// each change leaves a larger old one.
		name := "hot"
		if i%4 == 3 {
			name = fmt.Sprintf("base%02d", i%40)
		}
		f.add("noarch", name, fmt.Sprintf("2.%d", i), "0", ".conda")
		file, err := f.index.File(context.Background(), f.channel(), "noarch/repodata.json", false)
		if err != nil {
			t.Fatal(err)
		}
		file.File.Close()
		files, size, revisions := f.diskUse("noarch")
		live, zst := f.liveSize(f.index, "noarch")
		// Three revisions (the current one and two replaced ones a
		// reader may be about to open), the orphan shards' budget and
		// the manifest.
		bound := 3*live + max(256<<10, zst) + 64<<10
		if revisions > 3 || size > bound {
			t.Fatalf("after %d changes: %d files, %d bytes, %d revisions of repodata.json on disk; want at most 3 revisions and %d bytes (the current revision takes %d)",
				i+1, files, size, revisions, bound, live)
		}
	}
	f.check(f.index, "noarch")
}

// Checklist G2: a reader that opened a revision's file before it was
// retired reads it to its end, complete, even once it is removed.
func TestAReaderMidStreamFinishesAfterItsRevisionIsRemoved(t *testing.T) {
	f := newFixture(t, func(c *repodata.Config) { c.MemoryBudget = -1 }) // files from disk
	for i := range 200 {
		f.add("noarch", fmt.Sprintf("p%03d", i), "1.0", "0", ".conda")
	}
	ctx := context.Background()
	file, err := f.index.File(ctx, f.channel(), "noarch/repodata.json", false)
	if err != nil {
		t.Fatal(err)
	}
	want := f.want("noarch")
	r := file.File // the index opened it before answering
	defer r.Close()
	head := make([]byte, 100)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		f.add("noarch", "p000", fmt.Sprintf("2.%d", i), "0", ".conda")
		f.clock.set(f.clock.now().Add(10 * time.Second))
		f.check(f.index, "noarch")
	}
	f.index.Sweep()
	if _, err := os.Stat(file.Path); !os.IsNotExist(err) {
		t.Fatalf("the replaced revision's file is still there (%v)", err)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(head, rest...); !bytes.Equal(got, want) {
		t.Fatalf("the reader got %d bytes, not the %d of the revision it opened", len(got), len(want))
	}
}

// The last replaced revision goes a few seconds after the last change,
// by itself: not at the next minute's sweep, and without another change.
func TestTheLastReplacedRevisionGoesWithinSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the grace period (5 s)")
	}
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "index")
	x, err := repodata.New(repodata.Config{Store: f.store, Dir: dir}) // the system clock
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	count := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, fmt.Sprint(f.ch.ID), "noarch", "r*.json"))
		return len(m)
	}
	f.add("noarch", "a", "1", "0", ".conda")
	f.check(x, "noarch")
	f.add("noarch", "a", "2", "0", ".conda")
	f.check(x, "noarch")
	if n := count(); n != 2 {
		t.Fatalf("%d revisions right after the change, want 2 (the old one has its grace)", n)
	}
	deadline := time.Now().Add(15 * time.Second)
	for count() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d revisions 15 s after the last change, want 1", count())
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.check(x, "noarch")
}
