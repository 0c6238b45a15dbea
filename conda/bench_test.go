package conda

import (
	"os"
	"testing"
)

func BenchmarkInspect(b *testing.B) {
	for _, name := range []string{"gh-lib-2.10.0-h1a2b3c4_0.conda", "gh-lib-2.10.0-h1a2b3c4_0.tar.bz2"} {
		data, err := os.ReadFile("testdata/pkgs/linux-64/" + name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name[len("gh-lib-2.10.0-h1a2b3c4_0"):], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := inspectBytes(data, name, DefaultLimits()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRecord(b *testing.B) {
	ix, err := ParseIndexJSON([]byte(goodIndex))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Record(ix, testMD5, testSHA256, 1234, 1767225600000); err != nil {
			b.Fatal(err)
		}
	}
}
