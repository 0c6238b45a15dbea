package conda

import (
	"encoding/binary"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// zstdRLEFrame returns a zstd frame made by hand: no content size, the
// declared window (a power of two, as cph declares 128 MiB), and blocks
// RLE blocks of 128 KiB of the byte b. Each block is four bytes, so 512
// blocks are a 2 KB frame that decompresses to 64 MiB: the smallest bomb
// zstd allows.
func zstdRLEFrame(window uint64, blocks int, b byte) []byte {
	exp := 0
	for uint64(1)<<(10+exp) < window {
		exp++
	}
	f := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528)
	f = append(f, 0x00, byte(exp<<3)) // no content size, not single segment, no checksum
	for i := range blocks {
		h := uint32(128<<10)<<3 | 1<<1 // RLE block of 128 KiB
		if i == blocks-1 {
			h |= 1 // last block
		}
		f = append(f, byte(h), byte(h>>8), byte(h>>16), b)
	}
	return f
}

// zstdBombConda returns a .conda whose info member is a 2 KB zstd frame of
// 64 MiB of zeros that declares cph's 128 MiB window (checklist F4, F15).
func zstdBombConda(t testing.TB) []byte {
	ms := condaMembers(t, testStem, file("info/index.json", demoIndex(t)))
	ms[2].data = zstdRLEFrame(128<<20, 512, 0)
	return condaZip(ms...)
}

// peakHeap runs f while sampling the heap every 100 µs and returns the
// largest growth of live-and-unswept heap objects over what was there
// before f started, and the bytes f allocated in total.
func peakHeap(f func()) (peak, total uint64) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	read := func() (heap, allocs uint64) {
		metrics.Read(samples)
		return samples[0].Value.Uint64(), samples[1].Value.Uint64()
	}
	runtime.GC()
	base, allocs0 := read()
	var max atomic.Uint64
	max.Store(base)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			if h, _ := read(); h > max.Load() {
				max.Store(h)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	f()
	if h, _ := read(); h > max.Load() {
		max.Store(h)
	}
	close(done)
	wg.Wait()
	_, allocs1 := read()
	return max.Load() - base, allocs1 - allocs0
}

// BenchmarkInspectConcurrentBombs inspects 20 small zstd bombs at once,
// as 20 concurrent uploads would, and reports the peak heap growth and the
// bytes allocated per round (checklist F15). It is a measurement, not an
// assertion: the package doc states the bound per inspection.
func BenchmarkInspectConcurrentBombs(b *testing.B) {
	const n = 20
	bomb := zstdBombConda(b)
	var worst, alloc uint64
	rounds := 0
	for b.Loop() {
		peak, total := peakHeap(func() {
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					_, err := inspectBytes(bomb, condaName, DefaultLimits())
					if gatehouse.ErrorCode(err) != gatehouse.ETOOLARGE {
						b.Errorf("Inspect = %v; want ETOOLARGE", err)
					}
				})
			}
			wg.Wait()
		})
		worst = max(worst, peak)
		alloc += total
		rounds++
	}
	b.ReportMetric(float64(len(bomb)), "bomb-bytes")
	b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(alloc)/float64(rounds)/(1<<20), "alloc-MiB/round")
}
