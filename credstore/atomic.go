package credstore

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// writeFileAtomic replaces path with data so that a reader, or a crash at
// any instant, sees either the old file or the new one, never a truncated
// mix (checklist D6): write a temporary file in the same directory, fsync
// it, rename it over path, fsync the directory. The directory is created
// with mode 0700 when missing.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600; set perm explicitly for other modes.
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("cannot set the mode of %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot flush %s to disk: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot replace %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("cannot flush %s to disk: %w", dir, err)
	}
	return nil
}

// tempPattern names temporary files after the file they replace, hidden,
// so a leftover from a crash is recognisable (".keyring-123.tmp").
func tempPattern(path string) string {
	return "." + filepath.Base(path) + "-*.tmp"
}

// removeStaleTemps deletes temporary files a killed writer left behind.
// Call it only while holding the directory lock, so no live writer's file
// is taken.
func removeStaleTemps(path string) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base + "-"
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".tmp") {
			continue
		}
		_ = os.Remove(filepath.Join(dir, name))
	}
}

func dirOf(path string) string { return filepath.Dir(path) }

// mkdirPrivate creates the directory holding path with mode 0700 when it
// is missing; an existing directory keeps its mode.
func mkdirPrivate(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	return nil
}
