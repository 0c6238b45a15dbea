package conda

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

const goodIndex = `{
  "arch": "x86_64",
  "build": "py312h8753938_0",
  "build_number": 0,
  "constrains": ["numpy-base <0a0"],
  "depends": ["libblas >=3.9.0,<4.0a0", "python >=3.12,<3.13.0a0", "python_abi 3.12.* *_cp312"],
  "license": "BSD-3-Clause AND MIT",
  "license_family": "BSD",
  "name": "numpy",
  "platform": "linux",
  "subdir": "linux-64",
  "timestamp": 1707225345000,
  "track_features": "",
  "version": "1.26.4",
  "extra": {"b": [1, 2.50, "<x>"], "a": null}
}`

func TestParseIndexJSONReadsARealIndex(t *testing.T) {
	ix, err := ParseIndexJSON([]byte(goodIndex))
	if err != nil {
		t.Fatal(err)
	}
	if ix.Name != "numpy" || ix.Version != "1.26.4" || ix.Build != "py312h8753938_0" || ix.BuildNumber != 0 ||
		ix.Subdir != "linux-64" || ix.License != "BSD-3-Clause AND MIT" || ix.Timestamp != 1707225345000 ||
		len(ix.Depends) != 3 || len(ix.Constrains) != 1 || ix.Noarch != "" {
		t.Fatalf("typed fields: %+v", ix)
	}
	if ix.Stem() != "numpy-1.26.4-py312h8753938_0" || ix.Filename(Conda) != "numpy-1.26.4-py312h8753938_0.conda" {
		t.Fatalf("Stem/Filename: %q %q", ix.Stem(), ix.Filename(Conda))
	}
	if len(ix.Raw) != 14 {
		t.Fatalf("Raw has %d keys; want all 14 of index.json", len(ix.Raw))
	}
	// Raw values are canonical: compact, keys sorted, numbers as written,
	// HTML characters unescaped.
	if got := string(ix.Raw["extra"]); got != `{"a":null,"b":[1,2.50,"<x>"]}` {
		t.Fatalf("Raw[extra] = %s", got)
	}
}

