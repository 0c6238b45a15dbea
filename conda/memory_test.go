package conda

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/klauspost/compress/zstd"
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

// liveHeapPeak runs f while collecting garbage over and over, and returns
// the largest live heap seen after a collection, over what was live before
// f started. Sampling can only miss a peak, never invent one, so a test
// that compares it with a bound cannot fail for garbage or timing.
func liveHeapPeak(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	live := func() uint64 {
		runtime.GC()
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := live()
	var peak uint64
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	for {
		select {
		case <-done:
			return peak
		default:
		}
		if l := live(); l > base && l-base > peak {
			peak = l - base
		}
	}
}

// farMatchFile returns a file of n random bytes, gap zeros, and the same
// n bytes again: its zstd encoding matches gap+n bytes back.
func farMatchFile(name string, n, gap int) tarEntry {
	r := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{9}).Read(r)
	return file(name, append(append(bytes.Clone(r), make([]byte, gap)...), r...))
}

// zstdFar compresses data with an encoder window large enough for its
// matches and declares window in the frame header.
func zstdFar(t testing.TB, data []byte, window uint64) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithWindowSize(int(window)), zstd.WithEncoderCRC(false))
	if err != nil {
		t.Fatal(err)
	}
	z := enc.EncodeAll(data, nil)
	var h zstd.Header
	if err := h.Decode(z); err != nil {
		t.Fatal(err)
	}
	return append(patchWindow(h, window), z[h.HeaderSize:]...)
}

// allWindowsConda is the package that makes Inspect allocate the most zstd
// windows: each member's compressed size gives a first window just below
// what its matches need, so both members are decoded twice, with 16 and 32
// MiB for info/ and 64 and 128 MiB for the payload.
func allWindowsConda(t testing.TB) []byte {
	ms := condaMembers(t, testStem)
	ms[2].data = zstdFar(t, makeTar(t, file("info/index.json", demoIndex(t)), farMatchFile("info/test/data", 900<<10, 20<<20)), 32<<20)
	ms[1].data = zstdFar(t, makeTar(t, farMatchFile("share/data", 3584<<10, 70<<20)), 128<<20)
	return condaZip(ms...)
}

// worstCases are the hostile packages that cost Inspect the most memory,
// one or more per term of Limits.MemoryBound. They take a while to build,
// so they are built once.
var worstCases = sync.OnceValue(func() map[string][]byte { return buildWorstCases(&testing.T{}) })

func buildWorstCases(t testing.TB) map[string][]byte {
	withWindow := func(info, pkg []byte) []byte {
		ms := condaMembers(t, testStem)
		ms[2].data, ms[1].data = info, pkg
		return condaZip(ms...)
	}
	idx := file("info/index.json", demoIndex(t))
	var deps []string
	for i := range 21000 {
		deps = append(deps, fmt.Sprintf("package-number-%d >=1.%d,<2.0a0", i, i))
	}
	bigIdx := file("info/index.json", indexJSON(t, "demo", "1.0", "0", testSubdir, map[string]any{"depends": deps}))
	runExports, err := json.Marshal(map[string][]string{"weak": deps[:20000]})
	if err != nil {
		t.Fatal(err)
	}
	meta := []tarEntry{bigIdx, file("info/run_exports.json", runExports),
		file("info/about.json", []byte(`{"summary":"`+strings.Repeat("s", 1<<20-100)+`"}`)),
		file("info/paths.json", []byte(`{"paths":[{"_path":"`+strings.Repeat("a", 1<<20-100)+`"}],"paths_version":1}`))}
	var many []tarEntry
	for i := range 99_000 {
		many = append(many, file(fmt.Sprintf("lib/python3.12/site-packages/pkg/module_%06d.py", i), nil))
		if i%2 == 0 {
			many = append(many[:len(many)-1], symlink(fmt.Sprintf("lib/python3.12/site-packages/pkg/link_%06d.py", i), "x"))
		}
	}
	manyEntries := withWindow(zstdCompress(t, makeTar(t, idx)), zstdCompress(t, makeTar(t, many...)))
	return map[string][]byte{
		"a .conda that needs four zstd windows": allWindowsConda(t),
		"a .conda whose pkg matches reach 2 MiB back and declare 128 MiB": withWindow(
			zstdCompress(t, makeTar(t, idx)), zstdDeclaring(t, makeTar(t, longMatchFile("share/x")), 128<<20)),
		"a .conda whose info and pkg zstd both need their declared windows": withWindow(
			zstdDeclaring(t, makeTar(t, idx, longMatchFile("info/x")), 128<<20), zstdDeclaring(t, makeTar(t, longMatchFile("share/x")), 128<<20)),
		"a .conda with the largest metadata":            condaFile(t, testStem, meta...),
		"a .tar.bz2 with the largest metadata":          tarBz2(t, meta...),
		"a .conda with 99,000 payload entries":          manyEntries,
		"a 2 KB zstd bomb in info":                      zstdBombConda(t),
		"a 2 KB zstd bomb in the payload":               withWindow(zstdCompress(t, makeTar(t, idx)), zstdRLEFrame(128<<20, 512, 0)),
		"a .tar.bz2 bomb of 64 MiB of zeros after info": bzip2Compress(t, bytes.NewReader(append(makeTar(t, idx)[:1024], make([]byte, 64<<20)...))),
	}
}

