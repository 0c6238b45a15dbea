package e2e

// Issue 9 with real clients against the real binary: rattler solves a
// proxy channel through its CEP-16 shards, and conda (the kit in
// ../shared/clients, classic solver) installs from a proxy and from a
// mirror. The upstream is a hosted channel of the same server, reached
// over HTTP like any other upstream.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// upstreamOf creates a proxy or mirror channel of upstreamURL and waits
// for its first sync to end well.
func upstreamOf(t *testing.T, srv *Server, name, mode, upstreamURL string) {
	t.Helper()
	admin := basic("admin", srv.AdminPassword)
	body := fmt.Sprintf(`{"name":%q,"visibility":"public","upstream":{"url":%q,"mode":%q}}`, name, upstreamURL, mode)
	if r := call(t, "POST", srv.URL+"/api/channels", body, admin); r.Status != http.StatusCreated {
		t.Fatalf("creating the %s %s: %d %s", mode, name, r.Status, r.Body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var ch struct {
			Upstream struct {
				Status struct {
					State, Error string
					Progress     map[string]any
				}
			}
		}
		decode(t, call(t, "GET", srv.URL+"/api/channels/"+name, "", admin), &ch)
		st := ch.Upstream.Status
		if st.State == "ok" {
			t.Logf("%s %s synced: %v", mode, name, st.Progress)
			return
		}
		if st.State == "failed" || time.Now().After(deadline) {
			t.Fatalf("the %s %s: state %q, error %q", mode, name, st.State, st.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Issue 9, protocols.md "What a client fetches": rattler solves a proxy
// channel through the shard index and shards only, never repodata.json,
// and the packages it picks download verified (fetched from the upstream
// on first request).
func TestRattlerSolvesAProxiedChannelThroughShards(t *testing.T) {
	needOrSkip(t, RattlerReady())
	srv := Start(t, gatehouseBin, Options{Args: []string{loopbackUpstreams}})
	hosted := uniqueName("gh-up")
	ghChannel(t, srv, hosted, "public")
	proxy := uniqueName("gh-proxy")
	upstreamOf(t, srv, proxy, "proxy", srv.URL+"/repo/"+hosted)
	platforms := []string{"linux-64", "noarch"}

	since := logMark(srv)
	pkgs, failed := rattlerSolve(t, []string{"gh-app"}, []string{srv.URL + "/repo/" + proxy}, platforms)
	fetched := since()
	if failed != "" {
		t.Fatalf("the solve failed: %s", failed)
	}
	checkChain(t, srv, proxy, nil, pkgs)
	checkProbes(t, fetched, "/repo/"+proxy, platforms...)
	shards := 0
	for _, l := range fetched {
		if strings.HasPrefix(l.Path, "/repo/"+proxy+"/") && strings.Contains(l.Path, "/shards/") {
			shards++
		}
	}
	if shards == 0 {
		t.Error("rattler fetched no shard of the proxy")
	}
	for _, p := range pkgs {
		r := get(t, p.URL, nil)
		if r.Status != http.StatusOK || SHA256Hex([]byte(r.Body)) != p.SHA256 {
			t.Errorf("%s from the proxy: %d, sha256 %s, want 200 and %s", p.Filename, r.Status, SHA256Hex([]byte(r.Body)), p.SHA256)
		}
	}
	// The proxy fetched each file from its upstream (the hosted channel).
	upstreamGets := map[string]int{}
	for _, l := range accessLog(srv.Logs()) {
		if f, ok := strings.CutPrefix(l.Path, "/repo/"+hosted+"/"); ok && strings.HasSuffix(f, ".conda") {
			upstreamGets[f]++
		}
	}
	for _, p := range pkgs {
		if upstreamGets[p.Subdir+"/"+p.Filename] != 1 {
			t.Errorf("the upstream was asked %d times for %s, want once", upstreamGets[p.Subdir+"/"+p.Filename], p.Filename)
		}
	}
}

// condaInstall runs the kit's conda (classic solver) to create an
// environment with gh-app from channelURL only, in a home of its own.
func condaInstallGhApp(t *testing.T, channelURL string) (string, error) {
	t.Helper()
	kit := condaKit(t)
	home := t.TempDir()
	prefix := filepath.Join(home, "env")
	condarc := filepath.Join(home, ".condarc")
	if err := os.WriteFile(condarc, []byte("channels: []\ndefault_channels: []\nsolver: classic\nauto_update_conda: false\nnotify_outdated_conda: false\nanaconda_anon_usage: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(kit, "bin", "conda"), "create", "--yes", "--quiet", "--json",
		"--solver", "classic", "--override-channels", "-c", channelURL, "-p", prefix, "gh-app")
	cmd.Env = append(hermeticEnv(), "HOME="+home, "CONDARC="+condarc, "CONDA_PKGS_DIRS="+filepath.Join(home, "pkgs"),
		"CONDA_SUBDIR=linux-64", "CONDA_OVERRIDE_GLIBC=2.36", "XDG_CACHE_HOME="+filepath.Join(home, "cache"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("conda create: %w", err)
	}
	return prefix, nil
}

// checkInstalled asserts the environment holds the chain gh-app ->
// gh-lib 2.10.0 -> gh-data with its files.
func checkInstalled(t *testing.T, prefix string) {
	t.Helper()
	want := map[string]string{"gh-app": "0.3.0", "gh-lib": "2.10.0", "gh-data": "1.0.0"}
	metas, _ := filepath.Glob(filepath.Join(prefix, "conda-meta", "*.json"))
	got := map[string]string{}
	for _, m := range metas {
		var rec struct{ Name, Version string }
		if b, err := os.ReadFile(m); err == nil && json.Unmarshal(b, &rec) == nil {
			got[rec.Name] = rec.Version
		}
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("conda installed %s %q, want %s (installed: %v)", name, got[name], v, got)
		}
	}
}

// Issue 9: conda installs from a proxy channel and from a mirror channel
// whose upstream is a hosted channel.
func TestCondaInstallsFromAProxyAndAMirror(t *testing.T) {
	condaKit(t)
	// Subdirs compact a second after their last change, so conda also
	// reads the one-frame .zst (README "Compaction").
	srv := Start(t, gatehouseBin, Options{Args: []string{loopbackUpstreams, "--repodata-compact-after=1s"}})
	hosted := uniqueName("gh-up")
	ghChannel(t, srv, hosted, "public")
	t.Run("from the hosted channel once compacted", func(t *testing.T) {
		for _, sd := range []string{"noarch", "linux-64"} {
			url := srv.URL + "/repo/" + hosted + "/" + sd + "/repodata.json.zst"
			deadline := time.Now().Add(30 * time.Second)
			for {
				r := call(t, "GET", url, "", nil)
				if frames := bytes.Count([]byte(r.Body), []byte{0x28, 0xb5, 0x2f, 0xfd}); r.Status == 200 && frames == 1 {
					break
				} else if time.Now().After(deadline) {
					t.Fatalf("%s: %d, %d zstd frames 30 s after the last upload; want one", url, r.Status, frames)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		since := logMark(srv)
		prefix, err := condaInstallGhApp(t, srv.URL+"/repo/"+hosted)
		if err != nil {
			t.Fatalf("%v\n%s", err, prefix)
		}
		checkInstalled(t, prefix)
		zst := 0
		for _, l := range since() {
			if strings.HasSuffix(l.Path, "/repodata.json.zst") && l.Status == http.StatusOK {
				zst++
			}
		}
		if zst == 0 {
			t.Error("conda did not read the compacted repodata.json.zst")
		}
	})
	for _, mode := range []string{"proxy", "mirror"} {
		t.Run("from a "+mode, func(t *testing.T) {
			name := uniqueName("gh-" + mode)
			upstreamOf(t, srv, name, mode, srv.URL+"/repo/"+hosted)
			since := logMark(srv)
			prefix, err := condaInstallGhApp(t, srv.URL+"/repo/"+name)
			if err != nil {
				t.Fatalf("%v\n%s", err, prefix)
			}
			checkInstalled(t, prefix)
			var Repodata, files int
			for _, l := range since() {
				if !strings.HasPrefix(l.Path, "/repo/"+name+"/") {
					continue
				}
				if strings.HasSuffix(l.Path, "/repodata.json") || strings.HasSuffix(l.Path, "/repodata.json.zst") {
					Repodata++
				}
				if strings.HasSuffix(l.Path, ".conda") && l.Status == http.StatusOK {
					files++
				}
			}
			if Repodata == 0 || files < 3 {
				t.Errorf("conda fetched %d repodata and %d package files from the %s, want repodata and at least 3 files", Repodata, files, mode)
			}
		})
	}
}
