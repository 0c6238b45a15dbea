package conda

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

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
	// The real specs of the match spec tests.
	b, err := os.ReadFile("matchspec/testdata/real_specs.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(b)), "\n")
	deps, err := json.Marshal(want)
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
	if len(ix.Depends) != len(want) {
		t.Fatalf("read %d depends; want %d", len(ix.Depends), len(want))
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
