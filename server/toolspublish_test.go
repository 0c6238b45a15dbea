package server

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/service/toolschannel"
	"github.com/klauspost/compress/zstd"
)

// toolsFixture is a server whose registration gate covers every client
// address, with the tools channel (owned by admin) and a public channel
// "pub" to show the gate is really on.
type toolsFixture struct {
	*fixture
	subdir, installPath string
}

func newToolsFixture(t *testing.T) *toolsFixture {
	t.Helper()
	subdir, installPath, ok := toolschannel.CLITarget(runtime.GOOS, runtime.GOARCH)
	if !ok {
		t.Skipf("no conda subdir for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	f := &toolsFixture{fixture: newFixture(t, func(c *Config) {
		c.RequireRegistration = mustPrefixes(t, "0.0.0.0/0", "::/0")
	}), subdir: subdir, installPath: installPath}
	for _, name := range []string{f.srv.cfg.ToolsChannel, "pub"} {
		ch := &gatehouse.Channel{Name: name, Visibility: gatehouse.Public, OwnerUserID: f.admin.ID, CreatedAt: f.clock.Now()}
		if err := f.store.CreateChannel(context.Background(), ch); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// fakeExecutable writes a small executable whose content depends on seed.
func fakeExecutable(t *testing.T, seed string) (path string, data []byte, sha string) {
	t.Helper()
	data = []byte("#!/bin/sh\necho 'fake gatehouse " + seed + "'\n" + strings.Repeat("\x00padding", 4096))
	path = filepath.Join(t.TempDir(), "gatehouse")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return path, data, hex.EncodeToString(sum[:])
}

// anonymous fetches a tools-channel URL from a gated address, with no key.
func (f *toolsFixture) anonymous(path string) answer {
	f.t.Helper()
	return f.do(call{method: "GET", path: path, remote: "10.1.2.3:4000"})
}

func (f *toolsFixture) repodata() repodata {
	f.t.Helper()
	a := f.anonymous("/repo/" + f.srv.cfg.ToolsChannel + "/" + f.subdir + "/repodata.json")
	if a.status != http.StatusOK {
		f.t.Fatalf("tools repodata from a gated address: %d %s", a.status, a.body)
	}
	return decodeRepodata(f.t, a.body)
}

func (f *toolsFixture) uploadEvents() int {
	f.t.Helper()
	events, err := f.store.ListAudit(context.Background(), gatehouse.AuditFilter{Action: gatehouse.AuditPackageUpload})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(events)
}

func TestPublishCLIServesTheBinaryFromTheToolsChannel(t *testing.T) {
	// checklist C1 (tools channel exempt), G3
	f := newToolsFixture(t)
	exe, data, sha := fakeExecutable(t, "one")
	if err := f.srv.PublishCLI(context.Background(), exe, "dev"); err != nil {
		t.Fatalf("PublishCLI: %v", err)
	}
	filename := "gatehouse-0.0.0.dev0-h" + sha[:8] + "_0.conda"
	rd := f.repodata()
	rec, ok := rd.PackagesC[filename]
	if !ok || len(rd.PackagesC) != 1 {
		t.Fatalf("repodata lists %v; want %s", rd.PackagesC, filename)
	}
	a := f.anonymous("/repo/" + f.srv.cfg.ToolsChannel + "/" + f.subdir + "/" + filename)
	if a.status != http.StatusOK {
		t.Fatalf("downloading the package from a gated address without a key: %d %s", a.status, a.body)
	}
	pkgSum := sha256.Sum256(a.body)
	if rec["sha256"] != hex.EncodeToString(pkgSum[:]) || rec["size"] != float64(len(a.body)) {
		t.Errorf("repodata says sha256 %v size %v; the file served has %x and %d bytes", rec["sha256"], rec["size"], pkgSum, len(a.body))
	}
	if rec["name"] != "gatehouse" || rec["version"] != "0.0.0.dev0" || rec["build"] != "h"+sha[:8]+"_0" || rec["subdir"] != f.subdir {
		t.Errorf("record = %v", rec)
	}

	t.Run("the package holds the binary, executable, at the platform's path", func(t *testing.T) {
		p, err := conda.Inspect(bytes.NewReader(a.body), int64(len(a.body)), filename, conda.DefaultLimits())
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		if p.Index.Subdir != f.subdir || p.Index.Noarch != "" || p.Index.Timestamp != f.clock.Now().UnixMilli() {
			t.Errorf("index = %+v", p.Index)
		}
		pkg, info := packageMembers(t, a.body, strings.TrimSuffix(filename, ".conda"))
		bin, ok := pkg[f.installPath]
		if !ok || len(pkg) != 1 {
			t.Fatalf("the payload holds %v; want only %s", keys(pkg), f.installPath)
		}
		if !bytes.Equal(bin.data, data) || bin.mode != 0o755 {
			t.Errorf("%s: %d bytes, mode %#o; want the %d bytes of the binary, mode 0755", f.installPath, len(bin.data), bin.mode, len(data))
		}
		var paths struct {
			Paths []struct {
				Path   string `json:"_path"`
				Type   string `json:"path_type"`
				SHA256 string `json:"sha256"`
				Size   int    `json:"size_in_bytes"`
			} `json:"paths"`
			Version int `json:"paths_version"`
		}
		if err := json.Unmarshal(info["info/paths.json"].data, &paths); err != nil {
			t.Fatal(err)
		}
		if paths.Version != 1 || len(paths.Paths) != 1 || paths.Paths[0].Path != f.installPath || paths.Paths[0].Type != "hardlink" ||
			paths.Paths[0].SHA256 != sha || paths.Paths[0].Size != len(data) {
			t.Errorf("paths.json = %s", info["info/paths.json"].data)
		}
	})
	t.Run("the gate is on for other channels", func(t *testing.T) {
		if a := f.anonymous("/repo/pub/noarch/repodata.json"); a.status != http.StatusForbidden || !strings.Contains(string(a.body), "REGISTRATION REQUIRED") {
			t.Errorf("a public channel from a gated address: %d %s", a.status, a.body)
		}
	})
	t.Run("the upload is audited in the owner's name", func(t *testing.T) {
		events, err := f.store.ListAudit(context.Background(), gatehouse.AuditFilter{Action: gatehouse.AuditPackageUpload})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Actor != "admin" || !strings.Contains(events[0].Target, filename) {
			t.Errorf("audit = %+v", events)
		}
	})
	t.Run("publishing the same binary again changes nothing", func(t *testing.T) {
		ch, _ := f.store.ChannelByName(context.Background(), f.srv.cfg.ToolsChannel)
		f.clock.Advance(time.Hour) // a later start
		if err := f.srv.PublishCLI(context.Background(), exe, "dev"); err != nil {
			t.Fatalf("PublishCLI again: %v", err)
		}
		after, _ := f.store.ChannelByName(context.Background(), f.srv.cfg.ToolsChannel)
		if after.Revision != ch.Revision || f.uploadEvents() != 1 {
			t.Errorf("revision %d → %d, %d upload events; want no change", ch.Revision, after.Revision, f.uploadEvents())
		}
		if rd2 := f.repodata(); rd2.PackagesC[filename]["sha256"] != rec["sha256"] || len(rd2.PackagesC) != 1 {
			t.Errorf("repodata changed: %v", rd2.PackagesC)
		}
	})
	t.Run("a new binary is a new package beside the old one", func(t *testing.T) {
		exe2, _, sha2 := fakeExecutable(t, "two")
		if err := f.srv.PublishCLI(context.Background(), exe2, "v1.4.0"); err != nil {
			t.Fatal(err)
		}
		rd := f.repodata()
		if _, ok := rd.PackagesC["gatehouse-1.4.0-h"+sha2[:8]+"_0.conda"]; !ok || len(rd.PackagesC) != 2 {
			t.Errorf("repodata lists %v", keys(rd.PackagesC))
		}
	})
}

func TestPublishCLIByTwoServersAtOnceKeepsOnePackage(t *testing.T) {
	// Replicas started with the same binary race; both succeed, one file.
	f := newToolsFixture(t)
	exe, _, _ := fakeExecutable(t, "race")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = f.srv.PublishCLI(context.Background(), exe, "1.0.0") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("PublishCLI %d: %v", i, err)
		}
	}
	if rd := f.repodata(); len(rd.PackagesC) != 1 {
		t.Errorf("repodata lists %v; want one package", keys(rd.PackagesC))
	}
}

