package blobstore

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

// FuzzParse checks that any blob storage URL either parses into a location
// Open can use or is refused with an EINVALID sentence, and that a refusal
// never repeats a password given in the URL.
func FuzzParse(f *testing.F) {
	for _, u := range []string{
		"file:///var/lib/gatehouse/blobs", "/var/lib/gatehouse/blobs", "file://localhost/x?no_tmp_dir=true",
		"file://server/blobs", "file:blobs", "relative/blobs", "", "mem://", "mem://x", "gs://bucket",
		"s3://b?endpoint=http://127.0.0.1:9000&region=us-east-1&use_path_style=true&max_attempts=2&timeout=2s",
		"s3://b?request_checksum_calculation=when_required", "s3://AKIA:secret@b?region=us-east-1",
		"s3://b%zz?region=us-east-1", "s3://b/sub", "s3://?region=x", "s3://b?endpoint=ftp://x",
	} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, err := parse(raw)
		if err != nil {
			if code := gatehouse.ErrorCode(err); code != gatehouse.EINVALID {
				t.Fatalf("parse(%q): code %q, want %q", raw, code, gatehouse.EINVALID)
			}
			msg := gatehouse.ErrorMessage(err)
			if msg == "" {
				t.Fatalf("parse(%q): empty message", raw)
			}
			if u, perr := url.Parse(raw); perr == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && len(p) > 3 && strings.Contains(msg, p) {
					t.Fatalf("parse(%q): message %q repeats the password", raw, msg)
				}
			}
			return
		}
		switch loc.scheme {
		case "file":
			if !filepath.IsAbs(loc.dir) || filepath.Clean(loc.dir) != loc.dir {
				t.Fatalf("parse(%q): directory %q is not absolute and clean", raw, loc.dir)
			}
		case "s3":
			c := loc.s3
			if c.Bucket == "" || c.MaxAttempts < 0 || c.MaxAttempts > 10 || c.Timeout < 0 {
				t.Fatalf("parse(%q): bad S3 configuration %+v", raw, c)
			}
			if e := strings.ToLower(c.Endpoint); e != "" && !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
				t.Fatalf("parse(%q): endpoint %q is not HTTP", raw, c.Endpoint)
			}
		case "mem":
		default:
			t.Fatalf("parse(%q): scheme %q", raw, loc.scheme)
		}
	})
}
