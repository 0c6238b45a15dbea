package matchspec

import (
	"os"
	"strings"
	"testing"
)

// realSpecs are depends and constrains entries as real packages carry them:
// conda-forge and defaults records, conda-build and rattler-build output.
// They are in testdata/real_specs.txt, which the conda package's tests
// read too.
func realSpecs(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/real_specs.txt")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestParseMatchSpecAcceptsRealSpecs(t *testing.T) {
	for _, s := range realSpecs(t) {
		t.Run("accepts "+s, func(t *testing.T) {
			m, err := parseMatchSpec(s)
			if err != nil {
				t.Fatal(err)
			}
			if m.Name == "" {
				t.Fatalf("no name in %+v", m)
			}
		})
	}
	cases := map[string]matchSpec{
		"python_abi 3.12.* *_cp312":    {Name: "python_abi", Version: "3.12.*", Build: "*_cp312"},
		"foo=1.0=py27_0":               {Name: "foo", Version: "=1.0", Build: "py27_0"},
		"pkg[version='>=1.0']":         {Name: "pkg", Version: ">=1.0", InBrackets: true},
		"python >=3.9,<3.13.0a0":       {Name: "python", Version: ">=3.9,<3.13.0a0"},
		"foo >=1.0 , <2.0 py34_0":      {Name: "foo", Version: ">=1.0 , <2.0", Build: "py34_0"},
		"foo 1.0 [build_number='>=2']": {Name: "foo", Version: "1.0", BuildNumber: ">=2", InBrackets: true},
	}
	for s, want := range cases {
		t.Run("reads "+s, func(t *testing.T) {
			if got, err := parseMatchSpec(s); err != nil || got != want {
				t.Fatalf("parseMatchSpec = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}

// checklist F16: what parseMatchSpec refuses.
func TestParseMatchSpecRefuses(t *testing.T) {
	cases := []struct{ why, spec string }{
		{"U+0085 NEXT LINE (F16)", "python\u0085>=3.9"},
		{"U+2028 LINE SEPARATOR (F16)", "python >=3.9\u2028evil"},
		{"U+2029 PARAGRAPH SEPARATOR (F16)", "python\u2029"},
		{"a zero-width space (F16)", "nu\u200bmpy >=1"},
		{"a right-to-left override (F16)", "numpy \u202e1.0"},
		{"a no-break space (F16)", "numpy\u00a0>=1"},
		{"a newline", "python\n>=3"},
		{"a tab", "python\t>=3"},
		{"NUL", "python\x00"},
		{"DEL", "python\x7f"},
		{"invalid UTF-8", "python \xff"},
		{"an empty spec", ""},
		{"only spaces", "   "},
		{"a leading space", " python"},
		{"a trailing space", "python "},
		{"a channel", "conda-forge::numpy"},
		{"a namespace", "python:numpy"},
		{"a URL", "https://example.org/numpy-1.0-0.conda"},
		{"a comment", "numpy # pinned"},
		{"a conditional", "numpy; if __unix"},
		{"an if clause", "numpy >=1 if __linux"},
		{"a regex version", "numpy ^1\\.2.*$"},
		{"an operator without a version", "numpy >="},
		{"a comparison with *", "numpy >=*"},
		{"a star inside a version", "numpy 1.*.3"},
		{"an unknown operator", "numpy ~1.0"},
		{"a triple operator", "numpy >==1.0"},
		{"a version conda cannot read", "numpy >=1..0"},
		{"two epochs", "numpy 1!2!3"},
		{"a fourth part", "numpy 1.0 py_0 extra"},
		{"a build with a dash", "numpy 1.0 py-0"},
		{"a name starting with a dot", ".numpy"},
		{"a name starting with a dash", "-numpy"},
		{"a name with a slash", "a/b >=1"},
		{"a glob name", "num* >=1"},
		{"a 65-character name", strings.Repeat("a", 65)},
		{"a spec over 1024 bytes", "numpy " + strings.Repeat("1.", 600) + "0"},
		{"an unbalanced parenthesis", "numpy (>=1,<2"},
		{"a closing parenthesis alone", "numpy >=1)"},
		{"a version group in parentheses, which conda reads as options", "numpy (>=1,<2)|>=3"},
		{"an unknown bracket key", "numpy[md5=0123]"},
		{"a channel in brackets", "numpy[channel=conda-forge]"},
		{"a key given twice", "numpy[build=a,build=b]"},
		{"a version in place and in brackets", "numpy 1.0[version=2.0]"},
		{"two bracket lists", "numpy[build=a][build=b]"},
		{"an unclosed bracket", "numpy[build=a"},
		{"an unclosed quote", "numpy[version='1.0]"},
		{"an empty bracket value", "numpy[version='']"},
		{"an empty bracket list", "numpy[]"},
		{"a build number that is not a number", "numpy[build_number=x]"},
		{"a bracketed version that is not one", "numpy[version='1.0 py_0']"},
		{"text after the brackets", "numpy[build=a] x"},
		{"a bracket value with a space", "numpy[build='a b']"},
		{"an optional marker", "numpy (optional)"},
	}
	for _, c := range cases {
		t.Run("refuses "+c.why, func(t *testing.T) {
			if m, err := parseMatchSpec(c.spec); err == nil {
				t.Fatalf("parseMatchSpec(%q) = %+v; want an error", c.spec, m)
			}
		})
	}
}

// FuzzMatchSpec: the parser never panics, accepts only printable ASCII
// within the length limit, and what it accepts prints back to a spec that
// reads the same. The seed corpus is in testdata/fuzz/FuzzMatchSpec.
func FuzzMatchSpec(f *testing.F) {
	for _, s := range realSpecs(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMatchSpec(s)
		if err != nil {
			return
		}
		if len(s) > MaxLen || s[0] == ' ' || s[len(s)-1] == ' ' {
			t.Fatalf("accepted %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] >= 0x7f {
				t.Fatalf("accepted %q, which holds byte %#x", s, s[i])
			}
		}
		// The name is what conda reads as the name: everything up to the
		// first space, operator or bracket.
		if end := strings.IndexAny(s, " =<>!~["); m.Name != s[:max(end, 0)] && !(end < 0 && m.Name == s) {
			t.Fatalf("read the name of %q as %q", s, m.Name)
		}
		again, err := parseMatchSpec(m.String())
		if err != nil || again != m {
			t.Fatalf("%q reads as %+v, printed %q, which reads as %+v, %v", s, m, m.String(), again, err)
		}
	})
}