func TestPublishCLIFailuresSayWhy(t *testing.T) {
	f := newToolsFixture(t)
	exe, _, _ := fakeExecutable(t, "x")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		path    string
		version string
		want    string
	}{
		{"a missing binary is reported", context.Background(), filepath.Join(t.TempDir(), "nope"), "dev", "no such file"},
		{"a directory is not a binary", context.Background(), t.TempDir(), "dev", "not a regular file"},
		{"a version conda cannot read is reported", context.Background(), exe, "1.0 beta", "cannot be a conda version"},
		{"a canceled start publishes nothing", canceled, exe, "dev", "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.srv.PublishCLI(tt.ctx, tt.path, tt.version)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("PublishCLI = %v; want an error saying %q", err, tt.want)
			}
			if n := f.uploadEvents(); n != 0 {
				t.Errorf("%d packages were published", n)
			}
		})
	}
	t.Run("a missing tools channel is named", func(t *testing.T) {
		g := newFixture(t)
		err := g.srv.PublishCLI(context.Background(), exe, "dev")
		if err == nil || !strings.Contains(err.Error(), `"gatehouse-tools"`) {
			t.Fatalf("PublishCLI = %v; want an error naming the tools channel", err)
		}
	})
}

type tarFile struct {
	data []byte
	mode int64
}

// packageMembers returns the pkg and info tarballs of a .conda, by path.
func packageMembers(t *testing.T, data []byte, stem string) (pkg, info map[string]tarFile) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) map[string]tarFile {
		rc, err := zr.Open(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer rc.Close()
		dec, err := zstd.NewReader(rc)
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		out := map[string]tarFile{}
		tr := tar.NewReader(dec)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[h.Name] = tarFile{b, h.Mode}
		}
	}
	return read("pkg-" + stem + ".tar.zst"), read("info-" + stem + ".tar.zst")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
