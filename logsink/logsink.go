// Package logsink batches log lines on their way to a file descriptor.
//
// Every request writes an access line; one write(2) per line cost the small
// channel answers (a 1 KB shard) about a twentieth of their CPU. A Sink takes
// a line with a copy into memory and one goroutine writes what has gathered
// with a single call, so under load many lines share one write(2), and when
// the server is idle a line still goes out at once (there is no timer to
// wait for).
package logsink

import (
	"errors"
	"io"
	"runtime"
	"sync"
)

// DefaultLimit is the most a Sink holds unwritten before writers wait.
const DefaultLimit = 1 << 20

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("logsink: closed")

// Sink is an io.Writer that hands what is written to it to another writer
// in batches. Each Write is kept whole and in order. Writes block while
// Limit bytes wait (a stuck log reader slows the server instead of growing
// its memory, and no line is dropped).
type Sink struct {
	out   io.Writer
	limit int

	mu      sync.Mutex
	changed sync.Cond // signalled when pending grows, a batch is written, or the sink closes
	pending []byte    // bytes not yet handed to the writer goroutine
	spare   []byte    // the buffer the writer goroutine last wrote, for reuse
	queued  uint64    // bytes accepted since New
	written uint64    // bytes handed to out (or dropped by its error)
	closed  bool
	err     error // the first error out returned
	done    chan struct{}
}

// New starts a Sink writing to out. limit bounds the bytes held unwritten
// (DefaultLimit when 0 or less).
func New(out io.Writer, limit int) *Sink {
	if limit <= 0 {
		limit = DefaultLimit
	}
	s := &Sink{out: out, limit: limit, done: make(chan struct{})}
	s.changed.L = &s.mu
	go s.run()
	return s
}

// Write copies p for the writer goroutine. It returns an error only once the
// sink is closed; an error of the underlying writer is reported by Flush and
// Close, because a log line has no caller that could act on it.
func (s *Sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A line larger than the limit is taken alone once nothing waits.
	for !s.closed && len(s.pending) > 0 && len(s.pending)+len(p) > s.limit {
		s.changed.Wait()
	}
	if s.closed {
		return 0, ErrClosed
	}
	if len(s.pending) == 0 {
		s.changed.Broadcast() // wake the writer goroutine
	}
	s.pending = append(s.pending, p...)
	s.queued += uint64(len(p))
	return len(p), nil
}

// run writes batches until the sink is closed and drained.
func (s *Sink) run() {
	defer close(s.done)
	s.mu.Lock()
	for {
		for len(s.pending) == 0 && !s.closed {
			s.changed.Wait()
		}
		if len(s.pending) == 0 {
			s.mu.Unlock()
			return
		}
		if !s.closed {
			// Let the goroutines that are ready run first: under load
			// they add their lines to this batch; when the server is
			// idle this returns at once.
			s.mu.Unlock()
			runtime.Gosched()
			s.mu.Lock()
		}
		batch := s.pending
		s.pending = s.spare[:0]
		s.mu.Unlock()

		_, err := s.out.Write(batch)

		s.mu.Lock()
		if err != nil && s.err == nil {
			s.err = err
		}
		s.written += uint64(len(batch))
		// Keep the buffer for the next batch unless one outsized line
		// made it far larger than the limit. Either way spare must stop
		// naming the array pending now uses.
		s.spare = nil
		if cap(batch) <= 4*s.limit {
			s.spare = batch[:0]
		}
		s.changed.Broadcast()
	}
}

// Flush returns once everything written before the call has been handed to
// the underlying writer, with the first error that writer returned.
func (s *Sink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.queued
	for s.written < target {
		s.changed.Wait()
	}
	return s.err
}

// Close writes what is left, stops the writer goroutine and returns the
// first error of the underlying writer. Writes after Close fail.
func (s *Sink) Close() error {
	s.mu.Lock()
	s.closed = true
	s.changed.Broadcast()
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
