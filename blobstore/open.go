// Package blobstore opens the gatehouse.BlobStore a URL names: a directory
// on local disk (file://, package fileblob), an S3-compatible bucket (s3://,
// package s3blob, tested against MinIO), or memory (mem://, package
// memblob, for tests). Every backend passes the one conformance suite in
// blobstore/blobtest.
//
// The backends are written against the standard library and the AWS SDK
// directly, not through gocloud.dev/blob: that saved little code here (the
// file backend already listed and synced by itself, and the S3 client was
// configured by hand) and brought gRPC and OpenTelemetry into the one
// binary that every user also downloads as the CLI.
package blobstore

import (
	"context"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore/fileblob"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/bloberr"
	"github.com/gatehouse-dev/gatehouse/blobstore/memblob"
	"github.com/gatehouse-dev/gatehouse/blobstore/s3blob"
)

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
func Open(ctx context.Context, rawURL string) (gatehouse.BlobStore, error) {
	loc, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	// Each case returns its own nil on error: a nil *fileblob.Store in
	// the interface would not be a nil BlobStore.
	switch loc.scheme {
	case "file":
		s, err := fileblob.Open(loc.dir, fileblob.Options{NoTmpDir: loc.noTmpDir})
		if err != nil {
			return nil, err
		}
		return s, nil
	case "s3":
		s, err := s3blob.Open(ctx, loc.s3)
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		return memblob.New(), nil
	}
}

// location is what a blob storage URL says, checked but not yet opened.
type location struct {
	scheme   string // file, s3 or mem
	dir      string // file: absolute
	noTmpDir bool   // file
	s3       s3blob.Config
}

// parse reads a blob storage URL without touching disk or network. Its
// errors never repeat the URL whole, which may hold a secret.
func parse(rawURL string) (location, error) {
	if filepath.IsAbs(rawURL) && !strings.Contains(rawURL, "://") {
		return location{scheme: "file", dir: filepath.Clean(rawURL)}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// The parse error repeats the URL, which may hold a secret.
		return location{}, bloberr.Invalidf("The blob storage URL does not parse. Use file:///path, s3://bucket?... or mem://.")
	}
	if u.User != nil {
		return location{}, bloberr.Invalidf("The blob storage URL contains a user name or password. Remove it: S3 credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return location{}, bloberr.Invalidf("The file:// URL names the host %q; write a local path as file:///path (three slashes).", u.Host)
		}
		if u.Opaque != "" || !filepath.IsAbs(u.Path) {
			return location{}, bloberr.Invalidf("The blob storage directory must be an absolute path, such as file:///var/lib/gatehouse/blobs.")
		}
		return parseFile(u)
	case "mem":
		if u.Host != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return location{}, bloberr.Invalidf("mem:// takes no bucket, path or parameters.")
		}
		return location{scheme: "mem"}, nil
	case "s3":
		return parseS3(u)
	case "":
		return location{}, bloberr.Invalidf("The blob storage location %q is neither a URL nor an absolute path. Use file:///path, s3://bucket?... or mem://.", rawURL)
	default:
		return location{}, bloberr.Invalidf("Blob storage scheme %q is not supported. Use file://, s3:// or mem://.", u.Scheme)
	}
}

func parseFile(u *url.URL) (location, error) {
	loc := location{scheme: "file", dir: filepath.Clean(u.Path)}
	for k, v := range u.Query() {
		switch k {
		case "no_tmp_dir":
			b, err := strconv.ParseBool(v[0])
			if err != nil {
				return location{}, bloberr.Invalidf("no_tmp_dir=%q is not true or false.", v[0])
			}
			loc.noTmpDir = b
		default:
			return location{}, bloberr.Invalidf("The file:// blob storage URL has an unknown parameter %q; the only one is no_tmp_dir.", k)
		}
	}
	return loc, nil
}

var s3Params = []string{"endpoint", "region", "use_path_style", "request_checksum_calculation", "max_attempts", "timeout"}

func parseS3(u *url.URL) (location, error) {
	bucket := u.Host
	if bucket == "" {
		return location{}, bloberr.Invalidf("The s3:// URL has no bucket; write s3://bucket-name?region=....")
	}
	if u.Path != "" && u.Path != "/" {
		return location{}, bloberr.Invalidf("The s3:// URL has a path (%q); only the bucket is supported, as s3://%s.", u.Path, bucket)
	}
	q := u.Query()
	for k := range q {
		if !slices.Contains(s3Params, k) {
			return location{}, bloberr.Invalidf("The s3:// URL has an unknown parameter %q; known ones are %s.", k, strings.Join(s3Params, ", "))
		}
	}
	cfg := s3blob.Config{Bucket: bucket, Region: q.Get("region")}
	if v := q.Get("max_attempts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10 {
			return location{}, bloberr.Invalidf("max_attempts=%q must be a whole number from 1 to 10.", v)
		}
		cfg.MaxAttempts = n
	}
	if v := q.Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return location{}, bloberr.Invalidf("timeout=%q must be a positive duration such as 30s.", v)
		}
		cfg.Timeout = d
	}
	if v := q.Get("use_path_style"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return location{}, bloberr.Invalidf("use_path_style=%q is not true or false.", v)
		}
		cfg.UsePathStyle = b
	}
	if v := q.Get("endpoint"); v != "" {
		e, err := url.Parse(v)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return location{}, bloberr.Invalidf("endpoint=%q must be an http:// or https:// URL.", v)
		}
		cfg.Endpoint = v
	}
	switch v := q.Get("request_checksum_calculation"); v {
	case "", "when_supported", "when_required":
		cfg.RequestChecksumCalculation = v
	default:
		return location{}, bloberr.Invalidf("request_checksum_calculation=%q must be when_supported or when_required.", v)
	}
	return location{scheme: "s3", s3: cfg}, nil
}
