package fileblob

import (
	"context"
	"io"
	"os"
	"sync"
)

// writeChunk is the size of the writes that fill an object's file. The page
// cache keeps a file in folios no larger than the writes that filled it, and
// sendfile pays for every folio of every download (looking it up, pinning
// and releasing it): a 1 MB package written in 32 KB pieces costs tens of µs
// more server CPU per download than one written in 1 MB pieces, as gocloud's
// writer used to write them.
const writeChunk = 1 << 20

// chunks hold writeChunk bytes each, kept between writes so that a small
// object does not allocate and clear a megabyte.
var chunks = sync.Pool{New: func() any { b := make([]byte, writeChunk); return &b }}

// writeSynced copies r into f in writeChunk pieces, syncs and closes it. It
// stops when ctx ends, so an upload whose client went away stores nothing.
func writeSynced(ctx context.Context, f *os.File, r io.Reader) error {
	buf := chunks.Get().(*[]byte)
	err := copyChunks(ctx, f, r, *buf)
	chunks.Put(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// copyChunks copies r to w through buf, filling buf before each write
// (however little each read returns) so that every write but the last is
// len(buf) bytes at an offset that is a multiple of it. ctx is checked
// before each read. Only io.EOF from r ends the copy; any other error,
// io.ErrUnexpectedEOF of a body cut short included, is returned.
func copyChunks(ctx context.Context, w io.Writer, r io.Reader, buf []byte) error {
	for {
		n := 0
		var rerr error
		for n < len(buf) && rerr == nil {
			if rerr = ctx.Err(); rerr != nil {
				break
			}
			var m int
			m, rerr = r.Read(buf[n:])
			n += m
		}
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}
