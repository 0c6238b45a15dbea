package repofmt

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// benchEntries caches 100k realistic records (about 400 bytes each, half
// .conda, half .tar.bz2); making them is slower than what is measured.
var benchEntries = sync.OnceValue(func() []Entry { return testEntries(&testing.B{}, 100_000) })

func BenchmarkBuildRepodata(b *testing.B) {
	all := benchEntries()
	for _, n := range []int{10_000, 100_000} {
		es := all[:n]
		var size int
		for _, e := range es {
			size += len(e.Record)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := BuildRepodata("linux-64", es); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size)/float64(n), "B/record")
		})
	}
}

// BenchmarkWriteRepodataUnsorted measures the cost of entries that arrive
// out of order (a sorted copy is made).
func BenchmarkWriteRepodataUnsorted(b *testing.B) {
	es := bytesReversed(benchEntries()[:100_000])
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteRepodata(&buf, "linux-64", es); err != nil {
			b.Fatal(err)
		}
	}
}

func bytesReversed(es []Entry) []Entry {
	out := make([]Entry, len(es))
	for i, e := range es {
		out[len(es)-1-i] = e
	}
	return out
}

func BenchmarkZstdRepodata(b *testing.B) {
	doc, err := BuildRepodata("linux-64", benchEntries()[:10_000])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	var out []byte
	for b.Loop() {
		out = Zstd(doc)
	}
	b.ReportMetric(float64(len(doc))/float64(len(out)), "ratio")
}
