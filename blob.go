package gatehouse

import (
	"context"
	"io"
	"os"
	"time"
)

// BlobStore keeps package files (and later built repodata): on local disk,
// in an S3-compatible bucket, or in memory for tests (package blobstore
// opens one from a URL). Every implementation passes the one conformance
// suite in blobstore/blobtest. Safe for concurrent use.
//
// Errors are *Error: ENOTFOUND for a missing object, EINVALID for a bad key
// or range (refused before the backend is touched), EFULL when the disk or
// bucket is full (a 507: a retry alone will not help), and EUNAVAILABLE for
// anything else the backend does wrong — unreachable, 5xx, credentials
// refused — so a download during an outage is a 503, never a 404 a client
// would cache (checklist H2). The text of the underlying error stays in the
// chain for logs; ErrorMessage never shows it, and never names the key,
// which may reach a client (checklist J2).
//
// Keys are slash-separated relative paths of valid UTF-8, at most 1024
// bytes, with parts of at most 200 bytes; no empty, "." or ".." part, no
// backslash or control character, no "../" or "__0x" inside a part, and no
// name ending in ".tmp" or ".attrs" (the file backend's own files). Every
// backend accepts exactly the same keys.
type BlobStore interface {
	// Put stores the contents of r under key, replacing any object there.
	// It is atomic: readers see the old object or the whole new one, never
	// a part. If r fails, ctx ends or the backend fails midway, Put returns
	// the error and nothing is stored (checklist H3, F14). On disk the file
	// is synced before it gets its name, so a power cut does not leave a
	// short file either. An empty contentType stores
	// application/octet-stream.
	Put(ctx context.Context, key string, r io.Reader, contentType string) error

	// NewRangeReader opens length bytes of the object at key from offset;
	// length -1 reads to the end, and a length past the end stops there.
	// An offset at or past the end of a non-empty object is EINVALID (an
	// unsatisfiable range), as is a negative offset or a length below -1.
	// Close the reader when done.
	NewRangeReader(ctx context.Context, key string, offset, length int64) (BlobReader, error)

	// Attributes returns the size of the object at key and when it was
	// last written, in UTC.
	Attributes(ctx context.Context, key string) (size int64, modTime time.Time, err error)

	// Delete removes the object at key. Deleting a missing object
	// succeeds, so a retried or concurrent delete is harmless.
	Delete(ctx context.Context, key string) error

	// List calls fn for every object whose key starts with prefix, in key
	// order, until fn returns an error, which List returns as is. It is
	// meant for sweeping orphans (checklist H4): fn may Delete the key it
	// is given. Backends list what was committed when the page was read;
	// objects being written are not listed. The prefix follows the key
	// rules for its complete parts; the empty prefix lists everything.
	List(ctx context.Context, prefix string, fn func(key string, size int64, modTime time.Time) error) error

	// SweepTemporary removes temporary files older than minAge that
	// crashed writes left behind, and returns how many it removed. Writes
	// in progress are younger than any sensible age (an hour or more).
	// Backends that keep no such files return 0: give S3 buckets a
	// lifecycle rule that aborts incomplete multipart uploads instead.
	SweepTemporary(ctx context.Context, minAge time.Duration) (int, error)

	// Ping checks that the backend answers and the bucket or directory
	// exists, for /readyz and for a clear message at startup. Opening a
	// store does not ping it, so a server can start while storage is
	// briefly down and report not ready.
	Ping(ctx context.Context) error

	// Close releases the store's resources.
	Close() error
}

// BlobReader reads one object, or a range of it. Read fails mid-stream only
// with an EUNAVAILABLE *Error (or io.EOF at the end of the range). WriteTo
// copies the rest of the range; on disk it hands the writer the file itself,
// limited to the range, so an http.ResponseWriter can send it with sendfile
// instead of copying it through user space.
type BlobReader interface {
	io.ReadCloser
	io.WriterTo
	// Size returns the size of the whole object, not of the range.
	Size() int64
	// ModTime returns when the object was last written, in UTC.
	ModTime() time.Time
}

// MaxBlobKeySegment is the longest part of a blob key every backend
// accepts (see BlobStore): a file name with the file store's temporary
// suffix still fits the 255 bytes of common filesystems.
const MaxBlobKeySegment = 200

// BlobAdopter is a BlobStore that can take a file as an object by moving
// it into place (the file store, when the file is on its filesystem).
// Adopt reports false, and leaves f as it was, when it cannot.
type BlobAdopter interface {
	Adopt(ctx context.Context, key string, f *os.File) (adopted bool, err error)
}

// PutSpooled stores a spooled upload under key: moved into place when
// blobs can adopt the spool file (no second copy of the bytes), copied
// otherwise.
func PutSpooled(ctx context.Context, blobs BlobStore, key string, u *Upload) error {
	if a, ok := blobs.(BlobAdopter); ok {
		if f, ok := u.File.(*os.File); ok {
			if adopted, err := a.Adopt(ctx, key, f); adopted || err != nil {
				return err
			}
		}
	}
	if _, err := u.File.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return blobs.Put(ctx, key, u.File, "application/octet-stream")
}
