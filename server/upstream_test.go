package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/upstream/upstreamtest"
)

// Issue 9 through the conda routes: proxy channels of the test upstream,
// with every kind of filter, and the upstream failing the ways upstreams
// do. The manager's own tests (upstream/) cover the same rules one level
// down; these check what a client sees.

// startUpstream starts the test upstream and stops it even while a
// request hangs on it (a slow upstream).
func startUpstream(t *testing.T, pkgs []upstreamtest.Pkg) *upstreamtest.Server {
	t.Helper()
	up := upstreamtest.Start(pkgs)
	t.Cleanup(func() { up.SetSlow(false); up.CloseClientConnections(); up.Close() })
	return up
}

func upPkg(subdir, name, version, license string, ts time.Time) upstreamtest.Pkg {
	return upstreamtest.Pkg{Subdir: subdir, Name: name, Version: version, Build: "h0_0", License: license, Timestamp: ts, Depends: []string{}}
}

// upstreamChannel creates a proxy or mirror channel over the API and
// waits for its first sync to end.
func (f *fixture) upstreamChannel(name, mode, url string, filters map[string]any) map[string]any {
	f.t.Helper()
	a := f.do(call{method: "POST", path: "/api/channels", auth: basic("admin", testPassword), body: map[string]any{
		"name": name, "visibility": "public", "upstream": map[string]any{"url": url, "mode": mode, "filters": filters}}})
	if a.status != http.StatusCreated {
		f.t.Fatalf("creating %s channel %s: %d %s", mode, name, a.status, a.body)
	}
	return f.waitSynced(name, "")
}

