package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// newPkg returns an unsaved package with a blob key of its own.
func newPkg(channelID, uploader int64, subdir, filename string) *gatehouse.Package {
	var b [8]byte
	rand.Read(b[:])
	name, _, _ := strings.Cut(filename, "-")
	return &gatehouse.Package{
		ChannelID: channelID, Subdir: subdir, Filename: filename,
		Name: name, Version: "1.0", Build: "h0_0", Size: 1234,
		MD5: strings.Repeat("d4", 16), SHA256: strings.Repeat("5e", 32),
		Record:  fmt.Appendf(nil, `{"build":"h0_0","name":%q,"subdir":%q,"summary":"Déjà vu"}`, name, subdir),
		Meta:    []byte(`{"run_exports":{"weak":["zlib"]}}`),
		BlobKey: "pkg/" + hex.EncodeToString(b[:]) + "/" + filename, Uploader: uploader, CreatedAt: t0,
	}
}

// mkPkg adds a package and checks it replaced nothing.
func mkPkg(t *testing.T, s gatehouse.Store, channelID, uploader int64, subdir, filename string) *gatehouse.Package {
	t.Helper()
	p := newPkg(channelID, uploader, subdir, filename)
	replaced, err := s.AddPackage(t.Context(), p, false)
	must(t, err)
	if replaced != nil {
		t.Fatalf("adding %s/%s replaced package %d", subdir, filename, replaced.ID)
	}
	return p
}

// files returns "subdir/filename" of the channel's packages in subdir.
func files(t *testing.T, s gatehouse.Store, channelID int64, subdir string) []string {
	t.Helper()
	ps, err := s.ListPackages(t.Context(), channelID, subdir)
	must(t, err)
	var out []string
	for _, p := range ps {
		if p.ChannelID != channelID {
			t.Errorf("package %d of channel %d listed in channel %d", p.ID, p.ChannelID, channelID)
		}
		out = append(out, p.Subdir+"/"+p.Filename)
	}
	return out
}

func revision(t *testing.T, s gatehouse.Store, channelName string) int64 {
	t.Helper()
	return channel(t, s, channelName).Revision
}

func blobInUse(t *testing.T, s gatehouse.Store, key string) bool {
	t.Helper()
	used, err := s.BlobKeyInUse(t.Context(), key)
	must(t, err)
	return used
}

