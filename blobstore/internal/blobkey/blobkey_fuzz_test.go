package blobkey

import (
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
)

// FuzzValidKey checks that an accepted key is a clean relative path that
// stays inside the store's directory, uses no reserved name, and is a valid
// List prefix; and that a refusal is EINVALID.
func FuzzValidKey(f *testing.F) {
	for _, k := range []string{
		"linux-64/numpy-2.0.0-py312_0.conda", "", "..", "a/../b", "/etc/passwd", "a\\b", "a\x00b",
		"a//b", "a/", "x../y", "a__0x2f__b", "x.tmp", "y.attrs", "a/..b/c..", "naïve", "a\xffb",
	} {
		f.Add(k)
	}
	const root = "/srv/blobs"
	f.Fuzz(func(t *testing.T, key string) {
		err := Valid(key)
		if err != nil {
			if code := gatehouse.ErrorCode(err); code != gatehouse.EINVALID {
				t.Fatalf("Valid(%q): code %q", key, code)
			}
			return
		}
		if path.Clean(key) != key || path.IsAbs(key) || strings.HasPrefix(key, "../") || key == "." {
			t.Fatalf("accepted %q, which is not a clean relative path", key)
		}
		p := filepath.Join(root, filepath.FromSlash(key))
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Fatalf("accepted %q, which resolves to %s outside %s", key, p, root)
		}
		if !utf8.ValidString(key) || strings.ContainsAny(key, "\\\x00") || len(key) > MaxLen {
			t.Fatalf("accepted %q", key)
		}
		if Reserved(key) || strings.Contains(key, "__0x") {
			t.Fatalf("accepted the reserved name %q", key)
		}
		if ValidPrefix(key) != nil {
			t.Fatalf("a valid key %q is not a valid prefix", key)
		}
	})
}
