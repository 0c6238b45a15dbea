package conda

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// realSpecs are depends and constrains entries as real packages carry them:
// conda-forge and defaults records, conda-build and rattler-build output.
var realSpecs = []string{
	"python >=3.9,<3.13.0a0",
	"libgcc-ng >=12",
	"numpy >=1.21,<2",
	"__glibc >=2.17,<3.0.a0",
	"python_abi 3.12.* *_cp312",
	"pip",
	"openssl >=3.0.12,<4.0a0",
	"font-ttf-ubuntu",
	"libzlib >=1.2.13,<2.0.0a0",
	"_openmp_mutex >=4.5",
	"pkg[version='>=1.0']",
	"vs2015_runtime >=14.29.30139",
	"python 3.12.* *_cpython",
	"libblas 3.9.0 20_linux64_openblas",
	"blas * mkl",
	"numpy-base <0a0",
	"python >=3.8",
	"python>=3.8",
	"python >= 3.6",
	"numpy 1.21.*",
	"foo ==1.0",
	"foo =1.0",
	"foo=1.0=py27_0",
	"foo 1.0=py27_0",
	"foo !=1.5",
	"foo ~=1.2",
	"foo >=1.0|<0.5",
	"foo >=1.0 , <2.0 py34_0",
	"pytorch * cuda*",
	"mkl >=2023.1.0,<2024.0a0",
	"__osx >=10.13",
	"ucrt >=10.0.20348.0",
	"cuda-version >=12.0,<13",
	"openjdk 8.*",
	"libgfortran5 >=13.2.0",
	"r-base >=4.3,<4.4.0a0",
	"pkg 1!2.0+local.1",
	"foo[build_number=3]",
	"foo >=1.0 [build_number='>=2']",
	`foo[version="1.*", build=py*]`,
	"gh-lib >=2.9,<3.0a0",
	"PyYAML >=5",
}

func TestParseMatchSpecAcceptsRealSpecs(t *testing.T) {
	for _, s := range realSpecs {
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

// base is a valid index.json without depends, for the F16 cases below.
const f16Base = `"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64"`

// checklist F16: index.json with non-printing characters, unknown subdirs
// and specs outside the grammar.
func TestParseIndexJSONRefusesF16(t *testing.T) {
	cases := []struct{ why, doc string }{
		{"depends with U+0085 (F16)", `{` + f16Base + `,"depends":["python\u0085>=3"]}`},
		{"depends with U+2028 (F16)", `{` + f16Base + `,"depends":["python >=3.9\u2028"]}`},
		{"depends with a zero-width space (F16)", `{` + f16Base + `,"depends":["py\u200bthon"]}`},
		{"depends with a channel (F16)", `{` + f16Base + `,"depends":["evil::python"]}`},
		{"constrains with U+2029 (F16)", `{` + f16Base + `,"constrains":["numpy\u2029<2"]}`},
		{"constrains with a bracket key conda would read as a URL (F16)", `{` + f16Base + `,"constrains":["numpy[url=x]"]}`},
		{"a license with U+2028 (F16)", `{` + f16Base + `,"license":"MIT\u2028GPL"}`},
		{"a license with U+0085 (F16)", `{` + f16Base + `,"license":"MIT\u0085"}`},
		{"a license with a tab (F16)", `{` + f16Base + `,"license":"MIT\tGPL"}`},
		{"a license_family with a zero-width space (F16)", `{` + f16Base + `,"license_family":"B\u200bSD"}`},
		{"a license over 1024 bytes (F16)", `{` + f16Base + `,"license":"` + strings.Repeat("M", 1025) + `"}`},
		{"a platform with a newline (F16)", `{` + f16Base + `,"platform":"linux\n"}`},
		{"track_features with U+2028 (F16)", `{` + f16Base + `,"track_features":"mkl\u2028"}`},
		{"track_features with a slash (F16)", `{` + f16Base + `,"track_features":["a/b"]}`},
		{"features with a semicolon (F16)", `{` + f16Base + `,"features":"mkl;rm"}`},
		{"python_site_packages_path ../../etc (F16)", `{` + f16Base + `,"python_site_packages_path":"../../etc"}`},
		{"python_site_packages_path /usr/lib (F16)", `{` + f16Base + `,"python_site_packages_path":"/usr/lib"}`},
		{"preferred_env with U+2028 (F16)", `{` + f16Base + `,"preferred_env":"x\u2028"}`},
		{"an unknown subdir zzz-evil (F16)", `{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"zzz-evil"}`},
		{"an unknown subdir linux-65 (F16)", `{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-65"}`},
	}
	for _, c := range cases {
		t.Run("refuses "+c.why, func(t *testing.T) {
			ix, err := ParseIndexJSON([]byte(c.doc))
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("ParseIndexJSON = %+v, %v; want EINVALID", ix, err)
			}
			msg := gatehouse.ErrorMessage(err)
			if len(msg) > 400 || strings.ContainsAny(msg, "\u0085\u2028\u2029\u200b\n\t") {
				t.Errorf("message %q: want a short sentence without the character itself", msg)
			}
		})
	}
	t.Run("Validate refuses an unknown subdir set after parsing (F16)", func(t *testing.T) {
		ix, err := ParseIndexJSON([]byte(`{` + f16Base + `}`))
		if err != nil {
			t.Fatal(err)
		}
		ix.Subdir = "zzz-evil"
		if err := ix.Validate(time.Time{}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Fatalf("Validate = %v; want EINVALID", err)
		}
	})
}

func TestParseIndexJSONAcceptsRealRecords(t *testing.T) {
	deps, err := json.Marshal(realSpecs)
	if err != nil {
		t.Fatal(err)
	}
	doc := `{` + f16Base + `,"depends":` + string(deps) + `,"constrains":["numpy-base <0a0","pkg[version='>=1.0']"],` +
		`"license":"BSD-3-Clause AND (MIT OR Apache-2.0) – Ünïcode ©","track_features":"mkl vc14","features":"",` +
		`"python_site_packages_path":"lib/python3.13t/site-packages","preferred_env":"py3"}`
	ix, err := ParseIndexJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Depends) != len(realSpecs) {
		t.Fatalf("read %d depends; want %d", len(ix.Depends), len(realSpecs))
	}
	for _, subdir := range []string{"noarch", "linux-64", "linux-aarch64", "osx-arm64", "win-64", "emscripten-wasm32"} {
		noarch := ""
		if subdir == "noarch" {
			noarch = `,"noarch":"python"`
		}
		if _, err := ParseIndexJSON([]byte(`{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"` + subdir + `"` + noarch + `}`)); err != nil {
			t.Errorf("subdir %s: %v", subdir, err)
		}
	}
}

