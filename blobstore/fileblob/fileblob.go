// Package fileblob keeps blobs as files in a local directory: the default
// gatehouse.BlobStore, opened by blobstore.Open for file:// URLs and plain
// absolute paths. An object's file name is its key.
//
// A write goes to a temporary file, is synced, and is renamed over the
// object, whose directory is then synced: readers see the old object or the
// whole new one, and a power cut leaves one of the two as well. A read hands
// the file itself to the writer (WriteTo), so net/http sends it with
// sendfile.
package fileblob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/bloberr"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/blobkey"
)

// Store is a directory of blobs. Safe for concurrent use, also by several
// processes on one directory.
type Store struct {
	dir  string // absolute and clean
	name string // file://dir, for error text
	// noTmpDir keeps temporary files beside the objects instead of in
	// os.TempDir.
	noTmpDir bool
	// dev is the directory's device, for Adopt; fileMode is the mode a
	// new file gets here (0666 less the umask).
	dev      uint64
	devKnown bool
	fileMode fs.FileMode
	durable  durableDirs
}

var _ gatehouse.BlobStore = (*Store)(nil)

// Options tune a Store. The zero value is the default.
type Options struct {
	// NoTmpDir writes temporary files beside the objects instead of in
	// os.TempDir. Without it Open checks that a file in os.TempDir can be
	// renamed into the directory, and when they are on different
	// filesystems (a tmpfs /tmp) it sets NoTmpDir by itself. Either way a
	// write is temp-then-rename, and temporary files never show in List.
	NoTmpDir bool
}

// Open opens the store in dir, an absolute path, creating the directory if
// it is missing. A directory that cannot be created or written is
// EUNAVAILABLE.
func Open(dir string, opts Options) (*Store, error) {
	if !filepath.IsAbs(dir) {
		return nil, bloberr.Invalidf("The blob storage directory must be an absolute path, such as file:///var/lib/gatehouse/blobs.")
	}
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, bloberr.Unavailable(err, fmt.Sprintf("Cannot create the package storage directory: %v.", err))
	}
	s := &Store{dir: dir, name: "file://" + filepath.ToSlash(dir), noTmpDir: opts.NoTmpDir}
	var err error
	if s.dev, s.devKnown, s.fileMode, err = probeFile(dir); err != nil {
		return nil, bloberr.Unavailable(err, fmt.Sprintf("Cannot write to the package storage directory: %v. Check its owner and permissions.", err))
	}
	if !s.noTmpDir {
		sameFS, err := renamesInto(dir)
		if err != nil {
			return nil, bloberr.Unavailable(err, fmt.Sprintf("Cannot write to the package storage directory: %v. Check its owner and permissions.", err))
		}
		s.noTmpDir = !sameFS
	}
	return s, nil
}

// path returns the file of a valid key.
func (s *Store) path(key string) string {
	return filepath.Join(s.dir, filepath.FromSlash(key))
}

// Put stores the contents of r under key; see gatehouse.BlobStore. The
// content type is not kept: the server chooses content types itself, and
// one file per object is one file to keep consistent.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, contentType string) error {
	if err := blobkey.Valid(key); err != nil {
		return err
	}
	if r == nil {
		return bloberr.Invalidf("Put needs a reader for the object's contents.")
	}
	path := s.path(key)
	known, err := s.makeDir(filepath.Dir(path))
	if err != nil {
		return s.fail(opPut, key, err)
	}
	f, err := s.createTemp(path)
	if err != nil {
		return s.fail(opPut, key, err)
	}
	// Until the rename the object is untouched; any failure before it
	// only has to remove the temporary file.
	err = writeSynced(ctx, f, r)
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return s.fail(opPut, key, err)
	}
	// If this sync fails the object is in place but may not survive a
	// power cut; the error tells the caller not to record it.
	if err := s.syncNewName(filepath.Dir(path), known); err != nil {
		return s.fail(opPut, key, err)
	}
	return nil
}

