package repodata

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Checklist I4, H4 (issue 8, found by the soak test): an index write that
// meets a full disk leaves no partial .tmp file taking the little room
// there is; it fails, and the previous revision is served.
func TestWritesOnAFullDiskLeaveNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here (%v)", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := os.MkdirAll(filepath.Join(dir, "shards"), 0o700); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 256<<10)
	if err := writeFile(filepath.Join(dir, "repodata.json"), big); err == nil {
		t.Fatal("writing 256 KiB on a 64 KiB disk succeeded")
	}
	if err := writeShard(dir, &rendered{hash: [32]byte{1}, shard: big}); err == nil {
		t.Fatal("writing a 256 KiB shard on a 64 KiB disk succeeded")
	}
	var left []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("files left on the full disk: %v", left)
	}
}
