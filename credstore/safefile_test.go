//go:build unix

package credstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// checklist D5: a keyring file readable by others is tightened with a
// warning; a symlink, a non-regular file or another user's file is refused.
func TestKeyringFilePermissions(t *testing.T) {
	const content = `{"Anaconda Cloud": {"h.example": "eyJhcGlfa2V5IjoiayJ9"}}`

	t.Run("a 0644 file of ours is used, tightened to 0600, with a warning", func(t *testing.T) {
		te := newTestEnv(t)
		path := te.keyringPath(t)
		writeFile(t, path, []byte(content), 0o644)
		e, _, err := Lookup(te.Env, "h.example")
		if err != nil || e.APIKey != "k" {
			t.Fatalf("got %+v, %v", e, err)
		}
		assertMode(t, path, 0o600)
		if len(te.warnings) != 1 || !strings.Contains(te.warnings[0], path) || !strings.Contains(te.warnings[0], "0644") {
			t.Fatalf("warnings = %q", te.warnings)
		}
	})

	t.Run("a group-writable file is tightened on save too", func(t *testing.T) {
		te := newTestEnv(t)
		path := te.keyringPath(t)
		writeFile(t, path, []byte(content), 0o660)
		if err := Save(te.Env, &Entry{Domain: "other.example", APIKey: "k2"}); err != nil {
			t.Fatal(err)
		}
		assertMode(t, path, 0o600)
		if len(te.warnings) != 1 {
			t.Fatalf("warnings = %q", te.warnings)
		}
	})

	t.Run("a symlink is refused with a message naming the path and target", func(t *testing.T) {
		te := newTestEnv(t)
		path := te.keyringPath(t)
		target := filepath.Join(t.TempDir(), "elsewhere")
		writeFile(t, target, []byte(content), 0o600)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		for name, call := range map[string]func() error{
			"Lookup": func() error { _, _, err := Lookup(te.Env, "h.example"); return err },
			"Save":   func() error { return Save(te.Env, &Entry{Domain: "h.example", APIKey: "x"}) },
			"Delete": func() error { return Delete(te.Env, "h.example") },
		} {
			err := call()
			if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "symbolic link") ||
				!strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), target) {
				t.Errorf("%s: want a refusal naming %s and %s, got %v", name, path, target, err)
			}
		}
		if got := string(readFile(t, target)); got != content {
			t.Fatalf("the link target was changed: %q", got)
		}
	})

	t.Run("a FIFO is refused without blocking", func(t *testing.T) {
		te := newTestEnv(t)
		path := te.keyringPath(t)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skipf("cannot make a FIFO here: %v", err)
		}
		_, _, err := Lookup(te.Env, "h.example")
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("want a refusal, got %v", err)
		}
	})

	t.Run("a file owned by another user is refused", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("giving a file to another user needs root")
		}
		te := newTestEnv(t)
		path := te.keyringPath(t)
		writeFile(t, path, []byte(content), 0o600)
		if err := os.Chown(path, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		_, _, err := Lookup(te.Env, "h.example")
		if err == nil || !strings.Contains(err.Error(), "owned by user id 12345") || !strings.Contains(err.Error(), path) {
			t.Fatalf("want a refusal naming the owner and path, got %v", err)
		}
		err = Save(te.Env, &Entry{Domain: "h.example", APIKey: "x"})
		if err == nil || !strings.Contains(err.Error(), "owned by user id 12345") {
			t.Fatalf("save: want a refusal, got %v", err)
		}
		if got := string(readFile(t, path)); got != content {
			t.Fatalf("the file was changed: %q", got)
		}
	})
}

func TestStaleTempFilesFromACrashAreRemovedOnSave(t *testing.T) {
	te := newTestEnv(t)
	path := te.keyringPath(t)
	stale := filepath.Join(filepath.Dir(path), ".keyring-123456.tmp")
	writeFile(t, stale, []byte(`{"Anaconda`), 0o600)
	unrelated := filepath.Join(filepath.Dir(path), ".config.toml-1.tmp")
	writeFile(t, unrelated, []byte("x"), 0o600)
	if err := Save(te.Env, &Entry{Domain: "h", APIKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale temp file still there: %v", err)
	}
	if _, err := os.Stat(unrelated); err != nil {
		t.Fatalf("another file's temp was removed: %v", err)
	}
}