// createTemp creates the temporary file for an object at path: beside it,
// or in os.TempDir under the object's file name, with a random suffix and
// ".tmp" so List skips it and SweepTemporary can find it after a crash. The
// mode is 0666 less the umask, like any other file the server writes.
func (s *Store) createTemp(path string) (*os.File, error) {
	base := path
	if !s.noTmpDir {
		base = filepath.Join(os.TempDir(), filepath.Base(path))
	}
	for range 100 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		f, err := os.OpenFile(base+"."+hex.EncodeToString(b[:])+blobkey.TempSuffix, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, &fs.PathError{Op: "createtemp", Path: base + ".*" + blobkey.TempSuffix, Err: fs.ErrExist}
}

// Delete removes the object at key; see gatehouse.BlobStore. A directory
// is not an object, so a key naming one is missing and Delete succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blobkey.Valid(key); err != nil {
		return err
	}
	fi, err := os.Lstat(s.path(key))
	if err == nil && fi.IsDir() {
		return nil
	}
	if err == nil {
		err = os.Remove(s.path(key))
	}
	err = s.fail(opDelete, key, missing(err))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	}
	return err
}

// Ping checks that the directory exists; see gatehouse.BlobStore.
func (s *Store) Ping(ctx context.Context) error {
	fi, err := os.Stat(s.dir)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return bloberr.Unavailable(err, "The package storage directory is missing or unreadable. Check the blob storage setting and the directory.")
	}
	return nil
}

// Close does nothing: a Store holds no open files between calls.
func (s *Store) Close() error { return nil }

// String returns the store's file:// URL.
func (s *Store) String() string { return s.name }

// renamesInto reports whether a file made in os.TempDir can be renamed into
// dir (false when they are on different filesystems). Any other failure
// means dir is not writable, which Open reports at once.
func renamesInto(dir string) (bool, error) {
	probe, err := os.CreateTemp(dir, "gatehouse-probe-*.tmp")
	if err != nil {
		return false, err
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())

	f, err := os.CreateTemp("", "gatehouse-probe-*.tmp")
	if err != nil {
		return false, nil // no usable temp dir: keep temporary files beside the objects
	}
	_ = f.Close()
	dst := filepath.Join(dir, filepath.Base(f.Name()))
	err = os.Rename(f.Name(), dst)
	_ = os.Remove(f.Name())
	_ = os.Remove(dst)
	if errors.Is(err, syscall.EXDEV) {
		return false, nil
	}
	return err == nil, nil
}

// missing turns the errors that mean "no object at this key" into
// fs.ErrNotExist: a path through a file (ENOTDIR, when "a" is an object and
// the key is "a/b").
func missing(err error) error {
	if errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return err
}

// fail turns a file system error into a *gatehouse.Error with the cause in
// the chain. Nil stays nil.
func (s *Store) fail(op, key string, err error) error {
	return bloberr.Wrap(s.name, op, key, err, func(err error) (string, string) { return s.classify(op, err) })
}

func (s *Store) classify(op string, err error) (code, msg string) {
	if errors.Is(err, fs.ErrNotExist) {
		// A missing directory is an outage, not a missing file:
		// answering 404 would make clients cache the absence
		// (checklist H2).
		if fi, statErr := os.Stat(s.dir); statErr != nil || !fi.IsDir() {
			return gatehouse.EUNAVAILABLE, bloberr.MsgNoDir
		}
		// Only a lookup can find an object missing; a write that meets
		// a vanished file or directory (a concurrent delete, a temp dir
		// removed) has failed.
		if op == opGet || op == opStat || op == opDelete {
			return gatehouse.ENOTFOUND, bloberr.MsgNotFound
		}
	}
	if code, msg, ok := bloberr.Common(err); ok {
		return code, msg
	}
	return gatehouse.EUNAVAILABLE, bloberr.MsgUnavailable
}

// The operations named in errors.
const (
	opPut    = "put"
	opGet    = "get"
	opRead   = "read"
	opStat   = "stat"
	opDelete = "delete"
	opList   = "list"
	opSweep  = "sweep"
)
