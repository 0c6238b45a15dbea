package server

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Uploads are stored flat, one directory per channel and subdir, moved
// from the spool rather than copied; packages stored under the earlier
// layout (a directory per upload) keep downloading, and the orphan sweep
// tells live blobs from dead ones under both.
func TestBlobKeyLayouts(t *testing.T) {
	f := newChannelFixture(t)
	files := f.uploadFixtures("pub")
	ctx := t.Context()
	ch, err := f.store.ChannelByName(ctx, "pub")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := f.store.ListPackages(ctx, ch.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	flat := regexp.MustCompile(`^packages/[0-9]+/[a-z0-9-]+/[0-9a-f]{16}-[A-Za-z0-9_-]{12}-[^/]+$`)
	for _, p := range pkgs {
		if !flat.MatchString(p.BlobKey) || !strings.HasSuffix(p.BlobKey, "-"+p.Filename) {
			t.Errorf("%s is stored under %q, want packages/<channel>/<subdir>/<sha16>-<token>-<filename>", p.Filename, p.BlobKey)
		}
		fi, err := os.Stat(filepath.Join(f.blobDir, filepath.FromSlash(p.BlobKey)))
		if err != nil {
			t.Fatal(err)
		}
		if want := os.FileMode(0o666 &^ umask); fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v (a new file's, not the spool's)", p.BlobKey, fi.Mode().Perm(), want)
		}
	}
	// The spool is empty once the uploads are done: moved files left no
	// name behind, copied ones were removed.
	spool := f.srv.cfg.TempDir
	if entries, _ := os.ReadDir(spool); len(entries) != 0 {
		t.Errorf("the spool still holds %d files", len(entries))
	}

	// A package stored under the earlier layout, as a database from
	// before holds it.
	data := files["noarch/gh-data-1.0.0-0.conda"]
	live, err := f.store.PackageByFilename(ctx, ch.ID, "noarch", "gh-data-1.0.0-0.conda")
	if err != nil {
		t.Fatal(err)
	}
	oldKey := "packages/" + itoa64(ch.ID) + "/noarch/" + live.SHA256[:16] + "-abcdefABCDEF/gh-data-1.0.0-0.conda"
	if err := f.srv.cfg.Blobs.Put(ctx, oldKey, strings.NewReader(string(data)), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.DeletePackage(ctx, ch.ID, "noarch", live.Filename); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.cfg.Blobs.Delete(ctx, live.BlobKey); err != nil {
		t.Fatal(err)
	}
	live.ID, live.BlobKey = 0, oldKey
	if _, err := f.store.AddPackage(ctx, live, false); err != nil {
		t.Fatal(err)
	}
	a := f.do(call{method: "GET", path: "/repo/pub/noarch/gh-data-1.0.0-0.conda"})
	if a.status != http.StatusOK || string(a.body) != string(data) {
		t.Fatalf("the old-layout package: status %d, %d bytes, want 200 and its %d bytes", a.status, len(a.body), len(data))
	}

	// Orphans under both layouts go; live blobs under both stay.
	orphans := []string{
		"packages/" + itoa64(ch.ID) + "/noarch/0123456789abcdef-orphanAAAAAA/x-1.0-0.conda",
		"packages/" + itoa64(ch.ID) + "/noarch/0123456789abcdef-orphanBBBBBB-x-1.0-0.conda",
	}
	for _, k := range orphans {
		if err := f.srv.cfg.Blobs.Put(ctx, k, strings.NewReader("orphan"), ""); err != nil {
			t.Fatal(err)
		}
	}
	n, err := f.srv.Services().SweepOrphans(ctx, -time.Hour) // everything counts as old
	if err != nil || n != len(orphans) {
		t.Fatalf("swept %d (err %v), want %d", n, err, len(orphans))
	}
	for _, p := range pkgs {
		path := "/repo/pub/" + p.Subdir + "/" + p.Filename
		if a := f.do(call{method: "GET", path: path}); a.status != http.StatusOK || string(a.body) != string(files[p.Subdir+"/"+p.Filename]) {
			t.Errorf("GET %s after the sweep: status %d, %d bytes", path, a.status, len(a.body))
		}
	}
	var left []string
	_ = filepath.WalkDir(f.blobDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(f.blobDir, path)
			left = append(left, filepath.ToSlash(rel))
		}
		return nil
	})
	if len(left) != len(pkgs) {
		t.Errorf("the store holds %d files, want the %d live packages: %v", len(left), len(pkgs), left)
	}
}
