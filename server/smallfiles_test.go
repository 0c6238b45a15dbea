package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condabuild"
	"github.com/gatehouse-dev/gatehouse/server/repo"
)

// countingBlobs counts how often each blob is opened for reading.
type countingBlobs struct {
	gatehouse.BlobStore
	mu    sync.Mutex
	opens map[string]int
}

func (c *countingBlobs) NewRangeReader(ctx context.Context, key string, offset, length int64) (gatehouse.BlobReader, error) {
	c.mu.Lock()
	c.opens[key]++
	c.mu.Unlock()
	return c.BlobStore.NewRangeReader(ctx, key, offset, length)
}

func (c *countingBlobs) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.opens {
		n += v
	}
	return n
}

// withCountedBlobs counts the fixture's blob reads and keeps memory bytes
// of small package files.
func withCountedBlobs(memory int64, blobs **countingBlobs) func(*Config) {
	return func(cfg *Config) {
		*blobs = &countingBlobs{BlobStore: cfg.Blobs, opens: map[string]int{}}
		cfg.Blobs = *blobs
		cfg.PackageMemory = memory
	}
}

func TestSmallPackagesAreReadFromStorageOnceThenAnsweredFromMemory(t *testing.T) {
	var blobs *countingBlobs
	f := newChannelFixture(t, withCountedBlobs(1<<20, &blobs))
	files := f.uploadFixtures("lab")
	const name = "noarch/gh-data-1.0.0-0.conda"
	want := files[name]
	path := "/repo/lab/" + name
	before := blobs.total()

	// Concurrent first requests share one read.
	var wg sync.WaitGroup
	answers := make([]answer, 8)
	for i := range answers {
		wg.Go(func() { answers[i] = f.do(call{method: "GET", path: path, auth: bearer(f.key)}) })
	}
	wg.Wait()
	for range 20 {
		answers = append(answers, f.do(call{method: "GET", path: path, auth: bearer(f.key)}))
	}
	for i, a := range answers {
		if a.status != http.StatusOK || !bytes.Equal(a.body, want) || a.header.Get("Content-Length") != itoa(len(want)) ||
			a.header.Get("ETag") == "" {
			t.Fatalf("download %d: %d, %d bytes (want %d), headers %v", i, a.status, len(a.body), len(want), a.header)
		}
	}
	if n := blobs.total() - before; n != 1 {
		t.Errorf("%d downloads of a small file opened storage %d times, want once", len(answers), n)
	}

	// Ranges, conditional requests and HEAD answer from the same bytes.
	a := f.do(call{method: "GET", path: path, auth: bearer(f.key), header: http.Header{"Range": {"bytes=10-19"}}})
	if a.status != http.StatusPartialContent || !bytes.Equal(a.body, want[10:20]) ||
		a.header.Get("Content-Range") != "bytes 10-19/"+itoa(len(want)) {
		t.Errorf("range: %d %q %v", a.status, a.body, a.header)
	}
	etag := answers[0].header.Get("ETag")
	if a := f.do(call{method: "GET", path: path, auth: bearer(f.key), header: http.Header{"If-None-Match": {etag}}}); a.status != http.StatusNotModified || len(a.body) != 0 {
		t.Errorf("If-None-Match: %d, %d bytes", a.status, len(a.body))
	}
	if a := f.do(call{method: "HEAD", path: path, auth: bearer(f.key)}); a.status != http.StatusOK || len(a.body) != 0 {
		t.Errorf("HEAD: %d, %d bytes", a.status, len(a.body))
	}
	if n := blobs.total() - before; n != 1 {
		t.Errorf("storage was opened %d times in all, want once", n)
	}

	// Memory never answers for what the index no longer lists (G3).
	if a := f.do(call{method: "DELETE", path: "/api/channels/lab/packages/" + name, auth: bearer(f.key)}); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if a := f.do(call{method: "GET", path: path, auth: bearer(f.key)}); a.status != http.StatusNotFound {
		t.Errorf("a deleted package from memory: %d, want 404", a.status)
	}
}

func TestLargePackagesAndAZeroBudgetAlwaysReadStorage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		memory int64
		size   int
	}{
		{"larger than SmallFileMax", 1 << 20, repo.SmallFileMax + 1},
		{"no memory", 0, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var blobs *countingBlobs
			f := newChannelFixture(t, withCountedBlobs(tc.memory, &blobs))
			payload := make([]byte, tc.size)
			_, _ = rand.Read(payload) // incompressible: the package is larger still
			m := condabuild.Meta{Name: "blob", Version: "1.0", Build: "0", Subdir: "noarch", License: "MIT",
				Timestamp: time.Date(2023, 11, 14, 0, 0, 0, 0, time.UTC)}
			var pkg bytes.Buffer
			if err := condabuild.Build(&pkg, m, []condabuild.File{condabuild.BytesFile("share/blob", payload, 0o644)}); err != nil {
				t.Fatal(err)
			}
			if a := f.upload(bearer(f.key), "lab", m.Filename(), pkg.Bytes(), ""); a.status != http.StatusCreated {
				t.Fatalf("upload: %d %s", a.status, a.body)
			}
			before := blobs.total()
			for range 3 {
				a := f.do(call{method: "GET", path: "/repo/lab/noarch/" + m.Filename(), auth: bearer(f.key)})
				if a.status != http.StatusOK || !bytes.Equal(a.body, pkg.Bytes()) {
					t.Fatalf("download: %d, %d bytes", a.status, len(a.body))
				}
			}
			if n := blobs.total() - before; n != 3 {
				t.Errorf("3 downloads opened storage %d times, want 3", n)
			}
		})
	}
}
