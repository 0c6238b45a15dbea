package repo

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br, zstd", true},
		{"br;q=1.0, GZIP;q=0.5", true},
		{"identity, gzip ; q=0", false},
		{"gzip;q = 0", false},
		{"x-gzip", false},
		{"deflate,gzip", true},
		{",,gzip,", true},
	} {
		r := httptest.NewRequest("GET", "/repo/main/noarch/repodata.json", nil)
		if c.header != "" {
			r.Header.Set("Accept-Encoding", c.header)
		}
		if got := acceptsGzip(r); got != c.want {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", c.header, got, c.want)
		}
	}
}

func TestParsePath(t *testing.T) {
	for _, c := range []struct {
		path string
		want request
		ok   bool
	}{
		{"/repo/main/noarch/repodata.json", request{channel: "main", rest: "noarch/repodata.json"}, true},
		{"/repo/main", request{channel: "main"}, true},
		{"/repo/t/gk-abc/main/linux-64/x.conda", request{pathKey: "gk-abc", channel: "main", rest: "linux-64/x.conda"}, true},
		{"/t/gk-abc/repo/main/noarch/shards/ab.msgpack.zst", request{pathKey: "gk-abc", channel: "main", rest: "noarch/shards/ab.msgpack.zst"}, true},
		{"/t//repo/main/", request{}, false},
		{"/repo/t//main/", request{}, false},
		{"/t/gk-abc/api/account", request{}, false},
		{"/repo/", request{}, false},
		{"/api/channels", request{}, false},
	} {
		got, ok := parsePath(c.path)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v, %v", c.path, got, ok, c.want, c.ok)
		}
	}
}

// FuzzParsePath: any URL path parses without panicking, and what it
// yields was in the path (a key is never invented or moved).
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/repo/main/noarch/repodata.json", "/repo/t/k/c/x", "/t/k/repo/c/", "/t/", "/repo/t/", "//repo//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rr, ok := parsePath(p)
		if !ok {
			return
		}
		if rr.channel == "" || strings.Contains(rr.channel, "/") || !strings.Contains(p, rr.channel) || !strings.HasSuffix(p, rr.rest) {
			t.Fatalf("parsePath(%q) = %+v", p, rr)
		}
		if rr.pathKey != "" && !strings.Contains(p, "/t/"+rr.pathKey+"/") {
			t.Fatalf("parsePath(%q) found key %q where there is none", p, rr.pathKey)
		}
	})
}

func TestHTTPDateFollowsTheTimeAskedFor(t *testing.T) {
	h := &Handler{}
	a := time.Date(2026, 12, 4, 15, 0, 0, 0, time.FixedZone("X", 3600))
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{a, "Fri, 04 Dec 2026 14:00:00 GMT"},
		{a, "Fri, 04 Dec 2026 14:00:00 GMT"},
		{a.Add(time.Second), "Fri, 04 Dec 2026 14:00:01 GMT"},
		{a, "Fri, 04 Dec 2026 14:00:00 GMT"},
	} {
		if got := h.httpDate(c.t); got != c.want {
			t.Errorf("httpDate(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestCacheControls(t *testing.T) {
	v := cacheControls("30")
	want := [2][2]string{{"private, max-age=30", "private, max-age=31536000, immutable"}, {"public, max-age=30", "public, max-age=31536000, immutable"}}
	for shared := range 2 {
		for immutable := range 2 {
			if got := v[shared][immutable]; len(got) != 1 || got[0] != want[shared][immutable] {
				t.Errorf("[%d][%d] = %q, want %q", shared, immutable, got, want[shared][immutable])
			}
		}
	}
}
