package fileblob_test

import (
	"crypto/rand"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/blobstore/fileblob"
)

// fourK returns at most 4 KB a read, as a multipart upload body does.
type fourK struct{ r io.Reader }

func (f fourK) Read(p []byte) (int, error) { return f.r.Read(p[:min(len(p), 4096)]) }

// BenchmarkSendfile sends a 1 MiB object to a loopback connection as a
// download does (reader WriteTo → the connection's ReadFrom → sendfile) and
// reports the sending thread's CPU time (sender-µs/op, mostly the kernel's
// sendfile), which grows with the number of page-cache folios the file is
// held in: those the writes that filled it made. "4KiB-writes" is a file
// written as an upload arrives, 4 KB at a time (what the spool wrote before
// it gathered its writes, and so what Adopt made the object); "Put" is the
// same bytes, from the same 4 KB reads, stored by Put.
func BenchmarkSendfile(b *testing.B) {
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	dir := b.TempDir()
	s, err := fileblob.Open(dir, fileblob.Options{})
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "small-writes"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, fourK{bytesReader(data)}, make([]byte, 32<<10)); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := s.Put(b.Context(), "put", fourK{bytesReader(data)}, ""); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, key string }{{"4KiB-writes", "small-writes"}, {"Put", "put"}} {
		b.Run(c.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() { // the client: reads everything sent
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				_, _ = io.CopyBuffer(io.Discard, struct{ io.Reader }{conn}, make([]byte, 1<<20))
			}()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			send := func() {
				r, err := s.NewRangeReader(b.Context(), c.key, 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(conn, r); err != nil || n != int64(len(data)) {
					b.Fatalf("sent %d bytes, %v", n, err)
				}
				r.Close()
			}
			send()
			// The sending goroutine keeps its thread, whose CPU time
			// RUSAGE_THREAD reads.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			t0 := threadCPU(b)
			for b.Loop() {
				send()
			}
			b.ReportMetric(float64((threadCPU(b)-t0).Microseconds())/float64(b.N), "sender-µs/op")
		})
	}
}

func bytesReader(b []byte) io.Reader { return &sliceReader{b} }

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// threadCPU is the user and system time of the calling thread.
func threadCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
