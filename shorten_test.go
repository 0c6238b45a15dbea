package gatehouse_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
)

// What an error message quotes of a client's input stays short and valid
// UTF-8, wherever the cut falls.
func TestShortenCutsOnACharacterBoundary(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 64, "short"},
		{strings.Repeat("a", 70), 64, strings.Repeat("a", 64) + "…"},
		{"ab€cd", 3, "ab…"}, // € is 3 bytes: a cut inside it backs off to its start
		{"ab€cd", 5, "ab€…"},
		{"€€", 1, "…"},
	} {
		got := gatehouse.Shorten(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("Shorten(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