// waitSynced polls the channel until its upstream state is neither new
// nor syncing (and differs from the attempt time given, if any).
func (f *fixture) waitSynced(name, after string) map[string]any {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		a := f.do(call{method: "GET", path: "/api/channels/" + name, auth: basic("admin", testPassword)})
		if a.status != http.StatusOK {
			f.t.Fatalf("GET channel %s: %d %s", name, a.status, a.body)
		}
		up, _ := a.json(f.t)["upstream"].(map[string]any)
		st, _ := up["status"].(map[string]any)
		if s, _ := st["state"].(string); s != "new" && s != "syncing" && s != "" {
			if a, _ := st["attempted_at"].(string); after == "" || a != after {
				return st
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("channel %s did not finish syncing", name)
	return nil
}

func (f *fixture) syncNow(name string, prev map[string]any) map[string]any {
	f.t.Helper()
	f.clock.Advance(time.Second) // so the new attempt's time differs
	if a := f.do(call{method: "POST", path: "/api/channels/" + name + "/sync", auth: basic("admin", testPassword)}); a.status != http.StatusAccepted {
		f.t.Fatalf("sync %s: %d %s", name, a.status, a.body)
	}
	at, _ := prev["attempted_at"].(string)
	return f.waitSynced(name, at)
}

// getWithin requests path with a deadline, as a client that gives up.
func (f *fixture) getWithin(path string, d time.Duration) answer {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r := httptest.NewRequest("GET", path, nil).WithContext(ctx)
	r.RemoteAddr = "192.0.2.1:1234"
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return answer{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func refusal(t *testing.T, a answer) (reason, message string) {
	t.Helper()
	var body struct{ Reason, Message string }
	if !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") || json.Unmarshal(a.body, &body) != nil {
		t.Fatalf("answer %d is not a JSON refusal: %s", a.status, a.body)
	}
	return body.Reason, body.Message
}

// Issue 9: a direct request for a filtered file is 403 with a JSON
// reason and message naming the filter, for every kind of filter; what
// the filters admit is in repodata and downloads, verified.
func TestAProxyChannelRefusesFilteredFilesNamingThePolicy(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	old := now.AddDate(-1, 0, 0)
	up := startUpstream(t, []upstreamtest.Pkg{
		upPkg("linux-64", "numpy", "2.1.0", "BSD-3-Clause", old), upPkg("linux-64", "numpy", "1.26.0", "BSD-3-Clause", old),
		upPkg("linux-64", "gplthing", "1.0", "GPL-3.0-only", old), upPkg("linux-64", "fresh", "1.0", "MIT", now.Add(-time.Hour)),
		upPkg("linux-64", "internal-tool", "1.0", "MIT", old), upPkg("linux-64", "other", "1.0", "MIT", old),
		upPkg("noarch", "rich", "13.0", "MIT", old), upPkg("osx-64", "numpy", "2.1.0", "BSD-3-Clause", old),
	})
	st := f.upstreamChannel("forge", "proxy", up.URL, map[string]any{
		"include": []string{"numpy", "gplthing", "fresh", "internal-*", "rich"}, "exclude": []string{"internal-*"},
		"subdirs": []string{"noarch", "linux-64"}, "licenses": []string{"MIT", "BSD-3-Clause"}, "min_age_days": 7,
		"versions": map[string]string{"numpy": ">=2"}})
	if st["state"] != "ok" {
		t.Fatalf("first refresh: %v", st)
	}
	a := f.do(call{method: "GET", path: "/repo/forge/linux-64/repodata.json"})
	var rd struct {
		Packages map[string]map[string]any `json:"packages.conda"`
	}
	if a.status != http.StatusOK || json.Unmarshal(a.body, &rd) != nil {
		t.Fatalf("repodata: %d %s", a.status, a.body)
	}
	if len(rd.Packages) != 1 || rd.Packages["numpy-2.1.0-h0_0.conda"] == nil {
		t.Errorf("repodata lists %v, want only numpy 2.1.0", rd.Packages)
	}
	if a.header.Get("X-Upstream-Age") == "" {
		t.Error("repodata of a proxy has no X-Upstream-Age")
	}
	for _, tc := range []struct{ file, rule, says string }{
		{"linux-64/other-1.0-h0_0.conda", "include", "none of the included"},
		{"linux-64/internal-tool-1.0-h0_0.conda", "exclude", "internal-*"},
		{"osx-64/numpy-2.1.0-h0_0.conda", "subdirs", "osx-64"},
		{"linux-64/numpy-1.26.0-h0_0.conda", "versions", ">=2"},
		{"linux-64/gplthing-1.0-h0_0.conda", "licenses", "GPL-3.0-only"},
		{"linux-64/fresh-1.0-h0_0.conda", "min_age_days", "7 days"},
	} {
		t.Run("the "+tc.rule+" filter answers 403 naming itself", func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				a := f.do(call{method: method, path: "/repo/forge/" + tc.file})
				if a.status != http.StatusForbidden {
					t.Fatalf("%s %s: %d %s, want 403", method, tc.file, a.status, a.body)
				}
				if method == "HEAD" {
					continue
				}
				reason, msg := refusal(t, a)
				if reason != "FILTERED" || !strings.Contains(msg, "its "+tc.rule+" filter") || !strings.Contains(msg, tc.says) {
					t.Errorf("%s: reason %q, message %q; want FILTERED naming the %s filter and %q", tc.file, reason, msg, tc.rule, tc.says)
				}
			}
		})
	}
	t.Run("an admitted file is fetched once, verified, and served", func(t *testing.T) {
		rec := rd.Packages["numpy-2.1.0-h0_0.conda"]
		for range 2 {
			a := f.do(call{method: "GET", path: "/repo/forge/linux-64/numpy-2.1.0-h0_0.conda"})
			sum := sha256.Sum256(a.body)
			if a.status != http.StatusOK || hex.EncodeToString(sum[:]) != rec["sha256"] {
				t.Fatalf("download: %d, sha256 %x, want %v", a.status, sum, rec["sha256"])
			}
		}
		if n := up.Hits("/linux-64/numpy-2.1.0-h0_0.conda"); n != 1 {
			t.Errorf("the upstream was asked %d times for the file, want once", n)
		}
	})
	t.Run("a file the upstream does not have is a plain 404", func(t *testing.T) {
		if a := f.do(call{method: "GET", path: "/repo/forge/linux-64/numpy-9.9-h0_0.conda"}); a.status != http.StatusNotFound {
			t.Errorf("%d %s, want 404", a.status, a.body)
		}
	})
}

// Issue 9, checklist H2: with the upstream down, the last good repodata
// is served saying how old it is, stored files are served, and files not
// stored yet are 503 with a JSON reason (conda retries 503); a record
// removed upstream is gone after the next refresh; a file whose sha256
// differs from its record is refused and not stored.
func TestAProxyChannelWhenItsUpstreamFails(t *testing.T) {
	f := newFixture(t)
	old := f.clock.Now().AddDate(-1, 0, 0)
	up := startUpstream(t, []upstreamtest.Pkg{upPkg("linux-64", "numpy", "2.0", "MIT", old),
		upPkg("linux-64", "scipy", "1.0", "MIT", old), upPkg("linux-64", "zlib", "1.3", "MIT", old)})
	st := f.upstreamChannel("forge", "proxy", up.URL, nil)
	get := func(p string) answer { return f.do(call{method: "GET", path: "/repo/forge/linux-64/" + p}) }
	if a := get("numpy-2.0-h0_0.conda"); a.status != http.StatusOK {
		t.Fatalf("first download: %d %s", a.status, a.body)
	}
	before := get("repodata.json")

	t.Run("a file whose sha256 differs from its record is refused and not stored", func(t *testing.T) {
		up.Corrupt("zlib-1.3-h0_0.conda")
		for range 2 {
			a := get("zlib-1.3-h0_0.conda")
			if reason, msg := refusal(t, a); a.status != http.StatusServiceUnavailable || reason != "UPSTREAM UNAVAILABLE" || !strings.Contains(msg, "sha256") {
				t.Errorf("%d %q %q; want 503 UPSTREAM UNAVAILABLE naming the sha256", a.status, reason, msg)
			}
		}
		if n := up.Hits("/linux-64/zlib-1.3-h0_0.conda"); n != 2 {
			t.Errorf("the upstream was asked %d times; a refused file must not be stored (want 2 asks)", n)
		}
	})

	t.Run("upstream down: stale repodata with its age, stored files served, new ones 503", func(t *testing.T) {
		up.SetDown(true)
		defer up.SetDown(false)
		f.clock.Advance(90 * time.Second)
		st = f.syncNow("forge", st)
		if st["state"] != "failed" || st["error"] == "" {
			t.Fatalf("status after a refresh with the upstream down: %v", st)
		}
		a := get("repodata.json")
		if a.status != http.StatusOK || string(a.body) != string(before.body) {
			t.Errorf("repodata with the upstream down: %d, same as before: %v", a.status, string(a.body) == string(before.body))
		}
		if age, _ := strconv.Atoi(a.header.Get("X-Upstream-Age")); age < 90 {
			t.Errorf("X-Upstream-Age %q, want at least 90 (seconds since the last good refresh)", a.header.Get("X-Upstream-Age"))
		}
		if !strings.Contains(a.header.Get("Warning"), "110") {
			t.Errorf("Warning %q, want 110 (stale)", a.header.Get("Warning"))
		}
		if a := get("numpy-2.0-h0_0.conda"); a.status != http.StatusOK {
			t.Errorf("a stored file with the upstream down: %d", a.status)
		}
		a = get("scipy-1.0-h0_0.conda")
		if reason, _ := refusal(t, a); a.status != http.StatusServiceUnavailable || reason != "UPSTREAM UNAVAILABLE" {
			t.Errorf("a file not stored yet with the upstream down: %d %q, want 503 UPSTREAM UNAVAILABLE", a.status, reason)
		}
	})

	t.Run("a record removed upstream is gone after the next refresh", func(t *testing.T) {
		up.Remove("linux-64", "scipy-1.0-h0_0.conda")
		st = f.syncNow("forge", st)
		if st["state"] != "ok" {
			t.Fatalf("status: %v", st)
		}
		if a := get("repodata.json"); strings.Contains(string(a.body), "scipy-1.0") {
			t.Error("repodata still lists scipy after the upstream removed it")
		}
		if a := get("scipy-1.0-h0_0.conda"); a.status != http.StatusNotFound {
			t.Errorf("the removed file: %d, want 404", a.status)
		}
		if a := get("repodata.json"); a.header.Get("Warning") != "" {
			t.Errorf("Warning %q after a good refresh", a.header.Get("Warning"))
		}
	})
}

// Issue 9: a slow upstream holds only the requests for its own files not
// stored yet; other channels, hosted or proxied, answer at once.
func TestASlowUpstreamLeavesOtherChannelsAlone(t *testing.T) {
	f := newFixture(t)
	old := f.clock.Now().AddDate(-1, 0, 0)
	slow := startUpstream(t, []upstreamtest.Pkg{upPkg("linux-64", "numpy", "2.0", "MIT", old), upPkg("linux-64", "scipy", "1.0", "MIT", old)})
	fast := startUpstream(t, []upstreamtest.Pkg{upPkg("linux-64", "zlib", "1.3", "MIT", old)})
	f.upstreamChannel("slow", "proxy", slow.URL, nil)
	f.upstreamChannel("fast", "proxy", fast.URL, nil)
	if a := f.do(call{method: "GET", path: "/repo/slow/linux-64/numpy-2.0-h0_0.conda"}); a.status != http.StatusOK {
		t.Fatalf("download before the upstream slows: %d", a.status)
	}
	slow.SetSlow(true)
	// Eight clients wait on files the slow upstream holds.
	done := make(chan answer, 8)
	for range 8 {
		go func() { done <- f.getWithin("/repo/slow/linux-64/scipy-1.0-h0_0.conda", 3*time.Second) }()
	}
	time.Sleep(100 * time.Millisecond)
	for _, p := range []string{"/repo/fast/linux-64/zlib-1.3-h0_0.conda", "/repo/fast/linux-64/repodata.json",
		"/repo/slow/linux-64/repodata.json", "/repo/slow/linux-64/numpy-2.0-h0_0.conda"} {
		start := time.Now()
		a := f.getWithin(p, 2*time.Second)
		if a.status != http.StatusOK || time.Since(start) > time.Second {
			t.Errorf("%s while the other upstream is slow: %d after %v", p, a.status, time.Since(start))
		}
	}
	for range 8 {
		if a := <-done; a.status != http.StatusServiceUnavailable {
			t.Errorf("a request for a file of the slow upstream: %d, want 503 once the client gives up", a.status)
		}
	}
}
