//go:build !unix

package credstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// readPrivateFile on systems without Unix owners and modes refuses symbolic
// links and non-regular files; ownership is left to the OS's ACLs.
func readPrivateFile(path string, limit int64, warnf func(string, ...any)) (data []byte, exists bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("cannot stat %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, true, symlinkError(path)
	}
	if !fi.Mode().IsRegular() {
		return nil, true, fmt.Errorf("refusing to use %s: it is not a regular file; remove it and log in again", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, true, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, true, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, true, fmt.Errorf("%s is larger than %d bytes, which no credentials file is; move it aside and log in again", path, limit)
	}
	return data, true, nil
}

func symlinkError(path string) error {
	return fmt.Errorf("refusing to use %s: it is a symbolic link; replace it with a regular file, or set ANACONDA_AUTH_KEYRING_PATH to the real file", path)
}

func lockDir(string) (func(), error) { return func() {}, nil }

func syncDir(string) error { return nil }
