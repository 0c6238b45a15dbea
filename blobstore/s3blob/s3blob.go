// Package s3blob keeps blobs in an S3-compatible bucket (AWS S3, MinIO, and
// others), through the AWS SDK: the gatehouse.BlobStore that blobstore.Open
// returns for s3:// URLs. An object's S3 key is its key.
//
// A Put is one PutObject, or for objects over PartSize a multipart upload
// that is completed only after the last part is in and aborted on any
// failure, so the object appears whole or not at all. Failures are bounded:
// a few attempts with short, jittered backoff, and timeouts on connecting
// and on waiting for an answer, so a download during an outage gets its 503
// while the client is still waiting.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/bloberr"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/blobkey"
)

// Defaults for Config's zero values. Bounded retries with a short backoff
// make an outage fail in seconds, not minutes.
const (
	DefaultMaxAttempts = 3
	DefaultTimeout     = 30 * time.Second
	baseBackoff        = 100 * time.Millisecond
	maxBackoff         = time.Second
)

// PartSize is the size of one part of a multipart upload, and the largest
// object stored with a single PutObject. A Put holds one part in memory;
// S3's limit of 10,000 parts allows objects up to 80 GiB.
const PartSize = 8 << 20

// Config says which bucket to use and how to reach it. Credentials come
// from the standard AWS chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
// shared config and credential files, SSO, web identity, instance roles.
type Config struct {
	Bucket string
	// Endpoint is the service's http:// or https:// URL, for MinIO and
	// other S3-compatible services; empty means AWS.
	Endpoint string
	// Region, or empty for AWS_REGION and the shared config.
	Region string
	// UsePathStyle addresses the bucket as endpoint/bucket rather than
	// bucket.endpoint, as most self-hosted services need.
	UsePathStyle bool
	// RequestChecksumCalculation is "when_supported" (the SDK's default:
	// CRC32 on every upload) or "when_required", for services that do
	// not accept the SDK's checksums; empty leaves the AWS configuration's
	// choice.
	RequestChecksumCalculation string
	// MaxAttempts bounds the tries of one request (default 3).
	MaxAttempts int
	// Timeout bounds connecting, the TLS handshake and the wait for a
	// response's headers (default 30s). It does not bound a whole
	// transfer: a large download may take longer.
	Timeout time.Duration
}

// Store is a bucket of blobs. Safe for concurrent use.
type Store struct {
	client   *s3.Client
	bucket   string
	name     string // s3://bucket, for error text
	timeout  time.Duration
	checksum types.ChecksumAlgorithm // for uploads; empty under when_required
}

var _ gatehouse.BlobStore = (*Store)(nil)

// backoff is exponential with full jitter from baseBackoff up to maxBackoff.
// (The SDK's own jitter collapses to a flat MaxBackoff when that is 1s.)
type backoff struct{}

func (backoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	ceiling := min(maxBackoff, baseBackoff<<min(attempt, 10))
	return rand.N(ceiling), nil
}

// Open returns a store on cfg.Bucket. It loads the AWS configuration (an
// invalid one is EINVALID) but does not contact S3; call Ping.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, bloberr.Invalidf("The s3:// URL has no bucket; write s3://bucket-name?region=....")
	}
	attempts, timeout := cfg.MaxAttempts, cfg.Timeout
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = timeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = timeout
			t.ResponseHeaderTimeout = timeout
		})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.Backoff = backoff{}
			})
		}),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	switch v := cfg.RequestChecksumCalculation; v {
	case "":
	case "when_supported":
		opts = append(opts, config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenSupported))
	case "when_required":
		opts = append(opts, config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired))
	default:
		return nil, bloberr.Invalidf("request_checksum_calculation=%q must be when_supported or when_required.", v)
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("blobstore: load AWS configuration: %w: %w",
			gatehouse.Errorf(gatehouse.EINVALID, "The AWS configuration (environment or shared files) is invalid: %v", err), err)
	}
	if awsCfg.Region == "" {
		return nil, bloberr.Invalidf("The s3:// URL needs a region: add region=us-east-1 (or your service's region), or set AWS_REGION.")
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = cfg.UsePathStyle
		// The SDK would print a warning to stderr, past the server's
		// logs, on every download of a multipart object (whose composite
		// checksum it cannot check) and of any object from a service
		// that sends no checksums.
		o.DisableLogOutputChecksumValidationSkipped = true
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	s := &Store{client: client, bucket: cfg.Bucket, name: "s3://" + cfg.Bucket, timeout: timeout}
	// As the SDK's transfer manager does: name CRC32 on uploads, so that
	// the parts of a multipart upload carry checksums S3 can combine,
	// unless checksums are only to be sent where required.
	if awsCfg.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired {
		s.checksum = types.ChecksumAlgorithmCrc32
	}
	return s, nil
}

