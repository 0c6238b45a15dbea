package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/catalog"
)

// catalogStore is the package browsing a store must answer (issue 11
// item 20): sqlstore.DB embeds it from sqlstore/catalogsql.
type catalogStore interface {
	PackageNames(ctx context.Context, channelID int64, q catalog.Query) (*catalog.Page, error)
	PackageFiles(ctx context.Context, channelID int64, name string) ([]*gatehouse.Package, error)
}

func browsing(t *testing.T, s gatehouse.Store) catalogStore {
	t.Helper()
	c, ok := s.(catalogStore)
	if !ok {
		t.Fatalf("%T does not answer package browsing (PackageNames, PackageFiles)", s)
	}
	return c
}

// catalogFixture is a channel with numpy (three files, two platforms),
// numpy-base, scipy, my_pkg and a neighbouring channel's numpy.
func catalogFixture(t *testing.T, s gatehouse.Store) (ch, other *gatehouse.Channel) {
	u := mkUser(t, s, "alice")
	ch = mkChannel(t, s, "lab", u.ID, 0, gatehouse.Private)
	other = mkChannel(t, s, "other", u.ID, 0, gatehouse.Public)
	add := func(c *gatehouse.Channel, subdir, filename, version string, at time.Time) {
		p := newPkg(c.ID, u.ID, subdir, filename)
		p.Name = strings.TrimSuffix(filename, "-"+version+"-h0_0.conda")
		p.Version, p.CreatedAt = version, at
		_, err := s.AddPackage(t.Context(), p, false)
		must(t, err)
	}
	add(ch, "linux-64", "numpy-1.0-h0_0.conda", "1.0", t0)
	add(ch, "linux-64", "numpy-2.0-h0_0.conda", "2.0", t0.Add(2*time.Hour))
	add(ch, "osx-arm64", "numpy-1.5-h0_0.conda", "1.5", t0.Add(time.Hour))
	add(ch, "noarch", "numpy-base-1.0-h0_0.conda", "1.0", t0)
	add(ch, "noarch", "scipy-1.0-h0_0.conda", "1.0", t0)
	p := newPkg(ch.ID, u.ID, "noarch", "my_pkg-1.0-h0_0.conda")
	p.Name = "my_pkg"
	_, err := s.AddPackage(t.Context(), p, false)
	must(t, err)
	add(other, "linux-64", "numpy-9.0-h0_0.conda", "9.0", t0)
	return ch, other
}

func summaryNames(p *catalog.Page) []string {
	var out []string
	for _, s := range p.Packages {
		out = append(out, s.Name)
	}
	return out
}

var catalogTests = []test{
	{"package names come one row per name, with counts, platforms and the newest version", func(t *testing.T, s gatehouse.Store) {
		ch, _ := catalogFixture(t, s)
		page, err := browsing(t, s).PackageNames(t.Context(), ch.ID, catalog.Query{})
		must(t, err)
		equal(t, "names", summaryNames(page), []string{"my_pkg", "numpy", "numpy-base", "scipy"})
		equal(t, "matching names", page.Names, 4)
		equal(t, "files of the channel", page.Files, 6)
		np := page.Packages[1]
		equal(t, "numpy's files", np.Files, 3)
		equal(t, "numpy's platforms", np.Subdirs, []string{"linux-64", "osx-arm64"})
		equal(t, "numpy's newest version", np.Latest, "2.0")
		wantUTC(t, "numpy's newest upload", np.Updated, stored(t0.Add(2*time.Hour)))
	}},
	{"a search matches part of a name, case-insensitively, and LIKE's characters literally", func(t *testing.T, s gatehouse.Store) {
		ch, _ := catalogFixture(t, s)
		c := browsing(t, s)
		for text, want := range map[string][]string{
			"NumPy": {"numpy", "numpy-base"}, "base": {"numpy-base"}, "_": {"my_pkg"}, "%": nil,
			"y_p": {"my_pkg"}, "zzz": nil, "\x00": nil, "py": {"numpy", "numpy-base", "scipy"}, "p": {"my_pkg", "numpy", "numpy-base", "scipy"},
		} {
			page, err := c.PackageNames(t.Context(), ch.ID, catalog.Query{Text: text})
			must(t, err)
			equal(t, "names matching "+text, summaryNames(page), want)
			equal(t, "count matching "+text, page.Names, len(want))
		}
	}},
	{"a platform keeps the names with a file there; pages are bounded", func(t *testing.T, s gatehouse.Store) {
		ch, _ := catalogFixture(t, s)
		c := browsing(t, s)
		page, err := c.PackageNames(t.Context(), ch.ID, catalog.Query{Subdir: "osx-arm64"})
		must(t, err)
		equal(t, "names in osx-arm64", summaryNames(page), []string{"numpy"})
		page, err = c.PackageNames(t.Context(), ch.ID, catalog.Query{Limit: 2, Offset: 1})
		must(t, err)
		equal(t, "the second page of two", summaryNames(page), []string{"numpy", "numpy-base"})
		equal(t, "the count ignores the page", page.Names, 4)
		page, err = c.PackageNames(t.Context(), 9999, catalog.Query{})
		must(t, err)
		equal(t, "names of an unknown channel", len(page.Packages)+page.Names+page.Files, 0)
	}},
	{"the files of one name come newest first, from that channel only", func(t *testing.T, s gatehouse.Store) {
		ch, other := catalogFixture(t, s)
		c := browsing(t, s)
		fs, err := c.PackageFiles(t.Context(), ch.ID, "numpy")
		must(t, err)
		var got []string
		for _, f := range fs {
			got = append(got, f.Subdir+"/"+f.Filename)
			if f.SHA256 == "" || f.BlobKey == "" || f.Size != 1234 {
				t.Errorf("file %s lacks its digest, blob or size: %+v", f.Filename, f)
			}
		}
		equal(t, "numpy's files", got, []string{"linux-64/numpy-2.0-h0_0.conda", "osx-arm64/numpy-1.5-h0_0.conda", "linux-64/numpy-1.0-h0_0.conda"})
		fs, err = c.PackageFiles(t.Context(), other.ID, "numpy")
		must(t, err)
		equal(t, "the other channel's numpy", len(fs), 1)
		fs, err = c.PackageFiles(t.Context(), ch.ID, "nump")
		must(t, err)
		if !slices.Equal(fs, nil) {
			t.Errorf("a partial name lists %d files", len(fs))
		}
	}},
}
