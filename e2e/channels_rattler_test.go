package e2e

// Issue 3 end to end with a real conda client: rattler (the library behind
// pixi, as its WASM build @conda-org/rattler under node) solves against the
// real binary, and every package it picks is then downloaded with each way
// a client sends a key (protocols.md) and checked against its record.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The repodata formats rattler probes per subdir, in order; a 404 moves it
// on to the next (protocols.md, "What a client fetches").
var probeOrder = []string{"repodata_shards.msgpack.zst", "repodata.json.zst", "repodata.json.bz2", "repodata.json"}

// channelUser is a non-administrator with read access to a channel and a
// key with the Platform channels scope.
type channelUser struct {
	Name, Password, Key string
}

// newChannelReader creates a user, grants it role on channel (when
// channel is not empty), and creates its key.
func newChannelReader(t *testing.T, srv *Server, channel string) channelUser {
	t.Helper()
	u := channelUser{Name: uniqueName("ray"), Password: "Rw-" + randomText(20)}
	srv.RecordSecret(u.Password)
	admin := basic("admin", srv.AdminPassword)
	if r := call(t, "POST", srv.URL+"/api/admin/users", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Name, u.Password), admin); r.Status != http.StatusCreated {
		t.Fatalf("creating user %s: %d %s", u.Name, r.Status, r.Body)
	}
	if channel != "" {
		if r := call(t, "PUT", srv.URL+"/api/channels/"+channel+"/members/"+u.Name, `{"role":"read"}`, admin); r.Status != http.StatusNoContent {
			t.Fatalf("granting %s read on %s: %d %s", u.Name, channel, r.Status, r.Body)
		}
	}
	u.Key = newKey(t, srv, basic(u.Name, u.Password), "rattler", "channels")
	return u
}

// ghChannel creates a channel holding the fixtures and libgcc-ng.
func ghChannel(t *testing.T, srv *Server, name, visibility string) {
	t.Helper()
	if visibility != "" {
		createChannel(t, srv, name, visibility)
	}
	mustUpload(t, srv, name, basic("admin", srv.AdminPassword), append(FixturePackages(t), LibgccPackage(t))...)
}

// checkChain asserts the solve picked gh-app -> gh-lib 2.10.0 (the newest,
// ordered the conda way: 2.10 > 2.9) -> gh-data, plus libgcc-ng, each
// record equal to the channel's repodata entry.
func checkChain(t *testing.T, srv *Server, channel string, auth func(*http.Request), got []Solved) {
	t.Helper()
	want := map[string]string{"gh-app": "0.3.0", "gh-data": "1.0.0", "gh-lib": "2.10.0", "libgcc-ng": "14.2.0"}
	names := map[string]bool{}
	for _, p := range got {
		names[p.Name] = true
		if v, ok := want[p.Name]; !ok || v != p.Version {
			t.Errorf("the solve picked %s %s; want versions %v", p.Name, p.Version, want)
		}
	}
	if len(names) != len(want) || len(got) != len(want) {
		t.Fatalf("the solve picked %d packages %v, want exactly %v", len(got), names, want)
	}
	idx := map[string]map[string]Record{}
	for _, sd := range []string{"noarch", "linux-64"} {
		rd, _ := fetchRepodata(t, srv, channel, sd, auth)
		idx[sd] = rd.All()
	}
	for _, p := range got {
		if p.Name == "gh-data" && p.Subdir != "noarch" {
			t.Errorf("gh-data came from %s, want noarch", p.Subdir)
		}
		// Both formats exist for every fixture but gh-lib 2.9.0; rattler
		// prefers .conda.
		if !strings.HasSuffix(p.Filename, ".conda") {
			t.Errorf("the solve picked %s, want the .conda of each package", p.Filename)
		}
		rec, ok := idx[p.Subdir][p.Filename]
		if !ok {
			t.Errorf("the solve picked %s/%s, which the channel's repodata does not list", p.Subdir, p.Filename)
			continue
		}
		if rec.SHA256 != p.SHA256 || rec.MD5 != p.MD5 || rec.Size != p.Size {
			t.Errorf("%s: rattler's record (sha256 %s, md5 %s, size %d) differs from repodata (%s, %s, %d)",
				p.Filename, p.SHA256, p.MD5, p.Size, rec.SHA256, rec.MD5, rec.Size)
		}
		if strings.Join(rec.Depends, ",") != strings.Join(p.Depends, ",") {
			t.Errorf("%s depends on %v in rattler's record, %v in repodata", p.Filename, p.Depends, rec.Depends)
		}
	}
}

