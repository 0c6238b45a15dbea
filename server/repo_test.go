package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/klauspost/compress/zstd"
)

const fixtureDir = "../conda/testdata/pkgs"

// channelFixture is a server with a private channel "lab" owned by admin,
// a public channel "pub", and admin's key with both scopes.
type channelFixture struct {
	*fixture
	key string
}

func newChannelFixture(t *testing.T, mutate ...func(*Config)) *channelFixture {
	t.Helper()
	f := &channelFixture{fixture: newFixture(t, mutate...)}
	f.key, _ = f.createKey("admin", "conda", []string{"user", "channels"}, 30*24*time.Hour)
	for _, c := range []map[string]any{{"name": "lab", "visibility": "private"}, {"name": "pub", "visibility": "public"}} {
		if a := f.do(call{method: "POST", path: "/api/channels", auth: bearer(f.key), body: c}); a.status != http.StatusCreated {
			t.Fatalf("creating channel %v: %d %s", c, a.status, a.body)
		}
	}
	return f
}

// upload posts a file as multipart to the channel.
func (f *fixture) upload(auth, channel, filename string, data []byte, query string) answer {
	f.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", filename)
	fw.Write(data)
	mw.Close()
	r := httptest.NewRequest("POST", "/api/channels/"+channel+"/packages"+query, &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Authorization", auth)
	r.RemoteAddr = "192.0.2.1:1234"
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return answer{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func readFixture(t testing.TB, subdir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, subdir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// uploadFixtures puts the real cph-made packages into channel.
func (f *channelFixture) uploadFixtures(channel string) map[string][]byte {
	f.t.Helper()
	files := map[string][]byte{}
	for _, subdir := range []string{"noarch", "linux-64"} {
		entries, _ := os.ReadDir(filepath.Join(fixtureDir, subdir))
		for _, e := range entries {
			data := readFixture(f.t, subdir, e.Name())
			if a := f.upload(bearer(f.key), channel, e.Name(), data, ""); a.status != http.StatusCreated {
				f.t.Fatalf("uploading %s: %d %s", e.Name(), a.status, a.body)
			}
			files[subdir+"/"+e.Name()] = data
		}
	}
	if len(files) < 5 {
		f.t.Fatalf("only %d fixtures found", len(files))
	}
	return files
}

type repodata struct {
	Info      map[string]any            `json:"info"`
	Packages  map[string]map[string]any `json:"packages"`
	PackagesC map[string]map[string]any `json:"packages.conda"`
	Removed   []string                  `json:"removed"`
	Version   int                       `json:"repodata_version"`
}

func decodeRepodata(t testing.TB, b []byte) repodata {
	t.Helper()
	var rd repodata
	if err := json.Unmarshal(b, &rd); err != nil {
		t.Fatalf("repodata is not JSON: %v\n%s", err, b)
	}
	return rd
}

func TestChannelServesWhatWasUploaded(t *testing.T) {
	// checklist G3, G5
	f := newChannelFixture(t)
	files := f.uploadFixtures("lab")
	for _, subdir := range []string{"noarch", "linux-64"} {
		a := f.do(call{method: "GET", path: "/repo/lab/" + subdir + "/repodata.json", auth: bearer(f.key)})
		if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s repodata: %d %s", subdir, a.status, a.header)
		}
		rd := decodeRepodata(t, a.body)
		if rd.Info["subdir"] != subdir || rd.Version != 1 || rd.Removed == nil {
			t.Errorf("%s: info=%v version=%d removed=%v", subdir, rd.Info, rd.Version, rd.Removed)
		}
		n := 0
		for _, group := range []map[string]map[string]any{rd.Packages, rd.PackagesC} {
			for fn, rec := range group {
				n++
				data := files[subdir+"/"+fn]
				if data == nil {
					t.Errorf("repodata lists %s/%s, which was never uploaded", subdir, fn)
					continue
				}
				sum := sha256.Sum256(data)
				if rec["sha256"] != hex.EncodeToString(sum[:]) || rec["size"] != float64(len(data)) {
					t.Errorf("%s: record sha256/size = %v/%v", fn, rec["sha256"], rec["size"])
				}
				dl := f.do(call{method: "GET", path: "/repo/lab/" + subdir + "/" + fn, auth: bearer(f.key)})
				if dl.status != http.StatusOK || !bytes.Equal(dl.body, data) {
					t.Errorf("downloading %s: %d, %d bytes", fn, dl.status, len(dl.body))
				}
				if dl.header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` {
					t.Errorf("%s ETag = %s", fn, dl.header.Get("ETag"))
				}
			}
		}
		want := 0
		for k := range files {
			if strings.HasPrefix(k, subdir+"/") {
				want++
			}
		}
		if n != want {
			t.Errorf("%s lists %d packages, want %d", subdir, n, want)
		}

		// The .zst holds the same bytes under the same ETag.
		z := f.do(call{method: "GET", path: "/repo/lab/" + subdir + "/repodata.json.zst", auth: bearer(f.key)})
		dec, _ := zstd.NewReader(nil)
		plain, err := dec.DecodeAll(z.body, nil)
		if err != nil || !bytes.Equal(plain, a.body) {
			t.Errorf("%s: repodata.json.zst does not decode to repodata.json (%v)", subdir, err)
		}
		if z.header.Get("ETag") == "" || z.header.Get("ETag") != a.header.Get("ETag") {
			t.Errorf("%s: ETags differ: %q vs %q", subdir, z.header.Get("ETag"), a.header.Get("ETag"))
		}
		// Conditional requests.
		nm := f.do(call{method: "GET", path: "/repo/lab/" + subdir + "/repodata.json", auth: bearer(f.key),
			header: http.Header{"If-None-Match": {a.header.Get("ETag")}}})
		if nm.status != http.StatusNotModified {
			t.Errorf("%s: If-None-Match gave %d, want 304", subdir, nm.status)
		}
		ims := f.do(call{method: "GET", path: "/repo/lab/" + subdir + "/repodata.json", auth: bearer(f.key),
			header: http.Header{"If-Modified-Since": {a.header.Get("Last-Modified")}}})
		if ims.status != http.StatusNotModified {
			t.Errorf("%s: If-Modified-Since gave %d, want 304", subdir, ims.status)
		}
	}
}

func TestChannelAnswersEveryFormatClientsProbe(t *testing.T) {
	f := newChannelFixture(t)
	f.uploadFixtures("pub")
	cases := []struct {
		method, path string
		status       int
	}{
		{"HEAD", "/repo/pub/noarch/repodata_shards.msgpack.zst", 200},
		{"GET", "/repo/pub/noarch/repodata_shards.msgpack.zst", 200},
		{"GET", "/repo/pub/foo-bar/repodata_shards.msgpack.zst", 404},
		{"GET", "/repo/pub/noarch/shards/" + strings.Repeat("ab", 32) + ".msgpack.zst", 404},
		{"GET", "/repo/pub/noarch/shards/XYZ.msgpack.zst", 404},
		{"HEAD", "/repo/pub/noarch/repodata.json.zst", 200},
		{"HEAD", "/repo/pub/noarch/repodata.json.bz2", 404},
		{"GET", "/repo/pub/linux-64/current_repodata.json", 404},
		{"GET", "/repo/pub/noarch/repodata.json", 200},
		{"HEAD", "/repo/pub/linux-64/gh-lib-2.10.0-h1a2b3c4_0.conda", 200},
		{"GET", "/repo/pub/osx-arm64/repodata.json", 200}, // known platform, no packages: empty but valid
		{"GET", "/repo/pub/foo-bar/repodata.json", 404},   // valid name, unknown platform
		{"GET", "/repo/pub/NOT_A_SUBDIR/repodata.json", 404},
		{"GET", "/repo/pub/channeldata.json", 200},
		{"GET", "/repo/pub/notices.json", 404},
		{"POST", "/repo/pub/noarch/repodata.json", 400},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			a := f.do(call{method: c.method, path: c.path})
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			if c.status >= 400 && c.method == "GET" {
				var m reply.Refusal
				if json.Unmarshal(a.body, &m) != nil || m.Reason == "" || m.Message == "" {
					t.Errorf("refusal body is not {reason, message}: %s", a.body)
				}
			}
		})
	}
	t.Run("a fresh channel has an empty noarch", func(t *testing.T) {
		f.do(call{method: "POST", path: "/api/channels", auth: bearer(f.key), body: map[string]any{"name": "empty", "visibility": "public"}})
		a := f.do(call{method: "GET", path: "/repo/empty/noarch/repodata.json"})
		rd := decodeRepodata(t, a.body)
		if a.status != 200 || len(rd.Packages) != 0 || len(rd.PackagesC) != 0 || rd.Info["subdir"] != "noarch" {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("a range of a package", func(t *testing.T) {
		a := f.do(call{method: "GET", path: "/repo/pub/noarch/gh-data-1.0.0-0.conda", header: http.Header{"Range": {"bytes=10-19"}}})
		if a.status != http.StatusPartialContent || len(a.body) != 10 || !bytes.Equal(a.body, readFixture(t, "noarch", "gh-data-1.0.0-0.conda")[10:20]) {
			t.Fatalf("%d %q", a.status, a.body)
		}
	})
	t.Run("an If-Range on a compressed index never splices two compactions", func(t *testing.T) {
		// The ETag names the content; the .zst bytes change when the
		// subdir is compacted, so a range of it is only ever served whole
		// when an If-Range names that ETag.
		full := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json.zst"})
		etag := full.header.Get("ETag")
		a := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json.zst", header: http.Header{"Range": {"bytes=4-9"}, "If-Range": {etag}}})
		if full.status != 200 || etag == "" || a.status != 200 || !bytes.Equal(a.body, full.body) {
			t.Fatalf("If-Range %s: %d, %d bytes; want 200 and the whole file (%d bytes)", etag, a.status, len(a.body), len(full.body))
		}
		if a := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json.zst", header: http.Header{"Range": {"bytes=4-9"}}}); a.status != http.StatusPartialContent || !bytes.Equal(a.body, full.body[4:10]) {
			t.Fatalf("a plain range: %d %q", a.status, a.body)
		}
		js := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json"})
		if a := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json", header: http.Header{"Range": {"bytes=0-0"}, "If-Range": {js.header.Get("ETag")}}}); a.status != http.StatusPartialContent {
			t.Fatalf("If-Range on the plain JSON: %d, want 206", a.status)
		}
	})
	t.Run("channeldata lists every package name", func(t *testing.T) {
		var cd struct {
			Packages map[string]any `json:"packages"`
			Subdirs  []string       `json:"subdirs"`
		}
		json.Unmarshal(f.do(call{method: "GET", path: "/repo/pub/channeldata.json"}).body, &cd)
		for _, n := range []string{"gh-app", "gh-lib", "gh-data"} {
			if cd.Packages[n] == nil {
				t.Errorf("channeldata lacks %s: %v", n, cd.Packages)
			}
		}
	})
}

func TestEveryCredentialFormWorksOnChannelURLs(t *testing.T) {
	// checklist B4
	f := newChannelFixture(t)
	f.uploadFixtures("lab")
	file := "noarch/gh-data-1.0.0-0.conda"
	want := readFixture(t, "noarch", "gh-data-1.0.0-0.conda")
	for _, c := range []struct {
		name, path, auth string
	}{
		{"Bearer", "/repo/lab/" + file, bearer(f.key)},
		{"token", "/repo/lab/" + file, "token " + f.key},
		{"Basic with the key as password", "/repo/lab/" + file, basic("anyone", f.key)},
		{"/t/<key>/ before /repo", "/t/" + f.key + "/repo/lab/" + file, ""},
		{"/t/<key>/ after /repo (conda's channel_alias form)", "/repo/t/" + f.key + "/lab/" + file, ""},
		{"/t/<key>/ and the same key as Bearer", "/repo/t/" + f.key + "/lab/" + file, bearer(f.key)},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(call{method: "GET", path: c.path, auth: c.auth})
			if a.status != 200 || !bytes.Equal(a.body, want) {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
		})
	}
}

func TestChannelRefusalsSayWhatIsWrong(t *testing.T) {
	// checklist B2, B3, B6; protocols.md: every refusal is a 403 + JSON.
	f := newChannelFixture(t)
	f.uploadFixtures("lab")
	f.user("bob", false)
	bobKey, _ := f.createKey("bob", "bob", []string{"channels"}, time.Hour)
	userOnly, _ := f.createKey("admin", "user-only", []string{"user"}, time.Hour)
	revoked, revokedID := f.createKey("admin", "old", []string{"channels"}, time.Hour)
	f.do(call{method: "DELETE", path: fmt.Sprintf("/api/keys/%d", revokedID), auth: bearer(f.key)})
	expiring, _ := f.createKey("admin", "short", []string{"channels"}, time.Minute)
	path := "/repo/lab/noarch/repodata.json"
	cases := []struct {
		name, auth, reason, says string
	}{
		{"no key on a private channel", "", "ACCESS DENIED", "private"},
		{"a malformed key", bearer("gk-nonsense"), "INVALID API KEY", "not a Gatehouse API key"},
		{"a revoked key", bearer(revoked), "API KEY REVOKED", "revoked on"},
		{"a key without the channels scope", bearer(userOnly), "MISSING SCOPE", "Platform channels"},
		{"a key whose owner has no access", bearer(bobKey), "ACCESS DENIED", "no access"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(call{method: "GET", path: path, auth: c.auth})
			if a.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", a.status, a.body)
			}
			var m reply.Refusal
			json.Unmarshal(a.body, &m)
			if m.Reason != c.reason || !strings.Contains(m.Message, c.says) {
				t.Errorf("body = %s, want reason %s mentioning %q", a.body, c.reason, c.says)
			}
			if a.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %s", a.header.Get("Content-Type"))
			}
		})
	}
	t.Run("an expired key, with its date", func(t *testing.T) {
		f.clock.Advance(2 * time.Minute)
		a := f.do(call{method: "GET", path: path, auth: bearer(expiring)})
		var m reply.Refusal
		json.Unmarshal(a.body, &m)
		if a.status != 403 || m.Reason != "API KEY EXPIRED" || !strings.Contains(m.Message, "2026-03-14") {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("a private channel and a missing one look alike", func(t *testing.T) {
		a := f.do(call{method: "GET", path: path, auth: bearer(bobKey)})
		b := f.do(call{method: "GET", path: "/repo/nosuch/noarch/repodata.json", auth: bearer(bobKey)})
		if a.status != b.status || strings.ReplaceAll(string(a.body), "lab", "X") != strings.ReplaceAll(string(b.body), "nosuch", "X") {
			t.Errorf("private: %d %s\nmissing: %d %s", a.status, a.body, b.status, b.body)
		}
	})
	t.Run("granting read access opens it", func(t *testing.T) {
		if a := f.do(call{method: "PUT", path: "/api/channels/lab/members/bob", auth: bearer(f.key), body: map[string]any{"role": "read"}}); a.status != 204 {
			t.Fatalf("grant: %d %s", a.status, a.body)
		}
		if a := f.do(call{method: "GET", path: path, auth: bearer(bobKey)}); a.status != 200 {
			t.Fatalf("after grant: %d %s", a.status, a.body)
		}
	})
	t.Run("a refusal never echoes the key or the path", func(t *testing.T) {
		// checklist J2
		a := f.do(call{method: "GET", path: "/repo/t/" + f.key + "/lab/noarch/missing-1.0-0.conda"})
		if a.status != 404 || strings.Contains(string(a.body), f.key[3:15]) {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
}

func TestRegistrationGate(t *testing.T) {
	// checklist C1, C2, C5, C8
	f := newChannelFixture(t)
	f.uploadFixtures("pub")
	// The tools channel is reserved: an administrator creates it
	// (checklist C9).
	tools := f.do(call{method: "POST", path: "/api/channels", auth: basic("admin", testPassword), body: map[string]any{"name": "gatehouse-tools", "visibility": "public"}})
	if tools.status != 201 {
		t.Fatalf("tools channel: %d %s", tools.status, tools.body)
	}
	if a := f.do(call{method: "POST", path: "/api/admin/network-rules", auth: basic("admin", testPassword),
		body: map[string]any{"cidr": "10.0.0.0/8", "action": "require-registration"}}); a.status != 201 {
		t.Fatalf("adding a rule: %d %s", a.status, a.body)
	}
	gated := []string{"10.1.2.3:4000", "[::ffff:10.1.2.3]:4000"}
	paths := []struct{ method, path string }{
		{"GET", "/repo/pub/noarch/repodata.json"},
		{"HEAD", "/repo/pub/noarch/repodata.json"},
		{"GET", "/repo/pub/noarch/repodata.json.zst"},
		{"GET", "/repo/pub/noarch/gh-data-1.0.0-0.conda"},
		{"GET", "/repo/pub/channeldata.json"},
		{"GET", "/repo/nosuch/noarch/repodata.json"},
	}
	for _, remote := range gated {
		for _, p := range paths {
			t.Run("refuses "+p.method+" "+p.path+" from "+remote, func(t *testing.T) {
				a := f.do(call{method: p.method, path: p.path, remote: remote, header: http.Header{"Range": {"bytes=0-1"}}})
				if a.status != http.StatusForbidden {
					t.Fatalf("status %d", a.status)
				}
				if p.method == "GET" {
					var m reply.Refusal
					json.Unmarshal(a.body, &m)
					if m.Reason != "REGISTRATION REQUIRED" || !strings.Contains(m.Message, "gatehouse login --at gatehouse.test") || !strings.Contains(m.Message, "http://gatehouse.test/register") {
						t.Errorf("body = %s", a.body)
					}
				}
			})
		}
	}
	t.Run("the tools channel stays open", func(t *testing.T) {
		if a := f.do(call{method: "GET", path: "/repo/gatehouse-tools/noarch/repodata.json", remote: gated[0]}); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("a key lets a gated client in", func(t *testing.T) {
		a := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json", remote: gated[0], auth: bearer(f.key)})
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if cc := a.header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") || !strings.Contains(a.header.Get("Vary"), "Authorization") {
			t.Errorf("gated repodata may be cached by shared caches: Cache-Control %q, Vary %q", cc, a.header.Get("Vary"))
		}
	})
	t.Run("other networks are not gated", func(t *testing.T) {
		if a := f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json", remote: "192.0.2.9:1"}); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("a bad CIDR is refused and changes nothing", func(t *testing.T) {
		for _, cidr := range []string{"10.0.0.0/33", "abc", "10.0.0.1/8", ""} {
			a := f.do(call{method: "POST", path: "/api/admin/network-rules", auth: basic("admin", testPassword), body: map[string]any{"cidr": cidr}})
			if a.status != 400 {
				t.Errorf("%q: %d %s", cidr, a.status, a.body)
			}
		}
		var list struct{ Rules []any }
		json.Unmarshal(f.do(call{method: "GET", path: "/api/admin/network-rules", auth: basic("admin", testPassword)}).body, &list)
		if len(list.Rules) != 1 {
			t.Errorf("rules = %v", list.Rules)
		}
	})
	t.Run("registered clients are recorded", func(t *testing.T) {
		f.srv.Services().FlushClients()
		var out struct{ Clients []gatehouse.Client }
		json.Unmarshal(f.do(call{method: "GET", path: "/api/admin/clients", auth: basic("admin", testPassword)}).body, &out)
		found := false
		for _, c := range out.Clients {
			if c.IP == "10.1.2.3" && c.Username == "admin" && c.KeyName == "conda" {
				found = true
			}
		}
		if !found {
			t.Errorf("clients = %+v", out.Clients)
		}
	})
}

func TestTrustedProxyForwardedAddressIsGated(t *testing.T) {
	f := newChannelFixture(t, func(c *Config) {
		c.TrustedProxies = mustPrefixes(t, "192.0.2.0/24")
		c.RequireRegistration = mustPrefixes(t, "10.0.0.0/8")
	})
	f.uploadFixtures("pub")
	via := func(remote, xff string) int {
		return f.do(call{method: "GET", path: "/repo/pub/noarch/repodata.json", remote: remote, header: http.Header{"X-Forwarded-For": {xff}}}).status
	}
	if s := via("192.0.2.1:1", "10.9.9.9"); s != 403 {
		t.Errorf("a gated client behind a trusted proxy: %d, want 403", s)
	}
	if s := via("203.0.113.5:1", "10.9.9.9"); s != 200 {
		t.Errorf("X-Forwarded-For from an untrusted peer must be ignored: %d", s)
	}
	if s := via("10.1.1.1:1", "198.51.100.1"); s != 403 {
		t.Errorf("a gated client spoofing X-Forwarded-For: %d, want 403", s)
	}
}

func TestHostileUploadsChangeNothing(t *testing.T) {
	// checklist F1, F7-F14
	f := newChannelFixture(t, func(c *Config) { c.MaxUploadSize = 64 << 10 })
	good := readFixture(t, "noarch", "gh-data-1.0.0-0.conda")
	truncated := good[:len(good)/2]
	readOnly, _ := f.createKey("admin", "ro", []string{"user"}, time.Hour)
	cases := []struct {
		name, auth, filename string
		data                 []byte
		status               int
	}{
		{"not an archive", bearer(f.key), "x-1.0-0.conda", []byte("hello"), 400},
		{"a truncated package", bearer(f.key), "gh-data-1.0.0-0.conda", truncated, 400},
		{"a file name that disagrees with index.json", bearer(f.key), "other-1.0.0-0.conda", good, 400},
		{"a file over the size limit", bearer(f.key), "big-1.0-0.conda", bytes.Repeat([]byte{0}, 65<<10), 413},
		{"a key without the channels scope", bearer(readOnly), "gh-data-1.0.0-0.conda", good, 403},
	}
	for _, c := range cases {
		t.Run("refuses "+c.name, func(t *testing.T) {
			a := f.upload(c.auth, "lab", c.filename, c.data, "")
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
		})
	}
	rd := decodeRepodata(t, f.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(f.key)}).body)
	if len(rd.PackagesC)+len(rd.Packages) != 0 {
		t.Errorf("refused uploads reached repodata: %+v", rd)
	}
	entries, _ := os.ReadDir(f.srv.cfg.TempDir)
	if len(entries) != 0 {
		t.Errorf("spool files left behind: %v", entries)
	}
	t.Run("a duplicate is a conflict unless replace is asked", func(t *testing.T) {
		// checklist F12
		if a := f.upload(bearer(f.key), "lab", "gh-data-1.0.0-0.conda", good, ""); a.status != 201 {
			t.Fatalf("first: %d %s", a.status, a.body)
		}
		if a := f.upload(bearer(f.key), "lab", "gh-data-1.0.0-0.conda", good, ""); a.status != 409 {
			t.Fatalf("second: %d %s", a.status, a.body)
		}
		if a := f.upload(bearer(f.key), "lab", "gh-data-1.0.0-0.conda", good, "?replace=true"); a.status != 201 {
			t.Fatalf("replace: %d %s", a.status, a.body)
		}
	})
	t.Run("deleting a package takes it out of repodata", func(t *testing.T) {
		// checklist G4
		if a := f.do(call{method: "DELETE", path: "/api/channels/lab/packages/noarch/gh-data-1.0.0-0.conda", auth: bearer(f.key)}); a.status != 204 {
			t.Fatalf("delete: %d %s", a.status, a.body)
		}
		rd := decodeRepodata(t, f.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(f.key)}).body)
		if len(rd.PackagesC) != 0 {
			t.Errorf("deleted package still listed: %v", rd.PackagesC)
		}
		if a := f.do(call{method: "GET", path: "/repo/lab/noarch/gh-data-1.0.0-0.conda", auth: bearer(f.key)}); a.status != 404 {
			t.Errorf("deleted package still served: %d", a.status)
		}
	})
}

func TestParallelUploadsAreAllListed(t *testing.T) {
	// checklist G1, G2
	f := newChannelFixture(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan string, n)
	stop := make(chan struct{})
	go func() { // a reader during the writes always sees a whole document
		for {
			select {
			case <-stop:
				return
			default:
			}
			a := f.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(f.key)})
			var rd repodata
			if a.status != 200 || json.Unmarshal(a.body, &rd) != nil {
				errs <- fmt.Sprintf("reader got %d %q", a.status, a.body)
				return
			}
		}
	}()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, data := makeConda(t, fmt.Sprintf("par%02d", i), "1.0", "0", "noarch", nil)
			if a := f.upload(bearer(f.key), "lab", name, data, ""); a.status != 201 {
				errs <- fmt.Sprintf("%s: %d %s", name, a.status, a.body)
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	rd := decodeRepodata(t, f.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: bearer(f.key)}).body)
	if len(rd.PackagesC) != n {
		t.Errorf("repodata lists %d packages, want %d", len(rd.PackagesC), n)
	}
}

func TestBlobStoreOutageIsA503(t *testing.T) {
	// checklist H2
	f := newChannelFixture(t)
	f.uploadFixtures("pub")
	if err := os.RemoveAll(f.blobDir); err != nil {
		t.Fatal(err)
	}
	a := f.do(call{method: "GET", path: "/repo/pub/noarch/gh-data-1.0.0-0.conda"})
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", a.status, a.body)
	}
}

func TestOrphanedBlobsAreSwept(t *testing.T) {
	// checklist H4: a blob written before a crash, without its row.
	f := newChannelFixture(t)
	f.uploadFixtures("pub")
	ctx := t.Context()
	if err := f.srv.cfg.Blobs.Put(ctx, "packages/999/noarch/orphan/x-1.0-0.conda", strings.NewReader("orphan"), ""); err != nil {
		t.Fatal(err)
	}
	n, err := f.srv.Services().SweepOrphans(ctx, -time.Hour) // everything counts as old
	if err != nil || n != 1 {
		t.Fatalf("swept %d (err %v), want 1", n, err)
	}
	a := f.do(call{method: "GET", path: "/repo/pub/noarch/gh-data-1.0.0-0.conda"})
	if a.status != 200 {
		t.Errorf("a live package was swept: %d", a.status)
	}
	_ = io.Discard
}
