package conda

import (
	"bytes"
	"compress/bzip2"
	"io"
	"math/bits"
	"os/exec"
	"slices"
	"testing"
)

// Go's standard library can read bzip2 but not write it, and the hostile
// .tar.bz2 archives the tests need are made in Go so that they stay out of
// the repository. So here is a minimal bzip2 encoder, for tests only: level
// 1 (100 kB blocks), plain Huffman tables of near-equal code lengths, and
// blocks cached by content, so a gigabyte of zeros (thousands of equal
// blocks) costs one block sort.

const bzBlockMax = 100000 - 20 // bzip2 -1 blocks, with bzip2's own margin

// bzCRCTable is bzip2's CRC-32: polynomial 0x04c11db7, most significant bit
// first (hash/crc32 only has the reflected form).
var bzCRCTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04c11db7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) bits(n uint, v uint64) {
	w.acc = w.acc<<n | v&(1<<n-1)
	w.nacc += n
	for w.nacc >= 8 {
		w.out = append(w.out, byte(w.acc>>(w.nacc-8)))
		w.nacc -= 8
	}
	w.acc &= 1<<w.nacc - 1
}

// appendBits copies the bits of another writer (not yet padded).
func (w *bitWriter) appendBits(o *bitWriter) {
	for _, b := range o.out {
		w.bits(8, uint64(b))
	}
	w.bits(o.nacc, o.acc)
}

func (w *bitWriter) finish() []byte {
	if w.nacc > 0 {
		w.bits(8-w.nacc, 0)
	}
	return w.out
}

type bzBlock struct {
	bits *bitWriter
	crc  uint32
}

type bzEncoder struct {
	w        bitWriter
	combined uint32
	cache    map[string]bzBlock
	rle      []byte // the block being filled, after run-length stage 1
	crc      uint32 // CRC of the original bytes of that block
	run      byte
	runLen   int
}

// bzip2Compress compresses everything r yields into one bzip2 stream.
func bzip2Compress(t testing.TB, r io.Reader) []byte {
	t.Helper()
	e := &bzEncoder{cache: map[string]bzBlock{}, crc: 0xffffffff}
	e.w.bits(32, 0x425a6831) // "BZh1"
	buf := make([]byte, 1<<16)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if e.runLen > 0 && (c != e.run || e.runLen == 255+4) {
				e.flushRun()
			}
			e.run = c
			e.runLen++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if e.runLen > 0 {
		e.flushRun()
	}
	if len(e.rle) > 0 {
		e.flushBlock()
	}
	e.w.bits(24, 0x177245)
	e.w.bits(24, 0x385090)
	e.w.bits(32, uint64(e.combined))
	return e.w.finish()
}

// flushRun moves the pending run into the block: runs of 4 to 259 equal
// bytes become the 4 bytes and a count.
func (e *bzEncoder) flushRun() {
	need := min(e.runLen, 5)
	if len(e.rle)+need > bzBlockMax {
		e.flushBlock()
	}
	for range e.runLen {
		e.crc = e.crc<<8 ^ bzCRCTable[byte(e.crc>>24)^e.run]
	}
	if e.runLen < 4 {
		for range e.runLen {
			e.rle = append(e.rle, e.run)
		}
	} else {
		e.rle = append(e.rle, e.run, e.run, e.run, e.run, byte(e.runLen-4))
	}
	e.runLen = 0
}

func (e *bzEncoder) flushBlock() {
	blk, ok := e.cache[string(e.rle)]
	if !ok {
		blk = bzBlock{bits: encodeBlock(e.rle), crc: ^e.crc}
		e.cache[string(e.rle)] = blk
	}
	e.w.bits(24, 0x314159)
	e.w.bits(24, 0x265359)
	e.w.bits(32, uint64(blk.crc))
	e.w.appendBits(blk.bits)
	e.combined = (e.combined<<1 | e.combined>>31) ^ blk.crc
	e.rle, e.crc = e.rle[:0], 0xffffffff
}

// bwt sorts the rotations of b by prefix doubling and returns the last
// column and the row of the original string.
func bwt(b []byte) ([]byte, int) {
	n := len(b)
	sa, rank, next := make([]int, n), make([]int, n), make([]int, n)
	for i := range sa {
		sa[i], rank[i] = i, int(b[i])
	}
	for k := 1; ; k *= 2 {
		key := func(i int) (int, int) { return rank[i], rank[(i+k)%n] }
		slices.SortFunc(sa, func(x, y int) int {
			a1, a2 := key(x)
			b1, b2 := key(y)
			if a1 != b1 {
				return a1 - b1
			}
			return a2 - b2
		})
		next[sa[0]] = 0
		for i := 1; i < n; i++ {
			a1, a2 := key(sa[i-1])
			b1, b2 := key(sa[i])
			next[sa[i]] = next[sa[i-1]]
			if a1 != b1 || a2 != b2 {
				next[sa[i]]++
			}
		}
		copy(rank, next)
		if rank[sa[n-1]] == n-1 || k >= n {
			break
		}
	}
	last := make([]byte, n)
	orig := 0
	for i, s := range sa {
		last[i] = b[(s+n-1)%n]
		if s == 0 {
			orig = i
		}
	}
	return last, orig
}