// checklist F16: the record carries only the allow-listed keys.
func TestRecordKeepsOnlyAllowListedKeys(t *testing.T) {
	rec := mustRecord(t, `{`+f16Base+`,"depends":["python >=3.9"],"constrains":["numpy <2"],"license":"MIT","license_family":"MIT",`+
		`"noarch":null,"timestamp":1700000000000,"track_features":"","features":"","python_site_packages_path":"lib/python3.13t/site-packages","preferred_env":"py3",`+
		`"Url":"https://evil.example/x.conda","SHA256":"evil","removed":["x"],"signatures":{"k":"v"},"anything":"\u2028","info":{"subdir":"noarch"},`+
		`"packages":{},"repodata_version":2,"extra_depends":{"x":["y"]},"flags":["f"],"purls":["pkg:pypi/x"],"app_entry":"rm -rf /","arch":"x86_64","platform":"linux"}`)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec, &m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range m {
		if !recordKeys[k] && k != "md5" && k != "sha256" && k != "size" && k != "indexed_timestamp" {
			got = append(got, k)
		}
	}
	if len(got) != 0 {
		t.Fatalf("the record keeps keys outside the allow-list: %q\n%s", got, rec)
	}
	for k := range recordKeys {
		if _, ok := m[k]; !ok {
			t.Errorf("the record lost the allowed key %q", k)
		}
	}
}

// checklist F16 through Inspect: a package whose depends hide a line
// separator is refused in both formats.
func TestInspectRefusesNonPrintingDepends(t *testing.T) {
	idx := indexJSON(t, "demo", "1.0", "0", testSubdir, map[string]any{"depends": []string{"python >=3.9\u2028evil"}})
	for name, data := range both(t, file("info/index.json", idx)) {
		t.Run("refuses depends with U+2028 in "+name[len(testStem):], func(t *testing.T) {
			wantCode(t, data, name, DefaultLimits(), gatehouse.EINVALID, "depends")
		})
	}
	idx = indexJSON(t, "demo", "1.0", "0", "zzz-evil", nil)
	for name, data := range both(t, file("info/index.json", idx)) {
		t.Run("refuses the subdir zzz-evil in "+name[len(testStem):], func(t *testing.T) {
			wantCode(t, data, name, DefaultLimits(), gatehouse.EINVALID, "zzz-evil")
		})
	}
}

// FuzzMatchSpec: the parser never panics, accepts only printable ASCII
// within the length limit, and what it accepts prints back to a spec that
// reads the same. The seed corpus is in testdata/fuzz/FuzzMatchSpec.
func FuzzMatchSpec(f *testing.F) {
	for _, s := range realSpecs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMatchSpec(s)
		if err != nil {
			return
		}
		if len(s) > maxSpecLen || s[0] == ' ' || s[len(s)-1] == ' ' {
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
