package upstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/upstream/upstreamtest"
)

// Issue 9: a sync costs in proportion to what changed upstream.

func (e *env) revision(ch *gatehouse.Channel) int64 {
	e.t.Helper()
	r, err := e.store.ChannelRevision(context.Background(), ch.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func forgePkg(name, version string) upstreamtest.Pkg {
	return upstreamtest.Pkg{Subdir: "linux-64", Name: name, Version: version, Build: "h0_0", License: "MIT",
		Timestamp: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Depends: []string{}}
}

func TestASyncThroughShardsFetchesOnlyTheShardsThatChanged(t *testing.T) {
	pkgs := upstreamtest.Forge(3000, 7)
	e := newEnv(t, pkgs)
	e.m = e.manager(1000)
	ch := e.channel("forge", "mirror", gatehouse.Filters{Subdirs: []string{"linux-64"}})
	if st := e.sync(ch); st.State != "ok" || st.Progress.Added != 3000 {
		t.Fatalf("first sync: %+v", st)
	}
	// A first sync reads one repodata.json, not thousands of shards.
	if n := e.up.HitsUnder("/linux-64/shards/"); n != 0 || e.up.Hits("/linux-64/repodata.json") != 1 {
		t.Errorf("the first sync fetched %d shards and repodata.json %d times", n, e.up.Hits("/linux-64/repodata.json"))
	}

	t.Run("an unchanged upstream costs one 304", func(t *testing.T) {
		rev, index := e.revision(ch), e.up.Hits("/linux-64/repodata_shards.msgpack.zst")
		st := e.sync(ch)
		if st.State != "ok" || st.Progress.Records != 0 || e.revision(ch) != rev {
			t.Errorf("status %+v, revision %d -> %d", st, rev, e.revision(ch))
		}
		if e.up.Hits("/linux-64/repodata_shards.msgpack.zst") != index+1 || e.up.HitsUnder("/linux-64/shards/") != 0 || e.up.Hits("/linux-64/repodata.json") != 1 {
			t.Error("an unchanged upstream was read beyond its index")
		}
	})

	t.Run("one change reads its shard only and commits in one transaction", func(t *testing.T) {
		victim := pkgs[10] // every record of its name goes
		changed := pkgs[20]
		e.up.Add(forgePkg("brand-new", "1.0"), forgePkg(changed.Name, "99.0"))
		for _, p := range pkgs {
			if p.Name == victim.Name {
				e.up.Remove("linux-64", p.Filename())
			}
		}
		rev := e.revision(ch)
		st := e.sync(ch)
		if st.State != "ok" {
			t.Fatalf("status %+v", st)
		}
		if n := e.up.HitsUnder("/linux-64/shards/"); n != 2 {
			t.Errorf("%d shards fetched, want 2 (the new name's and the changed one's)", n)
		}
		if e.up.Hits("/linux-64/repodata.json") != 1 {
			t.Error("repodata.json was read again")
		}
		if got := e.revision(ch); got != rev+1 {
			t.Errorf("revision %d -> %d: the change took %d transactions, want 1", rev, got, got-rev)
		}
		files := e.files(ch, "linux-64")
		if files["brand-new-1.0-h0_0.conda"] == nil || files[changed.Name+"-99.0-h0_0.conda"] == nil {
			t.Error("the new records are missing")
		}
		for fn, p := range files {
			if p.Name == victim.Name {
				t.Errorf("%s is still there after its name left the upstream", fn)
			}
		}
		if !e.stored(files["brand-new-1.0-h0_0.conda"]) {
			t.Error("the mirror did not copy the new file")
		}
		if st.Progress.Added != 2 || st.Progress.Removed == 0 {
			t.Errorf("progress %+v", st.Progress)
		}
	})

	t.Run("a file the mirror could not copy is tried again", func(t *testing.T) {
		e.up.Add(forgePkg("flaky", "1.0"))
		e.up.Corrupt("flaky-1.0-h0_0.conda")
		if st := e.sync(ch); st.Progress.FilesFailed != 1 || e.files(ch, "linux-64")["flaky-1.0-h0_0.conda"] != nil {
			t.Fatalf("a corrupt file was admitted: %+v", st.Progress)
		}
		e.up.Uncorrupt("flaky-1.0-h0_0.conda") // served right again; the index is unchanged
		e.sync(ch)
		if e.files(ch, "linux-64")["flaky-1.0-h0_0.conda"] == nil {
			t.Error("the file that failed was not copied by the next sync")
		}
	})
}

func TestAnUnchangedUpstreamCostsOnly304s(t *testing.T) {
	e := newEnv(t, []upstreamtest.Pkg{forgePkg("numpy", "2.0"), pkg("noarch", "rich", "13.0", false)})
	ch := e.channel("all", "proxy", gatehouse.Filters{}) // subdirs from channeldata.json
	if st := e.sync(ch); st.State != "ok" || st.Progress.Added != 2 {
		t.Fatalf("first sync: %+v", st)
	}
	before := e.up.NotModified()
	if st := e.sync(ch); st.State != "ok" || st.Progress.Records != 0 {
		t.Fatalf("second sync: %+v", st)
	}
	// channeldata.json and the shard index of noarch and linux-64.
	if got := e.up.NotModified() - before; got != 3 {
		t.Errorf("%d answers were 304, want 3", got)
	}
}

func TestASyncWithoutShardsReadsRepodataConditionallyAndAppliesTheDifference(t *testing.T) {
	pkgs := upstreamtest.Forge(2000, 9)
	e := newEnv(t, pkgs)
	e.m = e.manager(500)
	e.up.SetShards(false)
	e.up.SetETags(false) // Last-Modified only
	ch := e.channel("plain", "proxy", gatehouse.Filters{Subdirs: []string{"linux-64"}})
	if st := e.sync(ch); st.State != "ok" || st.Progress.Added != 2000 {
		t.Fatalf("first sync: %+v", st)
	}

	rev := e.revision(ch)
	if st := e.sync(ch); st.Progress.Records != 0 || e.revision(ch) != rev {
		t.Errorf("an unchanged upstream (If-Modified-Since, 304) was read: %+v", st.Progress)
	}

	e.up.Add(forgePkg("brand-new", "1.0"))
	e.up.Remove("linux-64", pkgs[5].Filename())
	st := e.sync(ch)
	if st.State != "ok" || st.Progress.Added != 1 || st.Progress.Removed != 1 || st.Progress.Records != 2000 {
		t.Errorf("progress %+v: want the whole document read and only the difference applied", st.Progress)
	}
	if got := e.revision(ch); got != rev+1 {
		t.Errorf("the difference took %d transactions, want 1", got-rev)
	}
	files := e.files(ch, "linux-64")
	if files["brand-new-1.0-h0_0.conda"] == nil || files[pkgs[5].Filename()] != nil || len(files) != 2000 {
		t.Errorf("after the sync: %d files", len(files))
	}
}