// encodeBlock writes a block's body after its CRC: BWT, move-to-front,
// zero runs as RUNA/RUNB, and two identical Huffman tables.
func encodeBlock(rle []byte) *bitWriter {
	last, orig := bwt(rle)
	var used [256]bool
	for _, c := range rle {
		used[c] = true
	}
	var alphabet []byte
	for c := range 256 {
		if used[c] {
			alphabet = append(alphabet, byte(c))
		}
	}
	eob := len(alphabet) + 1
	var syms []int
	mtf := slices.Clone(alphabet)
	zeros := 0
	flushZeros := func() {
		for zeros > 0 {
			if zeros&1 == 1 {
				syms = append(syms, 0) // RUNA
				zeros = (zeros - 1) / 2
			} else {
				syms = append(syms, 1) // RUNB
				zeros = (zeros - 2) / 2
			}
		}
	}
	for _, c := range last {
		j := bytes.IndexByte(mtf, c)
		if j == 0 {
			zeros++
			continue
		}
		flushZeros()
		copy(mtf[1:j+1], mtf[:j])
		mtf[0] = c
		syms = append(syms, j+1)
	}
	flushZeros()
	syms = append(syms, eob)

	// A complete prefix code with lengths L-1 and L.
	alpha := eob + 1
	L := bits.Len(uint(alpha - 1))
	short := 1<<L - alpha
	lengths := make([]int, alpha)
	for i := range lengths {
		lengths[i] = L
		if i < short {
			lengths[i] = L - 1
		}
	}
	// bzip2's canonical codes: by length, then symbol, counting up.
	codes := make([]uint64, alpha)
	code := uint64(0)
	for n := 1; n <= L; n++ {
		for s, l := range lengths {
			if l == n {
				codes[s] = code
				code++
			}
		}
		code <<= 1
	}

	w := &bitWriter{}
	w.bits(1, 0) // not randomized
	w.bits(24, uint64(orig))
	var groups uint64
	for g := range 16 {
		for _, c := range alphabet {
			if int(c)/16 == g {
				groups |= 1 << (15 - g)
				break
			}
		}
	}
	w.bits(16, groups)
	for g := range 16 {
		if groups&(1<<(15-g)) == 0 {
			continue
		}
		var m uint64
		for _, c := range alphabet {
			if int(c)/16 == g {
				m |= 1 << (15 - int(c)%16)
			}
		}
		w.bits(16, m)
	}
	const tables = 2
	selectors := (len(syms) + 49) / 50
	w.bits(3, tables)
	w.bits(15, uint64(selectors))
	for range selectors {
		w.bits(1, 0) // always table 0
	}
	for range tables {
		cur := lengths[0]
		w.bits(5, uint64(cur))
		for _, l := range lengths {
			for cur < l {
				w.bits(2, 2)
				cur++
			}
			for cur > l {
				w.bits(2, 3)
				cur--
			}
			w.bits(1, 0)
		}
	}
	for _, s := range syms {
		w.bits(uint(lengths[s]), codes[s])
	}
	return w
}

func TestBzip2EncoderRoundTrips(t *testing.T) {
	inputs := map[string][]byte{
		"empty-ish": []byte("x"),
		"text":      bytes.Repeat([]byte("conda package metadata; "), 500),
		"zeros":     make([]byte, 3*bzBlockMax),
		"all bytes": func() []byte {
			var b []byte
			for i := range 70000 {
				b = append(b, byte(i*7), byte(i), byte(i>>8))
			}
			return b
		}(),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			enc := bzip2Compress(t, bytes.NewReader(in))
			got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(enc)))
			if err != nil || !bytes.Equal(got, in) {
				t.Fatalf("Go's bzip2 reader gave %d bytes, %v; want the %d input bytes back", len(got), err, len(in))
			}
			// The reference tool must agree, when it is installed.
			if path, err := exec.LookPath("bzip2"); err == nil {
				cmd := exec.Command(path, "-dc")
				cmd.Stdin = bytes.NewReader(enc)
				out, err := cmd.Output()
				if err != nil || !bytes.Equal(out, in) {
					t.Fatalf("bzip2 -d gave %d bytes, %v", len(out), err)
				}
			}
		})
	}
}
