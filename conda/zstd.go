package conda

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/bits"

	"github.com/klauspost/compress/zstd"
)

// This file streams the zstd tarballs of a .conda with memory bounded by
// what the bytes need, not by what a header claims (checklist F4, F15).
//
// A zstd frame declares a window: how far back its matches may reach, so
// how much history a decoder keeps. klauspost/compress allocates that
// history in full before the first block, and conda-package-handling
// declares 128 MiB (level 22's window) even for a few KB of metadata, so a
// 2 KB upload could cost 128 MiB. A match can never reach further back than
// what was decoded so far, though, so a frame whose content is small
// decodes the same with a small window. Inspect therefore first decodes
// with the header rewritten to declare a window sized from the member's
// compressed size (16 times it, between 1 MiB and the declared window); a
// real package whose matches reach further fails that attempt with a
// decoder error, and only then is decoded again with the declared window,
// capped by Limits.MaxZstdWindow. A bomb of zeros never needs the second
// attempt; a crafted one can force it, which is why MaxZstdWindow is part of
// the per-inspection bound (Limits.MemoryBound).

const (
	minFirstWindow   = 1 << 20
	firstWindowRatio = 16
)

// zstdMagic starts every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// scanZstdMember streams the zstd-compressed tarball in member m through
// s.scan. The decompressed bytes are bounded by budget; past it the read
// fails with overBudget. On any failure a member whose CRC does not match
// is reported as corrupt, since that explains everything else.
func (s *scanner) scanZstdMember(sr *io.SectionReader, m *zipMember, part tarPart, budget int64, overBudget error) error {
	member := io.NewSectionReader(sr, int64(m.dataOff), int64(m.csize))
	err := s.scanZstd(member, m, part, budget, overBudget)
	if err != nil {
		if crcErr := checkMemberCRC(member, m); crcErr != nil {
			return crcErr
		}
	}
	return err
}

func (s *scanner) scanZstd(member *io.SectionReader, m *zipMember, part tarPart, budget int64, overBudget error) error {
	head := make([]byte, min(m.csize, 32))
	if _, err := member.ReadAt(head, 0); err != nil {
		return err
	}
	var h zstd.Header
	if err := h.Decode(head); err != nil {
		return invalidf("%s is not a zstd stream: %s.", Quote(m.name), err.Error())
	}
	if h.DictionaryID != 0 {
		return invalidf("%s needs a zstd dictionary; conda packages never use one.", Quote(m.name))
	}
	if h.Skippable {
		return invalidf("%s starts with a skippable zstd frame; conda-package-handling and rattler write one zstd frame per member.", Quote(m.name))
	}
	// One frame, so one window: a second frame could declare a window of
	// its own, which the decoder would allocate besides the first.
	if end, err := zstdFrameEnd(member, h); err != nil {
		return err
	} else if end != int64(m.csize) {
		return invalidf("%s holds more than one zstd frame, or data after its frame; conda-package-handling and rattler write one frame per member.", Quote(m.name))
	}
	if h.HasFCS && h.FrameContentSize > uint64(budget) {
		return overBudget
	}
	limit := uint64(s.lim.MaxZstdWindow)
	if part == condaInfo {
		// No match can reach back further than the budget lets the
		// decoder go, so a larger window is never needed.
		limit = min(limit, ceilPow2(uint64(budget)))
	}
	declared := h.WindowSize
	if h.SingleSegment {
		declared = max(h.FrameContentSize, zstd.MinWindowSize)
	}
	final := min(declared, limit)
	first := min(max(ceilPow2(m.csize*firstWindowRatio), minFirstWindow), final)
	windows := []uint64{first}
	if final > first {
		windows = append(windows, final)
	}
	entries := s.entries
	var err, derr error
	for i, w := range windows {
		if i > 0 {
			s.entries = entries
			if part == condaInfo {
				s.resetInfo()
			}
		}
		var patch []byte
		if w < declared {
			patch = patchWindow(h, w)
		}
		derr, err = s.scanZstdOnce(member, m, part, budget, overBudget, patch, h.HeaderSize, limit)
		if derr == nil {
			return err
		}
	}
	if errors.Is(derr, zstd.ErrWindowSizeExceeded) || errors.Is(derr, zstd.ErrDecoderSizeExceeded) || part != condaInfo && declared > limit {
		return tooLargef("%s is not valid zstd within a window of %d bytes (%s); Gatehouse decodes packages with windows up to %d bytes, as conda-package-handling and rattler-build write them.", Quote(m.name), limit, derr.Error(), limit)
	}
	return invalidf("%s is not valid zstd: %s.", Quote(m.name), derr.Error())
}

