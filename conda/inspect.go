package conda

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"errors"
	"hash/crc32"
	"io"
	"sync"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/klauspost/compress/zstd"
)

// Package is what Inspect learns from a package file. Besides index.json it
// keeps what channeldata.json reports, read from the same info/ archive.
type Package struct {
	Filename    string
	Format      Format
	Index       Index
	About       About       // from info/about.json; zero when absent
	PostInstall PostInstall // from info/paths.json; all false when absent
	RunExports  []byte      // info/run_exports.json in canonical form; nil when absent
}

// Inspect reads the info/ part of a conda package and returns its metadata.
// It reads only what it needs (for .tar.bz2 the tarball up to the end of
// info/, which conda-build writes first; for .conda the zip directory and
// info-<stem>.tar.zst), never writes anything anywhere, and stops at the
// budgets in lim, so memory and time stay bounded whatever the bytes.
//
// It refuses with EINVALID a file that is not an archive of the format its
// name says or is cut short (checklist F14); entries with absolute, "..",
// backslash or non-canonical paths (F7); info/index.json as a symlink,
// hardlink or duplicate (F7); a missing or broken index.json (F2, F11, F9,
// F8); a .conda zip without info-<stem>.tar.zst, with unexpected, duplicate,
// overlapping, compressed or encrypted members, or whose zip64 records
// disagree with the rest (F6); and a file name that is not exactly
// name-version-build plus the extension (F10). It refuses with ETOOLARGE an
// index.json over MaxIndexJSON (F2), more decompressed bytes than
// MaxDecompressed (F4), more entries than MaxEntries or a tar header over
// MaxHeaderBytes (F5, F6).
//
// Inspect does not judge the timestamp against a clock: call
// pkg.Index.Validate(now) before accepting the package.
//
// What it does not see, by design: the payload of a .tar.bz2 after info/
// (only the bzip2 end marker is checked, to catch truncation) and the
// pkg-<stem>.tar.zst of a .conda (only its place in the zip is checked). A
// second info/index.json hidden there would go unnoticed; conda's own
// extraction is the last line for those bytes, and the server keeps the
// sha256 of the whole file.
func Inspect(r io.ReaderAt, size int64, filename string, lim Limits) (*Package, error) {
	lim = lim.withDefaults()
	stem, format, err := ParseFilename(filename)
	if err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, invalidf("The package size is negative.")
	}
	sr := io.NewSectionReader(r, 0, size)
	s := &infoScan{lim: lim, seen: map[string]struct{}{}}
	switch format {
	case TarBz2:
		err = inspectTarBz2(sr, s)
	case Conda:
		err = inspectConda(sr, stem, s)
	}
	if err != nil {
		return nil, classify(err, format)
	}
	if s.index == nil {
		return nil, invalidf("The package has no info/index.json, so conda could not use it; build it with conda-build, rattler-build or cph.")
	}
	if got := s.index.Stem(); got != stem {
		return nil, invalidf("The file is named %s, but its info/index.json describes %s; name the file %s (checklist F10).",
			quote(filename), quote(got), quote(s.index.Filename(format)))
	}
	return &Package{
		Filename:    filename,
		Format:      format,
		Index:       *s.index,
		About:       s.about,
		PostInstall: s.post,
		RunExports:  s.runExports,
	}, nil
}

// errBudget marks a read past Limits.MaxDecompressed.
var errBudget = errors.New("decompressed budget exceeded")

// budgetReader fails with errBudget once more than max bytes came through,
// so a decompression bomb costs at most max bytes of work (checklist F4).
type budgetReader struct {
	r    io.Reader
	read int64
	max  int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.read > b.max {
		return 0, errBudget
	}
	if rest := b.max + 1 - b.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > b.max {
		return n, errBudget
	}
	return n, err
}

// classify turns what the readers below return into the *gatehouse.Error a
// person sees: ours pass through, the rest become EINVALID or ETOOLARGE.
func classify(err error, f Format) error {
	var ge *gatehouse.Error
	switch {
	case errors.As(err, &ge):
		return ge
	case errors.Is(err, tar.ErrFieldTooLong):
		return tooLargef("An archive entry has a header field over the tar reader's limit; conda packages never need one (checklist F5).")
	case errors.Is(err, errBudget):
		return tooLargef("Reading the package's info/ section took more than the decompressed-size budget before it was complete; a real package's metadata is far smaller, so this looks like a decompression bomb (checklist F4).")
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return invalidf("The %s file is truncated; upload the complete file (checklist F14).", f)
	}
	return invalidf("The file is not a valid %s package: %s.", f, err.Error())
}

