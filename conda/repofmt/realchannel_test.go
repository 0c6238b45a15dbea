package repofmt

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/conda"
)

// fixture is a real package from conda's testdata/pkgs.
type fixture struct {
	subdir, filename string
	data             []byte
}

func fixtures(t testing.TB) []fixture {
	t.Helper()
	paths, err := filepath.Glob("../testdata/pkgs/*/*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in conda/testdata/pkgs (run conda/testdata/make-fixtures.sh): %v", err)
	}
	var out []fixture
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fixture{subdir: filepath.Base(filepath.Dir(p)), filename: filepath.Base(p), data: data})
	}
	return out
}

// The fixtures make a little channel; its repodata must list every file
// with hashes of the bytes served and name dependencies that resolve
// (checklist G3, G5).
func TestRealChannelRepodata(t *testing.T) {
	entries := map[string][]Entry{"noarch": nil, "linux-64": nil}
	files := map[string]fixture{}
	for _, fx := range fixtures(t) {
		p, err := conda.Inspect(bytes.NewReader(fx.data), int64(len(fx.data)), fx.filename, conda.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		m, s := md5.Sum(fx.data), sha256.Sum256(fx.data)
		rec, err := conda.Record(&p.Index, hex.EncodeToString(m[:]), hex.EncodeToString(s[:]), int64(len(fx.data)), 1767225600000)
		if err != nil {
			t.Fatal(err)
		}
		entries[fx.subdir] = append(entries[fx.subdir], Entry{Filename: fx.filename, Record: rec})
		files[fx.subdir+"/"+fx.filename] = fx
	}
	names := map[string]bool{}
	type record struct {
		Name, Version, Build, Subdir, Md5, Sha256 string
		Depends                                   []string
		Size                                      int64
		IndexedTimestamp                          int64 `json:"indexed_timestamp"`
		Arch, Platform                            *string
	}
	all := map[string]record{}
	for subdir, es := range entries {
		doc, err := BuildRepodata(subdir, es)
		if err != nil {
			t.Fatal(err)
		}
		var rd struct {
			Info            struct{ Subdir string }
			Packages        map[string]record
			PackagesConda   map[string]record `json:"packages.conda"`
			RepodataVersion int               `json:"repodata_version"`
		}
		if err := json.Unmarshal(doc, &rd); err != nil {
			t.Fatalf("%s/repodata.json is not JSON: %v", subdir, err)
		}
		if rd.Info.Subdir != subdir || rd.RepodataVersion != 1 || len(rd.Packages)+len(rd.PackagesConda) != len(es) {
			t.Fatalf("%s: %+v", subdir, rd)
		}
		for fn, r := range rd.Packages {
			all[subdir+"/"+fn] = r
		}
		for fn, r := range rd.PackagesConda {
			all[subdir+"/"+fn] = r
		}
	}
	for key, r := range all {
		fx := files[key]
		m, s := md5.Sum(fx.data), sha256.Sum256(fx.data)
		if r.Md5 != hex.EncodeToString(m[:]) || r.Sha256 != hex.EncodeToString(s[:]) || r.Size != int64(len(fx.data)) || r.IndexedTimestamp != 1767225600000 {
			t.Errorf("%s: record hashes or size do not match the file", key)
		}
		if r.Name+"-"+r.Version+"-"+r.Build != strings.TrimSuffix(strings.TrimSuffix(fx.filename, ".conda"), ".tar.bz2") || r.Subdir != fx.subdir {
			t.Errorf("%s: record is for %s-%s-%s in %s", key, r.Name, r.Version, r.Build, r.Subdir)
		}
		if r.Arch != nil || r.Platform != nil {
			t.Errorf("%s: record keeps arch/platform, which conda-index drops", key)
		}
		names[r.Name] = true
	}
	if len(all) != 7 {
		t.Fatalf("repodata lists %d files; the fixtures have 7", len(all))
	}
	for key, r := range all {
		for _, d := range r.Depends {
			if dep := strings.Fields(d)[0]; dep != "libgcc-ng" && !names[dep] {
				t.Errorf("%s depends on %s, which the channel lacks", key, dep)
			}
		}
	}
}
