package fileblob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gatehouse-dev/gatehouse/blobstore/internal/blobkey"
)

// Adopt stores the file f under key by renaming it into place: an upload
// spooled on the store's filesystem becomes the object without a copy and
// without a second new file, which together cost a small upload more CPU
// than its database transaction. f must be a regular file that nothing
// writes to any more; its name moves into the store, so the caller must not
// remove it by name afterwards (spool.Remove checks). It may keep reading
// f and must still close it.
//
// Durability is Put's: f is synced before the rename, and the directory
// after it. adopted is false, with nothing changed, when f is on another
// filesystem or is not a named regular file; the caller then Puts its
// contents instead. An error after the rename leaves the object in place,
// as a failed final sync in Put does, and tells the caller not to record it.
func (s *Store) Adopt(ctx context.Context, key string, f *os.File) (adopted bool, err error) {
	if err := blobkey.Valid(key); err != nil {
		return false, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || !filepath.IsAbs(f.Name()) {
		return false, nil
	}
	if dev, ok := device(fi); !ok || !s.devKnown || dev != s.dev {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	path := s.path(key)
	known, err := s.makeDir(filepath.Dir(path))
	if err != nil {
		return false, s.fail(opPut, key, err)
	}
	// The spool made f private; an object gets the mode Put would give it.
	if fi.Mode().Perm() != s.fileMode {
		if err := f.Chmod(s.fileMode); err != nil {
			return false, s.fail(opPut, key, err)
		}
	}
	if err := f.Sync(); err != nil {
		return false, s.fail(opPut, key, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		if linkErr, ok := err.(*os.LinkError); ok && linkErr.Err == syscall.EXDEV {
			return false, nil
		}
		return false, s.fail(opPut, key, err)
	}
	if err := s.syncNewName(filepath.Dir(path), known); err != nil {
		return true, s.fail(opPut, key, err)
	}
	return true, nil
}

// probeFile creates and removes a file in dir, to learn the device Adopt
// compares against (known is false where there is none) and the mode new
// files get there.
func probeFile(dir string) (dev uint64, known bool, mode fs.FileMode, err error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := filepath.Join(dir, "gatehouse-probe-"+hex.EncodeToString(b[:])+blobkey.TempSuffix)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return 0, false, 0, err
	}
	defer os.Remove(name)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, false, 0, err
	}
	dev, known = device(fi)
	return dev, known, fi.Mode().Perm(), nil
}
