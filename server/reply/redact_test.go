package reply

import (
	"regexp"
	"strings"
	"testing"
)

// Checklist J1, J2: a key in a path never reaches the log.
func TestRedactPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/repo/main/linux-64/repodata.json", "/repo/main/linux-64/repodata.json"},
		{"/repo/t/gk-abc123XYZ/main/noarch/repodata.json", "/repo/t/<redacted>/main/noarch/repodata.json"},
		{"/t/eyJhbGciOi.x.y/repo/main/", "/t/<redacted>/repo/main/"},
		{"/api/keys/gk-Secret9", "/api/keys/gk-<redacted>"},
		{"/repo/t/", "/repo/t/<redacted>"},
		{"/repo/main/gk-", "/repo/main/gk-"},
	} {
		if got := RedactPath(c.in); got != c.want {
			t.Errorf("RedactPath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzRedactPath: the fast path for paths without a key changes nothing
// the full rule would have redacted, and no key shape survives.
func FuzzRedactPath(f *testing.F) {
	for _, s := range []string{"/repo/main/linux-64/repodata.json", "/repo/t/gk-abc/x", "/t/k/repo/x", "gk-", "/t", "x/t/y"} {
		f.Add(s)
	}
	full := func(p string) string {
		return keyLike.ReplaceAllString(tokenPath.ReplaceAllString(p, "/t/<redacted>"), "gk-<redacted>")
	}
	left := regexp.MustCompile(`gk-[0-9A-Za-z]`)
	f.Fuzz(func(t *testing.T, p string) {
		got := RedactPath(p)
		if want := full(p); got != want {
			t.Fatalf("RedactPath(%q) = %q, the full rule gives %q", p, got, want)
		}
		if left.MatchString(strings.ReplaceAll(got, "gk-<redacted>", " ")) {
			t.Fatalf("RedactPath(%q) = %q still holds a key", p, got)
		}
	})
}