// inspectTarBz2 reads a v1 package: bzip2, then tar, up to the end of info/.
func inspectTarBz2(sr *io.SectionReader, s *infoScan) error {
	var magic [4]byte
	if _, err := sr.ReadAt(magic[:], 0); err != nil || !bytes.Equal(magic[:3], []byte("BZh")) || magic[3] < '1' || magic[3] > '9' {
		return invalidf("The file is not a bzip2 archive, so it cannot be a .tar.bz2 conda package.")
	}
	// Inspect stops at the end of info/, so a stream cut short later would
	// go unseen; the end-of-stream marker in the last bytes tells.
	if !bzip2Ends(sr) {
		return invalidf("The .tar.bz2 file is truncated: its bzip2 stream has no end marker; upload the complete file (checklist F14).")
	}
	br := &budgetReader{r: bzip2.NewReader(io.NewSectionReader(sr, 0, sr.Size())), max: s.lim.MaxDecompressed}
	return s.scan(br, false)
}

// bzip2Ends reports whether the stream ends with bzip2's end-of-stream
// marker: the 48-bit magic 0x177245385090 and a 32-bit CRC, bit-aligned,
// followed by fewer than 8 zero bits of padding.
func bzip2Ends(sr *io.SectionReader) bool {
	const tailLen = 11 // 80 bits of marker and CRC plus up to 7 bits of padding
	if sr.Size() < 4+tailLen {
		return false
	}
	var tail [tailLen]byte
	if _, err := sr.ReadAt(tail[:], sr.Size()-tailLen); err != nil {
		return false
	}
	bit := func(i int) uint64 { return uint64(tail[i/8]>>(7-i%8)) & 1 } // i-th bit from the start of tail
	for pad := 0; pad < 8; pad++ {
		end := tailLen*8 - pad
		ok := true
		for i := end; i < tailLen*8; i++ {
			if bit(i) != 0 {
				ok = false
			}
		}
		var magic uint64
		for i := end - 80; i < end-32; i++ {
			magic = magic<<1 | bit(i)
		}
		if ok && magic == 0x177245385090 {
			return true
		}
	}
	return false
}

// inspectConda reads a v2 package: a strict look at the zip, then the
// info-<stem>.tar.zst member, whose CRC is checked too.
func inspectConda(sr *io.SectionReader, stem string, s *infoScan) error {
	var magic [4]byte
	if _, err := sr.ReadAt(magic[:], 0); err != nil || string(magic[:]) != "PK\x03\x04" {
		return invalidf("The file is not a zip archive, so it cannot be a .conda package.")
	}
	z, err := readZip(sr, s.lim)
	if err != nil {
		return err
	}
	info, err := z.condaMembers(stem)
	if err != nil {
		return err
	}
	// Compressed data is never much larger than what it decompresses to,
	// so a member over the budget cannot fit it either.
	if info.csize > uint64(s.lim.MaxDecompressed)+uint64(s.lim.MaxDecompressed)/64+1024 {
		return tooLargef("%s is %d bytes, more than the metadata budget of %d bytes; a real package's info/ is far smaller.", quote(info.name), info.csize, s.lim.MaxDecompressed)
	}
	member := make([]byte, info.csize)
	if _, err := sr.ReadAt(member, int64(info.dataOff)); err != nil {
		return err
	}
	if crc32.ChecksumIEEE(member) != info.crc {
		return invalidf("%s fails its CRC check: the .conda file is corrupt; upload it again (checklist F14).", quote(info.name))
	}
	tarball, err := zstdDecodeBounded(member, s.lim.MaxDecompressed)
	if err != nil {
		return err
	}
	return s.scan(&budgetReader{r: bytes.NewReader(tarball), max: s.lim.MaxDecompressed}, true)
}

// zstdDecoder decodes whole members. DecodeAll writes into the output slice
// and keeps no window buffer of its own: the streaming reader would allocate
// the 128 MiB window conda-package-handling declares even for a few KB of
// metadata. The window and memory options are wide for that reason; the
// capacity of the output slice is what bounds the work (limitToCap).
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(1<<31),
		zstd.WithDecoderMaxWindow(1<<31),
		zstd.WithDecodeAllCapLimit(true),
	)
})

// zstdDecodeBounded decompresses src into at most max bytes, or fails with
// errBudget. It starts with a small buffer and grows it only when the data
// needs more (256 KiB, 4 MiB, then max), so a few KB of metadata cost a
// few hundred KB, and a bomb costs at most about 2.5 times max in total
// allocations (checklist F4).
func zstdDecodeBounded(src []byte, max int64) ([]byte, error) {
	dec, err := zstdDecoder()
	if err != nil {
		return nil, err
	}
	for size := int64(256 << 10); ; size *= 16 {
		size = min(size, max)
		out, err := dec.DecodeAll(src, make([]byte, 0, size))
		switch {
		case err == nil:
			return out, nil
		case !errors.Is(err, zstd.ErrDecoderSizeExceeded):
			return nil, invalidf("The info archive is not valid zstd: %s.", err.Error())
		case size >= max:
			return nil, errBudget
		}
	}
}