var packageTests = []test{
	{"adding a package sets its ID and bumps the revision by one, and it reads back byte for byte", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		p := newPkg(c.ID, alice.ID, "linux-64", "zlib-1.3-h0_0.conda")
		// Record and Meta are bytes, not text: any byte comes back as it went in.
		p.Record = append(p.Record, 0, 0xff, 0xfe, '\n', 0x80)
		p.Meta = []byte{0, 1, 2, 0xc3, 0x28}
		replaced, err := s.AddPackage(t.Context(), p, false)
		must(t, err)
		if replaced != nil {
			t.Fatalf("adding a new package replaced package %d", replaced.ID)
		}
		if p.ID <= 0 {
			t.Fatalf("ID = %d after AddPackage", p.ID)
		}
		equal(t, "CreatedAt as AddPackage left it", p.CreatedAt, stored(t0))
		got, err := s.PackageByFilename(t.Context(), c.ID, "linux-64", "zlib-1.3-h0_0.conda")
		must(t, err)
		equal(t, "PackageByFilename", *got, *p)
		equal(t, "revision", revision(t, s, "tools"), int64(2))
		ps, err := s.ListPackages(t.Context(), c.ID, "")
		must(t, err)
		if len(ps) != 1 {
			t.Fatalf("%d packages listed, want 1", len(ps))
		}
		equal(t, "ListPackages", *ps[0], *p)
	}},
	{"a package without meta or uploader reads back with none", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		p := newPkg(c.ID, 0, "noarch", "x-1-0.conda")
		p.Meta = nil
		_, err := s.AddPackage(t.Context(), p, false)
		must(t, err)
		got, err := s.PackageByFilename(t.Context(), c.ID, "noarch", "x-1-0.conda")
		must(t, err)
		equal(t, "package", *got, *p)
	}},
	{"adding a package that exists, without replacement, is a conflict and changes nothing", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		first := mkPkg(t, s, c.ID, alice.ID, "linux-64", "zlib-1.3-h0_0.conda")
		dup := newPkg(c.ID, alice.ID, "linux-64", "zlib-1.3-h0_0.conda")
		dup.SHA256 = strings.Repeat("ff", 32)
		replaced, err := s.AddPackage(t.Context(), dup, false)
		wantCode(t, err, gatehouse.ECONFLICT)
		if replaced != nil || dup.ID != 0 {
			t.Errorf("a refused add returned replaced %v and set ID %d", replaced, dup.ID)
		}
		got, err := s.PackageByFilename(t.Context(), c.ID, "linux-64", "zlib-1.3-h0_0.conda")
		must(t, err)
		equal(t, "the first package", *got, *first)
		equal(t, "revision", revision(t, s, "tools"), int64(2))
		equal(t, "the refused package's blob key in use", blobInUse(t, s, dup.BlobKey), false)
	}},
	{"adding with replacement swaps the package in one step and returns the old one", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		old := mkPkg(t, s, c.ID, alice.ID, "linux-64", "zlib-1.3-h0_0.conda")
		mkPkg(t, s, c.ID, alice.ID, "linux-64", "other-1-0.conda")
		p := newPkg(c.ID, bob.ID, "linux-64", "zlib-1.3-h0_0.conda")
		p.Size, p.CreatedAt = 99, t0.Add(time.Hour)
		replaced, err := s.AddPackage(t.Context(), p, true)
		must(t, err)
		if replaced == nil {
			t.Fatal("AddPackage with replacement returned no replaced package")
		}
		equal(t, "the replaced package", *replaced, *old)
		got, err := s.PackageByFilename(t.Context(), c.ID, "linux-64", "zlib-1.3-h0_0.conda")
		must(t, err)
		equal(t, "the new package", *got, *p)
		equal(t, "files", files(t, s, c.ID, ""), []string{"linux-64/other-1-0.conda", "linux-64/zlib-1.3-h0_0.conda"})
		equal(t, "revision", revision(t, s, "tools"), int64(4))
		equal(t, "the old blob key in use", blobInUse(t, s, old.BlobKey), false)
		equal(t, "the new blob key in use", blobInUse(t, s, p.BlobKey), true)
	}},
	{"adding with replacement when there is nothing to replace simply adds", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		p := newPkg(c.ID, alice.ID, "noarch", "x-1-0.conda")
		replaced, err := s.AddPackage(t.Context(), p, true)
		must(t, err)
		if replaced != nil {
			t.Errorf("replaced %+v, want nil", replaced)
		}
		equal(t, "revision", revision(t, s, "tools"), int64(2))
	}},
	{"the same filename in another subdir or another channel is another package", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		d := mkChannel(t, s, "more", alice.ID, 0, gatehouse.Public)
		mkPkg(t, s, c.ID, alice.ID, "linux-64", "x-1-0.conda")
		mkPkg(t, s, c.ID, alice.ID, "osx-arm64", "x-1-0.conda")
		mkPkg(t, s, d.ID, alice.ID, "linux-64", "x-1-0.conda")
		equal(t, "tools", files(t, s, c.ID, ""), []string{"linux-64/x-1-0.conda", "osx-arm64/x-1-0.conda"})
		equal(t, "more", files(t, s, d.ID, ""), []string{"linux-64/x-1-0.conda"})
		equal(t, "revision of tools", revision(t, s, "tools"), int64(3))
		equal(t, "revision of more", revision(t, s, "more"), int64(2))
	}},
	{"a blob key another package uses is a conflict, and changes nothing", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		first := mkPkg(t, s, c.ID, alice.ID, "linux-64", "x-1-0.conda")
		p := newPkg(c.ID, alice.ID, "linux-64", "y-1-0.conda")
		p.BlobKey = first.BlobKey
		_, err := s.AddPackage(t.Context(), p, false)
		wantCode(t, err, gatehouse.ECONFLICT)
		// Also when the package it would replace is another one.
		z := mkPkg(t, s, c.ID, alice.ID, "noarch", "z-1-0.conda")
		q := newPkg(c.ID, alice.ID, "linux-64", "x-1-0.conda")
		q.BlobKey = z.BlobKey
		_, err = s.AddPackage(t.Context(), q, true)
		wantCode(t, err, gatehouse.ECONFLICT)
		got, err := s.PackageByFilename(t.Context(), c.ID, "linux-64", "x-1-0.conda")
		must(t, err)
		equal(t, "the first package", *got, *first)
		equal(t, "files", files(t, s, c.ID, ""), []string{"linux-64/x-1-0.conda", "noarch/z-1-0.conda"})
		equal(t, "revision", revision(t, s, "tools"), int64(3))
	}},
	{"adding to an unknown channel, or for an unknown uploader, is not found and changes nothing", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		_, err := s.AddPackage(t.Context(), newPkg(c.ID+1000, alice.ID, "noarch", "x-1-0.conda"), false)
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.AddPackage(t.Context(), newPkg(c.ID, alice.ID+1000, "noarch", "x-1-0.conda"), true)
		wantCode(t, err, gatehouse.ENOTFOUND)
		equal(t, "files", files(t, s, c.ID, ""), []string(nil))
		equal(t, "revision", revision(t, s, "tools"), int64(1))
	}},
	{"a package without subdir, filename, blob key or record, or with text that is not UTF-8, is invalid", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		breaks := map[string]func(p *gatehouse.Package){
			"no subdir":   func(p *gatehouse.Package) { p.Subdir = "" },
			"no filename": func(p *gatehouse.Package) { p.Filename = "" },
			"no blob key": func(p *gatehouse.Package) { p.BlobKey = "" },
			"no record":   func(p *gatehouse.Package) { p.Record = nil },
			"empty record": func(p *gatehouse.Package) {
				p.Record = []byte{}
			},
			"a negative size": func(p *gatehouse.Package) { p.Size = -1 },
			"a time after 9999": func(p *gatehouse.Package) {
				p.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
			},
		}
		for i, bad := range badTexts {
			breaks[name("bad filename ", i)] = func(p *gatehouse.Package) { p.Filename = bad }
			breaks[name("bad subdir ", i)] = func(p *gatehouse.Package) { p.Subdir = bad }
			breaks[name("bad version ", i)] = func(p *gatehouse.Package) { p.Version = bad }
			breaks[name("bad blob key ", i)] = func(p *gatehouse.Package) { p.BlobKey = bad }
		}
		for what, breakIt := range breaks {
			p := newPkg(c.ID, alice.ID, "noarch", "x-1-0.conda")
			breakIt(p)
			_, err := s.AddPackage(t.Context(), p, true)
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("a package with %s: %v, want invalid", what, err)
			}
		}
		equal(t, "files", files(t, s, c.ID, ""), []string(nil))
		equal(t, "revision", revision(t, s, "tools"), int64(1))
	}},
	{"packages list by subdir then filename, byte by byte, or one subdir by filename", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		other := mkChannel(t, s, "other", alice.ID, 0, gatehouse.Public)
		for _, f := range []string{"noarch/b-1-0.conda", "linux-64/b_1-0.conda", "linux-64/b-1-0.tar.bz2",
			"linux-64/B-1-0.conda", "linux-64/b.1-0.conda", "linux-aarch64/a-1-0.conda", "linux-64/ba-1-0.conda"} {
			subdir, filename, _ := strings.Cut(f, "/")
			mkPkg(t, s, c.ID, alice.ID, subdir, filename)
		}
		mkPkg(t, s, other.ID, alice.ID, "linux-64", "a-1-0.conda")
		equal(t, "every subdir", files(t, s, c.ID, ""), []string{"linux-64/B-1-0.conda", "linux-64/b-1-0.tar.bz2",
			"linux-64/b.1-0.conda", "linux-64/b_1-0.conda", "linux-64/ba-1-0.conda", "linux-aarch64/a-1-0.conda", "noarch/b-1-0.conda"})
		equal(t, "linux-64", files(t, s, c.ID, "linux-64"), []string{"linux-64/B-1-0.conda", "linux-64/b-1-0.tar.bz2",
			"linux-64/b.1-0.conda", "linux-64/b_1-0.conda", "linux-64/ba-1-0.conda"})
		equal(t, "noarch", files(t, s, c.ID, "noarch"), []string{"noarch/b-1-0.conda"})
		equal(t, "a subdir without packages", files(t, s, c.ID, "win-64"), []string(nil))
		equal(t, "an unknown channel", files(t, s, c.ID+1000, ""), []string(nil))
		for _, bad := range badTexts {
			equal(t, "a subdir that is not text", files(t, s, c.ID, bad), []string(nil))
		}
	}},
	{"subdirs holding packages are listed sorted, each once", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		subdirs, err := s.ChannelSubdirs(t.Context(), c.ID)
		must(t, err)
		equal(t, "subdirs of an empty channel", len(subdirs), 0)
		for i, sd := range []string{"osx-arm64", "linux-64", "noarch", "linux-64", "linux-aarch64", "noarch"} {
			mkPkg(t, s, c.ID, alice.ID, sd, name("p-1-", i)+".conda")
		}
		subdirs, err = s.ChannelSubdirs(t.Context(), c.ID)
		must(t, err)
		equal(t, "subdirs", subdirs, []string{"linux-64", "linux-aarch64", "noarch", "osx-arm64"})
		_, err = s.DeletePackage(t.Context(), c.ID, "osx-arm64", "p-1-00.conda")
		must(t, err)
		subdirs, err = s.ChannelSubdirs(t.Context(), c.ID)
		must(t, err)
		equal(t, "subdirs after the last osx-arm64 package went", subdirs, []string{"linux-64", "linux-aarch64", "noarch"})
	}},
	{"reading an unknown package is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		mkPkg(t, s, c.ID, alice.ID, "noarch", "x-1-0.conda")
		for _, k := range [][3]any{{c.ID, "noarch", "y-1-0.conda"}, {c.ID, "linux-64", "x-1-0.conda"},
			{c.ID + 1000, "noarch", "x-1-0.conda"}, {c.ID, badTexts[0], "x-1-0.conda"}, {c.ID, "noarch", badTexts[1]}} {
			_, err := s.PackageByFilename(t.Context(), k[0].(int64), k[1].(string), k[2].(string))
			wantCode(t, err, gatehouse.ENOTFOUND)
		}
	}},
	{"deleting a package returns it, removes it and bumps the revision; a missing one is not found and bumps nothing", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		p := mkPkg(t, s, c.ID, alice.ID, "noarch", "x-1-0.conda")
		keep := mkPkg(t, s, c.ID, alice.ID, "noarch", "y-1-0.conda")
		got, err := s.DeletePackage(t.Context(), c.ID, "noarch", "x-1-0.conda")
		must(t, err)
		equal(t, "the deleted package", *got, *p)
		equal(t, "files", files(t, s, c.ID, ""), []string{"noarch/y-1-0.conda"})
		equal(t, "revision", revision(t, s, "tools"), int64(4))
		equal(t, "the deleted package's blob key in use", blobInUse(t, s, p.BlobKey), false)
		for _, k := range [][3]any{{c.ID, "noarch", "x-1-0.conda"}, {c.ID, "linux-64", "y-1-0.conda"},
			{c.ID + 1000, "noarch", "y-1-0.conda"}, {c.ID, "noarch", badTexts[0]}} {
			_, err := s.DeletePackage(t.Context(), k[0].(int64), k[1].(string), k[2].(string))
			wantCode(t, err, gatehouse.ENOTFOUND)
		}
		equal(t, "revision after refused deletes", revision(t, s, "tools"), int64(4))
		got, err = s.PackageByFilename(t.Context(), c.ID, "noarch", "y-1-0.conda")
		must(t, err)
		equal(t, "the package left", *got, *keep)
	}},
	{"a blob key is in use exactly while a package references it (checklist H4)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		p := mkPkg(t, s, c.ID, alice.ID, "noarch", "x-1-0.conda")
		equal(t, "its key", blobInUse(t, s, p.BlobKey), true)
		for _, k := range append([]string{"", "pkg/orphan", strings.ToUpper(p.BlobKey), p.BlobKey + " "}, badTexts...) {
			equal(t, "in use: "+k, blobInUse(t, s, k), false)
		}
	}},
	{"package times written in any zone come back as the same instant in UTC (checklist A12)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		for i, loc := range zones(t) {
			p := newPkg(c.ID, alice.ID, "noarch", name("p-1-", i)+".conda")
			p.CreatedAt = time.Date(2026, 3, 29, 1, 59, 59, 999999999, loc)
			_, err := s.AddPackage(t.Context(), p, false)
			must(t, err)
			got, err := s.PackageByFilename(t.Context(), c.ID, "noarch", p.Filename)
			must(t, err)
			wantUTC(t, "package CreatedAt in "+loc.String(), got.CreatedAt, time.Date(2026, 3, 29, 1, 59, 59, 999999999, loc))
		}
	}},
}

