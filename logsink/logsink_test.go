package logsink_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/logsink"
)

// recorder is an underlying writer that records each call.
type recorder struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	calls   int
	entered chan struct{} // when set, each Write sends on it first
	gate    chan struct{} // when set, each Write then waits until it is closed
	err     error
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.buf.Write(p)
	return len(p), r.err
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

func TestLinesArriveWholeAndInOrderPerWriter(t *testing.T) {
	rec := &recorder{}
	s := logsink.New(rec, 4096)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(s, "writer=%d line=%d %s\n", w, i, strings.Repeat("x", i%50))
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(rec.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines arrived, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var w, i int
		var pad string
		if _, err := fmt.Sscanf(l, "writer=%d line=%d %s", &w, &i, &pad); err != nil && i%50 != 0 {
			t.Fatalf("torn line %q: %v", l, err)
		}
		if i != next[w] || len(pad) != i%50 {
			t.Fatalf("writer %d: line %q arrived when line %d was due", w, l, next[w])
		}
		next[w]++
	}
	if rec.calls >= writers*lines {
		t.Errorf("%d lines took %d writes: nothing was batched", writers*lines, rec.calls)
	}
}

func TestAnIdleSinkWritesAtOnce(t *testing.T) {
	rec := &recorder{}
	s := logsink.New(rec, 0)
	defer s.Close()
	fmt.Fprintln(s, "one line")
	// No Flush: the line must arrive without more writes or a close.
	deadline := time.Now().Add(10 * time.Second)
	for rec.String() != "one line\n" {
		if time.Now().After(deadline) {
			t.Fatalf("a lone line did not arrive within 10 s: %q", rec.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFlushWaitsForEverythingWrittenBefore(t *testing.T) {
	rec := &recorder{}
	s := logsink.New(rec, 0)
	defer s.Close()
	for i := range 100 {
		fmt.Fprintf(s, "%d\n", i)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(rec.String(), "\n"); n != 100 {
		t.Fatalf("after Flush %d of 100 lines had arrived", n)
	}
}

func TestWritersWaitAtTheLimitAndNothingIsDropped(t *testing.T) {
	rec := &recorder{entered: make(chan struct{}, 16), gate: make(chan struct{})}
	s := logsink.New(rec, 64)
	line := strings.Repeat("y", 31) + "\n" // 32 bytes: two fill the limit
	// The first line goes to the writer goroutine, which sticks in the
	// underlying writer; two more fill the limit.
	if _, err := s.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	<-rec.entered
	for range 2 {
		if _, err := s.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	blocked := make(chan struct{})
	go func() {
		defer close(blocked)
		_, _ = s.Write([]byte(line))
	}()
	select {
	case <-blocked:
		t.Fatal("a write past the limit returned while the underlying writer was stuck")
	case <-time.After(50 * time.Millisecond):
	}
	close(rec.gate) // the underlying writer moves again
	<-blocked
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(rec.String(), line); n != 4 {
		t.Fatalf("%d lines arrived, want all 4", n)
	}
}

func TestALineLargerThanTheLimitStillGoesOut(t *testing.T) {
	rec := &recorder{}
	s := logsink.New(rec, 16)
	big := strings.Repeat("z", 100) + "\n"
	if _, err := s.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if rec.String() != big {
		t.Fatalf("got %q", rec.String())
	}
}

func TestLinesAfterAnOutsizedLineAreNotOverwritten(t *testing.T) {
	// A line over four times the limit leaves a buffer too big to keep;
	// the lines written while the next batch is being written must not
	// land in that batch's array.
	entered, tokens := make(chan struct{}), make(chan struct{})
	rec := &recorder{}
	out := writerFunc(func(p []byte) (int, error) {
		entered <- struct{}{}
		<-tokens
		return rec.Write(p)
	})
	s := logsink.New(out, 16)
	var want strings.Builder
	write := func(line string) {
		t.Helper()
		if _, err := s.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		want.WriteString(line)
	}
	// Each line is written alone: a small one (its buffer is kept for
	// reuse), then the outsized one.
	for _, line := range []string{"first\n", strings.Repeat("z", 100) + "\n"} {
		write(line)
		<-entered
		tokens <- struct{}{}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	write("AAAA\n")
	<-entered       // that batch is being written...
	write("BBBB\n") // ...while the next line arrives
	tokens <- struct{}{}
	<-entered
	tokens <- struct{}{}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := rec.String(); got != want.String() {
		t.Fatalf("got %q,\nwant %q", got, want.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestTheUnderlyingErrorIsReportedAndWritesAfterCloseFail(t *testing.T) {
	boom := errors.New("disk gone")
	rec := &recorder{err: boom}
	s := logsink.New(rec, 0)
	fmt.Fprintln(s, "line")
	if err := s.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush = %v, want %v", err, boom)
	}
	if err := s.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close = %v, want %v", err, boom)
	}
	if _, err := s.Write([]byte("late\n")); !errors.Is(err, logsink.ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
}

// The benchmarks compare a line written straight to a file with one through
// a Sink, from as many goroutines as GOMAXPROCS (requests log in parallel).
var benchLine = []byte(`time=2026-12-04T17:00:00.000Z level=INFO msg=request method=GET path=/repo/bench/noarch/shards/0123456789abcdef.msgpack.zst status=200 bytes=997 duration_ms=0.081 ip=127.0.0.1` + "\n")

func benchFile(b *testing.B) *os.File {
	f, err := os.Create(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

func BenchmarkDirect(b *testing.B) {
	f := benchFile(b)
	b.SetBytes(int64(len(benchLine)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = f.Write(benchLine)
		}
	})
}

// countingFile counts the writes that reach the file.
type countingFile struct {
	f      *os.File
	writes int
}

func (c *countingFile) Write(p []byte) (int, error) { c.writes++; return c.f.Write(p) }

func BenchmarkSink(b *testing.B) {
	out := &countingFile{f: benchFile(b)}
	s := logsink.New(out, 0)
	b.SetBytes(int64(len(benchLine)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = s.Write(benchLine)
		}
	})
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(out.writes)/float64(b.N), "writes/op")
}
