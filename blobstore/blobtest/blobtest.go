// Package blobtest is the conformance suite every blobstore backend passes
// (as in dex's storage/conformance and litestream's replica client tests):
// a backend is done when Run passes on it.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Run runs the suite. open must return an empty store, cleaned up by t;
// it is called once per subtest.
func Run(t *testing.T, open func(t *testing.T) gatehouse.BlobStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, gatehouse.BlobStore)
	}{
		{"a stored object reads back whole", testRoundTrip},
		{"an empty object reads back empty", testEmpty},
		{"ranges read the requested bytes", testRanges},
		{"a put replaces the previous object", testOverwrite},
		{"delete removes an object and is idempotent", testDelete},
		{"list returns the objects under a prefix in key order", testList},
		{"list lets the callback delete and stop", testListCallback},
		{"list pages through more than a thousand objects without losing any", testListMany},
		{"a missing object is not found, without echoing the key", testNotFound},
		{"a put whose reader fails leaves nothing", testFailedPut},
		{"a put whose context is canceled midway leaves nothing", testCanceledPut},
		{"a failed overwrite keeps the old object", testFailedOverwrite},
		{"invalid keys are refused", testInvalidKeys},
		{"unusual but valid keys round-trip", testUnusualKeys},
		{"concurrent puts of different keys all land", testConcurrentPuts},
		{"readers never see a partial object while it is overwritten", testAtomicOverwrite},
		{"an 8 MiB object streams in and out", testLarge},
		{"ping succeeds on a working store", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func put(t *testing.T, s gatehouse.BlobStore, key string, data []byte) {
	t.Helper()
	if err := s.Put(ctx(t), key, bytes.NewReader(data), "application/octet-stream"); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get(t *testing.T, s gatehouse.BlobStore, key string, offset, length int64) ([]byte, gatehouse.BlobReader) {
	t.Helper()
	r, err := s.NewRangeReader(ctx(t), key, offset, length)
	if err != nil {
		t.Fatalf("NewRangeReader(%q, %d, %d): %v", key, offset, length, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return b, r
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func keys(t *testing.T, s gatehouse.BlobStore, prefix string) []string {
	t.Helper()
	var out []string
	err := s.List(ctx(t), prefix, func(key string, _ int64, _ time.Time) error {
		out = append(out, key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return out
}

func testRoundTrip(t *testing.T, s gatehouse.BlobStore) {
	data := []byte("this is a package file\n")
	before := time.Now().Add(-time.Minute)
	put(t, s, "linux-64/numpy-2.0.0-py312_0.conda", data)

	got, r := get(t, s, "linux-64/numpy-2.0.0-py312_0.conda", 0, -1)
	if !bytes.Equal(got, data) {
		t.Errorf("read %q, want %q", got, data)
	}
	if r.Size() != int64(len(data)) {
		t.Errorf("Size() = %d, want %d", r.Size(), len(data))
	}
	mt := r.ModTime()
	if mt.Location() != time.UTC || mt.Before(before) || mt.After(time.Now().Add(time.Minute)) {
		t.Errorf("ModTime() = %v, want about now, in UTC", mt)
	}

	size, mt2, err := s.Attributes(ctx(t), "linux-64/numpy-2.0.0-py312_0.conda")
	if err != nil {
		t.Fatalf("Attributes: %v", err)
	}
	if size != int64(len(data)) || mt2.Location() != time.UTC || !mt2.Truncate(time.Second).Equal(mt.Truncate(time.Second)) {
		t.Errorf("Attributes = %d, %v; want %d, %v", size, mt2, len(data), mt)
	}
}

func testEmpty(t *testing.T, s gatehouse.BlobStore) {
	put(t, s, "empty", nil)
	got, r := get(t, s, "empty", 0, -1)
	if len(got) != 0 || r.Size() != 0 {
		t.Errorf("read %d bytes, Size() = %d; want 0, 0", len(got), r.Size())
	}
	if got, _ := get(t, s, "empty", 0, 0); len(got) != 0 {
		t.Errorf("zero-length read of empty object returned %d bytes", len(got))
	}
}

func testRanges(t *testing.T, s gatehouse.BlobStore) {
	data := []byte("0123456789")
	put(t, s, "r", data)
	good := []struct {
		name           string
		offset, length int64
		want           string
	}{
		{"the whole object", 0, -1, "0123456789"},
		{"a middle slice", 3, 4, "3456"},
		{"from an offset to the end", 7, -1, "789"},
		{"a length past the end stops at the end", 8, 100, "89"},
		{"the last byte", 9, 1, "9"},
		{"zero bytes", 4, 0, ""},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, r := get(t, s, "r", tc.offset, tc.length)
			if string(got) != tc.want {
				t.Errorf("range (%d, %d) = %q, want %q", tc.offset, tc.length, got, tc.want)
			}
			if r.Size() != int64(len(data)) {
				t.Errorf("Size() = %d, want the whole object's %d", r.Size(), len(data))
			}
		})
	}
	bad := []struct {
		name           string
		offset, length int64
	}{
		{"an offset at the end is refused", 10, -1},
		{"an offset past the end is refused", 11, 2},
		{"a negative offset is refused", -1, -1},
		{"a length below -1 is refused", 0, -2},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.NewRangeReader(ctx(t), "r", tc.offset, tc.length)
			if err == nil {
				r.Close()
			}
			wantCode(t, fmt.Sprintf("range (%d, %d)", tc.offset, tc.length), err, gatehouse.EINVALID)
		})
	}
}

func testOverwrite(t *testing.T, s gatehouse.BlobStore) {
	put(t, s, "k", []byte("first version, longer"))
	put(t, s, "k", []byte("second"))
	got, r := get(t, s, "k", 0, -1)
	if string(got) != "second" || r.Size() != 6 {
		t.Errorf("read %q (size %d), want %q", got, r.Size(), "second")
	}
	if ks := keys(t, s, ""); !slices.Equal(ks, []string{"k"}) {
		t.Errorf("List = %q, want [k]", ks)
	}
}

func testDelete(t *testing.T, s gatehouse.BlobStore) {
	put(t, s, "d/x", []byte("x"))
	if err := s.Delete(ctx(t), "d/x"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, _, err := s.Attributes(ctx(t), "d/x")
	wantCode(t, "Attributes after Delete", err, gatehouse.ENOTFOUND)
	if err := s.Delete(ctx(t), "d/x"); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
	if err := s.Delete(ctx(t), "never/existed"); err != nil {
		t.Errorf("Delete of a key never written: %v, want nil", err)
	}
	if ks := keys(t, s, ""); len(ks) != 0 {
		t.Errorf("List after Delete = %q, want nothing", ks)
	}
}

func testList(t *testing.T, s gatehouse.BlobStore) {
	// "ch/a-b" sorts before "ch/a/1" ('-' < '/') though a directory walk
	// visits the directory "a" first.
	sizes := map[string]int{"ch/a/1": 1, "ch/a/2": 22, "ch/b/1": 3, "ch/ab": 4, "ch/a-b": 6, "ch/a.c/d": 7, "other": 5}
	for k, n := range sizes {
		put(t, s, k, bytes.Repeat([]byte("x"), n))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"ch/a/", []string{"ch/a/1", "ch/a/2"}},
		{"ch/a", []string{"ch/a-b", "ch/a.c/d", "ch/a/1", "ch/a/2", "ch/ab"}},
		{"ch/", []string{"ch/a-b", "ch/a.c/d", "ch/a/1", "ch/a/2", "ch/ab", "ch/b/1"}},
		{"", []string{"ch/a-b", "ch/a.c/d", "ch/a/1", "ch/a/2", "ch/ab", "ch/b/1", "other"}},
		{"nothing/", nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("prefix %q", tc.prefix), func(t *testing.T) {
			var got []string
			err := s.List(ctx(t), tc.prefix, func(key string, size int64, mt time.Time) error {
				got = append(got, key)
				if size != int64(sizes[key]) {
					t.Errorf("%s: size %d, want %d", key, size, sizes[key])
				}
				if mt.IsZero() || mt.Location() != time.UTC {
					t.Errorf("%s: modTime %v, want a UTC time", key, mt)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}
	for _, p := range []string{"/ch", "ch/../", "ch//", "a\\b", "x\x00"} {
		err := s.List(ctx(t), p, func(string, int64, time.Time) error { return nil })
		wantCode(t, fmt.Sprintf("List(%q)", p), err, gatehouse.EINVALID)
	}
}

func testListCallback(t *testing.T, s gatehouse.BlobStore) {
	for i := range 5 {
		put(t, s, fmt.Sprintf("gc/%d", i), []byte("x"))
	}
	// An orphan sweep deletes as it goes (checklist H4).
	err := s.List(ctx(t), "gc/", func(key string, _ int64, _ time.Time) error {
		return s.Delete(ctx(t), key)
	})
	if err != nil {
		t.Fatalf("List deleting: %v", err)
	}
	if ks := keys(t, s, "gc/"); len(ks) != 0 {
		t.Errorf("after deleting in List: %q remain", ks)
	}

	put(t, s, "stop/1", []byte("x"))
	put(t, s, "stop/2", []byte("x"))
	errStop := errors.New("stop here")
	calls := 0
	err = s.List(ctx(t), "stop/", func(string, int64, time.Time) error {
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) || calls != 1 {
		t.Errorf("List returned %v after %d calls; want the callback's error after 1", err, calls)
	}
}

func testListMany(t *testing.T, s gatehouse.BlobStore) {
	// "pg/k007-y" sorts before "pg/k007/x1" and "pg/k007/x2", against the
	// order a directory walk visits them, across more than one
	// 1000-object page.
	const groups = 370
	var want []string
	for i := range groups {
		want = append(want, fmt.Sprintf("pg/k%03d-y", i), fmt.Sprintf("pg/k%03d/x1", i), fmt.Sprintf("pg/k%03d/x2", i))
	}
	work := make(chan string)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for k := range work {
				if err := s.Put(ctx(t), k, strings.NewReader(k), ""); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for _, k := range want {
		work <- k
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Put: %v", err)
	}
	slices.Sort(want)
	if got := keys(t, s, "pg/"); !slices.Equal(got, want) {
		t.Errorf("List returned %d keys (sorted: %v), want %d in key order", len(got), slices.IsSorted(got), len(want))
	}
}

func testNotFound(t *testing.T, s gatehouse.BlobStore) {
	const key = "linux-64/secret-name-1.0-0.conda"
	_, err := s.NewRangeReader(ctx(t), key, 0, -1)
	wantCode(t, "NewRangeReader of a missing key", err, gatehouse.ENOTFOUND)
	if msg := gatehouse.ErrorMessage(err); strings.Contains(msg, "secret-name") { // checklist J2
		t.Errorf("message %q echoes the key", msg)
	}
	_, _, err = s.Attributes(ctx(t), key)
	wantCode(t, "Attributes of a missing key", err, gatehouse.ENOTFOUND)
	_, err = s.NewRangeReader(ctx(t), key, 5, 10)
	wantCode(t, "ranged read of a missing key", err, gatehouse.ENOTFOUND)
}

func testInvalidKeys(t *testing.T, s gatehouse.BlobStore) {
	bad := []struct{ name, key string }{
		{"empty", ""},
		{"dot-dot", ".."},
		{"dot-dot inside", "a/../b"},
		{"dot-dot at the end", "a/.."},
		{"dot", "."},
		{"dot part", "./a"},
		{"leading slash", "/etc/passwd"},
		{"trailing slash", "a/"},
		{"empty part", "a//b"},
		{"backslash", "a\\b"},
		{"backslash dot-dot", "..\\x"},
		{"NUL", "a\x00b"},
		{"newline", "a\nb"},
		{"DEL", "a\x7fb"},
		{"invalid UTF-8", "a\xffb"},
		{"dot-dot slash inside a part", "x../y"},
		{"an escape-like sequence", "a__0x2f__b"},
		{"reserved temp suffix", "x.conda.tmp"},
		{"reserved metadata suffix", "x.attrs"},
		{"over 1024 bytes", longKey(1025)},
		{"a part over 200 bytes", "a/" + strings.Repeat("k", 201)},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, "Put", s.Put(ctx(t), tc.key, strings.NewReader("x"), ""), gatehouse.EINVALID)
			_, err := s.NewRangeReader(ctx(t), tc.key, 0, -1)
			wantCode(t, "NewRangeReader", err, gatehouse.EINVALID)
			_, _, err = s.Attributes(ctx(t), tc.key)
			wantCode(t, "Attributes", err, gatehouse.EINVALID)
			wantCode(t, "Delete", s.Delete(ctx(t), tc.key), gatehouse.EINVALID)
		})
	}
	if ks := keys(t, s, ""); len(ks) != 0 {
		t.Errorf("invalid puts left %q", ks)
	}
}

// longKey returns a key of n bytes (n > 1005) in parts of 200 bytes, the
// longest allowed.
func longKey(n int) string {
	k := strings.Repeat(strings.Repeat("k", 200)+"/", 5)
	return k + strings.Repeat("k", n-len(k)-len(".conda")) + ".conda"
}

func testUnusualKeys(t *testing.T, s gatehouse.BlobStore) {
	keys0 := []string{
		"pkgs/naïve-1.0-0.conda",
		"with space/a b.tar.bz2",
		"a/..b/c..",
		"plus+equals=percent%25/x",
		"UPPER/lower",
		longKey(1024),
	}
	for _, k := range keys0 {
		put(t, s, k, []byte(k))
		if got, _ := get(t, s, k, 0, -1); string(got) != k {
			t.Errorf("key %q read back %q", k, got)
		}
	}
	got := keys(t, s, "")
	want := slices.Sorted(slices.Values(keys0))
	if !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}

func testConcurrentPuts(t *testing.T, s gatehouse.BlobStore) {
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			data := bytes.Repeat([]byte{byte('a' + i)}, 1000+i*1000)
			errs[i] = s.Put(ctx(t), fmt.Sprintf("conc/%02d", i), bytes.NewReader(data), "")
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	for i := range n {
		got, _ := get(t, s, fmt.Sprintf("conc/%02d", i), 0, -1)
		if want := bytes.Repeat([]byte{byte('a' + i)}, 1000+i*1000); !bytes.Equal(got, want) {
			t.Errorf("conc/%02d: read %d bytes, want %d of %q", i, len(got), len(want), rune('a'+i))
		}
	}
	if ks := keys(t, s, "conc/"); len(ks) != n {
		t.Errorf("List found %d objects, want %d", len(ks), n)
	}
}

// streamReader yields size pseudo-random bytes without holding them, and
// hashes them, so the test proves the object streams rather than fits.
type streamReader struct {
	rng  *rand.ChaCha8
	left int64
	h    io.Writer
}

func (r *streamReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.left)]
	_, _ = r.rng.Read(p)
	r.h.Write(p)
	r.left -= int64(len(p))
	return len(p), nil
}

func testLarge(t *testing.T, s gatehouse.BlobStore) {
	const size = 8 << 20
	sum := sha256.New()
	src := &streamReader{rng: rand.NewChaCha8([32]byte{7}), left: size, h: sum}
	if err := s.Put(ctx(t), "big/file.conda", src, "application/octet-stream"); err != nil {
		t.Fatalf("Put 8 MiB: %v", err)
	}
	want := sum.Sum(nil)

	r, err := s.NewRangeReader(ctx(t), "big/file.conda", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	r.Close()
	if err != nil || n != size || !bytes.Equal(h.Sum(nil), want) {
		t.Fatalf("read back %d bytes (err %v), sha256 match %v; want %d bytes, match", n, err, bytes.Equal(h.Sum(nil), want), size)
	}

	// A range in the middle matches the same bytes of the stream.
	full := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(full)
	got, _ := get(t, s, "big/file.conda", 5<<20, 1<<20)
	if !bytes.Equal(got, full[5<<20:6<<20]) {
		t.Error("the 1 MiB range at 5 MiB does not match")
	}
	size2, _, err := s.Attributes(ctx(t), "big/file.conda")
	if err != nil || size2 != size {
		t.Errorf("Attributes size %d, %v; want %d", size2, err, size)
	}
}

func testPing(t *testing.T, s gatehouse.BlobStore) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
