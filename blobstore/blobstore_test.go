package blobstore_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore"
	"github.com/gatehouse-dev/gatehouse/blobstore/blobtest"
	"github.com/gatehouse-dev/gatehouse/blobstore/miniotest"
)

func open(t *testing.T, url string) gatehouse.BlobStore {
	t.Helper()
	s, err := blobstore.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func TestFile(t *testing.T) {
	t.Run("file URL", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) gatehouse.BlobStore { return open(t, "file://"+t.TempDir()) })
	})
	t.Run("plain absolute path of a directory not yet made", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) gatehouse.BlobStore { return open(t, filepath.Join(t.TempDir(), "a", "b")) })
	})
	t.Run("temporary files beside the objects", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) gatehouse.BlobStore { return open(t, "file://"+t.TempDir()+"?no_tmp_dir=true") })
	})
}

func TestMem(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) gatehouse.BlobStore { return open(t, "mem://") })
}

func TestMinIO(t *testing.T) {
	m := miniotest.Start(t)
	m.UseCredentials(t)
	blobtest.Run(t, func(t *testing.T) gatehouse.BlobStore { return open(t, m.NewBucket(t)) })

	// checklist H2: a missing bucket is an outage, not a missing file.
	t.Run("a missing bucket makes the store unavailable, not empty", func(t *testing.T) {
		s := open(t, m.URL("no-such-bucket"))
		wantCode(t, "Ping", s.Ping(t.Context()), gatehouse.EUNAVAILABLE)
		_, err := s.NewRangeReader(t.Context(), "x.conda", 0, -1)
		wantCode(t, "NewRangeReader", err, gatehouse.EUNAVAILABLE)
		wantCode(t, "Put", s.Put(t.Context(), "x.conda", strings.NewReader("x"), ""), gatehouse.EUNAVAILABLE)
	})
	t.Run("wrong credentials make the store unavailable", func(t *testing.T) {
		u := m.NewBucket(t)
		t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
		s := open(t, u)
		wantCode(t, "Ping", s.Ping(t.Context()), gatehouse.EUNAVAILABLE)
		_, err := s.NewRangeReader(t.Context(), "x.conda", 0, -1)
		wantCode(t, "NewRangeReader", err, gatehouse.EUNAVAILABLE)
	})
}

// checklist H2, H3: an S3 endpoint that does not answer is EUNAVAILABLE
// for every operation, within bounded retries.
func TestS3Unreachable(t *testing.T) {
	fakeCredentials(t)
	s := open(t, "s3://bucket?endpoint=http://"+freeAddr(t)+"&region=us-east-1&use_path_style=true&max_attempts=2&timeout=2s")
	checkUnavailable(t, s)
}

// checklist H2, H3: an S3 service answering 500 or 503 is EUNAVAILABLE,
// retried a bounded number of times, and invalid keys never reach it.
func TestS3ServerErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
	}{
		{http.StatusInternalServerError, "InternalError"},
		{http.StatusServiceUnavailable, "SlowDown"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+tc.code+`</Code><Message>injected</Message></Error>`)
			}))
			t.Cleanup(srv.Close)
			fakeCredentials(t)
			s := open(t, "s3://bucket?endpoint="+srv.URL+"&region=us-east-1&use_path_style=true&max_attempts=2&timeout=2s")

			wantCode(t, "Put of an invalid key", s.Put(t.Context(), "../x", strings.NewReader("x"), ""), gatehouse.EINVALID)
			_, err := s.NewRangeReader(t.Context(), "a\\b", 0, -1)
			wantCode(t, "NewRangeReader of an invalid key", err, gatehouse.EINVALID)
			if n := requests.Load(); n != 0 {
				t.Errorf("invalid keys sent %d requests to the backend", n)
			}

			checkUnavailable(t, s)
			// Ping, Put, NewRangeReader, Attributes, Delete, List: six
			// operations, at most two attempts each (HEAD before DELETE
			// may add one operation).
			if n := requests.Load(); n == 0 || n > 14 {
				t.Errorf("%d requests for six operations with max_attempts=2", n)
			}
		})
	}
}

