package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

// The tests of atomicity: a put that fails or is abandoned leaves nothing,
// and a put that succeeds replaces the object in one step.

// failingReader yields n bytes, then err.
type failingReader struct {
	n   int64
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, r.err
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = 'p'
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// checklist H3, F14: a truncated upload leaves no object behind.
func testFailedPut(t *testing.T, s gatehouse.BlobStore) {
	for _, n := range []int64{0, 100, 1 << 20, 9 << 20} { // 9 MiB crosses S3's multipart threshold
		t.Run(fmt.Sprintf("after %d bytes", n), func(t *testing.T) {
			key := fmt.Sprintf("fail/%d.conda", n)
			errBroken := errors.New("client went away")
			err := s.Put(ctx(t), key, &failingReader{n: n, err: errBroken}, "application/octet-stream")
			if err == nil {
				t.Fatal("Put succeeded with a failing reader")
			}
			if !errors.Is(err, errBroken) && !errors.Is(err, context.Canceled) {
				t.Errorf("Put error %v does not wrap the reader's error", err)
			}
			_, _, err = s.Attributes(ctx(t), key)
			wantCode(t, "Attributes after a failed Put", err, gatehouse.ENOTFOUND)
			if ks := keys(t, s, ""); len(ks) != 0 {
				t.Errorf("List after a failed Put = %q, want nothing", ks)
			}
		})
	}
}

// cancelingReader cancels its context after n bytes and keeps yielding
// data, as a request body does when the client disconnects mid-upload.
type cancelingReader struct {
	n      int64
	cancel context.CancelFunc
}

func (r *cancelingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		r.cancel()
	}
	p = p[:min(len(p), 32<<10)]
	r.n -= int64(len(p))
	return len(p), nil
}

func testCanceledPut(t *testing.T, s gatehouse.BlobStore) {
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	err := s.Put(c, "cancel/x", io.LimitReader(&cancelingReader{n: 1 << 20, cancel: cancel}, 4<<20), "")
	if err == nil {
		t.Fatal("Put succeeded after its context was canceled")
	}
	_, _, err = s.Attributes(ctx(t), "cancel/x")
	wantCode(t, "Attributes after a canceled Put", err, gatehouse.ENOTFOUND)
}

func testFailedOverwrite(t *testing.T, s gatehouse.BlobStore) {
	put(t, s, "keep", []byte("the good version"))
	err := s.Put(ctx(t), "keep", &failingReader{n: 3, err: io.ErrUnexpectedEOF}, "")
	if err == nil {
		t.Fatal("Put succeeded with a failing reader")
	}
	if got, _ := get(t, s, "keep", 0, -1); string(got) != "the good version" {
		t.Errorf("after a failed overwrite read %q, want the old object", got)
	}
}

// testAtomicOverwrite overwrites one key with two versions of different
// lengths and contents while readers check each read is one whole version.
func testAtomicOverwrite(t *testing.T, s gatehouse.BlobStore) {
	versions := [][]byte{bytes.Repeat([]byte("A"), 300<<10), bytes.Repeat([]byte("B"), 200<<10)}
	put(t, s, "atomic", versions[0])
	c, stop := context.WithCancel(ctx(t))
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; c.Err() == nil && i < 40; i++ {
			if err := s.Put(c, "atomic", bytes.NewReader(versions[i%2]), ""); err != nil && c.Err() == nil {
				t.Errorf("Put: %v", err)
			}
		}
		stop()
	})
	reads := 0
	for c.Err() == nil {
		r, err := s.NewRangeReader(c, "atomic", 0, -1)
		if err != nil {
			if c.Err() == nil {
				t.Fatalf("NewRangeReader during overwrites: %v", err)
			}
			break
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			if c.Err() == nil {
				t.Fatalf("read during overwrites: %v", err)
			}
			break
		}
		if !bytes.Equal(b, versions[0]) && !bytes.Equal(b, versions[1]) {
			t.Fatalf("read %d bytes that are neither version (first %q, last %q)", len(b), b[:min(1, len(b))], b[max(0, len(b)-1):])
		}
		if r.Size() != int64(len(b)) {
			t.Fatalf("Size() = %d for a read of %d bytes", r.Size(), len(b))
		}
		reads++
	}
	stop()
	wg.Wait()
	if reads == 0 {
		t.Error("no read completed during the overwrites")
	}
}
