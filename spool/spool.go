// Package spool keeps uploads on local disk while they arrive: streamed to
// a temporary file with their md5 and sha256 computed on the way, never
// held whole in memory and never read past the size limit (checklist F1,
// I4). The spool directory and the name of its files live here alone: the
// upload path creates them, the sweeper removes old ones, and a server
// starting after a crash clears what the crash left.
package spool

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// prefix starts the name of every spool file.
const prefix = "upload-"

// Dir is a spool directory.
type Dir string

// Write copies src into a new spool file, at most limit bytes, and returns
// it with its digests, positioned at its start. Reading more than limit
// bytes is ETOOLARGE; a failing src is EINVALID ("cut off"); a spool disk
// that is full (or a file size limit reached) is EFULL, the server's fault
// and not the client's, so never "cut off". Nothing is left on disk when
// Write fails.
func (d Dir) Write(src io.Reader, filename string, limit int64) (*gatehouse.Upload, error) {
	f, err := os.CreateTemp(string(d), prefix+"*")
	if err != nil {
		return nil, diskError("creating upload spool file", err)
	}
	hm, hs := md5.New(), sha256.New()
	dst := &fileWriter{f: f}
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(dst)
	n, err := io.Copy(io.MultiWriter(bw, hm, hs), io.LimitReader(src, limit+1))
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writers.Put(bw)
	if err != nil {
		Remove(&gatehouse.Upload{File: f})
		if dst.err != nil {
			return nil, diskError("writing upload spool file", dst.err)
		}
		var ge *gatehouse.Error
		if errors.As(err, &ge) {
			return nil, ge // the reader's own reason (too slow, ...)
		}
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "The upload was cut off before the end of the file; nothing was stored. Try again.")
	}
	if n > limit {
		Remove(&gatehouse.Upload{File: f})
		return nil, gatehouse.Errorf(gatehouse.ETOOLARGE, "The package is over %d bytes, the most this server accepts.", limit)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		Remove(&gatehouse.Upload{File: f})
		return nil, fmt.Errorf("rewinding upload spool file: %w", err)
	}
	return &gatehouse.Upload{File: f, Filename: filename, Size: n,
		MD5: hex.EncodeToString(hm.Sum(nil)), SHA256: hex.EncodeToString(hs.Sum(nil))}, nil
}

// writeChunk is the size of the writes that fill a spool file. The file
// usually becomes the package blob as it is (fileblob.Adopt renames it into
// place), and the page cache keeps it in folios no larger than the writes
// that filled it: written as the multipart body arrives, in 4 KB pieces, a
// 1 MB package was 256 small folios, and every download of it paid for them
// in sendfile (looking up, pinning and releasing each one), about 100 µs of
// server CPU per download that a file written in 1 MB pieces does not cost.
const writeChunk = 1 << 20

// writers hold writeChunk bytes each, kept between uploads so that a small
// upload does not allocate and clear a megabyte.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeChunk) }}

// ErrFull is what a client reads when the spool disk is full.
var ErrFull = gatehouse.Errorf(gatehouse.EFULL, "The server has no room left for uploads; nothing was stored. Try again later, or ask an administrator to free disk space.")

// diskError is the error of a failed spool write: EFULL for a full disk,
// an exhausted quota or a file size limit (the cause stays in the chain,
// for the log), and an internal error otherwise.
func diskError(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) {
		return fmt.Errorf("%s: %w: %w", op, ErrFull, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// fileWriter writes to the spool file and keeps its first error, so that
// Write can tell a failing disk from a failing client.
type fileWriter struct {
	f   *os.File
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Remove closes and deletes the spool file of u; nil or removed twice is
// fine. A spool file the blob store adopted (renamed into place) has
// moved: its old name is left alone, since a later upload's spool file may
// have taken it.
func Remove(u *gatehouse.Upload) {
	if u == nil || u.File == nil {
		return
	}
	if f, ok := u.File.(*os.File); ok {
		name := f.Name()
		mine, err := f.Stat()
		if there, err2 := os.Lstat(name); err == nil && err2 == nil && os.SameFile(mine, there) {
			os.Remove(name)
		}
		f.Close()
	}
}

// Sweep removes spool files older than minAge (uploads that a crash cut
// off) and returns how many. Time is the file system's.
func (d Dir) Sweep(minAge time.Duration) int {
	cutoff := time.Now().Add(-minAge)
	return d.remove(func(info os.FileInfo) bool { return info.ModTime().Before(cutoff) })
}

// Clear removes every spool file: at start, any found belong to uploads
// of a process that is gone, and each can be as large as an upload.
func (d Dir) Clear() int {
	return d.remove(func(os.FileInfo) bool { return true })
}

func (d Dir) remove(old func(os.FileInfo) bool) int {
	entries, err := os.ReadDir(string(d))
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if info, err := e.Info(); err == nil && old(info) && os.Remove(filepath.Join(string(d), e.Name())) == nil {
			n++
		}
	}
	return n
}