func TestParseIndexJSONReadsOldForms(t *testing.T) {
	t.Run("a timestamp in seconds is read as milliseconds", func(t *testing.T) {
		ix, err := ParseIndexJSON([]byte(`{"name":"a","version":"1","build":"0","build_number":0,"subdir":"noarch","timestamp":1500000000}`))
		if err != nil || ix.Timestamp != 1500000000000 {
			t.Fatalf("Timestamp = %d, %v", ix.Timestamp, err)
		}
	})
	t.Run("noarch true means generic", func(t *testing.T) {
		ix, err := ParseIndexJSON([]byte(`{"name":"a","version":"1","build":"0","build_number":0,"subdir":"noarch","noarch":true}`))
		if err != nil || ix.Noarch != "generic" {
			t.Fatalf("Noarch = %q, %v", ix.Noarch, err)
		}
	})
	t.Run("null license and platform are allowed", func(t *testing.T) {
		if _, err := ParseIndexJSON([]byte(`{"name":"a","version":"1","build":"0","build_number":0,"subdir":"noarch","license":null,"platform":null,"arch":null}`)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("track_features may be a list", func(t *testing.T) {
		if _, err := ParseIndexJSON([]byte(`{"name":"a","version":"1","build":"0","build_number":0,"subdir":"linux-64","track_features":["mkl"]}`)); err != nil {
			t.Fatal(err)
		}
	})
}

// checklist F8, F9, F11: what ParseIndexJSON refuses, each with EINVALID.
func TestParseIndexJSONRefuses(t *testing.T) {
	base := `"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64"`
	cases := []struct{ why, doc string }{
		// F11: not JSON, or JSON encoding/json would read loosely.
		{"invalid JSON (F11)", `{"name": "demo",`},
		{"an empty document (F11)", ``},
		{"a list instead of an object (F11)", `[` + "{" + base + "}" + `]`},
		{"a duplicate top-level key (F11)", `{` + base + `,"name":"other"}`},
		{"a duplicate key spelled with an escape (F11)", `{` + base + `,"n\u0061me":"other"}`},
		{"a duplicate nested key (F11)", `{` + base + `,"about":{"a":1,"a":2}}`},
		{"trailing data after the object (F11)", `{` + base + `} {"name":"x"}`},
		{"invalid UTF-8 (F11)", `{` + base + `,"license":"` + "\xff" + `"}`},
		{"a byte order mark (F11)", "\ufeff{" + base + "}"},
		{"nesting 100 deep (F11)", `{` + base + `,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`},
		{"build_number as a string (F11)", `{"name":"demo","version":"1.0","build":"0","build_number":"0","subdir":"linux-64"}`},
		{"build_number as a float (F11)", `{"name":"demo","version":"1.0","build":"0","build_number":1.5,"subdir":"linux-64"}`},
		{"a negative build_number (F11)", `{"name":"demo","version":"1.0","build":"0","build_number":-1,"subdir":"linux-64"}`},
		{"timestamp as a string (F11)", `{` + base + `,"timestamp":"1700000000000"}`},
		{"version as a number (F11)", `{"name":"demo","version":1.0,"build":"0","build_number":0,"subdir":"linux-64"}`},
		{"depends as a string (F11)", `{` + base + `,"depends":"python"}`},
		{"depends with a number in it (F11)", `{` + base + `,"depends":["python",3]}`},
		{"depends as an object (F11)", `{` + base + `,"depends":{"python":"3"}}`},
		{"depends as null (F11)", `{` + base + `,"depends":null}`},
		{"an empty dependency (F11)", `{` + base + `,"depends":[""]}`},
		{"a dependency with a newline (F11)", `{` + base + `,"depends":["python\n>=3"]}`},
		{"constrains as a string (F11)", `{` + base + `,"constrains":"x"}`},
		{"license as a list (F11)", `{` + base + `,"license":["MIT"]}`},
		{"noarch as a number (F11)", `{` + base + `,"noarch":1}`},
		{"an unknown noarch kind", `{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"noarch","noarch":"java"}`},
		{"a noarch package outside noarch", `{` + base + `,"noarch":"python"}`},
		{"no name", `{"version":"1.0","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"no build_number", `{"name":"demo","version":"1.0","build":"0","subdir":"linux-64"}`},
		{"no subdir (F8)", `{"name":"demo","version":"1.0","build":"0","build_number":0}`},
		// F8: subdirs.
		{"subdir ../../etc (F8)", `{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"../../etc"}`},
		{"subdir linux-64/../noarch (F8)", `{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64/../noarch"}`},
		{"subdir LINUX-64 (F8)", `{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"LINUX-64"}`},
		{"subdir linux_64 (F8)", `{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux_64"}`},
		// F9: names, versions, builds.
		{"a name with a slash (F9)", `{"name":"a/b","version":"1.0","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a name with .. (F9)", `{"name":"a..b","version":"1.0","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a name that is .. (F9)", `{"name":"..","version":"1.0","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a name with NUL (F9)", `{"name":"a\u0000b","version":"1.0","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"an uppercase name (F9)", `{"name":"Demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a name with a space (F9)", `{"name":"de mo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a 1000-character name (F9)", `{"name":"` + strings.Repeat("a", 1000) + `","version":"1.0","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a version with a dash (F9)", `{"name":"demo","version":"1.0-1","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a version with a slash (F9)", `{"name":"demo","version":"1.0/..","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a version with .. (F9)", `{"name":"demo","version":"1..0","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a version with a space (F9)", `{"name":"demo","version":"1.0 ","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a 1000-character version (F9)", `{"name":"demo","version":"` + strings.Repeat("1", 1000) + `","build":"0","build_number":0,"subdir":"linux-64"}`},
		{"a build with a slash (F9)", `{"name":"demo","version":"1.0","build":"py/0","build_number":0,"subdir":"linux-64"}`},
		{"a build with a dash (F9)", `{"name":"demo","version":"1.0","build":"py-0","build_number":0,"subdir":"linux-64"}`},
		{"a build with .. (F9)", `{"name":"demo","version":"1.0","build":"..","build_number":0,"subdir":"linux-64"}`},
		{"a build with NUL (F9)", `{"name":"demo","version":"1.0","build":"0\u0000","build_number":0,"subdir":"linux-64"}`},
		{"an empty build (F9)", `{"name":"demo","version":"1.0","build":"","build_number":0,"subdir":"linux-64"}`},
	}
	for _, c := range cases {
		t.Run("refuses "+c.why, func(t *testing.T) {
			ix, err := ParseIndexJSON([]byte(c.doc))
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("ParseIndexJSON = %+v, %v; want EINVALID", ix, err)
			}
			if msg := gatehouse.ErrorMessage(err); msg == "" || len(msg) > 400 {
				t.Errorf("message %q: want a short sentence", msg)
			}
		})
	}
}

func TestValidateRefusesAFutureTimestamp(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.FixedZone("UTC+9", 9*3600))
	for _, c := range []struct {
		name string
		ts   time.Time
		ok   bool
	}{
		{"a timestamp from last year is accepted", now.AddDate(-1, 0, 0), true},
		{"a timestamp 23 hours ahead (clock skew) is accepted", now.Add(23 * time.Hour), true},
		{"a timestamp 25 hours ahead is refused", now.Add(25 * time.Hour), false},
		{"a timestamp in the year 9999 is refused", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ix, err := ParseIndexJSON(indexJSON(t, "demo", "1.0", "0", "linux-64", map[string]any{"timestamp": c.ts.UnixMilli()}))
			if err != nil {
				t.Fatal(err)
			}
			err = ix.Validate(now)
			if c.ok != (err == nil) {
				t.Fatalf("Validate = %v; want ok=%v", err, c.ok)
			}
			if !c.ok && (gatehouse.ErrorCode(err) != gatehouse.EINVALID || !strings.Contains(gatehouse.ErrorMessage(err), "future")) {
				t.Fatalf("error %v; want EINVALID saying the timestamp is in the future", err)
			}
		})
	}
	t.Run("a timestamp in seconds is compared as seconds", func(t *testing.T) {
		ix, err := ParseIndexJSON(indexJSON(t, "demo", "1.0", "0", "linux-64", map[string]any{"timestamp": now.Add(-time.Hour).Unix()}))
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.Validate(now); err != nil {
			t.Fatal(err)
		}
	})
}

func TestValidateChecksTypedFields(t *testing.T) {
	ix, err := ParseIndexJSON(indexJSON(t, "demo", "1.0", "0", "linux-64", nil))
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Index){
		"an uppercase name (F9)":      func(ix *Index) { ix.Name = "Demo" },
		"a version with a dash (F9)":  func(ix *Index) { ix.Version = "1-0" },
		"a build with a slash (F9)":   func(ix *Index) { ix.Build = "a/b" },
		"a bad subdir (F8)":           func(ix *Index) { ix.Subdir = "../x" },
		"a negative build number":     func(ix *Index) { ix.BuildNumber = -1 },
		"an empty dependency":         func(ix *Index) { ix.Depends = []string{" "} },
		"a noarch kind conda lacks":   func(ix *Index) { ix.Noarch = "java" },
		"a negative timestamp":        func(ix *Index) { ix.Timestamp = -5 },
		"a constraint with a newline": func(ix *Index) { ix.Constrains = []string{"a\nb"} },
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			c := *ix
			change(&c)
			if err := c.Validate(time.Now()); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("Validate = %v; want EINVALID", err)
			}
		})
	}
}