// Attributes returns the size and modification time of the object at key;
// see gatehouse.BlobStore.
func (s *Store) Attributes(ctx context.Context, key string) (size int64, modTime time.Time, err error) {
	if err := blobkey.Valid(key); err != nil {
		return 0, time.Time{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return 0, time.Time{}, s.fail("stat", key, err)
	}
	return aws.ToInt64(out.ContentLength), aws.ToTime(out.LastModified).UTC(), nil
}

// Delete removes the object at key; see gatehouse.BlobStore. S3 answers
// a delete of a missing key with success, as the contract wants.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blobkey.Valid(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	err = s.fail("delete", key, err)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	}
	return err
}

// List calls fn for every object whose key starts with prefix, in key
// order (S3 lists in UTF-8 byte order, which is Go's string order); see
// gatehouse.BlobStore. It reads a page of up to 1000 keys at a time.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string, size int64, modTime time.Time) error) error {
	if err := blobkey.ValidPrefix(prefix); err != nil {
		return err
	}
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return s.fail("list", prefix, err)
		}
		for _, obj := range page.Contents {
			if err := fn(aws.ToString(obj.Key), aws.ToInt64(obj.Size), aws.ToTime(obj.LastModified).UTC()); err != nil {
				return err
			}
		}
	}
	return nil
}

// SweepTemporary returns 0: S3 keeps no temporary objects, and a Put that
// fails aborts its multipart upload. One that a crash cut off stays in the
// bucket, invisible and billed: give the bucket a lifecycle rule that
// aborts incomplete multipart uploads after a day.
func (s *Store) SweepTemporary(ctx context.Context, minAge time.Duration) (int, error) {
	return 0, nil
}

// Ping checks that the service answers and the bucket exists; see
// gatehouse.BlobStore.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
	if err != nil && isNotFound(err) {
		return bloberr.Unavailable(errors.New(s.name+": bucket not found"), bloberr.MsgNoBucket)
	}
	return s.fail("ping", "", err)
}

// Close does nothing: the HTTP client's idle connections close by
// themselves.
func (s *Store) Close() error { return nil }

// String returns the store's s3:// URL.
func (s *Store) String() string { return s.name }

// fail turns an SDK error into a *gatehouse.Error with the cause in the
// chain. Nil stays nil.
func (s *Store) fail(op, key string, err error) error {
	return bloberr.Wrap(s.name, op, key, err, func(err error) (string, string) { return classify(op, err) })
}

// errorCode returns the S3 error code (NoSuchKey, AccessDenied, ...) and the
// HTTP status of err, either of which may be missing ("" or 0).
func errorCode(err error) (code string, status int) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	return code, status
}

// isNotFound reports whether err says a key or bucket is missing. A
// HEAD request has no body, so its 404 carries no code saying which.
func isNotFound(err error) bool {
	code, status := errorCode(err)
	return code == "NoSuchKey" || code == "NotFound" || code == "NoSuchBucket" || status == http.StatusNotFound
}

func classify(op string, err error) (code, msg string) {
	s3code, status := errorCode(err)
	switch {
	case s3code == "NoSuchBucket":
		// A missing bucket is an outage, not a missing file: answering
		// 404 would make clients cache the absence (checklist H2).
		return gatehouse.EUNAVAILABLE, bloberr.MsgNoBucket
	case isNotFound(err) && (op == "get" || op == "stat" || op == "delete"):
		// Only a lookup can find an object missing; a write that meets
		// a 404 (an upload ID gone, say) has failed.
		return gatehouse.ENOTFOUND, bloberr.MsgNotFound
	case s3code == "InvalidRange" || status == http.StatusRequestedRangeNotSatisfiable:
		return gatehouse.EINVALID, bloberr.MsgPastEnd
	case s3code == "XMinioStorageFull":
		return gatehouse.EFULL, bloberr.MsgFull
	case s3code == "AccessDenied" || status == http.StatusUnauthorized || status == http.StatusForbidden:
		return gatehouse.EUNAVAILABLE, bloberr.MsgDenied
	}
	if code, msg, ok := bloberr.Common(err); ok {
		return code, msg
	}
	return gatehouse.EUNAVAILABLE, bloberr.MsgUnavailable
}
