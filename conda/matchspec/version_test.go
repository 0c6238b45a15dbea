package matchspec

import (
	"cmp"
	"testing"
)

// The order in conda's VersionOrder docstring, oldest first; "==" marks a
// version equal to the one before.
var condaVersionOrder = []string{
	"0.4", "==0.4.0", "0.4.1.rc", "==0.4.1.rc", "0.4.1", "0.5a1", "0.5b3", "0.5c1", "0.5",
	"0.9.6", "0.960923", "1.0", "1.1dev1", "1.1a1", "1.1.0dev1", "==1.1.dev1", "1.1.a1",
	"1.1.0rc1", "1.1.0", "==1.1", "1.1.0post1", "==1.1.post1", "1.1post1", "1996.07.12",
	"1!0.4.1", "1!3.1.1.6", "2!0.4.1",
}

func TestCompareVersionsFollowsConda(t *testing.T) {
	type v struct {
		s     string
		group int
	}
	var vs []v
	g := 0
	for _, s := range condaVersionOrder {
		if len(s) > 2 && s[:2] == "==" {
			vs = append(vs, v{s[2:], g})
			continue
		}
		g++
		vs = append(vs, v{s, g})
	}
	for _, a := range vs {
		for _, b := range vs {
			want := cmp.Compare(a.group, b.group)
			if got := CompareVersions(a.s, b.s); got != want {
				t.Errorf("CompareVersions(%q, %q) = %d; want %d", a.s, b.s, got, want)
			}
		}
	}
}

func TestCompareVersionsCases(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"2.10.0", "2.9.0", 1},
		// conda's own quirks, kept: a trailing '_' or a letters-only local
		// part adds a string component, and strings sort before numbers.
		{"1.0.1", "1.0.1_", 1},
		{"1.0", "1.0+local", 1},
		{"1.0+local.2", "1.0+local.10", -1},
		{"10000000000000000000000.1", "9.1", 1}, // numbers beyond int64
		{"1.01", "1.1", 0},
		{"not..valid", "0.1", -1}, // unparsable sorts first
		{"a..b", "a..c", -1},
	}
	for _, c := range cases {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d; want %d", c.a, c.b, got, c.want)
		}
		if got := CompareVersions(c.b, c.a); got != -c.want {
			t.Errorf("CompareVersions(%q, %q) = %d; want %d", c.b, c.a, got, -c.want)
		}
	}
}
