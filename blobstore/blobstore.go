// Package blobstore keeps package files: on local disk (file://), in an
// S3-compatible bucket (s3://, tested against MinIO), or in memory (mem://,
// for tests), through gocloud.dev/blob. Every backend passes the one
// conformance suite in blobstore/blobtest.
//
// Errors are *gatehouse.Error values: ENOTFOUND for a missing object,
// EINVALID for a bad key or range (refused before the backend is touched),
// and EUNAVAILABLE for anything the backend does wrong — unreachable, 5xx,
// full, credentials refused — so a download during an outage becomes 503,
// never a 404 a client would cache (checklist H2). The text of the
// underlying error stays in the chain for logs; ErrorMessage never shows it.
package blobstore

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"gocloud.dev/blob"
)

// Store is a bucket of package files. Safe for concurrent use.
type Store struct {
	bucket *blob.Bucket
	name   string // the URL without its query, for error text
	// file backend only: the directory, whose absence turns not-found
	// into unavailable, and whose writes are synced to disk.
	dir string
}

// Reader reads one object, or a range of it. Close it when done.
type Reader struct {
	s       *Store
	key     string
	r       io.ReadCloser
	size    int64
	modTime time.Time
}

// Read reads the next bytes of the range. An error other than io.EOF is an
// EUNAVAILABLE *gatehouse.Error: the backend failed mid-stream.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.fail("read", r.key, err)
	}
	return n, err
}

// Size returns the size of the whole object, not of the range.
func (r *Reader) Size() int64 { return r.size }

// ModTime returns when the object was last written, in UTC.
func (r *Reader) ModTime() time.Time { return r.modTime }

// Close releases the reader.
func (r *Reader) Close() error { return r.r.Close() }

// WriteTo copies the rest of the range to w. On disk it hands w the file
// itself (limited to the range), so an http.ResponseWriter can send it with
// sendfile instead of copying it through user space.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var raw io.Reader
	if br, ok := r.r.(*blob.Reader); ok && r.s.dir != "" && br.As(&raw) {
		return io.Copy(w, raw)
	}
	return io.Copy(w, readerOnly{r})
}

// readerOnly hides Reader's WriteTo from io.Copy.
type readerOnly struct{ io.Reader }

// Put stores the contents of r under key, replacing any object there.
// It is atomic: readers see the old object or the whole new one, never a
// part. If r fails, ctx ends or the backend fails midway, Put returns the
// error and nothing is stored (checklist H3, F14). On disk the file is
// synced before it gets its name, so a power cut does not leave a short
// file either. An empty contentType stores application/octet-stream.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, contentType string) error {
	if err := validKey(key); err != nil {
		return err
	}
	if r == nil {
		return invalidf("Put needs a reader for the object's contents.")
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	// Cancelling ctx before Close is how gocloud aborts a write: the
	// temporary file is removed, the upload is not completed.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var f *os.File
	opts := &blob.WriterOptions{ContentType: contentType}
	if s.dir != "" {
		opts.BeforeWrite = func(as func(any) bool) error {
			as(&f)
			return nil
		}
	}
	w, err := s.bucket.NewWriter(ctx, key, opts)
	if err != nil {
		return s.fail("put", key, err)
	}
	_, err = io.Copy(w, r)
	if err == nil && f != nil {
		err = f.Sync()
	}
	if err != nil {
		cancel()
		_ = w.Close()
		return s.fail("put", key, err)
	}
	if err := w.Close(); err != nil {
		return s.fail("put", key, err)
	}
	// If this sync fails the object is in place but may not survive a
	// power cut; the error tells the caller not to record it.
	if s.dir != "" {
		if err := syncParents(s.dir, key); err != nil {
			return s.fail("put", key, err)
		}
	}
	return nil
}

