package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteSpoolsTheBytesWithTheirDigestsFromTheStart(t *testing.T) {
	d := Dir(t.TempDir())
	u, err := d.Write(strings.NewReader("hello"), "x.conda", 5)
	if err != nil {
		t.Fatal(err)
	}
	defer Remove(u)
	sum := sha256.Sum256([]byte("hello"))
	if u.Size != 5 || u.SHA256 != hex.EncodeToString(sum[:]) || u.MD5 != "5d41402abc4b2a76b9719d911017c592" || u.Filename != "x.conda" {
		t.Fatalf("upload = %+v", u)
	}
	b, err := io.ReadAll(u.File)
	if err != nil || string(b) != "hello" {
		t.Fatalf("read back %q, %v", b, err)
	}
}

// checklist F1, F14: an upload over the limit, or cut off, leaves nothing.
func TestWriteRefusesTooMuchAndCutOffBodiesLeavingNoFile(t *testing.T) {
	d := Dir(t.TempDir())
	_, err := d.Write(strings.NewReader("123456"), "x.conda", 5)
	if gatehouse.ErrorCode(err) != gatehouse.ETOOLARGE {
		t.Fatalf("over the limit: %v, want too_large", err)
	}
	_, err = d.Write(io.MultiReader(strings.NewReader("12"), failing{}), "x.conda", 5)
	if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Fatalf("cut off: %v, want invalid", err)
	}
	if left := files(t, string(d)); len(left) != 0 {
		t.Fatalf("files left behind: %v", left)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestSweepRemovesOnlyOldSpoolFilesAndClearRemovesThemAll(t *testing.T) {
	dir := t.TempDir()
	d := Dir(dir)
	old, _ := d.Write(strings.NewReader("old"), "a", 10)
	fresh, _ := d.Write(strings.NewReader("new"), "b", 10)
	other := filepath.Join(dir, "not-a-spool-file")
	os.WriteFile(other, nil, 0o600)
	past := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old.File.(*os.File).Name(), past, past)
	os.Chtimes(other, past, past)
	if n := d.Sweep(time.Hour); n != 1 {
		t.Fatalf("Sweep removed %d, want the one old spool file", n)
	}
	if n := d.Clear(); n != 1 {
		t.Fatalf("Clear removed %d, want the fresh spool file", n)
	}
	if left := files(t, dir); len(left) != 1 || left[0] != "not-a-spool-file" {
		t.Fatalf("left: %v, want only the file that is not ours", left)
	}
	Remove(fresh)
	Remove(nil)
}
