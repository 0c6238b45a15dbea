package fileblob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
)

// sizes records the length of every write.
type sizes struct {
	buf    bytes.Buffer
	writes []int
}

func (s *sizes) Write(p []byte) (int, error) {
	s.writes = append(s.writes, len(p))
	return s.buf.Write(p)
}

// dribble returns at most n bytes a read, then err in place of io.EOF.
type dribble struct {
	r   io.Reader
	n   int
	err error
}

func (d *dribble) Read(p []byte) (int, error) {
	n, err := d.r.Read(p[:min(len(p), d.n)])
	if err == io.EOF && d.err != nil {
		err = d.err
	}
	return n, err
}

func TestCopyChunksWritesWholeChunksWhateverTheReadsReturn(t *testing.T) {
	data := make([]byte, 3*100+42)
	for i := range data {
		data[i] = byte(i)
	}
	var dst sizes
	err := copyChunks(context.Background(), &dst, &dribble{r: bytes.NewReader(data), n: 7}, make([]byte, 100))
	if err != nil || !bytes.Equal(dst.buf.Bytes(), data) {
		t.Fatalf("copied %d bytes, %v", dst.buf.Len(), err)
	}
	if want := []int{100, 100, 100, 42}; !slices.Equal(dst.writes, want) {
		t.Fatalf("writes %v, want %v", dst.writes, want)
	}
}

func TestCopyChunksReturnsACutOffBodyAsAnError(t *testing.T) {
	// An HTTP body cut short ends with io.ErrUnexpectedEOF: never a
	// complete object.
	err := copyChunks(context.Background(), io.Discard, &dribble{r: bytes.NewReader(make([]byte, 150)), n: 30, err: io.ErrUnexpectedEOF}, make([]byte, 100))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := copyChunks(ctx, io.Discard, bytes.NewReader(make([]byte, 10)), make([]byte, 100)); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: err = %v", err)
	}
}
