package repodata_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/repodata"
)

// zstdFrames counts the frames of a zstd stream by the magic number that
// starts each: four given bytes inside compressed data are improbable
// enough for the fixed data of a test.
func zstdFrames(b []byte) int { return bytes.Count(b, []byte{0x28, 0xb5, 0x2f, 0xfd}) }

// gzipMembers counts the members of a gzip stream.
func gzipMembers(t *testing.T, b []byte) int {
	t.Helper()
	br := bytes.NewReader(b)
	zr, err := gzip.NewReader(br)
	for n := 1; ; n++ {
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatal(err)
		}
		if err = zr.Reset(br); err == io.EOF {
			return n
		}
	}
}

// Once a subdir settles, its .zst and .gz are one frame of the whole
// document: smaller, the same content, the same ETag; the next change is
// served from its pieces at once and compacts in turn; the replaced
// compact files go with their revision.
func TestASettledSubdirIsCompactedToOneFrame(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 200 {
		f.add("noarch", fmt.Sprintf("pkg%03d", i), "1.0", "0", ".conda")
	}
	get := func(x *repodata.Index, name string, gz bool) ([]byte, *gatehouse.IndexFile) {
		t.Helper()
		file, err := x.File(ctx, f.channel(), "noarch/"+name, gz)
		if err != nil {
			t.Fatal(err)
		}
		return readFile(t, file), file
	}
	pieces, before := get(f.index, "repodata.json.zst", false)
	piecesGz, _ := get(f.index, "repodata.json", true)
	if n := zstdFrames(pieces); n < 200 {
		t.Fatalf("before compaction: %d zstd frames, want one per name and more", n)
	}
	if err := f.index.Compact(); err != nil {
		t.Fatal(err)
	}
	whole, after := get(f.index, "repodata.json.zst", false)
	wholeGz, afterGz := get(f.index, "repodata.json", true)
	if n := zstdFrames(whole); n != 1 {
		t.Errorf("after compaction: %d zstd frames, want 1", n)
	}
	if n, m := gzipMembers(t, piecesGz), gzipMembers(t, wholeGz); n < 200 || m != 1 {
		t.Errorf("gzip members: %d before compaction, %d after; want one per name, then 1", n, m)
	}
	if len(whole)*2 > len(pieces) || len(wholeGz)*2 > len(piecesGz) {
		t.Errorf("compaction gave .zst %d → %d bytes, .gz %d → %d; want each at least halved", len(pieces), len(whole), len(piecesGz), len(wholeGz))
	}
	t.Logf(".zst %d → %d bytes, .gz %d → %d", len(pieces), len(whole), len(piecesGz), len(wholeGz))
	if after.ETag != before.ETag || afterGz.Encoding != "gzip" {
		t.Errorf("ETag %s → %s (the content is the same), gzip encoding %q", before.ETag, after.ETag, afterGz.Encoding)
	}
	f.check(f.index, "noarch")

	// The same content compacts to the same bytes in another replica.
	other := &fixture{t: t, store: f.store, ch: f.ch, dir: t.TempDir(), clock: f.clock}
	x := other.open()
	get(x, "repodata.json.zst", false)
	if err := x.Compact(); err != nil {
		t.Fatal(err)
	}
	if z, _ := get(x, "repodata.json.zst", false); !bytes.Equal(z, whole) {
		t.Error("two replicas compacted the same revision to different bytes")
	}
	if g, _ := get(x, "repodata.json", true); !bytes.Equal(g, wholeGz) {
		t.Error("two replicas compacted the same gzip form to different bytes")
	}

	// A change is served from its pieces at once, correct, and compacts.
	f.add("noarch", "pkg100", "2.0", "0", ".conda")
	f.check(f.index, "noarch")
	if z, _ := get(f.index, "repodata.json.zst", false); zstdFrames(z) < 200 {
		t.Errorf("a new revision was served compacted before it settled (%d frames)", zstdFrames(z))
	}
	if err := f.index.Compact(); err != nil {
		t.Fatal(err)
	}
	if z, _ := get(f.index, "repodata.json.zst", false); zstdFrames(z) != 1 {
		t.Errorf("the new revision did not compact: %d frames", zstdFrames(z))
	}
	f.check(f.index, "noarch")
	wholes := func() int {
		m, _ := filepath.Glob(filepath.Join(f.dir, fmt.Sprint(f.ch.ID), "noarch", "r*.whole.*"))
		return len(m)
	}
	if n := wholes(); n != 4 {
		t.Errorf("%d compacted files before the old revision is retired, want 4", n)
	}
	f.clock.set(f.clock.now().Add(6 * time.Second))
	f.index.Sweep()
	if n := wholes(); n != 2 {
		t.Errorf("%d compacted files after the old revision was retired, want 2", n)
	}
	if _, err := os.Stat(f.dir); err != nil {
		t.Fatal(err)
	}
}

// Without a call to Compact, a subdir compacts by itself once it has had
// no change for CompactAfter.
func TestASubdirCompactsByItselfOnceSettled(t *testing.T) {
	f := newFixture(t)
	x, err := repodata.New(repodata.Config{Store: f.store, Dir: t.TempDir(), Clock: f.clock.now, CompactAfter: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	for i := range 50 {
		f.add("noarch", fmt.Sprintf("pkg%03d", i), "1.0", "0", ".conda")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		file, err := x.File(context.Background(), f.channel(), "noarch/repodata.json.zst", false)
		if err != nil {
			t.Fatal(err)
		}
		if n := zstdFrames(readFile(t, file)); n == 1 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("still %d frames 10 s after the last change", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.check(x, "noarch")
}
