package conda

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
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
