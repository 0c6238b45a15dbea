package fileblob

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/blobstore/internal/blobkey"
)

// Listing walks the directory tree in key order, not directory-walk order:
// "a-b" sorts before "a/1", but a walk visits "a/" first. (gocloud.dev's
// fileblob, used before, listed in walk order and cut its pages by key, so
// past one page it could skip objects — unacceptable for an orphan sweep.)

// callbackError carries an error from List's callback through the walk, so
// List returns it unchanged rather than as a storage failure.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// List calls fn for every object whose key starts with prefix, in key
// order; see gatehouse.BlobStore. It streams: each directory is read and
// sorted once, and an object deleted meanwhile is skipped.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string, size int64, modTime time.Time) error) error {
	if err := blobkey.ValidPrefix(prefix); err != nil {
		return err
	}
	start := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i+1]
	}
	err := s.walk(ctx, start, prefix, func(key string, d fs.DirEntry) error {
		// Temporary files and anything not written through Put (a name
		// that is not a valid key) are not objects.
		if blobkey.Valid(key) != nil {
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
	return s.fail(opList, prefix, err)
}

// walk visits the regular files under the directory of key dirKey
// (empty or ending in "/") whose keys start with prefix, in key order.
// Symbolic links are not followed.
func (s *Store) walk(ctx context.Context, dirKey, prefix string, visit func(key string, d fs.DirEntry) error) error {
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
			if err := s.walk(ctx, key, prefix, visit); err != nil {
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

// SweepTemporary removes temporary files older than minAge that crashed
// writes left beside the objects (with NoTmpDir, or a temp dir on another
// filesystem), and returns how many it removed; see gatehouse.BlobStore.
// Those left in os.TempDir are the system's to clean.
func (s *Store) SweepTemporary(ctx context.Context, minAge time.Duration) (int, error) {
	cutoff := time.Now().Add(-minAge)
	removed := 0
	err := s.walk(ctx, "", "", func(key string, d fs.DirEntry) error {
		if !strings.HasSuffix(key, blobkey.TempSuffix) {
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
	return removed, s.fail(opSweep, "", err)
}
