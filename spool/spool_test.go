package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// fullDisk mounts a tmpfs of size bytes on a fresh directory, or skips
// the test where mounting is not permitted (TestWriteOverTheFileSizeLimit
// covers the same path without privileges).
func fullDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here (%v)", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// checkFull asserts err is the full-disk error: EFULL with a message that
// blames the server, not the upload (never "cut off", never 400).
func checkFull(t *testing.T, err error) {
	t.Helper()
	if gatehouse.ErrorCode(err) != gatehouse.EFULL {
		t.Fatalf("writing past the end of the disk: %v, want insufficient_storage", err)
	}
	if msg := gatehouse.ErrorMessage(err); strings.Contains(msg, "cut off") || !strings.Contains(msg, "nothing was stored") {
		t.Errorf("the message %q should say the server is out of room and nothing was stored", msg)
	}
}

// Checklist I4, H4 (issue 8, the soak test's full data disk): a spool disk
// that fills up during an upload is the server's failure, EFULL (507),
// not a client's cut-off upload (400); the partial file is removed, and
// once there is room again the same upload succeeds.
func TestWriteOnAFullDiskIsInsufficientStorage(t *testing.T) {
	dir := fullDisk(t, 64<<10)
	d := Dir(dir)
	body := strings.Repeat("x", 200<<10)
	_, err := d.Write(strings.NewReader(body), "x.conda", 1<<20)
	checkFull(t, err)
	if left := files(t, dir); len(left) != 0 {
		t.Fatalf("files left on the full disk: %v", left)
	}
	u, err := d.Write(strings.NewReader(body[:32<<10]), "x.conda", 1<<20)
	if err != nil {
		t.Fatalf("a smaller upload after the failed one: %v", err)
	}
	Remove(u)
}

const fsizeChildEnv = "GATEHOUSE_SPOOL_FSIZE_CHILD"

// Checklist I4, H4: the same without privileges: a file size limit
// (RLIMIT_FSIZE, set in a child process so this one keeps none) makes the
// write fail with EFBIG, which is EFULL too.
func TestWriteOverTheFileSizeLimitIsInsufficientStorage(t *testing.T) {
	if dir := os.Getenv(fsizeChildEnv); dir != "" {
		lim := syscall.Rlimit{Cur: 32 << 10, Max: 32 << 10}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			t.Fatal(err)
		}
		_, err := Dir(dir).Write(strings.NewReader(strings.Repeat("x", 100<<10)), "x.conda", 1<<20)
		checkFull(t, err)
		if left := files(t, dir); len(left) != 0 {
			t.Fatalf("files left: %v", left)
		}
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteOverTheFileSizeLimitIsInsufficientStorage$", "-test.count=1")
	cmd.Env = append(os.Environ(), fsizeChildEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the child with a 32 KiB file size limit: %v\n%s", err, out)
	}
}

func TestRemoveDeletesTheSpoolFileButNotANameItNoLongerHolds(t *testing.T) {
	d := Dir(t.TempDir())
	u, err := d.Write(strings.NewReader("hello"), "x.conda", 5)
	if err != nil {
		t.Fatal(err)
	}
	Remove(u)
	Remove(u) // twice is fine
	if got := files(t, string(d)); len(got) != 0 {
		t.Fatalf("left %v", got)
	}

	// A blob store adopted the file (renamed it away) and a later upload's
	// spool file took its name: Remove must leave that one alone.
	u, err = d.Write(strings.NewReader("first"), "x.conda", 5)
	if err != nil {
		t.Fatal(err)
	}
	name := u.File.(*os.File).Name()
	adopted := filepath.Join(t.TempDir(), "object")
	if err := os.Rename(name, adopted); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte("another upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	Remove(u)
	if b, err := os.ReadFile(name); err != nil || string(b) != "another upload" {
		t.Errorf("the other upload's spool file: %q, %v", b, err)
	}
	if b, err := os.ReadFile(adopted); err != nil || string(b) != "first" {
		t.Errorf("the adopted file: %q, %v", b, err)
	}
}

// trickle returns at most 4 KB a read, as a multipart body does.
type trickle struct{ r io.Reader }

func (t trickle) Read(p []byte) (int, error) { return t.r.Read(p[:min(len(p), 4096)]) }

// Writes are gathered into writeChunk pieces (so the page cache holds the
// adopted blob in large folios); the file and digests must not notice.
func TestWriteGathersSmallReadsIntoWholeChunks(t *testing.T) {
	d := Dir(t.TempDir())
	data := make([]byte, 2*writeChunk+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, size := range []int{len(data), writeChunk, 1} {
		u, err := d.Write(trickle{strings.NewReader(string(data[:size]))}, "x.conda", int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(u.File)
		sum := sha256.Sum256(data[:size])
		if err != nil || string(b) != string(data[:size]) || u.Size != int64(size) || u.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("%d bytes: read back %d bytes (%v), upload %+v", size, len(b), err, u)
		}
		Remove(u)
	}
	if names := files(t, string(d)); len(names) != 0 {
		t.Fatalf("left %v", names)
	}
}
