package upstream_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/spool"
	"github.com/gatehouse-dev/gatehouse/sqlstore"
	"github.com/gatehouse-dev/gatehouse/upstream"
	"github.com/gatehouse-dev/gatehouse/upstream/upstreamtest"
)

type env struct {
	cfg   upstream.Config
	t     *testing.T
	store *sqlstore.DB
	blobs gatehouse.BlobStore
	m     *upstream.Manager
	up    *upstreamtest.Server
	user  *gatehouse.User
	now   *time.Time // the manager's clock
}

func newEnv(t *testing.T, pkgs []upstreamtest.Pkg) *env {
	t.Helper()
	return newEnvIn(t, pkgs, "mem://", spool.Dir(t.TempDir()))
}

// newEnvIn is newEnv with the blob store at blobsURL and the spool in sp.
func newEnvIn(t *testing.T, pkgs []upstreamtest.Pkg, blobsURL string, sp spool.Dir) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.Open(ctx, blobsURL)
	if err != nil {
		t.Fatal(err)
	}
	u := &gatehouse.User{Username: "alice", PasswordHash: "x", CreatedAt: time.Now()}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	key, _ := secret.ParseSealKey(strings.Repeat("ab", 32))
	ss, _ := secret.NewSealer(key)
	sealer := upstream.NewSealer(ss)
	up := upstreamtest.Start(pkgs)
	t.Cleanup(up.Close)
	now := time.Now()
	e := &env{t: t, store: db, blobs: blobs, up: up, user: u, now: &now}
	e.cfg = upstream.Config{Store: db, Blobs: blobs, Sealer: sealer, Spool: sp,
		BatchSize: 3, PerUpstream: 2, FileTimeout: 2 * time.Second, Clock: func() time.Time { return *e.now },
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	e.m = upstream.New(e.cfg)
	return e
}

// manager returns a manager like the env's with larger batches.
func (e *env) manager(batch int) *upstream.Manager {
	cfg := e.cfg
	cfg.BatchSize, cfg.PerUpstream = batch, 4
	return upstream.New(cfg)
}

func (e *env) channel(name, mode string, f gatehouse.Filters) *gatehouse.Channel {
	e.t.Helper()
	ctx := context.Background()
	ch := &gatehouse.Channel{Name: name, Visibility: gatehouse.Public, OwnerUserID: e.user.ID}
	if err := e.store.CreateChannel(ctx, ch); err != nil {
		e.t.Fatal(err)
	}
	u, err := e.m.Configure(ctx, e.store, ch.ID, gatehouse.UpstreamRequest{URL: e.up.URL, Mode: mode, Filters: f, Token: e.up.Token})
	if err != nil {
		e.t.Fatal(err)
	}
	e.m.Activate(u)
	return ch
}