func checkUnavailable(t *testing.T, s gatehouse.BlobStore) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	start := time.Now()
	wantCode(t, "Ping", s.Ping(ctx), gatehouse.EUNAVAILABLE)
	wantCode(t, "Put", s.Put(ctx, "a/b.conda", strings.NewReader("data"), ""), gatehouse.EUNAVAILABLE)
	_, err := s.NewRangeReader(ctx, "a/b.conda", 0, -1)
	wantCode(t, "NewRangeReader", err, gatehouse.EUNAVAILABLE)
	if msg := gatehouse.ErrorMessage(err); strings.Contains(msg, "b.conda") || msg == "" {
		t.Errorf("message %q is empty or echoes the key", msg)
	}
	_, _, err = s.Attributes(ctx, "a/b.conda")
	wantCode(t, "Attributes", err, gatehouse.EUNAVAILABLE)
	wantCode(t, "Delete", s.Delete(ctx, "a/b.conda"), gatehouse.EUNAVAILABLE)
	wantCode(t, "List", s.List(ctx, "a/", func(string, int64, time.Time) error { return nil }), gatehouse.EUNAVAILABLE)
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("six failing operations took %v; retries are not bounded", d)
	}
}

func TestFileHidesTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, "file://"+dir+"?no_tmp_dir=true")
	// What a crash mid-write leaves behind, and a metadata sidecar.
	for _, name := range []string{"linux-64/x.conda.18a2b3c4d5e6f708.tmp", "y.conda.attrs"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err := s.List(t.Context(), "", func(key string, _ int64, _ time.Time) error {
		t.Errorf("List returned the temporary file %q", key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Attributes(t.Context(), "linux-64/x.conda")
	wantCode(t, "Attributes of the interrupted object", err, gatehouse.ENOTFOUND)
}

// checklist F14: a failed write removes its temporary file.
func TestFileFailedPutLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	s := open(t, "file://"+dir+"?no_tmp_dir=true")
	r := io.MultiReader(strings.NewReader(strings.Repeat("x", 100_000)), errReader{io.ErrUnexpectedEOF})
	if err := s.Put(t.Context(), "linux-64/x.conda", r, ""); err == nil {
		t.Fatal("Put succeeded with a failing reader")
	}
	assertNoFiles(t, dir)
}

func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("file left behind: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// When os.TempDir is on another filesystem, a rename from it would fail
// with EXDEV; Open must notice and keep temporary files beside the objects.
func TestFileTempDirOnAnotherFilesystem(t *testing.T) {
	dir := t.TempDir()
	other, err := os.MkdirTemp("/dev/shm", "gatehouse-test-")
	if err != nil {
		t.Skipf("no /dev/shm to act as a separate temp filesystem: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	if sameDevice(t, dir, other) {
		t.Skip("/dev/shm is on the same filesystem as the test's temp dir")
	}
	t.Setenv("TMPDIR", other)

	s := open(t, "file://"+dir)
	if err := s.Put(t.Context(), "linux-64/x.conda", strings.NewReader("data"), ""); err != nil {
		t.Fatalf("Put with TMPDIR on another filesystem: %v", err)
	}
	if size, _, err := s.Attributes(t.Context(), "linux-64/x.conda"); err != nil || size != 4 {
		t.Errorf("Attributes = %d, %v", size, err)
	}
	assertNoFiles(t, other)
}

func sameDevice(t *testing.T, a, b string) bool {
	t.Helper()
	var sa, sb syscall.Stat_t
	if syscall.Stat(a, &sa) != nil || syscall.Stat(b, &sb) != nil {
		t.Skip("cannot stat the directories")
	}
	return sa.Dev == sb.Dev
}

// checklist H2: a vanished storage directory is an outage, not a 404.
func TestFileDirectoryGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s := open(t, dir)
	if err := s.Put(t.Context(), "a.conda", strings.NewReader("x"), ""); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "Ping", s.Ping(t.Context()), gatehouse.EUNAVAILABLE)
	_, err := s.NewRangeReader(t.Context(), "a.conda", 0, -1)
	wantCode(t, "NewRangeReader", err, gatehouse.EUNAVAILABLE)
	_, _, err = s.Attributes(t.Context(), "a.conda")
	wantCode(t, "Attributes", err, gatehouse.EUNAVAILABLE)
}

func TestOpen(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, code string
	}{
		{"a relative path is refused", "relative/blobs", gatehouse.EINVALID},
		{"an empty location is refused", "", gatehouse.EINVALID},
		{"a file URL with a host is refused", "file://server/blobs", gatehouse.EINVALID},
		{"a relative file URL is refused", "file:blobs", gatehouse.EINVALID},
		{"an unknown file parameter is refused", "file:///tmp/x?metadata=skip", gatehouse.EINVALID},
		{"a bad no_tmp_dir is refused", "file:///tmp/x?no_tmp_dir=maybe", gatehouse.EINVALID},
		{"an unknown scheme is refused", "gs://bucket", gatehouse.EINVALID},
		{"mem with a path is refused", "mem://x", gatehouse.EINVALID},
		{"s3 without a bucket is refused", "s3://?region=us-east-1", gatehouse.EINVALID},
		{"s3 with a path is refused", "s3://b/sub?region=us-east-1", gatehouse.EINVALID},
		{"s3 with an unknown parameter is refused", "s3://b?region=us-east-1&bogus=1", gatehouse.EINVALID},
		{"s3 without a region is refused", "s3://b", gatehouse.EINVALID},
		{"s3 with max_attempts 0 is refused", "s3://b?region=us-east-1&max_attempts=0", gatehouse.EINVALID},
		{"s3 with a negative timeout is refused", "s3://b?region=us-east-1&timeout=-1s", gatehouse.EINVALID},
		{"s3 with a non-HTTP endpoint is refused", "s3://b?region=us-east-1&endpoint=ftp://x", gatehouse.EINVALID},
		{"s3 with a bad use_path_style is refused", "s3://b?region=us-east-1&use_path_style=maybe", gatehouse.EINVALID},
		{"s3 with a bad checksum setting is refused", "s3://b?region=us-east-1&request_checksum_calculation=always", gatehouse.EINVALID},
		{"credentials in the URL are refused", "s3://AKIA:secret@b?region=us-east-1", gatehouse.EINVALID},
		{"an unparsable URL is refused", "s3://b%zz?region=us-east-1", gatehouse.EINVALID},
		{"a directory path that is a file is unavailable", notADir, gatehouse.EUNAVAILABLE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := blobstore.Open(t.Context(), tc.url)
			if err == nil {
				s.Close()
			}
			wantCode(t, "Open("+tc.url+")", err, tc.code)
			if err != nil && gatehouse.ErrorMessage(err) == "" {
				t.Error("empty message")
			}
			if strings.Contains(gatehouse.ErrorMessage(err), "secret") {
				t.Errorf("message %q repeats a secret", gatehouse.ErrorMessage(err))
			}
		})
	}
	t.Run("a working s3 URL opens without contacting the service", func(t *testing.T) {
		s := open(t, "s3://b?endpoint=http://127.0.0.1:1&region=us-east-1&use_path_style=true&request_checksum_calculation=when_required&max_attempts=1&timeout=1s")
		if got := fmt.Sprint(s); got != "s3://b" {
			t.Errorf("String() = %q", got)
		}
	})
}

func TestFileSweepTemporary(t *testing.T) {
	dir := t.TempDir()
	s := open(t, "file://"+dir+"?no_tmp_dir=true")
	if err := s.Put(t.Context(), "linux-64/keep.conda", strings.NewReader("x"), ""); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "linux-64", "x.conda.18a2b3c4d5e6f708.tmp")
	fresh := filepath.Join(dir, "linux-64", "y.conda.18a2b3c4d5e6f709.tmp")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}

	n, err := s.SweepTemporary(t.Context(), 24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("SweepTemporary = %d, %v; want 1, nil", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the day-old temporary file is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a write in progress lost its temporary file: %v", err)
	}
	if _, _, err := s.Attributes(t.Context(), "linux-64/keep.conda"); err != nil {
		t.Errorf("the object was touched: %v", err)
	}

	if n, err := open(t, "mem://").SweepTemporary(t.Context(), time.Hour); n != 0 || err != nil {
		t.Errorf("mem SweepTemporary = %d, %v", n, err)
	}
}
