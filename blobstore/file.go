package blobstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The file backend's own parts. gocloud's fileblob does the reads and the
// temp-then-rename writes; listing is done here because fileblob lists in
// directory-walk order, which is not key order ("a-b" sorts before "a/1"
// but the walk visits "a/" first), and its pages are cut by key, so past
// one page it can skip objects — unacceptable for an orphan sweep.

// callbackError carries an error from List's callback through the walk, so
// List returns it unchanged rather than as a storage failure.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// listFile calls fn for every object under s.dir whose key starts with
// prefix, in key order, streaming: each directory is read and sorted once.
func (s *Store) listFile(ctx context.Context, prefix string, fn func(key string, size int64, modTime time.Time) error) error {
	start := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i+1]
	}
	err := s.walkFile(ctx, start, prefix, func(key string, d fs.DirEntry) error {
		// Temporary files and anything not written through Put (a name
		// that is not a valid key) are not objects.
		if reservedName(key) || validKey(key) != nil {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted since the directory was read
		} else if err != nil {
			return err
		}
		if err := fn(key, info.Size(), info.ModTime().UTC()); err != nil {
			return callbackError{err}
		}
		return nil
	})
	if ce, ok := err.(callbackError); ok {
		return ce.err
	}
	return s.fail("list", prefix, err)
}

// walkFile visits the regular files under the directory of key dirKey
// (empty or ending in "/") whose keys start with prefix, in key order.
// Symbolic links are not followed.
func (s *Store) walkFile(ctx context.Context, dirKey, prefix string, visit func(key string, d fs.DirEntry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(s.dir, filepath.FromSlash(dirKey)))
	if errors.Is(err, fs.ErrNotExist) && dirKey != "" {
		// No such directory: nothing under the prefix, unless the
		// whole store is gone.
		if _, statErr := os.Stat(s.dir); statErr != nil {
			return statErr
		}
		return nil
	}
	if err != nil {
		return err
	}
	// A directory's keys continue with "/", so it sorts as name+"/".
	sortName := func(d fs.DirEntry) string {
		if d.IsDir() {
			return d.Name() + "/"
		}
		return d.Name()
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(sortName(a), sortName(b)) })
	for _, d := range entries {
		key := dirKey + sortName(d)
		if !strings.HasPrefix(key, prefix) && !strings.HasPrefix(prefix, key) {
			continue
		}
		switch {
		case d.IsDir():
			if err := s.walkFile(ctx, key, prefix, visit); err != nil {
				return err
			}
		case d.Type().IsRegular() && strings.HasPrefix(key, prefix):
			if err := visit(key, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// SweepTemporary removes temporary files older than age that crashed
// writes left beside the objects (no_tmp_dir, or a temp dir on another
// filesystem), and returns how many it removed. Writes in progress are
// younger than any sensible age (an hour or more). Other backends keep no
// such files and return 0: give S3 buckets a lifecycle rule that aborts
// incomplete multipart uploads instead.
func (s *Store) SweepTemporary(ctx context.Context, age time.Duration) (int, error) {
	if s.dir == "" {
		return 0, nil
	}
	cutoff := time.Now().Add(-age)
	removed := 0
	err := s.walkFile(ctx, "", "", func(key string, d fs.DirEntry) error {
		if !strings.HasSuffix(key, ".tmp") {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.ModTime().After(cutoff) {
			return nil
		}
		err = os.Remove(filepath.Join(s.dir, filepath.FromSlash(key)))
		if err == nil {
			removed++
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	return removed, s.fail("sweep", "", err)
}

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

// syncParents makes a new name durable: it syncs the directory that holds
// key and every directory up to the store's root, since MkdirAll may have
// just created them.
func syncParents(root, key string) error {
	d := filepath.Dir(filepath.Join(root, filepath.FromSlash(key)))
	for {
		if err := syncDir(d); err != nil {
			return err
		}
		if d == root || len(d) <= len(root) {
			return nil
		}
		d = filepath.Dir(d)
	}
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
