package fileblob

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/blobkey"
)

// errNotObject is what a key naming a directory gets: a directory is
// where keys with that prefix live, not an object.
var errNotObject = fmt.Errorf("%w: a directory, not an object", fs.ErrNotExist)

// NewRangeReader opens a range of the object at key; see
// gatehouse.BlobReader. Size and ModTime come from the file actually
// opened, so a concurrent overwrite cannot pair the new bytes with the old
// size.
func (s *Store) NewRangeReader(ctx context.Context, key string, offset, length int64) (gatehouse.BlobReader, error) {
	if err := blobkey.Valid(key); err != nil {
		return nil, err
	}
	if err := blobkey.ValidRange(offset, length); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, s.fail(opGet, key, missing(err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotObject
	}
	if err == nil {
		err = blobkey.InRange(offset, fi.Size())
	}
	if err == nil && offset > 0 {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return nil, s.fail(opGet, key, err)
	}
	n := fi.Size() - offset
	if length >= 0 {
		n = min(n, length)
	}
	return &reader{s: s, key: key, f: f, lr: io.LimitedReader{R: f, N: n}, size: fi.Size(), modTime: fi.ModTime().UTC()}, nil
}

// reader reads a range of one file, open since NewRangeReader.
type reader struct {
	s       *Store
	key     string
	f       *os.File
	lr      io.LimitedReader // f from the offset, limited to the range
	size    int64
	modTime time.Time
}

// Read reads the next bytes of the range. An error other than io.EOF is an
// EUNAVAILABLE *gatehouse.Error.
func (r *reader) Read(p []byte) (int, error) {
	n, err := r.lr.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.fail(opRead, r.key, err)
	}
	return n, err
}

// WriteTo hands w the file itself, limited to the rest of the range: an
// *io.LimitedReader over an *os.File, the pair net's sendfile path
// recognises, so a download through an http.ResponseWriter (whose ReadFrom
// reaches the TCP connection) does not pass through user space.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, &r.lr)
}

func (r *reader) Size() int64        { return r.size }
func (r *reader) ModTime() time.Time { return r.modTime }
func (r *reader) Close() error       { return r.f.Close() }

// Attributes returns the size and modification time of the object at key;
// see gatehouse.BlobStore.
func (s *Store) Attributes(ctx context.Context, key string) (size int64, modTime time.Time, err error) {
	if err := blobkey.Valid(key); err != nil {
		return 0, time.Time{}, err
	}
	fi, err := os.Stat(s.path(key))
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotObject
	}
	if err != nil {
		return 0, time.Time{}, s.fail(opStat, key, missing(err))
	}
	return fi.Size(), fi.ModTime().UTC(), nil
}
