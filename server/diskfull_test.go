package server

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/blobstore"
	"github.com/gatehouse-dev/gatehouse/condabuild"
)

// smallDisk mounts a tmpfs of size bytes on dir (created if missing), or
// skips the test where mounting is not permitted (the spool package's
// RLIMIT_FSIZE test covers the classification without privileges).
func smallDisk(t *testing.T, dir string, size int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here (%v)", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
}

// bigPackage is a valid .conda with an incompressible payload of n bytes.
func bigPackage(t *testing.T, name string, n int) (string, []byte) {
	t.Helper()
	payload := make([]byte, n)
	rand.Read(payload)
	m := condabuild.Meta{Name: name, Version: "1.0", Build: "0", Subdir: "noarch", License: "MIT", Timestamp: time.Unix(1700000000, 0).UTC()}
	var buf bytes.Buffer
	if err := condabuild.Build(&buf, m, []condabuild.File{condabuild.BytesFile("share/"+name+"/data", payload, 0o644)}); err != nil {
		t.Fatal(err)
	}
	return m.Filename(), buf.Bytes()
}

// checkInsufficientStorage asserts an upload answered 507 with the JSON
// error insufficient_storage, and that the channel lists nothing.
func (f *channelFixture) checkInsufficientStorage(a answer, channel string) {
	f.t.Helper()
	if a.status != http.StatusInsufficientStorage || a.json(f.t)["code"] != "insufficient_storage" || a.json(f.t)["message"] == "" {
		f.t.Errorf("upload on a full disk: %d %s; want 507 insufficient_storage with a message", a.status, a.body)
	}
	l := f.do(call{method: "GET", path: "/api/channels/" + channel + "/packages", auth: bearer(f.key)})
	if pkgs, _ := l.json(f.t)["packages"].([]any); len(pkgs) != 0 {
		f.t.Errorf("after a refused upload the channel lists %v", pkgs)
	}
}

// Checklist I4, H4 (issue 8, found by the soak test): an upload that meets
// a full upload spool used to answer 400 "The upload was cut off", blaming
// the client for the server's disk. It is a 507 with a JSON reason,
// nothing is stored, nothing is left in the spool, and once there is room
// the same upload is accepted.
func TestAnUploadOnAFullSpoolDiskIs507(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "spool")
	smallDisk(t, spool, 64<<10)
	f := newChannelFixture(t, func(c *Config) { c.TempDir = spool })
	name, data := bigPackage(t, "too-big-for-the-spool", 128<<10)
	f.checkInsufficientStorage(f.upload(bearer(f.key), "lab", name, data, ""), "lab")
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("spool files left on the full disk: %v", left)
	}
	small, sdata := bigPackage(t, "fits", 8<<10)
	if a := f.upload(bearer(f.key), "lab", small, sdata, ""); a.status != http.StatusCreated {
		t.Errorf("an upload that fits: %d %s", a.status, a.body)
	}
}

// Checklist I4, H4, G3: the same when the package storage (file blob
// store) is the disk that is full: 507, no row, and no partial file.
func TestAnUploadOnAFullPackageDiskIs507(t *testing.T) {
	blobDir := filepath.Join(t.TempDir(), "blobs")
	smallDisk(t, blobDir, 64<<10)
	blobs, err := blobstore.Open(t.Context(), "file://"+blobDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	f := newChannelFixture(t, func(c *Config) { c.Blobs = blobs })
	name, data := bigPackage(t, "too-big-for-the-disk", 128<<10)
	f.checkInsufficientStorage(f.upload(bearer(f.key), "lab", name, data, ""), "lab")
	n := 0
	filepath.WalkDir(blobDir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if n != 0 {
		t.Errorf("%d files left in the full package storage", n)
	}
}