var packageRaceTests = []test{
	{"50 packages added at once to one subdir are all listed, and the revision advances by exactly 50 (checklist G1)", func(t *testing.T, s gatehouse.Store) {
		const n = 50
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		want := int64(1)
		for round := range raceRounds {
			subdir := []string{"linux-64", "noarch", "osx-arm64", "win-64", "linux-aarch64"}[round%5]
			errs := parallel(n, func(i int) error {
				_, err := s.AddPackage(t.Context(), newPkg(c.ID, alice.ID, subdir, name("p-1-", i)+".conda"), false)
				return err
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: adding package %d: %v", round, i, err)
				}
			}
			want += n
			if got := len(files(t, s, c.ID, subdir)); got != n {
				t.Fatalf("round %d: %d packages listed in %s, want %d", round, got, subdir, n)
			}
			equal(t, fmt.Sprintf("revision after round %d", round), revision(t, s, "tools"), want)
		}
	}},
	{"the same file added at once by 10 callers without replacement: one succeeds, nine conflict", func(t *testing.T, s gatehouse.Store) {
		const n = 10
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		for round := range raceRounds {
			filename := name("p-1-", round) + ".conda"
			pkgs := make([]*gatehouse.Package, n)
			for i := range pkgs {
				pkgs[i] = newPkg(c.ID, alice.ID, "noarch", filename)
			}
			errs := parallel(n, func(i int) error {
				_, err := s.AddPackage(t.Context(), pkgs[i], false)
				return err
			})
			winner := -1
			for i, err := range errs {
				if err == nil {
					if winner >= 0 {
						t.Fatalf("round %d: callers %d and %d both added %s", round, winner, i, filename)
					}
					winner = i
				} else {
					wantCode(t, err, gatehouse.ECONFLICT)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no caller added %s", round, filename)
			}
			got, err := s.PackageByFilename(t.Context(), c.ID, "noarch", filename)
			must(t, err)
			equal(t, "the stored package", *got, *pkgs[winner])
			equal(t, fmt.Sprintf("revision after round %d", round), revision(t, s, "tools"), int64(round+2))
		}
	}},
	{"the same file replaced at once by 10 callers: each replaces the one before, and one remains", func(t *testing.T, s gatehouse.Store) {
		const n = 10
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Public)
		prev := mkPkg(t, s, c.ID, alice.ID, "noarch", "x-1-0.conda").ID
		for round := range raceRounds {
			pkgs := make([]*gatehouse.Package, n)
			for i := range pkgs {
				pkgs[i] = newPkg(c.ID, alice.ID, "noarch", "x-1-0.conda")
			}
			replaced := make([]*gatehouse.Package, n)
			errs := parallel(n, func(i int) error {
				var err error
				replaced[i], err = s.AddPackage(t.Context(), pkgs[i], true)
				return err
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: caller %d: %v", round, i, err)
				}
				if replaced[i] == nil {
					t.Fatalf("round %d: caller %d replaced nothing, though the file existed", round, i)
				}
			}
			got, err := s.PackageByFilename(t.Context(), c.ID, "noarch", "x-1-0.conda")
			must(t, err)
			// Each caller replaced exactly one package: the one there
			// before the round, or another caller's. What was replaced,
			// plus the survivor, is what was there plus what was added.
			gone := []int64{got.ID}
			there := []int64{prev}
			for i := range n {
				gone = append(gone, replaced[i].ID)
				there = append(there, pkgs[i].ID)
			}
			slices.Sort(gone)
			slices.Sort(there)
			equal(t, fmt.Sprintf("round %d: replaced and surviving IDs", round), gone, there)
			prev = got.ID
			equal(t, "files", files(t, s, c.ID, ""), []string{"noarch/x-1-0.conda"})
			equal(t, fmt.Sprintf("revision after round %d", round), revision(t, s, "tools"), int64(2+n*(round+1)))
		}
	}},
}
