//go:build unix

package credstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// readPrivateFile reads a file that holds secrets, refusing what another
// user could have planted or could read (checklist D5):
//   - a symbolic link, or anything but a regular file: refused;
//   - a file owned by another user: refused;
//   - a file of ours readable or writable by group or others (0644, as
//     other clients may write it): warn and tighten to 0600.
//
// A missing file returns exists=false and no error.
func readPrivateFile(path string, limit int64, warnf func(string, ...any)) (data []byte, exists bool, err error) {
	// O_NOFOLLOW refuses a symlink in the last component atomically;
	// O_NONBLOCK keeps a planted FIFO from blocking the open.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) {
			return nil, true, symlinkError(path)
		}
		return nil, true, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	if err := checkPrivate(f, path, warnf); err != nil {
		return nil, true, err
	}
	data, err = io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, true, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, true, fmt.Errorf("%s is larger than %d bytes, which no credentials file is; move it aside and log in again", path, limit)
	}
	return data, true, nil
}

// checkPrivate applies the D5 rules to an open file.
func checkPrivate(f *os.File, path string, warnf func(string, ...any)) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("refusing to use %s: it is not a regular file (%s); remove it and log in again", path, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := os.Geteuid(); int(st.Uid) != uid {
			return fmt.Errorf("refusing to use %s: it is owned by user id %d, not by you (user id %d), so someone else could have written it; remove it (or fix its owner) and log in again", path, st.Uid, uid)
		}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			return fmt.Errorf("%s is readable by other users (mode %04o) and could not be made private: %w", path, perm, err)
		}
		if warnf != nil {
			warnf("%s was readable by other users (mode %04o); changed it to 0600", path, perm)
		}
	}
	return nil
}

func symlinkError(path string) error {
	if target, err := os.Readlink(path); err == nil {
		return fmt.Errorf("refusing to use %s: it is a symbolic link (to %s); replace it with a regular file, or set ANACONDA_AUTH_KEYRING_PATH to the real file", path, target)
	}
	return fmt.Errorf("refusing to use %s: it is a symbolic link; replace it with a regular file, or set ANACONDA_AUTH_KEYRING_PATH to the real file", path)
}

// lockDir takes an exclusive advisory lock on dir, so two gatehouse
// processes saving at once do not lose each other's entries. Other
// clients do not take it; the atomic rename still keeps the file whole.
func lockDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s to lock it: %w", dir, err)
	}
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		d.Close()
		// Some file systems (NFS without lockd) cannot lock; the write is
		// still atomic, so carry on unlocked rather than fail the login.
		return func() {}, nil
	}
	return func() {
		_ = syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
		d.Close()
	}, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
