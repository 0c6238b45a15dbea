package conda

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// These tests read the real packages that conda-package-handling built in
// testdata/pkgs (see make-fixtures.sh).

func TestInspectReadsRealPackages(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	byStem := map[string][]*Package{}
	for _, fx := range fixtures(t) {
		t.Run(fx.subdir+"/"+fx.filename, func(t *testing.T) {
			p, err := inspectBytes(fx.data, fx.filename, DefaultLimits())
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if err := p.Index.Validate(now); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if p.Filename != fx.filename || p.Index.Filename(p.Format) != fx.filename || p.Index.Subdir != fx.subdir {
				t.Fatalf("got %s in %s as %v", p.Index.Filename(p.Format), p.Index.Subdir, p.Format)
			}
			if p.About.Summary != "The "+p.Index.Name+" fixture" || p.About.Home != "https://example.org/"+p.Index.Name || p.About.License != "BSD-3-Clause" {
				t.Errorf("About = %+v", p.About)
			}
			byStem[p.Index.Stem()] = append(byStem[p.Index.Stem()], p)
		})
	}
	t.Run("each package says what it is", func(t *testing.T) {
		data := byStem["gh-data-1.0.0-0"][0]
		if data.Index.Noarch != "generic" || data.Index.Subdir != "noarch" || len(data.Index.Depends) != 0 || data.PostInstall != (PostInstall{}) || data.RunExports != nil {
			t.Errorf("gh-data: %+v %+v %s", data.Index, data.PostInstall, data.RunExports)
		}
		lib := byStem["gh-lib-2.10.0-h1a2b3c4_0"][0]
		if want := (PostInstall{ActivateD: true, PostLink: true, TextPrefix: true}); lib.PostInstall != want {
			t.Errorf("gh-lib PostInstall = %+v; want %+v", lib.PostInstall, want)
		}
		if string(lib.RunExports) != `{"weak":["gh-lib >=2.10.0,<3.0a0"]}` {
			t.Errorf("gh-lib RunExports = %s", lib.RunExports)
		}
		app := byStem["gh-app-0.3.0-h1a2b3c4_1"][0]
		if !slices.Equal(app.Index.Depends, []string{"gh-data", "gh-lib >=2.9,<3.0a0"}) || !slices.Equal(app.Index.Constrains, []string{"gh-data <2"}) || app.Index.BuildNumber != 1 {
			t.Errorf("gh-app: %+v", app.Index)
		}
	})
	t.Run("both formats of one package read the same", func(t *testing.T) {
		pairs := 0
		for stem, ps := range byStem {
			if len(ps) != 2 {
				continue
			}
			pairs++
			a, b := ps[0], ps[1]
			if !maps.EqualFunc(a.Index.Raw, b.Index.Raw, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) }) ||
				a.About != b.About || a.PostInstall != b.PostInstall || !bytes.Equal(a.RunExports, b.RunExports) {
				t.Errorf("%s: the .conda and .tar.bz2 disagree", stem)
			}
		}
		if pairs != 3 {
			t.Errorf("found %d packages in both formats; the fixtures have 3", pairs)
		}
	})
}

// A real package cut short anywhere is refused, never half-read (checklist
// F14).
func TestInspectRefusesTruncatedRealPackages(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.filename, func(t *testing.T) {
			for cut := 0; cut < len(fx.data); cut += max(1, len(fx.data)/97) {
				p, err := inspectBytes(fx.data[:cut], fx.filename, DefaultLimits())
				if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
					t.Fatalf("cut at %d of %d: Inspect = %v, %v; want EINVALID", cut, len(fx.data), p, err)
				}
			}
		})
	}
}

// The fixtures make a little channel; its repodata must list every file
// with hashes of the bytes served and name dependencies that resolve
// (checklist G3, G5).
func TestRealChannelRepodata(t *testing.T) {
	entries := map[string][]Entry{"noarch": nil, "linux-64": nil}
	files := map[string]fixture{}
	for _, fx := range fixtures(t) {
		p, err := inspectBytes(fx.data, fx.filename, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		m, s := md5.Sum(fx.data), sha256.Sum256(fx.data)
		rec, err := Record(&p.Index, hex.EncodeToString(m[:]), hex.EncodeToString(s[:]), int64(len(fx.data)), 1767225600000)
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