func (e *env) sync(ch *gatehouse.Channel) gatehouse.UpstreamStatus {
	e.t.Helper()
	done, err := e.m.Sync(ch.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	<-done
	u, _ := e.m.Upstream(ch.ID)
	return u.Status
}

func (e *env) files(ch *gatehouse.Channel, subdir string) map[string]*gatehouse.Package {
	e.t.Helper()
	out := map[string]*gatehouse.Package{}
	e.store.EachPackage(context.Background(), ch.ID, subdir, "", func(p *gatehouse.Package) error {
		c := *p
		out[p.Filename] = &c
		return nil
	})
	return out
}

func (e *env) stored(p *gatehouse.Package) bool {
	_, _, err := e.blobs.Attributes(context.Background(), p.BlobKey)
	return err == nil
}

func pkg(subdir, name, version string, real bool) upstreamtest.Pkg {
	return upstreamtest.Pkg{Subdir: subdir, Name: name, Version: version, Build: "h0_0", License: "MIT",
		Timestamp: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Real: real, Depends: []string{"zlib >=1"}}
}

func TestProxyRefreshesRecordsAndFetchesFilesOnce(t *testing.T) {
	e := newEnv(t, []upstreamtest.Pkg{pkg("linux-64", "numpy", "2.0", false), pkg("linux-64", "scipy", "1.0", false), pkg("noarch", "rich", "13.0", true)})
	e.up.Token = "upstream-secret"
	ch := e.channel("forge", "proxy", gatehouse.Filters{})
	st := e.sync(ch)
	if st.State != "ok" || st.Progress.Admitted != 3 {
		t.Fatalf("status %+v", st)
	}
	files := e.files(ch, "linux-64")
	np := files["numpy-2.0-h0_0.conda"]
	if len(files) != 2 || np == nil || e.stored(np) {
		t.Fatalf("linux-64 holds %v; a proxy stores records, not files, until asked", files)
	}
	ix, err := conda.ParseIndexJSON(np.Record)
	if err != nil || ix.Name != "numpy" {
		t.Fatalf("the stored record does not parse: %v", err)
	}

	t.Run("concurrent requests for one file share one upstream fetch", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = e.m.Fetch(context.Background(), ch, np) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := e.up.Hits("/linux-64/numpy-2.0-h0_0.conda"); n != 1 {
			t.Errorf("the upstream was asked %d times, want once", n)
		}
		if !e.stored(np) {
			t.Error("the fetched file was not stored")
		}
	})

	t.Run("a file whose sha256 differs from its record is refused and not stored", func(t *testing.T) {
		sp := files["scipy-1.0-h0_0.conda"]
		e.up.Corrupt("scipy-1.0-h0_0.conda")
		err := e.m.Fetch(context.Background(), ch, sp)
		if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE || !strings.Contains(gatehouse.ErrorMessage(err), "sha256") {
			t.Errorf("error %v, want EUNAVAILABLE naming the sha256", err)
		}
		if e.stored(sp) {
			t.Error("the corrupt file was stored")
		}
	})

	t.Run("with the upstream down, stored files stay, new ones are 503 and the status says it failed", func(t *testing.T) {
		e.up.SetDown(true)
		defer e.up.SetDown(false)
		st := e.sync(ch)
		if st.State != "failed" || st.Error == "" || st.RefreshedAt.IsZero() {
			t.Errorf("status %+v, want failed with the last good refresh time kept", st)
		}
		if len(e.files(ch, "linux-64")) != 2 {
			t.Error("a failed refresh removed records")
		}
		if !e.stored(np) {
			t.Error("the stored file went away")
		}
		err := e.m.Fetch(context.Background(), ch, e.files(ch, "noarch")["rich-13.0-h0_0.conda"])
		if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE || gatehouse.ErrorReason(err) != "UPSTREAM UNAVAILABLE" {
			t.Errorf("a new file with the upstream down: %v", err)
		}
		if _, stale, ok := e.m.Freshness(ch.ID); !ok || !stale {
			t.Error("Freshness does not report the failed refresh")
		}
	})

	t.Run("a record removed upstream is gone after the next refresh", func(t *testing.T) {
		e.up.Remove("linux-64", "scipy-1.0-h0_0.conda")
		e.up.Add(pkg("linux-64", "numpy", "2.1", false))
		if st := e.sync(ch); st.State != "ok" {
			t.Fatalf("status %+v", st)
		}
		got := e.files(ch, "linux-64")
		if _, ok := got["scipy-1.0-h0_0.conda"]; ok || got["numpy-2.1-h0_0.conda"] == nil || len(got) != 2 {
			t.Errorf("after the refresh: %v", got)
		}
		before := e.up.Hits("/linux-64/repodata_shards.msgpack.zst")
		e.sync(ch)
		if e.up.Hits("/linux-64/repodata_shards.msgpack.zst") != before+1 {
			t.Error("no conditional request was made")
		}
	})
}

