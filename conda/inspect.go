package conda

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"errors"
	"io"

	"github.com/gatehouse-dev/gatehouse"
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

// Inspect reads a conda package and returns its metadata. It reads the
// whole file as a stream (for .tar.bz2 the one tarball; for .conda the zip
// directory, info-<stem>.tar.zst and pkg-<stem>.tar.zst), never extracts,
// never writes anything anywhere, and stops at the budgets in lim, so memory
// and time stay bounded whatever the bytes (see Limits.MemoryBound).
//
// It refuses with EINVALID a file that is not an archive of the format its
// name says or is cut short or corrupt (checklist F14); entries with
// absolute, "..", backslash or non-canonical paths (F7); info/index.json as
// a symlink, hardlink or duplicate (F7); a missing or broken index.json
// (F2, F11, F9, F8, F16); a .conda zip without info-<stem>.tar.zst, with
// unexpected, duplicate, overlapping, compressed or encrypted members, or
// whose zip64 records disagree with the rest (F6); a file name that is not
// exactly name-version-build plus the extension (F10); and, anywhere in the
// package, payload included, what conda would extract outside the package
// or the prefix (F17): devices, named pipes and sparse files, symlinks whose
// target leaves the archive root, hard links to anything but an earlier
// file of the same tarball, entries under or replacing a symlink, any
// info/ entry in the pkg tarball of a .conda, and data after the end of a
// tarball. Messages quote the offending entry, cut short. It refuses with
// ETOOLARGE an index.json over MaxIndexJSON (F2), info/ content over
// MaxDecompressed (F4), a package that decompresses to more than its
// payload budget (Limits.payloadBudget), more entries than MaxEntries or a
// tar header over MaxHeaderBytes (F5, F6), and a zstd stream that needs a
// window over MaxZstdWindow (F15).
//
// Inspect does not judge the timestamp against a clock: call
// pkg.Index.Validate(now) before accepting the package.
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
	s := newScanner(lim)
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
			Quote(filename), Quote(got), Quote(s.index.Filename(format)))
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

// budgetReader fails with err once more than max bytes came through, so a
// decompression bomb costs at most max bytes of work (checklist F4).
type budgetReader struct {
	r    io.Reader
	read int64
	max  int64
	err  error
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.read > b.max {
		return 0, b.err
	}
	if rest := b.max + 1 - b.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > b.max {
		return n, b.err
	}
	return n, err
}

// payloadBudgetError is the error of a package whose contents decompress
// to more than Limits.payloadBudget allows.
func payloadBudgetError(budget int64) error {
	return tooLargef("The package decompresses to more than %d bytes, the most Gatehouse reads for a file of this size (its size times the expansion limit, plus the metadata budget, and never more than the payload limit); this looks like a decompression bomb (checklist F4, F17).", budget)
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
		return tooLargef("The package's info/ section decompresses to more than the metadata budget; a real package's metadata is far smaller, so this looks like a decompression bomb (checklist F4).")
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return invalidf("The %s file is truncated; upload the complete file (checklist F14).", f)
	}
	return invalidf("The file is not a valid %s package: %s.", f, err.Error())
}

// inspectTarBz2 reads a v1 package: bzip2, then tar, to the end. conda-build
// writes info/ first, but conda extracts the whole tarball, so every entry
// is checked wherever it is.
func inspectTarBz2(sr *io.SectionReader, s *scanner) error {
	var magic [4]byte
	if _, err := sr.ReadAt(magic[:], 0); err != nil || !bytes.Equal(magic[:3], []byte("BZh")) || magic[3] < '1' || magic[3] > '9' {
		return invalidf("The file is not a bzip2 archive, so it cannot be a .tar.bz2 conda package.")
	}
	// The end-of-stream marker in the last bytes tells a file cut short
	// at once, before any decompressing.
	if !bzip2Ends(sr) {
		return invalidf("The .tar.bz2 file is truncated: its bzip2 stream has no end marker; upload the complete file (checklist F14).")
	}
	budget := s.lim.payloadBudget(sr.Size())
	br := &budgetReader{r: bzip2.NewReader(io.NewSectionReader(sr, 0, sr.Size())), max: budget, err: payloadBudgetError(budget)}
	return s.scan(br, wholeTarBz2)
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
// info-<stem>.tar.zst member and the pkg-<stem>.tar.zst member, each
// streamed with its CRC checked.
func inspectConda(sr *io.SectionReader, stem string, s *scanner) error {
	var magic [4]byte
	if _, err := sr.ReadAt(magic[:], 0); err != nil || string(magic[:]) != "PK\x03\x04" {
		return invalidf("The file is not a zip archive, so it cannot be a .conda package.")
	}
	z, err := readZip(sr, s.lim)
	if err != nil {
		return err
	}
	info, pkg, err := z.condaMembers(stem)
	if err != nil {
		return err
	}
	// Compressed data is never much larger than what it decompresses to,
	// so a member over the budget cannot fit it either.
	if info.csize > uint64(s.lim.MaxDecompressed)+uint64(s.lim.MaxDecompressed)/64+1024 {
		return tooLargef("%s is %d bytes, more than the metadata budget of %d bytes; a real package's info/ is far smaller.", Quote(info.name), info.csize, s.lim.MaxDecompressed)
	}
	if err := s.scanZstdMember(sr, info, condaInfo, s.lim.MaxDecompressed, errBudget); err != nil {
		return err
	}
	budget := s.lim.payloadBudget(sr.Size())
	return s.scanZstdMember(sr, pkg, condaPkg, budget, payloadBudgetError(budget))
}
