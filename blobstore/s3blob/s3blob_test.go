package s3blob_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore/miniotest"
	"github.com/gatehouse-dev/gatehouse/blobstore/s3blob"
)

// open returns a store on a new bucket of m.
func open(t *testing.T, m *miniotest.Server, checksum string) (*s3blob.Store, string) {
	t.Helper()
	u, err := url.Parse(m.NewBucket(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := s3blob.Open(t.Context(), s3blob.Config{
		Bucket: u.Host, Endpoint: m.Endpoint, Region: "us-east-1", UsePathStyle: true,
		RequestChecksumCalculation: checksum,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, u.Host
}

// Objects over one part go up as multipart uploads, which the conformance
// suite's objects (at most PartSize) do not reach; both checksum settings
// must complete them.
func TestMultipart(t *testing.T) {
	m := miniotest.Start(t)
	m.UseCredentials(t)
	for _, checksum := range []string{"", "when_supported", "when_required"} {
		t.Run("checksums "+checksum, func(t *testing.T) {
			s, _ := open(t, m, checksum)
			for _, size := range []int{s3blob.PartSize + 1, 2*s3blob.PartSize + 12345} {
				data := make([]byte, size)
				_, _ = rand.NewChaCha8([32]byte{byte(size)}).Read(data)
				if err := s.Put(t.Context(), "big/x.conda", bytes.NewReader(data), ""); err != nil {
					t.Fatalf("Put of %d bytes: %v", size, err)
				}
				r, err := s.NewRangeReader(t.Context(), "big/x.conda", 0, -1)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil || !bytes.Equal(got, data) || r.Size() != int64(size) {
					t.Fatalf("read back %d bytes (err %v, Size %d), want the %d put", len(got), err, r.Size(), size)
				}
			}
		})
	}
}

// failAfter yields n random bytes, then err.
type failAfter struct {
	n   int
	err error
}

func (r *failAfter) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	p = p[:min(len(p), r.n)]
	r.n -= len(p)
	return len(p), nil
}

// checklist H3: a multipart upload that fails is aborted, so no parts stay
// behind in the bucket, invisible and billed.
func TestFailedMultipartIsAborted(t *testing.T) {
	m := miniotest.Start(t)
	m.UseCredentials(t)
	s, bucket := open(t, m, "")
	errBroken := errors.New("client went away")
	err := s.Put(t.Context(), "big/x.conda", &failAfter{n: 2*s3blob.PartSize + 10, err: errBroken}, "")
	if !errors.Is(err, errBroken) || gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		t.Fatalf("Put = %v, want the reader's error", err)
	}
	out, err := m.Client.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("%d multipart uploads left in the bucket after a failed Put", len(out.Uploads))
	}
}
