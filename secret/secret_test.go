package secret

import (
	"bytes"
	"testing"
)

func TestTokensAreURLSafeDistinctAndRecognised(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := Token()
		if !IsToken(tok) {
			t.Fatalf("IsToken(%q) = false for a fresh token", tok)
		}
		if seen[tok] {
			t.Fatalf("token %q came twice", tok)
		}
		seen[tok] = true
	}
	for _, s := range []string{"", "short", Token() + "x", Token()[:42] + "=", Token()[:42] + "/", Token()[:42] + "é"[:1]} {
		if IsToken(s) {
			t.Errorf("IsToken(%q) = true", s)
		}
	}
}

func TestHashIsSHA256AndEqualComparesWholeStrings(t *testing.T) {
	if got := Hash("abc"); len(got) != 32 || !bytes.Equal(got, Hash("abc")) || bytes.Equal(got, Hash("abd")) {
		t.Fatalf("Hash is not a stable 32-byte digest: %x", got)
	}
	if !Equal("same", "same") || Equal("same", "samE") || Equal("same", "sam") {
		t.Fatal("Equal compares wrongly")
	}
}

func BenchmarkToken(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Token()
	}
}