// checklist F15: what one inspection keeps live stays under the bound the
// package doc states, and the bombs cost little.
func TestInspectMemoryStaysUnderTheBound(t *testing.T) {
	if testing.Short() {
		t.Skip("builds large hostile packages")
	}
	bound := DefaultLimits().MemoryBound()
	for name, data := range worstCases() {
		filename := condaName
		if strings.Contains(name, ".tar.bz2") {
			filename = testStem + ".tar.bz2"
		}
		t.Run("keeps "+name+" under the bound", func(t *testing.T) {
			var err error
			live := liveHeapPeak(func() { _, err = inspectBytes(data, filename, DefaultLimits()) })
			if code := gatehouse.ErrorCode(err); err != nil && code != gatehouse.ETOOLARGE && code != gatehouse.EINVALID {
				t.Fatalf("Inspect = %v", err)
			}
			if live > uint64(bound) {
				t.Errorf("live heap reached %d MiB; MemoryBound is %d MiB", live>>20, bound>>20)
			}
			// Where decoding, not parsing, is the cost, even the bytes
			// allocated in total stay under the bound, however late the
			// collector runs.
			if strings.Contains(name, "zstd") || strings.Contains(name, "bomb") {
				alloc := measureAlloc(func() { _, _ = inspectBytes(data, filename, DefaultLimits()) })
				if alloc > uint64(bound) {
					t.Errorf("Inspect allocated %d MiB; MemoryBound is %d MiB", alloc>>20, bound>>20)
				}
				if strings.Contains(name, "bomb") && alloc > 8<<20 {
					t.Errorf("a bomb allocated %d MiB", alloc>>20)
				}
				if strings.Contains(name, "four") && alloc < 240<<20 {
					t.Errorf("the four-window package allocated only %d MiB; it no longer tests the bound", alloc>>20)
				}
			}
		})
	}
}

// BenchmarkInspectConcurrentBombs inspects 20 small bombs at once, as 20
// concurrent uploads would, and reports the peak heap growth (live and
// unswept objects, sampled every 100 µs) and the bytes allocated per round
// (checklist F15). It is a measurement, not an assertion: the package doc
// states the bound per inspection. The window-forcing case is a valid
// package whose matches need its declared 128 MiB window: what an attacker
// who crafts for it gets, and why MemoryBound includes MaxZstdWindow.
func BenchmarkInspectConcurrentBombs(b *testing.B) {
	const n = 20
	cases := worstCases()
	for _, c := range []struct{ name, key, filename string }{
		{"zstd-info", "a 2 KB zstd bomb in info", condaName},
		{"zstd-payload", "a 2 KB zstd bomb in the payload", condaName},
		{"bzip2-payload", "a .tar.bz2 bomb of 64 MiB of zeros after info", testStem + ".tar.bz2"},
		{"window-forcing", "a .conda whose pkg matches reach 2 MiB back and declare 128 MiB", condaName},
	} {
		bomb := cases[c.key]
		b.Run(c.name, func(b *testing.B) {
			var worst, alloc uint64
			rounds := 0
			for b.Loop() {
				peak, total := peakHeap(func() {
					var wg sync.WaitGroup
					for range n {
						wg.Go(func() {
							_, err := inspectBytes(bomb, c.filename, DefaultLimits())
							if code := gatehouse.ErrorCode(err); err != nil && code != gatehouse.ETOOLARGE {
								b.Errorf("Inspect = %v", err)
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
		})
	}
}
