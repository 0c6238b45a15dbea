package fileblob_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore/fileblob"
)

func TestAdopt(t *testing.T) {
	dir := t.TempDir()
	s, err := fileblob.Open(filepath.Join(dir, "blobs"), fileblob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	spoolFile := func(t *testing.T, content string) *os.File {
		t.Helper()
		f, err := os.CreateTemp(spool, "upload-*")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if _, err := f.WriteString(content); err != nil {
			t.Fatal(err)
		}
		return f
	}
	read := func(t *testing.T, key string) string {
		t.Helper()
		r, err := s.NewRangeReader(t.Context(), key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	t.Run("a spool file on the same filesystem becomes the object, with a new file's mode", func(t *testing.T) {
		f := spoolFile(t, "package bytes")
		old := f.Name()
		adopted, err := s.Adopt(t.Context(), "packages/1/linux-64/abc-x-1-0.conda", f)
		if err != nil || !adopted {
			t.Fatalf("Adopt = %v, %v; want true, nil", adopted, err)
		}
		if got := read(t, "packages/1/linux-64/abc-x-1-0.conda"); got != "package bytes" {
			t.Errorf("the object holds %q", got)
		}
		if _, err := os.Lstat(old); !os.IsNotExist(err) {
			t.Errorf("the spool name is still there (err %v)", err)
		}
		fi, err := os.Stat(filepath.Join(dir, "blobs", "packages/1/linux-64/abc-x-1-0.conda"))
		if err != nil {
			t.Fatal(err)
		}
		umask := syscall.Umask(0)
		syscall.Umask(umask)
		if want := os.FileMode(0o666 &^ umask); fi.Mode().Perm() != want {
			t.Errorf("the object's mode is %v, want %v", fi.Mode().Perm(), want)
		}
	})

	t.Run("a second adoption into the same directory works and replaces an object", func(t *testing.T) {
		for _, content := range []string{"second", "third"} {
			if adopted, err := s.Adopt(t.Context(), "packages/1/linux-64/def-y-1-0.conda", spoolFile(t, content)); err != nil || !adopted {
				t.Fatalf("Adopt = %v, %v", adopted, err)
			}
			if got := read(t, "packages/1/linux-64/def-y-1-0.conda"); got != content {
				t.Errorf("the object holds %q, want %q", got, content)
			}
		}
	})

	t.Run("a directory removed behind the store's back is created again", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(dir, "blobs", "packages")); err != nil {
			t.Fatal(err)
		}
		if adopted, err := s.Adopt(t.Context(), "packages/1/linux-64/ghi-z-1-0.conda", spoolFile(t, "again")); err != nil || !adopted {
			t.Fatalf("Adopt = %v, %v", adopted, err)
		}
		if got := read(t, "packages/1/linux-64/ghi-z-1-0.conda"); got != "again" {
			t.Errorf("the object holds %q", got)
		}
		if err := s.Put(t.Context(), "packages/1/linux-64/put.conda", strings.NewReader("put"), ""); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("an invalid key is refused and the file stays", func(t *testing.T) {
		f := spoolFile(t, "x")
		adopted, err := s.Adopt(t.Context(), "../escape", f)
		if adopted || gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("Adopt = %v, %v; want false, EINVALID", adopted, err)
		}
		if _, err := os.Stat(f.Name()); err != nil {
			t.Errorf("the spool file is gone: %v", err)
		}
	})

	t.Run("a file that is not a named regular file is left to Put", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		if adopted, err := s.Adopt(t.Context(), "packages/pipe", r); adopted || err != nil {
			t.Errorf("Adopt = %v, %v; want false, nil", adopted, err)
		}
	})
}

// A spool file on another filesystem (a tmpfs /tmp, when the store is
// elsewhere) is not moved: Adopt says so and changes nothing.
func TestAdoptOtherFilesystem(t *testing.T) {
	blobs, err := os.MkdirTemp("/dev/shm", "fileblob-test-")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	t.Cleanup(func() { os.RemoveAll(blobs) })
	s, err := fileblob.Open(blobs, fileblob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "upload-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var a, b syscall.Stat_t
	if syscall.Stat(blobs, &a) != nil || syscall.Stat(f.Name(), &b) != nil || a.Dev == b.Dev {
		t.Skip("the test's temporary directory is on /dev/shm's filesystem")
	}
	if adopted, err := s.Adopt(t.Context(), "packages/x.conda", f); adopted || err != nil {
		t.Errorf("Adopt = %v, %v; want false, nil", adopted, err)
	}
	if _, err := os.Stat(f.Name()); err != nil {
		t.Errorf("the spool file is gone: %v", err)
	}
}