// A fetched file is verified in the spool and then stored in a file store
// (moved when it shares the spool's filesystem: gatehouse.PutSpooled,
// tested with uploads) under a flat key, no directory per file; the spool
// keeps nothing.
func TestAFetchedFileIsMovedIntoTheStore(t *testing.T) {
	root := t.TempDir()
	sp := spool.Dir(filepath.Join(root, "spool"))
	if err := os.MkdirAll(string(sp), 0o700); err != nil {
		t.Fatal(err)
	}
	e := newEnvIn(t, []upstreamtest.Pkg{pkg("linux-64", "numpy", "2.0", false)}, "file://"+filepath.Join(root, "blobs"), sp)
	ch := e.channel("forge", "proxy", gatehouse.Filters{})
	e.sync(ch)
	np := e.files(ch, "linux-64")["numpy-2.0-h0_0.conda"]
	if np == nil {
		t.Fatal("no record")
	}
	if want := fmt.Sprintf("upstream/%d/linux-64/%s-numpy-2.0-h0_0.conda", ch.ID, np.SHA256); np.BlobKey != want {
		t.Errorf("blob key %q, want %q", np.BlobKey, want)
	}
	if err := e.m.Fetch(context.Background(), ch, np); err != nil {
		t.Fatal(err)
	}
	r, err := e.blobs.NewRangeReader(context.Background(), np.BlobKey, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil || hex.EncodeToString(h.Sum(nil)) != np.SHA256 {
		t.Errorf("the stored file does not match its record: %v", err)
	}
	if left, _ := os.ReadDir(string(sp)); len(left) != 0 {
		t.Errorf("the spool kept %d files", len(left))
	}
}

func TestASlowUpstreamHoldsOnlyItsOwnRequests(t *testing.T) {
	e := newEnv(t, []upstreamtest.Pkg{pkg("linux-64", "numpy", "2.0", false)})
	ch := e.channel("slow", "proxy", gatehouse.Filters{})
	e.sync(ch)
	p := e.files(ch, "linux-64")["numpy-2.0-h0_0.conda"]
	e.up.SetSlow(true)
	defer e.up.SetSlow(false)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.m.Fetch(ctx, ch, p)
	if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Errorf("a fetch from a slow upstream: %v, want EUNAVAILABLE when the request gives up", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("the request waited for the slow upstream instead of its own deadline")
	}
	// Another upstream is not held up by this one's bounded fetches.
	other := upstreamtest.Start([]upstreamtest.Pkg{pkg("linux-64", "zlib", "1.3", false)})
	defer other.Close()
	ch2 := &gatehouse.Channel{Name: "fast", Visibility: gatehouse.Public, OwnerUserID: e.user.ID}
	e.store.CreateChannel(context.Background(), ch2)
	u, err := e.m.Configure(context.Background(), e.store, ch2.ID, gatehouse.UpstreamRequest{URL: other.URL, Mode: "proxy"})
	if err != nil {
		t.Fatal(err)
	}
	e.m.Activate(u)
	if st := e.sync(ch2); st.State != "ok" {
		t.Fatalf("the other channel's sync: %+v", st)
	}
	if err := e.m.Fetch(context.Background(), ch2, e.files(ch2, "linux-64")["zlib-1.3-h0_0.conda"]); err != nil {
		t.Errorf("the other channel's fetch: %v", err)
	}
}

func TestMirrorCopiesFilesBeforeRecordsAndResumes(t *testing.T) {
	pkgs := []upstreamtest.Pkg{pkg("noarch", "a", "1", true), pkg("noarch", "b", "1", false), pkg("noarch", "c", "1", false),
		pkg("noarch", "d", "1", false), pkg("noarch", "e", "1", false)}
	e := newEnv(t, pkgs)
	ch := e.channel("mirror", "mirror", gatehouse.Filters{})
	// A sync that cannot copy one file stands for one a crash cut short:
	// the rest is visible, that one is not (nothing half-visible).
	e.up.Corrupt("c-1-h0_0.conda")
	st := e.sync(ch)
	got := e.files(ch, "noarch")
	if len(got) != 4 || got["c-1-h0_0.conda"] != nil || st.Progress.FilesFailed != 1 {
		t.Fatalf("after a sync with a failing file: %d records, progress %+v", len(got), st.Progress)
	}
	for fn, p := range got {
		if !e.stored(p) {
			t.Errorf("%s is listed without its file", fn)
		}
	}
	e.up.Set(pkgs) // clears the corruption
	st = e.sync(ch)
	if got := e.files(ch, "noarch"); len(got) != 5 || st.Progress.Files != 1 {
		t.Errorf("the next sync: %d records, progress %+v; want the missing one copied, the others kept", len(got), st.Progress)
	}
}

// checkFiltered asserts a direct request for file gets the FILTERED
// refusal (a 403 JSON reason/message on the conda route) naming rule.
func checkFiltered(t *testing.T, e *env, ch *gatehouse.Channel, subdir, file, rule string) {
	t.Helper()
	err := e.m.Filtered(context.Background(), ch, subdir, file)
	if gatehouse.ErrorReason(err) != "FILTERED" || gatehouse.ErrorCode(err) != gatehouse.EFORBIDDEN ||
		!strings.Contains(gatehouse.ErrorMessage(err), "its "+rule+" filter") {
		t.Errorf("%s/%s: %v, want a FILTERED refusal naming the %s filter", subdir, file, err, rule)
	}
}

func TestFiltersKeepPackagesOut(t *testing.T) {
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(name, version, license string, ts time.Time) upstreamtest.Pkg {
		p := pkg("linux-64", name, version, false)
		p.License, p.Timestamp = license, ts
		return p
	}
	e := newEnv(t, nil)
	fresh := e.now.Add(-time.Hour)
	pkgs := []upstreamtest.Pkg{
		mk("numpy", "1.26.0", "BSD-3-Clause", old), mk("numpy", "2.1.0", "BSD-3-Clause", old),
		mk("gplthing", "1.0", "GPL-3.0-or-later", old), mk("dual", "1.0", "GPL-2.0-only OR MIT", old),
		mk("fresh", "1.0", "MIT", fresh), mk("internal-tool", "1.0", "MIT", old),
		mk("pytest-x", "1.0", "MIT", old), mk("notime", "1.0", "MIT", time.Time{}),
	}
	e.up.Set(pkgs)
	f := gatehouse.Filters{Exclude: []string{"internal-*"}, Licenses: []string{"MIT", "BSD-3-Clause"}, MinAgeDays: 7,
		Versions: map[string]string{"numpy": ">=2,<3"}}
	ch := e.channel("filtered", "proxy", f)
	e.sync(ch)
	got := e.files(ch, "linux-64")
	want := []string{"dual-1.0-h0_0.conda", "numpy-2.1.0-h0_0.conda", "pytest-x-1.0-h0_0.conda"}
	if len(got) != len(want) {
		t.Errorf("admitted %d files, want %v", len(got), want)
	}
	for _, fn := range want {
		if got[fn] == nil {
			t.Errorf("%s was filtered out", fn)
		}
	}
	// Each kind of filter answers a direct request naming itself; the
	// licence and the age need the record, which the sync judged.
	for _, tc := range []struct{ file, rule string }{
		{"internal-tool-1.0-h0_0.conda", "exclude"},
		{"numpy-1.26.0-h0_0.conda", "versions"},
		{"gplthing-1.0-h0_0.conda", "licenses"},
		{"fresh-1.0-h0_0.conda", "min_age_days"},
		{"notime-1.0-h0_0.conda", "min_age_days"},
	} {
		checkFiltered(t, e, ch, "linux-64", tc.file, tc.rule)
	}
	if msg := gatehouse.ErrorMessage(e.m.Filtered(context.Background(), ch, "linux-64", "gplthing-1.0-h0_0.conda")); !strings.Contains(msg, "GPL-3.0-or-later") {
		t.Errorf("the licence refusal does not name the licence: %s", msg)
	}
	if msg := gatehouse.ErrorMessage(e.m.Filtered(context.Background(), ch, "linux-64", "fresh-1.0-h0_0.conda")); !strings.Contains(msg, "becomes available on "+fresh.AddDate(0, 0, 7).UTC().Format(time.DateOnly)) {
		t.Errorf("the age refusal does not say when: %s", msg)
	}
	for _, fn := range []string{"numpy-2.1.0-h0_0.conda", "nothere-1.0-h0_0.conda"} {
		if err := e.m.Filtered(context.Background(), ch, "linux-64", fn); err != nil {
			t.Errorf("%s is reported filtered: %v", fn, err)
		}
	}

	t.Run("a release held for its age is admitted once old enough, though the upstream did not change", func(t *testing.T) {
		*e.now = e.now.AddDate(0, 0, 8)
		before := e.up.HitsUnder("/linux-64/shards/")
		e.sync(ch)
		if e.up.HitsUnder("/linux-64/shards/") != before+1 {
			t.Fatal("the sync did not read the held release's shard again")
		}
		if e.files(ch, "linux-64")["fresh-1.0-h0_0.conda"] == nil {
			t.Error("fresh-1.0 was not admitted after its minimum age")
		}
		if err := e.m.Filtered(context.Background(), ch, "linux-64", "fresh-1.0-h0_0.conda"); err != nil {
			t.Errorf("the admitted release is still refused: %v", err)
		}
		checkFiltered(t, e, ch, "linux-64", "gplthing-1.0-h0_0.conda", "licenses")
	})

	t.Run("a held record removed upstream is no longer held", func(t *testing.T) {
		e.up.Remove("linux-64", "gplthing-1.0-h0_0.conda")
		e.sync(ch)
		if err := e.m.Filtered(context.Background(), ch, "linux-64", "gplthing-1.0-h0_0.conda"); err != nil {
			t.Errorf("a record gone upstream is still refused as filtered: %v", err)
		}
	})

	t.Run("subdirs and include lists", func(t *testing.T) {
		e2 := newEnv(t, pkgs)
		ch := e2.channel("subdirs", "proxy", gatehouse.Filters{Subdirs: []string{"noarch"}, Include: []string{"py*"}})
		e2.sync(ch)
		if n := len(e2.files(ch, "linux-64")); n != 0 {
			t.Errorf("a channel following only noarch holds %d linux-64 files", n)
		}
		checkFiltered(t, e2, ch, "linux-64", "pytest-x-1.0-h0_0.conda", "subdirs")
		checkFiltered(t, e2, ch, "noarch", "numpy-2.1.0-h0_0.conda", "include")
	})
}

func TestUpstreamRequestsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  gatehouse.UpstreamRequest
	}{
		{"a URL with credentials", gatehouse.UpstreamRequest{URL: "https://u:p@conda.example/x", Mode: "proxy"}},
		{"a URL that is not http", gatehouse.UpstreamRequest{URL: "file:///etc", Mode: "proxy"}},
		{"an unknown mode", gatehouse.UpstreamRequest{URL: "https://conda.example/x", Mode: "cache"}},
		{"a bad glob", gatehouse.UpstreamRequest{URL: "https://conda.example/x", Mode: "proxy", Filters: gatehouse.Filters{Include: []string{"["}}}},
		{"a bad version constraint", gatehouse.UpstreamRequest{URL: "https://conda.example/x", Mode: "mirror", Filters: gatehouse.Filters{Versions: map[string]string{"x": ">=1,,"}}}},
		{"a bad subdir", gatehouse.UpstreamRequest{URL: "https://conda.example/x", Mode: "mirror", Filters: gatehouse.Filters{Subdirs: []string{"../x"}}}},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if err := upstream.ValidateRequest(&tc.req); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("error %v, want EINVALID", err)
			}
		})
	}
}

func TestSealedTokensOpenOnlyForTheirChannel(t *testing.T) {
	key, err := secret.ParseSealKey(strings.Repeat("cd", 32))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := secret.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	s := upstream.NewSealer(ss)
	sealed, _ := s.Seal(7, "tok-123")
	if strings.Contains(string(sealed), "tok-123") {
		t.Fatal("the sealed token holds the token")
	}
	if got, err := s.Open(7, sealed); err != nil || got != "tok-123" {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(8, sealed); err == nil {
		t.Error("a token sealed for channel 7 opened for channel 8")
	}
	if _, err := secret.ParseSealKey("short"); err == nil {
		t.Error("a short key was accepted")
	}
	var none *upstream.Sealer
	if _, err := none.Seal(1, "x"); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("sealing without a key: %v", err)
	}
}
