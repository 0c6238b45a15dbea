package s3blob

import (
	"bytes"
	"context"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/bloberr"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/blobkey"
)

// Put stores the contents of r under key; see gatehouse.BlobStore. It
// reads up to PartSize bytes first: an object that fits is one PutObject,
// a larger one a multipart upload of PartSize parts, sent one at a time.
// Every request body is a byte slice, so the SDK can sign it, checksum it
// and resend it on a retry.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, contentType string) error {
	if err := blobkey.Valid(key); err != nil {
		return err
	}
	if r == nil {
		return bloberr.Invalidf("Put needs a reader for the object's contents.")
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	// One byte more than a part tells an object that fits from one that
	// does not, without a part's worth of memory for a small object.
	var head bytes.Buffer
	if _, err := head.ReadFrom(io.LimitReader(r, PartSize+1)); err != nil {
		return s.fail("put", key, err)
	}
	if head.Len() > PartSize {
		return s.putMultipart(ctx, key, contentType, head.Bytes(), r)
	}
	if err := ctx.Err(); err != nil {
		return s.fail("put", key, err)
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, ContentType: &contentType,
		Body: bytes.NewReader(head.Bytes()), ContentLength: aws.Int64(int64(head.Len())),
		ChecksumAlgorithm: s.checksum,
	})
	return s.fail("put", key, err)
}

// putMultipart uploads head, then the rest of r, as the parts of one
// multipart upload. Until CompleteMultipartUpload the object is untouched;
// on any failure the upload is aborted, also when ctx has ended, so its
// parts do not linger (and cost) in the bucket.
func (s *Store) putMultipart(ctx context.Context, key, contentType string, head []byte, r io.Reader) (err error) {
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, ContentType: &contentType, ChecksumAlgorithm: s.checksum,
	})
	if err != nil {
		return s.fail("put", key, err)
	}
	id := created.UploadId
	defer func() {
		if err != nil {
			abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
			defer cancel()
			_, _ = s.client.AbortMultipartUpload(abortCtx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: id})
		}
	}()

	// buf[:n] holds the next part and, when more follows, at least its
	// first byte: a part is the last one when n <= PartSize.
	buf := make([]byte, PartSize+1)
	n := copy(buf, head)
	var parts []types.CompletedPart
	for num := int32(1); ; num++ {
		size := min(n, PartSize)
		out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &s.bucket, Key: &key, UploadId: id, PartNumber: aws.Int32(num),
			Body: bytes.NewReader(buf[:size]), ContentLength: aws.Int64(int64(size)),
			ChecksumAlgorithm: s.checksum,
		})
		if err != nil {
			return s.fail("put", key, err)
		}
		parts = append(parts, types.CompletedPart{
			PartNumber: aws.Int32(num), ETag: out.ETag,
			ChecksumCRC32: out.ChecksumCRC32, ChecksumCRC32C: out.ChecksumCRC32C,
			ChecksumCRC64NVME: out.ChecksumCRC64NVME, ChecksumSHA1: out.ChecksumSHA1, ChecksumSHA256: out.ChecksumSHA256,
		})
		if n <= PartSize {
			break
		}
		n = copy(buf, buf[size:n])
		m, err := io.ReadFull(r, buf[n:])
		n += m
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return s.fail("put", key, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return s.fail("put", key, err)
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return s.fail("put", key, err)
}
