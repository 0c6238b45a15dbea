// Package blobkey holds the rules for what a caller may ask of a blob store
// — which keys, list prefixes and byte ranges are valid — so that every
// backend refuses the same requests, before it touches disk or network.
package blobkey

import (
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/blobstore/internal/bloberr"
)

// MaxLen is S3's limit and MaxSegmentLen fits a file name (255 bytes on
// common filesystems) with the ".<16 hex>.tmp" suffix of a temporary file;
// both apply everywhere, so every backend accepts the same keys.
const (
	MaxLen        = 1024
	MaxSegmentLen = gatehouse.MaxBlobKeySegment
)

// TempSuffix ends the names of the file backend's temporary files.
const TempSuffix = ".tmp"

// Names ending like these are reserved on every backend: the file backend
// uses them for its temporary files (".tmp"), and stores written by
// gocloud.dev's fileblob may hold its metadata sidecars (".attrs"); neither
// is listed as an object.
var reservedSuffixes = []string{TempSuffix, ".attrs"}

// Reserved reports whether name ends like a file the file backend keeps
// for itself rather than an object.
func Reserved(name string) bool {
	for _, s := range reservedSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// Valid refuses keys that could escape a directory, mean different things
// on different backends, or collide with the file backend's own files,
// with an EINVALID error.
func Valid(key string) error {
	if key == "" {
		return bloberr.Invalidf("The object key is empty.")
	}
	if strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return bloberr.Invalidf("The object key %q starts or ends with a slash.", key)
	}
	if err := validChars(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := validSegment(key, seg); err != nil {
			return err
		}
	}
	// gocloud.dev, which wrote the stores of earlier versions, escaped
	// these to keep file names reversible; refusing them keeps every
	// key's file name (and S3 key) equal to the key.
	if strings.Contains(key, "../") || strings.Contains(key, "__0x") {
		return bloberr.Invalidf("The object key %q contains \"../\" or \"__0x\", which the storage reserves.", key)
	}
	if Reserved(key) {
		return bloberr.Invalidf("The object key %q ends in .tmp or .attrs, which the storage reserves.", key)
	}
	return nil
}

// ValidPrefix applies Valid's rules to every complete segment of a List
// prefix; the last, partial segment only needs valid characters. The empty
// prefix lists everything.
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if strings.HasPrefix(prefix, "/") {
		return bloberr.Invalidf("The prefix %q starts with a slash.", prefix)
	}
	if err := validChars(prefix); err != nil {
		return err
	}
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return nil
	}
	for seg := range strings.SplitSeq(prefix[:i], "/") {
		if err := validSegment(prefix, seg); err != nil {
			return err
		}
	}
	return nil
}

// ValidRange refuses a negative offset or a length below -1 (-1 reads to
// the end).
func ValidRange(offset, length int64) error {
	if offset < 0 || length < -1 {
		return bloberr.Invalidf("The byte range (offset %d, length %d) is invalid.", offset, length)
	}
	return nil
}

// InRange refuses an offset at or past the end of a non-empty object of
// size bytes: an unsatisfiable range. Reading an empty object from 0 is
// fine.
func InRange(offset, size int64) error {
	if offset > 0 && offset >= size {
		return bloberr.Invalidf("The byte range starts at %d, past the end of the %d-byte file.", offset, size)
	}
	return nil
}

func validChars(s string) error {
	if len(s) > MaxLen {
		return bloberr.Invalidf("The object key is %d bytes long; the limit is %d.", len(s), MaxLen)
	}
	if !utf8.ValidString(s) {
		return bloberr.Invalidf("The object key %q is not valid UTF-8.", s)
	}
	for _, r := range s {
		if r == '\\' {
			return bloberr.Invalidf("The object key %q contains a backslash; use / to separate parts.", s)
		}
		if r < 0x20 || r == 0x7f {
			return bloberr.Invalidf("The object key %q contains a control character.", s)
		}
	}
	return nil
}

func validSegment(key, seg string) error {
	switch seg {
	case "":
		return bloberr.Invalidf("The object key %q has an empty part (two slashes in a row).", key)
	case ".", "..":
		return bloberr.Invalidf("The object key %q has a %q part, which is not allowed.", key, seg)
	}
	if len(seg) > MaxSegmentLen {
		return bloberr.Invalidf("A part of the object key is %d bytes long; the limit is %d.", len(seg), MaxSegmentLen)
	}
	return nil
}
