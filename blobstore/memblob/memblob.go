// Package memblob keeps blobs in memory, for tests: the gatehouse.BlobStore
// that blobstore.Open returns for mem://. It passes the same conformance
// suite as the disk and S3 backends, so a test on it means what it says.
package memblob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/bloberr"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/blobkey"
)

// Store is a map of objects. Safe for concurrent use.
type Store struct {
	mu      sync.RWMutex
	objects map[string]object
}

// object is one stored version. Its data is never changed after Put, so a
// reader can keep reading it after an overwrite or a delete.
type object struct {
	data    []byte
	modTime time.Time
}

var _ gatehouse.BlobStore = (*Store)(nil)

// errNotFound is the cause of every ENOTFOUND.
var errNotFound = errors.New("no such object")

// New returns an empty store.
func New() *Store {
	return &Store{objects: make(map[string]object)}
}

// Put stores the contents of r under key; see gatehouse.BlobStore. The
// object takes its place only once r is read to the end, so a failed or
// canceled Put leaves the old one.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, contentType string) error {
	if err := blobkey.Valid(key); err != nil {
		return err
	}
	if r == nil {
		return bloberr.Invalidf("Put needs a reader for the object's contents.")
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(ctxReader{ctx, r})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fail("put", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = object{data: buf.Bytes(), modTime: time.Now().UTC()}
	return nil
}

// ctxReader fails its reads once ctx ends, as a network upload would.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (s *Store) get(key string) (object, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objects[key]
	return o, ok
}

// NewRangeReader opens a range of the object at key; see
// gatehouse.BlobStore.
func (s *Store) NewRangeReader(ctx context.Context, key string, offset, length int64) (gatehouse.BlobReader, error) {
	if err := blobkey.Valid(key); err != nil {
		return nil, err
	}
	if err := blobkey.ValidRange(offset, length); err != nil {
		return nil, err
	}
	o, ok := s.get(key)
	if !ok {
		return nil, fail("get", key, errNotFound)
	}
	size := int64(len(o.data))
	if err := blobkey.InRange(offset, size); err != nil {
		return nil, err
	}
	end := size
	if length >= 0 {
		end = min(size, offset+length)
	}
	return &reader{Reader: bytes.NewReader(o.data[offset:end]), size: size, modTime: o.modTime}, nil
}

// reader reads a range of one object version.
type reader struct {
	*bytes.Reader
	size    int64
	modTime time.Time
}

func (r *reader) Size() int64        { return r.size }
func (r *reader) ModTime() time.Time { return r.modTime }
func (r *reader) Close() error       { return nil }

// Attributes returns the size and modification time of the object at key;
// see gatehouse.BlobStore.
func (s *Store) Attributes(ctx context.Context, key string) (int64, time.Time, error) {
	if err := blobkey.Valid(key); err != nil {
		return 0, time.Time{}, err
	}
	o, ok := s.get(key)
	if !ok {
		return 0, time.Time{}, fail("stat", key, errNotFound)
	}
	return int64(len(o.data)), o.modTime, nil
}

// Delete removes the object at key; see gatehouse.BlobStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blobkey.Valid(key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, key)
	return nil
}

// List calls fn for every object whose key starts with prefix, in key
// order; see gatehouse.BlobStore. It lists the objects there when it
// starts, without holding a lock while fn runs, so fn may Delete.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string, size int64, modTime time.Time) error) error {
	if err := blobkey.ValidPrefix(prefix); err != nil {
		return err
	}
	type entry struct {
		key string
		o   object
	}
	var entries []entry
	s.mu.RLock()
	for k, o := range s.objects {
		if strings.HasPrefix(k, prefix) {
			entries = append(entries, entry{k, o})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fail("list", prefix, err)
		}
		if err := fn(e.key, int64(len(e.o.data)), e.o.modTime); err != nil {
			return err
		}
	}
	return nil
}

// SweepTemporary returns 0: a memory store keeps no temporary files.
func (s *Store) SweepTemporary(ctx context.Context, minAge time.Duration) (int, error) {
	return 0, nil
}

// Ping succeeds: memory is always there.
func (s *Store) Ping(ctx context.Context) error { return nil }

// Close does nothing; the objects go with the Store.
func (s *Store) Close() error { return nil }

// String returns "mem://".
func (s *Store) String() string { return "mem://" }

func fail(op, key string, err error) error {
	return bloberr.Wrap("mem://", op, key, err, func(err error) (string, string) {
		if errors.Is(err, errNotFound) {
			return gatehouse.ENOTFOUND, bloberr.MsgNotFound
		}
		if code, msg, ok := bloberr.Common(err); ok {
			return code, msg
		}
		return gatehouse.EUNAVAILABLE, bloberr.MsgUnavailable
	})
}
