package fileblob_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/blobstore/fileblob"
)

// recordingWriter is a destination with ReadFrom, as an
// http.ResponseWriter's is; it records what it was handed.
type recordingWriter struct {
	src io.Reader
	buf bytes.Buffer
}

func (w *recordingWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *recordingWriter) ReadFrom(r io.Reader) (int64, error) {
	w.src = r
	return w.buf.ReadFrom(r)
}

// Downloads of disk files must go out with sendfile: net's sendfile path
// takes an *os.File, or an *io.LimitedReader over one, from the
// connection's ReadFrom. io.Copy(w, reader) (as the download handler
// does) must therefore reach w.ReadFrom with exactly that pair.
func TestWriteToHandsTheFileToReadFrom(t *testing.T) {
	s, err := fileblob.Open(t.TempDir(), fileblob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "linux-64/x.conda", strings.NewReader("0123456789"), ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		offset, length int64
		want           string
	}{
		{"the whole file", 0, -1, "0123456789"},
		{"a range", 3, 4, "3456"},
		{"a range to the end", 7, -1, "789"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.NewRangeReader(t.Context(), "linux-64/x.conda", tc.offset, tc.length)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var w recordingWriter
			n, err := io.Copy(&w, r)
			if err != nil || w.buf.String() != tc.want || n != int64(len(tc.want)) {
				t.Fatalf("copied %d bytes %q (err %v), want %q", n, w.buf.String(), err, tc.want)
			}
			lr, ok := w.src.(*io.LimitedReader)
			if !ok {
				t.Fatalf("ReadFrom got a %T, want an *io.LimitedReader over an *os.File", w.src)
			}
			if _, ok := lr.R.(*os.File); !ok {
				t.Fatalf("ReadFrom got an *io.LimitedReader over a %T, want an *os.File", lr.R)
			}
		})
	}
}

// The same through a real HTTP server: the response body is the range,
// whatever path the bytes took.
func TestWriteToServesHTTP(t *testing.T) {
	s, err := fileblob.Open(t.TempDir(), fileblob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("gatehouse"), 100_000)
	if err := s.Put(t.Context(), "big.conda", bytes.NewReader(data), ""); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd, err := s.NewRangeReader(r.Context(), "big.conda", 1000, 500_000)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rd.Close()
		w.Header().Set("Content-Length", "500000")
		_, _ = io.Copy(w, rd)
	}))
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil || !bytes.Equal(got, data[1000:501_000]) {
		t.Fatalf("read %d bytes (err %v), want the 500000-byte range", len(got), err)
	}
}
