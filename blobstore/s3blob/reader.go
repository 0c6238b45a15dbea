package s3blob

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/blobkey"
)

// NewRangeReader opens a range of the object at key with one GET; see
// gatehouse.BlobStore. S3 refuses a range that starts past the end (416,
// EINVALID) and stops one that runs past it.
func (s *Store) NewRangeReader(ctx context.Context, key string, offset, length int64) (gatehouse.BlobReader, error) {
	if err := blobkey.Valid(key); err != nil {
		return nil, err
	}
	if err := blobkey.ValidRange(offset, length); err != nil {
		return nil, err
	}
	if length == 0 {
		// S3 cannot read zero bytes (it asks for one, which an empty
		// object refuses with 416), so read nothing from the attributes.
		size, modTime, err := s.Attributes(ctx, key)
		if err != nil {
			return nil, err
		}
		if err := blobkey.InRange(offset, size); err != nil {
			return nil, err
		}
		return &reader{s: s, key: key, body: io.NopCloser(strings.NewReader("")), size: size, modTime: modTime}, nil
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}
	switch {
	case length > 0 && length <= math.MaxInt64-offset:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0 || length > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, s.fail("get", key, err)
	}
	size := aws.ToInt64(out.ContentLength)
	if in.Range != nil {
		// "bytes 3-6/10": the whole object's size is after the slash.
		cr := aws.ToString(out.ContentRange)
		_, total, _ := strings.Cut(cr, "/")
		if size, err = strconv.ParseInt(total, 10, 64); err != nil {
			out.Body.Close()
			return nil, s.fail("get", key, fmt.Errorf("unexpected Content-Range %q", cr))
		}
	}
	return &reader{s: s, key: key, body: out.Body, size: size, modTime: aws.ToTime(out.LastModified).UTC()}, nil
}

// reader streams one GET's body.
type reader struct {
	s       *Store
	key     string
	body    io.ReadCloser
	size    int64
	modTime time.Time
}

// Read reads the next bytes of the range. An error other than io.EOF is an
// EUNAVAILABLE *gatehouse.Error: the connection failed mid-stream.
func (r *reader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.fail("read", r.key, err)
	}
	return n, err
}

// WriteTo copies the rest of the range to w through Read, so a failure
// mid-stream is classified like any other.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, readerOnly{r})
}

// readerOnly hides reader's WriteTo from io.Copy.
type readerOnly struct{ io.Reader }

func (r *reader) Size() int64        { return r.size }
func (r *reader) ModTime() time.Time { return r.modTime }
func (r *reader) Close() error       { return r.body.Close() }
