package cli

import (
	"testing"
)

func BenchmarkParseServer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseServer("packages.example.com:8443"); err != nil {
			b.Fatal(err)
		}
	}
}
