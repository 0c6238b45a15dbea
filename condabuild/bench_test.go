package condabuild

import (
	"crypto/sha256"
	"io"
	"strconv"
	"testing"
)

// BenchmarkBuild builds a package around one file of pseudo-random bytes
// (the worst case for the compressor's speed) and one small text file.
func BenchmarkBuild(b *testing.B) {
	for _, size := range []int64{64 << 10, 16 << 20} {
		files := []File{noiseFile("bin/gatehouse", size), memFile("share/doc/README", 0o644, "read me\n")}
		b.Run(byteSize(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			for b.Loop() {
				if err := Build(io.Discard, testMeta(), files); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuildText builds a package around compressible text, closer to
// what a Go binary looks like to the compressor.
func BenchmarkBuildText(b *testing.B) {
	const size = 16 << 20
	text := make([]byte, 0, size)
	for i := 0; len(text) < size; i++ {
		sum := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		text = append(text, "func f"...)
		text = append(text, sum[:4]...)
		text = append(text, "() error { return nil }\n"...)
	}
	f := memFile("bin/gatehouse", 0o755, string(text))
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if err := Build(io.Discard, testMeta(), []File{f}); err != nil {
			b.Fatal(err)
		}
	}
}

func byteSize(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + "MiB"
	}
	return strconv.FormatInt(n>>10, 10) + "KiB"
}
