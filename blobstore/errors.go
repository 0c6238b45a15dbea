package blobstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/aws/smithy-go"
	"github.com/gatehouse-dev/gatehouse"
	"gocloud.dev/gcerrors"
)

// maxKeyLen is S3's limit and maxSegmentLen fits a file name (255 bytes on
// common filesystems) with the ".<16 hex>.tmp" suffix of a temporary file;
// both apply everywhere, so every backend accepts the same keys.
const (
	maxKeyLen     = 1024
	maxSegmentLen = 200
)

// Names ending like these are reserved on every backend: the file backend
// uses them for its temporary files (".tmp") and gocloud's metadata sidecars
// (".attrs"), and does not list them.
var reservedSuffixes = []string{".tmp", ".attrs"}

func reservedName(key string) bool {
	for _, s := range reservedSuffixes {
		if strings.HasSuffix(key, s) {
			return true
		}
	}
	return false
}

// validKey refuses keys that could escape a directory, mean different
// things on different backends, or collide with the file backend's own
// files, before any backend sees them.
func validKey(key string) error {
	if key == "" {
		return invalidf("The object key is empty.")
	}
	if strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return invalidf("The object key %q starts or ends with a slash.", key)
	}
	if err := validChars(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := validSegment(key, seg); err != nil {
			return err
		}
	}
	// fileblob escapes these to keep file names reversible; refusing them
	// keeps every key's file name equal to the key on disk.
	if strings.Contains(key, "../") || strings.Contains(key, "__0x") {
		return invalidf("The object key %q contains \"../\" or \"__0x\", which the storage reserves.", key)
	}
	if reservedName(key) {
		return invalidf("The object key %q ends in .tmp or .attrs, which the storage reserves.", key)
	}
	return nil
}

// validPrefix applies validKey's rules to every complete segment of a List
// prefix; the last, partial segment only needs valid characters. The empty
// prefix lists everything.
func validPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if strings.HasPrefix(prefix, "/") {
		return invalidf("The prefix %q starts with a slash.", prefix)
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

func validChars(s string) error {
	if len(s) > maxKeyLen {
		return invalidf("The object key is %d bytes long; the limit is %d.", len(s), maxKeyLen)
	}
	if !utf8.ValidString(s) {
		return invalidf("The object key %q is not valid UTF-8.", s)
	}
	for _, r := range s {
		if r == '\\' {
			return invalidf("The object key %q contains a backslash; use / to separate parts.", s)
		}
		if r < 0x20 || r == 0x7f {
			return invalidf("The object key %q contains a control character.", s)
		}
	}
	return nil
}

func validSegment(key, seg string) error {
	switch seg {
	case "":
		return invalidf("The object key %q has an empty part (two slashes in a row).", key)
	case ".", "..":
		return invalidf("The object key %q has a %q part, which is not allowed.", key, seg)
	}
	if len(seg) > maxSegmentLen {
		return invalidf("A part of the object key is %d bytes long; the limit is %d.", len(seg), maxSegmentLen)
	}
	return nil
}

func invalidf(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.EINVALID, format, args...)
}

// unavailable returns an EUNAVAILABLE error with msg for people and cause
// in the chain for logs.
func unavailable(cause error, msg string) error {
	return fmt.Errorf("blobstore: %w: %w", gatehouse.Errorf(gatehouse.EUNAVAILABLE, "%s", msg), cause)
}

const msgUnavailable = "Package storage is unavailable. Try again in a moment."

// fail turns a backend error into a *gatehouse.Error with the cause kept in
// the chain. The message never names the key: it may reach a client, and
// the request path is not echoed (checklist J2). Nil stays nil.
func (s *Store) fail(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return err
	}
	code, msg := s.classify(err)
	return fmt.Errorf("blobstore %s: %s %q: %w: %w", s.name, op, key, gatehouse.Errorf(code, "%s", msg), err)
}

func (s *Store) classify(err error) (code, msg string) {
	var apiErr smithy.APIError
	isAPI := errors.As(err, &apiErr)
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		// A missing bucket or directory is an outage, not a missing file:
		// answering 404 would make clients cache the absence (checklist H2).
		if isAPI && apiErr.ErrorCode() == "NoSuchBucket" {
			return gatehouse.EUNAVAILABLE, "The package storage bucket does not exist. Create it, or fix the blob storage setting."
		}
		if s.dir != "" {
			if fi, statErr := os.Stat(s.dir); statErr != nil || !fi.IsDir() {
				return gatehouse.EUNAVAILABLE, "The package storage directory is missing or unreadable."
			}
		}
		return gatehouse.ENOTFOUND, "The file does not exist."
	case gcerrors.Canceled, gcerrors.DeadlineExceeded:
		if errors.Is(err, context.Canceled) {
			return gatehouse.EUNAVAILABLE, "The request was canceled before package storage answered."
		}
		return gatehouse.EUNAVAILABLE, "Package storage did not answer in time. Try again in a moment."
	case gcerrors.PermissionDenied:
		return gatehouse.EUNAVAILABLE, "Package storage refused the server's credentials. An administrator needs to check the storage settings."
	}
	if isAPI && apiErr.ErrorCode() == "InvalidRange" {
		return gatehouse.EINVALID, "The byte range is past the end of the file."
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || isAPI && apiErr.ErrorCode() == "XMinioStorageFull" {
		return gatehouse.EUNAVAILABLE, "Package storage is full. An administrator needs to free space."
	}
	return gatehouse.EUNAVAILABLE, msgUnavailable
}