// NewRangeReader opens length bytes of the object at key from offset;
// length -1 reads to the end, and a length past the end stops there. An
// offset at or past the end of a non-empty object is EINVALID (an
// unsatisfiable range), as is a negative offset or a length below -1.
func (s *Store) NewRangeReader(ctx context.Context, key string, offset, length int64) (*Reader, error) {
	if err := validKey(key); err != nil {
		return nil, err
	}
	if offset < 0 || length < -1 {
		return nil, invalidf("The byte range (offset %d, length %d) is invalid.", offset, length)
	}
	if length == 0 {
		// S3 cannot read zero bytes (it asks for one, which an empty
		// object refuses with 416), so read nothing from the attributes.
		size, modTime, err := s.Attributes(ctx, key)
		if err != nil {
			return nil, err
		}
		if offset > 0 && offset >= size {
			return nil, invalidf("The byte range starts at %d, past the end of the %d-byte file.", offset, size)
		}
		return &Reader{s: s, key: key, r: io.NopCloser(strings.NewReader("")), size: size, modTime: modTime}, nil
	}
	// fileblob takes the size from a stat of the path before it opens
	// it, so an overwrite in between pairs the new bytes with the old
	// size; stat the file actually opened instead.
	var f *os.File
	var opts *blob.ReaderOptions
	if s.dir != "" {
		opts = &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
			as(&f)
			return nil
		}}
	}
	r, err := s.bucket.NewRangeReader(ctx, key, offset, length, opts)
	if err != nil {
		return nil, s.fail("get", key, err)
	}
	size, modTime := r.Size(), r.ModTime()
	if f != nil {
		fi, err := f.Stat()
		if err != nil {
			_ = r.Close()
			return nil, s.fail("get", key, err)
		}
		size, modTime = fi.Size(), fi.ModTime()
	}
	if offset > 0 && offset >= size {
		_ = r.Close()
		return nil, invalidf("The byte range starts at %d, past the end of the %d-byte file.", offset, size)
	}
	return &Reader{s: s, key: key, r: r, size: size, modTime: modTime.UTC()}, nil
}

// Attributes returns the size of the object at key and when it was last
// written, in UTC.
func (s *Store) Attributes(ctx context.Context, key string) (size int64, modTime time.Time, err error) {
	if err := validKey(key); err != nil {
		return 0, time.Time{}, err
	}
	a, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return 0, time.Time{}, s.fail("stat", key, err)
	}
	return a.Size, a.ModTime.UTC(), nil
}

// Delete removes the object at key. Deleting a missing object succeeds, so
// a retried or concurrent delete is harmless.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return err
	}
	err := s.fail("delete", key, s.bucket.Delete(ctx, key))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	}
	return err
}

// List calls fn for every object whose key starts with prefix, in key
// order, until fn returns an error, which List returns as is. It is meant
// for sweeping orphans (checklist H4): fn may Delete the key it is given.
// Backends list what was committed when the page was read; objects being
// written are not listed.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string, size int64, modTime time.Time) error) error {
	if err := validPrefix(prefix); err != nil {
		return err
	}
	if s.dir != "" {
		return s.listFile(ctx, prefix, fn)
	}
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return s.fail("list", prefix, err)
		}
		if obj.IsDir {
			continue
		}
		if err := fn(obj.Key, obj.Size, obj.ModTime.UTC()); err != nil {
			return err
		}
	}
}

// Ping checks that the backend answers and the bucket or directory exists,
// for /readyz and for a clear message at startup. Open does not call it, so
// a server can start while storage is briefly down and report not ready.
func (s *Store) Ping(ctx context.Context) error {
	if s.dir != "" {
		fi, err := os.Stat(s.dir)
		if err == nil && !fi.IsDir() {
			err = errors.New("not a directory")
		}
		if err != nil {
			return unavailable(err, "The package storage directory is missing or unreadable. Check the blob storage setting and the directory.")
		}
	}
	ok, err := s.bucket.IsAccessible(ctx)
	if err != nil {
		return s.fail("ping", "", err)
	}
	if !ok {
		return unavailable(errors.New(s.name+": bucket not found"), "The package storage bucket does not exist. Create it, or fix the blob storage setting.")
	}
	return nil
}

// Close releases the store's resources.
func (s *Store) Close() error {
	return s.bucket.Close()
}

// String returns the store's URL without its query.
func (s *Store) String() string { return s.name }
