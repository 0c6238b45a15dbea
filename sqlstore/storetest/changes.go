package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

func changeNames(t *testing.T, s gatehouse.Store, channelID, after int64) []string {
	t.Helper()
	cs, more, err := s.PackageChanges(t.Context(), channelID, after, 100)
	must(t, err)
	if more {
		t.Fatal("more changes than the test made")
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.Subdir+"/"+c.Name)
	}
	return out
}

var changeTests = []test{
	{"every add, replace and delete logs its revision and package name", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "log", alice.ID, 0, gatehouse.Public)
		start := revision(t, s, "log")
		mkPkg(t, s, c.ID, alice.ID, "noarch", "zlib-1.3-h0_0.conda")
		mkPkg(t, s, c.ID, alice.ID, "linux-64", "numpy-2.0-h0_0.conda")
		_, err := s.AddPackage(t.Context(), newPkg(c.ID, alice.ID, "noarch", "zlib-1.3-h0_0.conda"), true)
		must(t, err)
		_, err = s.DeletePackage(t.Context(), c.ID, "linux-64", "numpy-2.0-h0_0.conda")
		must(t, err)
		if got, want := changeNames(t, s, c.ID, start), []string{"noarch/zlib", "linux-64/numpy", "noarch/zlib", "linux-64/numpy"}; !slices.Equal(got, want) {
			t.Errorf("change log %v, want %v", got, want)
		}
		cs, _, err := s.PackageChanges(t.Context(), c.ID, start, 10)
		must(t, err)
		for i, ch := range cs {
			if ch.Revision != start+int64(i)+1 {
				t.Errorf("change %d has revision %d, want %d", i, ch.Revision, start+int64(i)+1)
			}
			if ch.At.IsZero() || ch.At.Location() != time.UTC {
				t.Errorf("change %d has time %v, want a UTC time", i, ch.At)
			}
		}
		if rev, err := s.ChannelRevision(t.Context(), c.ID); err != nil || rev != start+4 {
			t.Errorf("ChannelRevision = %d, %v; want %d", rev, err, start+4)
		}
		if got := changeNames(t, s, c.ID, start+3); !slices.Equal(got, []string{"linux-64/numpy"}) {
			t.Errorf("changes after the third: %v", got)
		}
		if _, more, err := s.PackageChanges(t.Context(), c.ID, start, 2); err != nil || !more {
			t.Errorf("a limit of 2 over 4 changes: more = %v, %v; want true", more, err)
		}
	}},
	{"a failed delete logs nothing and keeps the revision", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "log", alice.ID, 0, gatehouse.Public)
		start := revision(t, s, "log")
		if _, err := s.DeletePackage(t.Context(), c.ID, "noarch", "nope-1-0.conda"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatalf("delete of a missing package: %v", err)
		}
		if got := changeNames(t, s, c.ID, 0); len(got) != 0 || revision(t, s, "log") != start {
			t.Errorf("change log %v, revision %d; want nothing and %d", got, revision(t, s, "log"), start)
		}
	}},
	{"EachPackage streams a subdir by name then file name, or one name", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "walk", alice.ID, 0, gatehouse.Public)
		for _, f := range []string{"b-1-0.conda", "a-2-0.tar.bz2", "a-10-0.conda", "c-1-0.conda"} {
			mkPkg(t, s, c.ID, alice.ID, "noarch", f)
		}
		mkPkg(t, s, c.ID, alice.ID, "linux-64", "a-1-0.conda")
		var got []string
		must(t, s.EachPackage(t.Context(), c.ID, "noarch", "", func(p *gatehouse.Package) error {
			got = append(got, p.Name+":"+p.Filename)
			if len(p.Record) == 0 || p.ChannelID != c.ID {
				t.Errorf("%s came without its record or channel", p.Filename)
			}
			return nil
		}))
		if want := []string{"a:a-10-0.conda", "a:a-2-0.tar.bz2", "b:b-1-0.conda", "c:c-1-0.conda"}; !slices.Equal(got, want) {
			t.Errorf("walk %v, want %v", got, want)
		}
		got = nil
		must(t, s.EachPackage(t.Context(), c.ID, "noarch", "a", func(p *gatehouse.Package) error {
			got = append(got, p.Filename)
			return nil
		}))
		if want := []string{"a-10-0.conda", "a-2-0.tar.bz2"}; !slices.Equal(got, want) {
			t.Errorf("walk of a: %v, want %v", got, want)
		}
		stop := gatehouse.Errorf(gatehouse.EINVALID, "stop")
		n := 0
		if err := s.EachPackage(t.Context(), c.ID, "noarch", "", func(*gatehouse.Package) error { n++; return stop }); err != stop || n != 1 {
			t.Errorf("fn's error: %v after %d calls; want it back after 1", err, n)
		}
	}},
	{"ApplyPackages adds, replaces and removes in one revision and returns what went", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "bulk", alice.ID, 0, gatehouse.Public)
		old := mkPkg(t, s, c.ID, alice.ID, "noarch", "a-1-0.conda")
		mkPkg(t, s, c.ID, alice.ID, "noarch", "b-1-0.conda")
		start := revision(t, s, "bulk")
		add := []*gatehouse.Package{newPkg(c.ID, 0, "noarch", "a-1-0.conda"), newPkg(c.ID, 0, "noarch", "d-1-0.conda")}
		gone, err := s.ApplyPackages(t.Context(), c.ID, add, []gatehouse.PackageRef{{Subdir: "noarch", Filename: "b-1-0.conda"}, {Subdir: "noarch", Filename: "zz-1-0.conda"}})
		must(t, err)
		if revision(t, s, "bulk") != start+1 {
			t.Errorf("revision %d, want %d: one batch is one revision", revision(t, s, "bulk"), start+1)
		}
		var goneFiles []string
		for _, p := range gone {
			goneFiles = append(goneFiles, p.Filename)
			if p.Filename == "a-1-0.conda" && p.BlobKey != old.BlobKey {
				t.Errorf("the replaced package came back with blob %s, want %s", p.BlobKey, old.BlobKey)
			}
		}
		slices.Sort(goneFiles)
		if !slices.Equal(goneFiles, []string{"a-1-0.conda", "b-1-0.conda"}) {
			t.Errorf("gone %v", goneFiles)
		}
		if got := files(t, s, c.ID, "noarch"); !slices.Equal(got, []string{"noarch/a-1-0.conda", "noarch/d-1-0.conda"}) {
			t.Errorf("files %v", got)
		}
		for _, p := range add {
			if p.ID == 0 {
				t.Errorf("%s has no ID", p.Filename)
			}
		}
		got := changeNames(t, s, c.ID, start)
		slices.Sort(got)
		if !slices.Equal(got, []string{"noarch/a", "noarch/b", "noarch/d"}) {
			t.Errorf("change log %v", got)
		}
	}},
	{"ApplyPackages with a conflict in the batch changes nothing", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "bulk", alice.ID, 0, gatehouse.Public)
		start := revision(t, s, "bulk")
		a, b := newPkg(c.ID, 0, "noarch", "a-1-0.conda"), newPkg(c.ID, 0, "noarch", "b-1-0.conda")
		b.BlobKey = a.BlobKey
		if _, err := s.ApplyPackages(t.Context(), c.ID, []*gatehouse.Package{a, b}, nil); gatehouse.ErrorCode(err) != gatehouse.ECONFLICT {
			t.Fatalf("two packages with one blob key: %v, want ECONFLICT", err)
		}
		if len(files(t, s, c.ID, "")) != 0 || revision(t, s, "bulk") != start || len(changeNames(t, s, c.ID, 0)) != 0 {
			t.Error("a refused batch left packages, a revision or change-log rows behind")
		}
		if gone, err := s.ApplyPackages(t.Context(), c.ID, nil, nil); err != nil || gone != nil || revision(t, s, "bulk") != start {
			t.Errorf("an empty batch: %v, %v, revision %d", gone, err, revision(t, s, "bulk"))
		}
	}},
	{"an upstream reads back with its filters, sealed credential and status", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "forge", alice.ID, 0, gatehouse.Public)
		if _, err := s.UpstreamOf(t.Context(), c.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatalf("UpstreamOf a hosted channel: %v", err)
		}
		u := &gatehouse.Upstream{ChannelID: c.ID, URL: "https://conda.example/forge", Mode: gatehouse.UpstreamMirror,
			Filters:    gatehouse.Filters{Include: []string{"py*"}, Versions: map[string]string{"python": ">=3.10"}, MinAgeDays: 3},
			Credential: []byte{0, 1, 0xff}}
		must(t, s.PutUpstream(t.Context(), u))
		at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		st := gatehouse.UpstreamStatus{State: "ok", RefreshedAt: at, Progress: gatehouse.SyncProgress{Added: 5},
			Validators: map[string]gatehouse.Validator{"noarch": {ETag: `"x"`}}}
		must(t, s.SetUpstreamStatus(t.Context(), c.ID, st))
		got, err := s.UpstreamOf(t.Context(), c.ID)
		must(t, err)
		if got.URL != u.URL || got.Mode != u.Mode || !got.HasCredential || string(got.Credential) != string(u.Credential) ||
			got.Filters.Versions["python"] != ">=3.10" || got.Status.State != "ok" || !got.Status.RefreshedAt.Equal(at) ||
			got.Status.Validators["noarch"].ETag != `"x"` || got.Status.Progress.Added != 5 {
			t.Errorf("read back %+v", got)
		}
		all, err := s.ListUpstreams(t.Context())
		must(t, err)
		if len(all) != 1 || all[0].ChannelID != c.ID {
			t.Errorf("ListUpstreams = %+v", all)
		}
		if err := s.SetUpstreamStatus(t.Context(), c.ID+100, st); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("status of a channel without upstream: %v", err)
		}
		if err := s.PutUpstream(t.Context(), &gatehouse.Upstream{ChannelID: c.ID, URL: "x", Mode: "bogus"}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("a bad mode: %v", err)
		}
	}},
}
