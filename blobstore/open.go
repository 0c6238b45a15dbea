package blobstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gatehouse-dev/gatehouse"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/blob/s3blob"
)

// Defaults for s3:// stores, overridable in the URL. Bounded retries with
// a short backoff make an outage fail in seconds, not minutes, so a
// download gets its 503 while the client is still waiting.
const (
	defaultMaxAttempts = 3
	defaultTimeout     = 30 * time.Second
	baseBackoff        = 100 * time.Millisecond
	maxBackoff         = time.Second
)

// backoff is exponential with full jitter from baseBackoff up to maxBackoff.
// (The SDK's own jitter collapses to a flat MaxBackoff when that is 1s.)
type backoff struct{}

func (backoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	ceiling := min(maxBackoff, baseBackoff<<min(attempt, 10))
	return rand.N(ceiling), nil
}

// Open opens the store named by rawURL:
//
//	file:///var/lib/gatehouse/blobs   a directory, created if missing
//	/var/lib/gatehouse/blobs          the same, as a plain absolute path
//	s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1&use_path_style=true
//	mem://                            in memory, for tests
//
// file:// accepts no_tmp_dir=true, which writes temporary files beside the
// objects instead of in os.TempDir. Without it Open checks that a file in
// os.TempDir can be renamed into the directory, and when they are on
// different filesystems (a tmpfs /tmp) it switches to no_tmp_dir by itself.
// Either way a write is temp-then-rename, and temporary files never show in
// List.
//
// s3:// takes the bucket as host and the query parameters endpoint (for
// MinIO and other S3-compatible services), region, use_path_style,
// request_checksum_calculation (when_supported or when_required, for
// services that do not accept the SDK's default checksums),
// max_attempts (default 3) and timeout (connect and response-header
// timeout, default 30s). Credentials come from the standard AWS chain:
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, shared config, instance roles.
//
// A malformed URL is EINVALID. Open does not contact S3; call Ping. Each
// mem:// store is a new, empty one.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	if filepath.IsAbs(rawURL) && !strings.Contains(rawURL, "://") {
		return openFile(rawURL, nil)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// The parse error repeats the URL, which may hold a secret.
		return nil, invalidf("The blob storage URL does not parse. Use file:///path, s3://bucket?... or mem://.")
	}
	if u.User != nil {
		return nil, invalidf("The blob storage URL contains a user name or password. Remove it: S3 credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, invalidf("The file:// URL names the host %q; write a local path as file:///path (three slashes).", u.Host)
		}
		if u.Opaque != "" || !filepath.IsAbs(u.Path) {
			return nil, invalidf("The blob storage directory must be an absolute path, such as file:///var/lib/gatehouse/blobs.")
		}
		return openFile(u.Path, u.Query())
	case "mem":
		if u.Host != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, invalidf("mem:// takes no bucket, path or parameters.")
		}
		return &Store{bucket: memblob.OpenBucket(nil), name: "mem://"}, nil
	case "s3":
		return openS3(ctx, u)
	case "":
		return nil, invalidf("The blob storage location %q is neither a URL nor an absolute path. Use file:///path, s3://bucket?... or mem://.", rawURL)
	default:
		return nil, invalidf("Blob storage scheme %q is not supported. Use file://, s3:// or mem://.", u.Scheme)
	}
}

func openFile(dir string, q url.Values) (*Store, error) {
	dir = filepath.Clean(dir)
	noTmpDir := false
	for k, v := range q {
		switch k {
		case "no_tmp_dir":
			b, err := strconv.ParseBool(v[0])
			if err != nil {
				return nil, invalidf("no_tmp_dir=%q is not true or false.", v[0])
			}
			noTmpDir = b
		default:
			return nil, invalidf("The file:// blob storage URL has an unknown parameter %q; the only one is no_tmp_dir.", k)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, unavailable(err, fmt.Sprintf("Cannot create the package storage directory: %v.", err))
	}
	if !noTmpDir {
		sameFS, err := renamesInto(dir)
		if err != nil {
			return nil, unavailable(err, fmt.Sprintf("Cannot write to the package storage directory: %v. Check its owner and permissions.", err))
		}
		noTmpDir = !sameFS
	}
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{
		NoTempDir: noTmpDir,
		// No ".attrs" sidecars: the server chooses content types itself,
		// and one file per object is one file to keep consistent.
		Metadata: fileblob.MetadataDontWrite,
	})
	if err != nil {
		return nil, unavailable(err, fmt.Sprintf("Cannot open the package storage directory %s.", dir))
	}
	return &Store{bucket: b, name: "file://" + filepath.ToSlash(dir), dir: dir}, nil
}

var s3Params = []string{"endpoint", "region", "use_path_style", "request_checksum_calculation", "max_attempts", "timeout"}

func openS3(ctx context.Context, u *url.URL) (*Store, error) {
	bucket := u.Host
	if bucket == "" {
		return nil, invalidf("The s3:// URL has no bucket; write s3://bucket-name?region=....")
	}
	if u.Path != "" && u.Path != "/" {
		return nil, invalidf("The s3:// URL has a path (%q); only the bucket is supported, as s3://%s.", u.Path, bucket)
	}
	q := u.Query()
	for k := range q {
		if !slices.Contains(s3Params, k) {
			return nil, invalidf("The s3:// URL has an unknown parameter %q; known ones are %s.", k, strings.Join(s3Params, ", "))
		}
	}
	attempts, timeout := defaultMaxAttempts, defaultTimeout
	if v := q.Get("max_attempts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10 {
			return nil, invalidf("max_attempts=%q must be a whole number from 1 to 10.", v)
		}
		attempts = n
	}
	if v := q.Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, invalidf("timeout=%q must be a positive duration such as 30s.", v)
		}
		timeout = d
	}
	pathStyle := false
	if v := q.Get("use_path_style"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, invalidf("use_path_style=%q is not true or false.", v)
		}
		pathStyle = b
	}
	endpoint := q.Get("endpoint")
	if endpoint != "" {
		e, err := url.Parse(endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return nil, invalidf("endpoint=%q must be an http:// or https:// URL.", endpoint)
		}
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
	if v := q.Get("region"); v != "" {
		opts = append(opts, config.WithRegion(v))
	}
	switch v := q.Get("request_checksum_calculation"); v {
	case "":
	case "when_supported":
		opts = append(opts, config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenSupported))
	case "when_required":
		opts = append(opts, config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired))
	default:
		return nil, invalidf("request_checksum_calculation=%q must be when_supported or when_required.", v)
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("blobstore: load AWS configuration: %w: %w",
			gatehouse.Errorf(gatehouse.EINVALID, "The AWS configuration (environment or shared files) is invalid: %v", err), err)
	}
	if cfg.Region == "" {
		return nil, invalidf("The s3:// URL needs a region: add region=us-east-1 (or your service's region), or set AWS_REGION.")
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	b, err := s3blob.OpenBucket(ctx, client, bucket, &s3blob.Options{
		RequestChecksumCalculation: cfg.RequestChecksumCalculation,
	})
	if err != nil {
		return nil, invalidf("Cannot open bucket %q: %v", bucket, err)
	}
	return &Store{bucket: b, name: "s3://" + bucket}, nil
}