// checkProbes asserts what rattler fetched for each subdir of the channel
// at prefix (a path such as /t/<redacted>/repo/c): it asks for the CEP-16
// shard index first (protocols.md), which answers 200, and then fetches
// shards under <subdir>/shards/, each answering 200; it needs no
// repodata.json at all.
func checkProbes(t *testing.T, lines []accessLine, prefix string, subdirs ...string) {
	t.Helper()
	for _, sd := range subdirs {
		var seen, shards []accessLine
		for _, l := range lines {
			file, ok := strings.CutPrefix(l.Path, prefix+"/"+sd+"/")
			if !ok {
				continue
			}
			if indexOf(probeOrder, file) >= 0 {
				seen = append(seen, l)
			}
			if strings.HasPrefix(file, "shards/") {
				shards = append(shards, l)
			}
		}
		var trace []string
		for _, l := range append(seen, shards...) {
			trace = append(trace, fmt.Sprintf("%s %s -> %d", l.Method, l.Path[len(prefix)+1:], l.Status))
		}
		t.Logf("rattler fetched for %s: %s", sd, strings.Join(trace, "; "))
		if len(seen) == 0 {
			t.Errorf("rattler fetched no repodata for %s", sd)
			continue
		}
		for _, l := range seen {
			if file := l.Path[strings.LastIndex(l.Path, "/")+1:]; file != probeOrder[0] || l.Status != http.StatusOK {
				t.Errorf("rattler fetched %s (%d) for %s; want only the shard index, answered 200", file, l.Status, sd)
			}
		}
		for _, l := range shards {
			if l.Status != http.StatusOK {
				t.Errorf("shard %s answered %d", l.Path, l.Status)
			}
		}
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// credentialForms are the ways protocols.md says clients send a key to a
// channel: URL and auth for a file of channel.
func credentialForms(srv *Server, owner, key string) []struct {
	how  string
	url  func(channel, file string) string
	auth func(*http.Request)
} {
	plain := func(c, f string) string { return srv.URL + "/repo/" + c + "/" + f }
	return []struct {
		how  string
		url  func(channel, file string) string
		auth func(*http.Request)
	}{
		{"Authorization: Bearer", plain, bearer(key)},
		{"Authorization: token", plain, tokenAuth(key)},
		{"HTTP Basic with the key as password", plain, basic(owner, key)},
		{"/t/<key>/ before /repo", func(c, f string) string { return srv.URL + "/t/" + key + "/repo/" + c + "/" + f }, nil},
		{"/t/<key>/ after /repo (conda's form)", func(c, f string) string { return srv.URL + "/repo/t/" + key + "/" + c + "/" + f }, nil},
	}
}

// checkDownloads downloads every solved package through each credential
// form and compares its bytes with rattler's record (checklist B4, G3).
func checkDownloads(t *testing.T, srv *Server, channel, owner, key string, pkgs []Solved) {
	t.Helper()
	for _, form := range credentialForms(srv, owner, key) {
		t.Run("downloads through "+form.how+" match their records", func(t *testing.T) {
			for _, p := range pkgs {
				r := get(t, form.url(channel, p.Subdir+"/"+p.Filename), form.auth)
				if r.Status != http.StatusOK {
					t.Errorf("%s/%s: %d %s", p.Subdir, p.Filename, r.Status, r.Body)
					continue
				}
				if got := SHA256Hex([]byte(r.Body)); got != p.SHA256 || int64(len(r.Body)) != p.Size {
					t.Errorf("%s: served %d bytes with sha256 %s; the record says %d bytes, %s", p.Filename, len(r.Body), got, p.Size, p.SHA256)
				}
				if etag := r.Header.Get("ETag"); etag != `"`+p.SHA256+`"` {
					t.Errorf("%s: ETag %s, want the sha256", p.Filename, etag)
				}
			}
		})
	}
}

// checkRefusal asserts a channel URL answers 403 with the JSON reason
// conda prints (protocols.md).
func checkRefusal(t *testing.T, url string, auth func(*http.Request), reason string) {
	t.Helper()
	r := get(t, url, auth)
	var body channelRefusalBody
	if r.Status != http.StatusForbidden || json.Unmarshal([]byte(r.Body), &body) != nil || body.Reason != reason || body.Message == "" {
		t.Errorf("GET %s: %d %s; want 403 with reason %q", RedactKeyPath(url), r.Status, r.Body, reason)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: Content-Type %q, want application/json so conda shows the reason", RedactKeyPath(url), ct)
	}
}

type channelRefusalBody struct {
	Reason, Message string
}

// checkKeysRedacted asserts the log recorded the key-bearing requests with
// the key cut out, and holds no piece of any key or password (checklist
// J1; the harness searches the log and data again when the server stops).
func checkKeysRedacted(t *testing.T, srv *Server) {
	t.Helper()
	logs := srv.Logs()
	n := 0
	for _, l := range accessLog(logs) {
		if strings.Contains(l.Path, "/t/<redacted>/") {
			n++
		}
	}
	if n == 0 {
		t.Errorf("no request line with /t/<redacted>/: the /t/ requests were not logged, so the search below proves nothing")
	}
	if hit := NewSecretFinder(srv.Secrets()).Find([]byte(logs)); hit != "" {
		t.Errorf("the server's log holds a piece of a key: %q", hit)
	}
}

// Issue 3; checklist B4, G3, G5, J1: rattler solves a private channel
// through a key in the channel URL, in both places a /t/<key>/ segment
// may stand, and is refused without one.
func TestRattlerSolvesAPrivateChannel(t *testing.T) {
	needOrSkip(t, RattlerReady())
	srv := Start(t, gatehouseBin, Options{})
	channel := uniqueName("gh-private")
	ghChannel(t, srv, channel, "private")
	ray := newChannelReader(t, srv, channel)
	platforms := []string{"linux-64", "noarch"}

	for _, form := range []struct{ how, url, logged string }{
		{"/t/<key>/ before /repo", srv.URL + "/t/" + ray.Key + "/repo/" + channel, "/t/<redacted>/repo/" + channel},
		{"/repo/t/<key>/ (conda's form)", srv.URL + "/repo/t/" + ray.Key + "/" + channel, "/repo/t/<redacted>/" + channel},
	} {
		t.Run("a "+form.how+" channel URL resolves gh-app, gh-lib 2.10.0 and gh-data", func(t *testing.T) {
			since := logMark(srv)
			pkgs, failed := rattlerSolve(t, []string{"gh-app"}, []string{form.url}, platforms)
			fetched := since() // before the test's own requests
			if failed != "" {
				t.Fatalf("the solve failed: %s", RedactKeyPath(failed))
			}
			checkChain(t, srv, channel, bearer(ray.Key), pkgs)
			for _, p := range pkgs {
				// Package URLs are joined onto the channel URL, key included.
				if want := form.url + "/" + p.Subdir + "/" + p.Filename; p.URL != want {
					t.Errorf("rattler's URL for %s is %s, want %s", p.Filename, RedactKeyPath(p.URL), RedactKeyPath(want))
				}
			}
			checkProbes(t, fetched, form.logged, platforms...)
			checkDownloads(t, srv, channel, ray.Name, ray.Key, pkgs)
		})
	}

	t.Run("with no key the solve is refused with 403", func(t *testing.T) {
		url := srv.URL + "/repo/" + channel
		pkgs, failed := rattlerSolve(t, []string{"gh-app"}, []string{url}, platforms)
		if failed == "" {
			t.Fatalf("the solve succeeded without a key: %v", pkgs)
		}
		if !strings.Contains(failed, "403 Forbidden") {
			t.Errorf("rattler's error %q does not report the 403", failed)
		}
		t.Logf("rattler said: %s", failed)
		for _, f := range append(append([]string{}, probeOrder...), "gh-lib-2.10.0-h1a2b3c4_0.conda") {
			checkRefusal(t, url+"/linux-64/"+f, nil, "ACCESS DENIED")
		}
	})

	t.Run("a key of a user without access is refused with 403", func(t *testing.T) {
		outsider := newChannelReader(t, srv, "")
		_, failed := rattlerSolve(t, []string{"gh-app"}, []string{srv.URL + "/t/" + outsider.Key + "/repo/" + channel}, platforms)
		if !strings.Contains(failed, "403 Forbidden") {
			t.Errorf("rattler's error %q does not report a 403", RedactKeyPath(failed))
		}
		for _, form := range credentialForms(srv, outsider.Name, outsider.Key) {
			checkRefusal(t, form.url(channel, "noarch/repodata.json"), form.auth, "ACCESS DENIED")
		}
	})

	t.Run("the log shows the /t/ requests without their keys", func(t *testing.T) {
		checkKeysRedacted(t, srv)
	})
}

// Issue 3; checklist C1, C2, D8: from a network that must register, a
// public channel refuses rattler without a key (REGISTRATION REQUIRED) and
// serves it with one, while the tools channel that installs the
// registration tooling needs no key at all.
func TestRattlerFromANetworkThatRequiresRegistration(t *testing.T) {
	needOrSkip(t, RattlerReady())
	// A tools channel of its own: on a database shared by earlier runs,
	// gatehouse-tools would list files kept in their --data.
	tools := uniqueName("tools")
	srv := Start(t, gatehouseBin, Options{Args: []string{"--require-registration", "127.0.0.0/8", "--tools-channel", tools}})
	public := uniqueName("gh-public")
	ghChannel(t, srv, public, "public")
	ghChannel(t, srv, tools, "") // made by the server at start
	ray := newChannelReader(t, srv, "")
	platforms := []string{"linux-64", "noarch"}

	t.Run("a public channel with no key is refused: REGISTRATION REQUIRED", func(t *testing.T) {
		url := srv.URL + "/repo/" + public
		since := logMark(srv)
		pkgs, failed := rattlerSolve(t, []string{"gh-app"}, []string{url}, platforms)
		if failed == "" {
			t.Fatalf("the solve succeeded from a gated network without a key: %v", pkgs)
		}
		// A 403 ends the solve: nothing else is asked for, nothing served.
		for _, l := range since() {
			if strings.HasPrefix(l.Path, "/repo/"+public+"/") && l.Status != http.StatusForbidden {
				t.Errorf("rattler's %s %s answered %d from a gated network without a key", l.Method, l.Path, l.Status)
			}
		}
		if !strings.Contains(failed, "403 Forbidden") {
			t.Errorf("rattler's error %q does not report the 403", failed)
		}
		// Every route of the channel, not only the first rattler asks for.
		for _, f := range []string{"channeldata.json", "noarch/repodata.json", "linux-64/repodata.json.zst",
			"linux-64/repodata_shards.msgpack.zst", "linux-64/gh-lib-2.10.0-h1a2b3c4_0.conda"} {
			checkRefusal(t, url+"/"+f, nil, "REGISTRATION REQUIRED")
		}
	})

	t.Run("the same channel with a key in the URL resolves", func(t *testing.T) {
		since := logMark(srv)
		url := srv.URL + "/t/" + ray.Key + "/repo/" + public
		pkgs, failed := rattlerSolve(t, []string{"gh-app"}, []string{url}, platforms)
		fetched := since()
		if failed != "" {
			t.Fatalf("the solve failed: %s", RedactKeyPath(failed))
		}
		checkChain(t, srv, public, bearer(ray.Key), pkgs)
		checkProbes(t, fetched, "/t/<redacted>/repo/"+public, platforms...)
		checkDownloads(t, srv, public, ray.Name, ray.Key, pkgs)
	})

	t.Run("the tools channel needs no key", func(t *testing.T) {
		since := logMark(srv)
		url := srv.URL + "/repo/" + tools
		pkgs, failed := rattlerSolve(t, []string{"gh-app"}, []string{url}, platforms)
		fetched := since()
		if failed != "" {
			t.Fatalf("the solve failed: %s", failed)
		}
		checkChain(t, srv, tools, nil, pkgs)
		checkProbes(t, fetched, "/repo/"+tools, platforms...)
		for _, p := range pkgs {
			r := get(t, p.URL, nil)
			if r.Status != http.StatusOK || SHA256Hex([]byte(r.Body)) != p.SHA256 {
				t.Errorf("%s without a key: %d, sha256 %s, want 200 and %s", p.Filename, r.Status, SHA256Hex([]byte(r.Body)), p.SHA256)
			}
		}
	})

	t.Run("the administrator sees the registered client", func(t *testing.T) {
		admin := basic("admin", srv.AdminPassword)
		deadline := time.Now().Add(20 * time.Second)
		for {
			var list struct {
				Clients []struct {
					Username, IP string
					UserAgent    string `json:"user_agent"`
					Requests     int64
				}
			}
			decode(t, call(t, "GET", srv.URL+"/api/admin/clients", "", admin), &list)
			for _, c := range list.Clients {
				if c.Username == ray.Name {
					t.Logf("client: %s from %s (%q), %d requests", c.Username, c.IP, c.UserAgent, c.Requests)
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET /api/admin/clients does not list %s 20s after its key fetched from a gated network: %+v", ray.Name, list.Clients)
			}
			time.Sleep(100 * time.Millisecond) // polling a background flush
		}
	})

	t.Run("the log shows the /t/ requests without their keys", func(t *testing.T) {
		checkKeysRedacted(t, srv)
	})
}
