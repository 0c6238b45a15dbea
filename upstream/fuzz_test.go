package upstream

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
)

// An upstream's repodata.json is outside input: any bytes end in records
// that are valid JSON or in an error, never a panic or a hang.
func FuzzReadRepodata(f *testing.F) {
	f.Add([]byte(`{"info":{"subdir":"noarch"},"packages":{},"packages.conda":{"a-1-0.conda":{"name":"a","version":"1","build":"0","sha256":"x"}},"removed":[]}`))
	f.Add([]byte(`{"packages":null,"packages.conda":{"a":1}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"packages":{"x":{"y":[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		_ = readRepodata(bytes.NewReader(data), func(fn string, raw []byte) error {
			n++
			if !json.Valid(raw) {
				t.Fatalf("record %q is not valid JSON: %q", fn, raw)
			}
			_ = quickSHA(raw)
			return nil
		})
		if n > len(data) {
			t.Fatalf("%d records from %d bytes", n, len(data))
		}
	})
}

// Filters come from channel creators and licences and versions from
// upstream records: compiling and applying them never panics, and a
// version filter admits exactly what it compiled to.
func FuzzFilters(f *testing.F) {
	f.Add(">=1.2,<2|==3.*", "MIT OR (Apache-2.0 AND BSD-3-Clause)", "numpy-1.2.3-py312h0_0.conda", "1.2.3")
	f.Add("=1.4", "GPL-2.0-only WITH Classpath-exception-2.0", "a-b-c", "1.4.0")
	f.Add("((", ") OR (", "x.conda", "")
	f.Fuzz(func(t *testing.T, spec, license, filename, version string) {
		pol, err := Compile(gatehouse.Filters{Licenses: []string{"MIT", "Apache-2.0"}, Versions: map[string]string{"numpy": spec}, MinAgeDays: 1})
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("a bad spec %q: %v, want EINVALID", spec, err)
			}
			return
		}
		_ = pol.licenseOK(license)
		_ = pol.CheckFilename("linux-64", filename)
		v := pol.Check("linux-64", &conda.Index{Name: "numpy", Version: version, License: license, Timestamp: 1}, time.Unix(1e9, 0))
		if v.Rule == "" && !pol.licenseOK(license) {
			t.Fatalf("licence %q admitted but not allowed", license)
		}
	})
}
