// Package bloberr turns what a blob backend reports into the
// *gatehouse.Error every gatehouse.BlobStore returns, with one set of
// sentences for people, so that the file, S3 and memory backends fail alike.
package bloberr

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/gatehouse-dev/gatehouse"
)

// The sentences a client or an administrator may read. None names a key:
// it may reach a client, and the request path is not echoed (checklist J2).
const (
	MsgNotFound    = "The file does not exist."
	MsgUnavailable = "Package storage is unavailable. Try again in a moment."
	MsgNoBucket    = "The package storage bucket does not exist. Create it, or fix the blob storage setting."
	MsgNoDir       = "The package storage directory is missing or unreadable."
	MsgCanceled    = "The request was canceled before package storage answered."
	MsgTimeout     = "Package storage did not answer in time. Try again in a moment."
	MsgDenied      = "Package storage refused the server's credentials. An administrator needs to check the storage settings."
	MsgFull        = "Package storage is full. An administrator needs to free space."
	MsgPastEnd     = "The byte range is past the end of the file."
)

// Invalidf returns an EINVALID error: the caller asked for something no
// backend would do, and was refused before any backend saw it.
func Invalidf(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.EINVALID, format, args...)
}

// Unavailable returns an EUNAVAILABLE error with msg for people and cause
// in the chain for logs.
func Unavailable(cause error, msg string) error {
	return fmt.Errorf("blobstore: %w: %w", gatehouse.Errorf(gatehouse.EUNAVAILABLE, "%s", msg), cause)
}

// Wrap turns err from operation op on key of store into a *gatehouse.Error
// of the code and message classify gives it, with err kept in the chain for
// logs. Nil stays nil, and an error that already carries a
// *gatehouse.Error (a refused key, say) is returned as is.
func Wrap(store, op, key string, err error, classify func(error) (code, msg string)) error {
	if err == nil {
		return nil
	}
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return err
	}
	code, msg := classify(err)
	return fmt.Errorf("blobstore %s: %s %q: %w: %w", store, op, key, gatehouse.Errorf(code, "%s", msg), err)
}

// Common classifies the failures every backend can meet: the caller's
// context ending, and a full disk. ok is false for anything else.
func Common(err error) (code, msg string, ok bool) {
	switch {
	case errors.Is(err, context.Canceled):
		return gatehouse.EUNAVAILABLE, MsgCanceled, true
	case errors.Is(err, context.DeadlineExceeded):
		return gatehouse.EUNAVAILABLE, MsgTimeout, true
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG):
		return gatehouse.EFULL, MsgFull, true
	}
	return "", "", false
}