// scanZstdOnce decodes member and scans the tarball in it. The first
// result is the decoder's own error, if it failed (then the second is
// whatever that failure caused); the second is the scan's result. With
// patch set, the frame header is replaced by it.
func (s *scanner) scanZstdOnce(member *io.SectionReader, m *zipMember, part tarPart, budget int64, overBudget error, patch []byte, headerSize int, limit uint64) (decodeErr, err error) {
	crc := crc32.NewIEEE()
	var in io.Reader = io.TeeReader(io.NewSectionReader(member, 0, member.Size()), crc)
	if patch != nil {
		if _, err := io.CopyN(io.Discard, in, int64(headerSize)); err != nil {
			return nil, err
		}
		in = io.MultiReader(bytes.NewReader(patch), in)
	}
	// A new decoder for each attempt: the one before is garbage by now, so
	// only one history buffer is live at a time.
	dec, err := zstd.NewReader(in,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(max(limit, zstd.MinWindowSize)),
	)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	dr := &decodeReader{r: dec}
	err = s.scan(&budgetReader{r: dr, max: budget, err: overBudget}, part)
	if dr.err != nil {
		return dr.err, err
	}
	if err != nil {
		return nil, err
	}
	// The decoder stops at the end of the last frame; whatever follows
	// in the member must be nothing.
	if _, err := io.Copy(io.Discard, in); err != nil {
		return nil, err
	}
	if crc.Sum32() != m.crc {
		return nil, invalidf("%s fails its CRC check: the .conda file is corrupt; upload it again (checklist F14).", Quote(m.name))
	}
	return nil, nil
}

// decodeReader remembers the error of the decoder it reads from, so a
// decoding failure can be told apart from a failure of what reads it.
type decodeReader struct {
	r   io.Reader
	err error
}

func (d *decodeReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF && d.err == nil {
		d.err = err
	}
	return n, err
}

// zstdFrameEnd walks the block headers of the frame at the start of
// member, whose header is h, without decoding anything, and returns the
// offset just past the frame (its checksum included).
func zstdFrameEnd(member *io.SectionReader, h zstd.Header) (int64, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(member, int64(h.HeaderSize), member.Size()-int64(h.HeaderSize)), 4096)
	end := int64(h.HeaderSize)
	for {
		var b [3]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		bh := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		size := int(bh >> 3)
		switch (bh >> 1) & 3 {
		case 1: // RLE: one byte stands for size bytes
			size = 1
		case 3:
			return 0, invalidf("The zstd stream has a block of a reserved type; it is corrupt (checklist F14).")
		}
		if _, err := r.Discard(size); err != nil {
			return 0, err
		}
		end += 3 + int64(size)
		if bh&1 != 0 {
			break
		}
	}
	if h.HasCheckSum {
		end += 4
	}
	return end, nil
}

// patchWindow returns a frame header equal to h but declaring a window of
// w bytes (rounded down to a power of two) and not single-segment: the
// checksum flag is kept and the content size, if any, is written in 8
// bytes.
func patchWindow(h zstd.Header, w uint64) []byte {
	exp := bits.Len64(w) - 1 - 10 // window = 2^(10+exp)
	fhd := byte(0)
	if h.HasCheckSum {
		fhd |= 1 << 2
	}
	if h.HasFCS {
		fhd |= 3 << 6
	}
	out := append(bytes.Clone(zstdMagic), fhd, byte(exp<<3))
	if h.HasFCS {
		out = binary.LittleEndian.AppendUint64(out, h.FrameContentSize)
	}
	return out
}

// checkMemberCRC reads a stored member whole and compares its CRC-32 with
// the one the zip records.
func checkMemberCRC(member *io.SectionReader, m *zipMember) error {
	crc := crc32.NewIEEE()
	if _, err := io.Copy(crc, io.NewSectionReader(member, 0, member.Size())); err != nil {
		return err
	}
	if crc.Sum32() != m.crc {
		return invalidf("%s fails its CRC check: the .conda file is corrupt; upload it again (checklist F14).", Quote(m.name))
	}
	return nil
}

// ceilPow2 returns the smallest power of two at least n (1 for 0).
func ceilPow2(n uint64) uint64 {
	if n <= 1 {
		return 1
	}
	if n > 1<<62 {
		return 1 << 62
	}
	return 1 << bits.Len64(n-1)
}
