package repodata_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

// BenchmarkOneChangeVisible measures what a single upload costs the index
// of a large subdir: the change is committed, then repodata.json is asked
// for (one op = one change made visible). GATEHOUSE_BENCH_RECORDS sets
// the size (default 20,000; the README's table uses 100,000).
func BenchmarkOneChangeVisible(b *testing.B) {
	f, n := benchSubdir(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		f.add("linux-64", fmt.Sprintf("pkg%05d", (i*7919)%(n/5)), fmt.Sprintf("9.%d", i), "h0_0", ".conda")
		file, err := f.index.File(ctx, f.channel(), "linux-64/repodata.json", false)
		if err != nil {
			b.Fatal(err)
		}
		file.File.Close()
	}
}

// BenchmarkCompact measures the background compaction of a settled
// subdir (one op = one change, then its .zst and .gz recompressed as one
// frame): its time and what it allocates, which the RSS of a busy server
// must absorb.
func BenchmarkCompact(b *testing.B) {
	f, n := benchSubdir(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		f.add("linux-64", fmt.Sprintf("pkg%05d", (i*7919)%(n/5)), fmt.Sprintf("9.%d", i), "h0_0", ".conda")
		file, err := f.index.File(ctx, f.channel(), "linux-64/repodata.json", false)
		if err != nil {
			b.Fatal(err)
		}
		file.File.Close()
		b.StartTimer()
		if err := f.index.Compact(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSubdir fills linux-64 with GATEHOUSE_BENCH_RECORDS records
// (default 20,000; the README's table uses 100,000), five versions per
// name, and builds its index.
func benchSubdir(b *testing.B) (*fixture, int) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	f := newFixture(b)
	ctx := context.Background()
	var batch []*gatehouse.Package
	for i := range n {
		name := fmt.Sprintf("pkg%05d", i/5)
		version := fmt.Sprintf("1.%d", i%5)
		fn := name + "-" + version + "-h0_0.conda"
		batch = append(batch, &gatehouse.Package{ChannelID: f.ch.ID, Subdir: "linux-64", Filename: fn, Name: name, Version: version,
			Build: "h0_0", Size: 1, MD5: strings.Repeat("0", 32), SHA256: strings.Repeat("0", 64),
			Record: f.record(name, version, "h0_0", "linux-64"), BlobKey: "k/" + fn})
		if len(batch) == 5000 || i == n-1 {
			if _, err := f.store.ApplyPackages(ctx, f.ch.ID, batch, nil); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
	if file, err := f.index.File(ctx, f.channel(), "linux-64/repodata.json", false); err != nil {
		b.Fatal(err)
	} else {
		file.File.Close()
	}
	return f, n
}
