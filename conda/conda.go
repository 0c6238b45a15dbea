// Package conda reads conda packages safely and builds the files a conda
// channel serves: repodata.json (with its zstd variant) and channeldata.json.
//
// It is pure: no HTTP, no database, no disk. It imports only the standard
// library, github.com/klauspost/compress and the root gatehouse package, for
// its error codes; a test keeps it that way.
//
// Everything that comes from outside (an uploaded file, its name, its
// info/index.json) is treated as hostile: Inspect reads the whole package as
// a stream, info/ and payload, never extracts, and stops at the budgets in
// Limits. Errors are *gatehouse.Error with code EINVALID (a sentence naming
// the problem) or ETOOLARGE (a budget was exceeded).
//
// Memory: one Inspect call holds at most Limits.MemoryBound() bytes of
// heap: about 267 MiB with DefaultLimits, almost all of it zstd windows
// that only a crafted .conda can make it allocate (one window, at most
// MaxZstdWindow = 128 MiB, is live at a time); a .tar.bz2 stays under
// about 26 MiB, and a zstd bomb costs about 1.5 MiB (20 concurrent 2 KB
// bombs add about 29 MiB to the heap, where they used to add 1.2 GB;
// BenchmarkInspectConcurrentBombs). A server bounds the memory of uploads
// by bounding concurrent inspections, each weighing MemoryBound. Time is
// bounded by the payload budget (MaxPayload, MaxExpansion), not memory.
//
// Names follow CEP-26 (package, version and build strings, subdirs, channel
// path parts); file names must be exactly name-version-build plus the
// extension of the format.
package conda

import (
	"math/bits"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda/matchspec"
)

// Limits bounds the work Inspect does on one package. A zero field takes its
// default; see DefaultLimits.
type Limits struct {
	MaxIndexJSON    int64 // max bytes of info/index.json (and of about.json, run_exports.json, one paths.json entry); default 1 MiB
	MaxDecompressed int64 // max decompressed bytes of info/; default 32 MiB (checklist F4)
	MaxEntries      int   // tar and zip entries examined, payload included; default 100_000 (checklist F5, F6)
	MaxHeaderBytes  int   // max size of one tar header's names and PAX records; default 64 KiB (checklist F5)
	// MaxPayload caps the decompressed bytes of a whole package, payload
	// included; default 32 GiB, above the largest real packages (CUDA and
	// PyTorch builds unpack to a few GB). Inspect streams these bytes and
	// holds none of them, so this bounds time, not memory (checklist F17).
	MaxPayload int64
	// MaxExpansion bounds the payload by the file's size as well: a package
	// may decompress to at most MaxExpansion times its size plus
	// MaxDecompressed; default 256. Real packages expand 3 to 20 times; a
	// bzip2 bomb expands a million times, and Go's bzip2 reader takes about
	// 10 s per GB of zeros, so without this a 20 KB upload could cost
	// minutes (checklist F4).
	MaxExpansion int64
	// MaxZstdWindow is the largest zstd window Inspect decodes with;
	// default 128 MiB, the window conda-package-handling's level 22
	// declares. It dominates MemoryBound (checklist F15).
	MaxZstdWindow int64
}

// DefaultLimits returns the limits Gatehouse uses for uploads: generous for
// real packages (whose info/ is a few KB to a few MB), small enough that a
// hostile archive costs little memory and time.
func DefaultLimits() Limits {
	return Limits{
		MaxIndexJSON:    1 << 20,
		MaxDecompressed: 32 << 20,
		MaxEntries:      100_000,
		MaxHeaderBytes:  64 << 10,
		MaxPayload:      32 << 30,
		MaxExpansion:    256,
		MaxZstdWindow:   128 << 20,
	}
}

// withDefaults replaces zero or negative fields with their defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxIndexJSON <= 0 {
		l.MaxIndexJSON = d.MaxIndexJSON
	}
	if l.MaxDecompressed <= 0 {
		l.MaxDecompressed = d.MaxDecompressed
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxPayload <= 0 {
		l.MaxPayload = d.MaxPayload
	}
	if l.MaxExpansion <= 0 {
		l.MaxExpansion = d.MaxExpansion
	}
	if l.MaxZstdWindow <= 0 {
		l.MaxZstdWindow = d.MaxZstdWindow
	}
	l.MaxZstdWindow = max(l.MaxZstdWindow, 1<<10) // zstd's smallest window
	return l
}

// MemoryBound returns the most heap one Inspect call under l holds, for
// sizing a semaphore across concurrent uploads (checklist F15): what it
// keeps live, plus every zstd window it allocated, so the figure holds
// however late the collector frees a window that was replaced. It is the
// sum of:
//
//   - zstd windows (zstd.go). A .conda member is first decoded with a
//     window of 16 times its compressed size (1 MiB at least), and again
//     with the window its header declares only if its matches reach
//     further, up to MaxZstdWindow for the payload and the metadata budget
//     (32 MiB) for info/. Each first window is a power of two below the
//     second, so the four add up to at most 1.5 times the two largest:
//     240 MiB with the defaults, of which one window, 128 MiB, is live at
//     a time. Only a crafted package reaches this; a 2 KB bomb of zeros
//     gets one 1 MiB window;
//   - the info/ files Inspect parses (index.json, about.json,
//     run_exports.json, one paths.json entry at a time), each at most
//     MaxIndexJSON, with their decoded forms: 12 times MaxIndexJSON;
//   - per-entry hashes of info/ paths, symlinks and files: 64 bytes per
//     entry with Go's map growth, times MaxEntries;
//   - 8 MiB of buffers: zstd blocks, Go's bzip2 block (900 KB of
//     uint32), tar's extended headers (archive/tar reads up to 1 MiB).
//
// With DefaultLimits that is about 267 MiB; a .tar.bz2 never decodes zstd,
// so stays under about 26 MiB. Bytes streamed are never held: a 4 GB
// payload costs what a 4 KB one does. Reading headers and parsing JSON
// also make short-lived garbage, which the collector frees as usual.
func (l Limits) MemoryBound() int64 {
	l = l.withDefaults()
	windows := zstdWindowsBound(l.MaxZstdWindow) + zstdWindowsBound(min(l.MaxZstdWindow, int64(ceilPow2(uint64(l.MaxDecompressed)))))
	return windows + 12*l.MaxIndexJSON + 64*int64(l.MaxEntries) + 8<<20
}

// zstdWindowsBound is what decoding one member can allocate for history
// when its final window is w: w, and a first window that is a power of two
// below w, each with two blocks of working space.
func zstdWindowsBound(w int64) int64 {
	ring := func(w int64) int64 { return w + 2*(min(w, 128<<10)+64) }
	first := int64(1) << (bits.Len64(uint64(w-1)) - 1) // the largest power of two below w
	return ring(w) + ring(first)
}

// payloadBudget is how many decompressed bytes Inspect reads from a
// package of size bytes: MaxExpansion times its size plus
// MaxDecompressed, and never more than MaxPayload.
func (l Limits) payloadBudget(size int64) int64 {
	if size > (l.MaxPayload-l.MaxDecompressed)/l.MaxExpansion {
		return l.MaxPayload
	}
	return min(l.MaxPayload, size*l.MaxExpansion+l.MaxDecompressed)
}

// Format is a conda package file format.
type Format int

// The two conda package formats.
const (
	TarBz2 Format = iota + 1 // v1: a bzip2 tarball, info/ first
	Conda                    // v2: a stored zip holding info-<stem>.tar.zst and pkg-<stem>.tar.zst
)

// Ext returns the file extension of the format, with its dot, or "" for an
// unknown format.
func (f Format) Ext() string {
	switch f {
	case TarBz2:
		return ".tar.bz2"
	case Conda:
		return ".conda"
	}
	return ""
}

// String names the format for messages.
func (f Format) String() string {
	if e := f.Ext(); e != "" {
		return e
	}
	return "unknown format"
}

// CEP-26 length limits.
const (
	maxNameLen     = 64
	maxVersionLen  = 64
	maxBuildLen    = 64
	MaxFilenameLen = 211
)

// ParseFilename checks that filename is a conda package file name,
// <name>-<version>-<build>.tar.bz2 or .conda, with each part valid under
// CEP-26, and returns the stem (the name without extension) and the format.
// A path, an unknown extension or a malformed part is an EINVALID error that
// says which. The server must still compare the stem with the package's own
// index.json (Inspect does): the name alone proves nothing.
func ParseFilename(filename string) (stem string, f Format, err error) {
	if len(filename) > MaxFilenameLen {
		return "", 0, invalidf("The file name is %d characters long; conda allows at most %d.", len(filename), MaxFilenameLen)
	}
	if strings.ContainsAny(filename, "/\\") {
		return "", 0, invalidf("The file name %s contains a path separator; upload a bare file name.", Quote(filename))
	}
	switch {
	case strings.HasSuffix(filename, ".tar.bz2"):
		stem, f = strings.TrimSuffix(filename, ".tar.bz2"), TarBz2
	case strings.HasSuffix(filename, ".conda"):
		stem, f = strings.TrimSuffix(filename, ".conda"), Conda
	default:
		return "", 0, invalidf("The file name %s does not end in .conda or .tar.bz2; only conda packages can be uploaded.", Quote(filename))
	}
	name, version, build, ok := splitStem(stem)
	if !ok {
		return "", 0, invalidf("The file name %s is not of the form <name>-<version>-<build>%s.", Quote(filename), f.Ext())
	}
	if err := CheckName(name); err != nil {
		return "", 0, err
	}
	if err := checkVersion(version); err != nil {
		return "", 0, err
	}
	if err := checkBuild(build); err != nil {
		return "", 0, err
	}
	return stem, f, nil
}

// splitStem splits name-version-build at its last two dashes: names may hold
// dashes, versions and builds may not.
func splitStem(stem string) (name, version, build string, ok bool) {
	i := strings.LastIndexByte(stem, '-')
	if i < 0 {
		return "", "", "", false
	}
	j := strings.LastIndexByte(stem[:i], '-')
	if j < 0 {
		return "", "", "", false
	}
	return stem[:j], stem[j+1 : i], stem[i+1:], true
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isSeparator(c byte) bool { return c == '-' || c == '.' || c == '_' }

// CheckName applies CEP-26 to a distributable package name: lowercase ASCII
// letters, digits and the separators - . _, starting with a letter, a digit
// or a single underscore, never two separators in a row, at most 64 bytes.
// (That is the CEP's regex written out by hand.) It rules out '/', "..",
// NUL, spaces and uppercase, which conda-build also refuses.
func CheckName(s string) error {
	if s == "" {
		return gatehouse.FieldErrorf("name", "The package name is empty.")
	}
	if len(s) > maxNameLen {
		return gatehouse.FieldErrorf("name", "The package name is %d characters long; CEP-26 allows at most %d.", len(s), maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isLowerAlnum(c):
		case isSeparator(c):
			if i > 0 && isSeparator(s[i-1]) {
				return gatehouse.FieldErrorf("name", "The package name %s has two separators in a row; CEP-26 forbids that.", Quote(s))
			}
			if i == 0 && c != '_' {
				return gatehouse.FieldErrorf("name", "The package name %s must start with a lowercase letter, a digit or '_'.", Quote(s))
			}
		default:
			return gatehouse.FieldErrorf("name", "The package name %s contains %s; names may hold only lowercase letters, digits, '-', '.' and '_'.", Quote(s), quoteByte(c))
		}
	}
	return nil
}

// checkVersion applies CEP-26 to a version string (digits, lowercase
// letters, . _ + !, at most 64 bytes; never '-', which separates the parts of
// a file name) and the structure conda's VersionOrder needs: at most one
// epoch '!' with a numeric epoch, at most one local '+', and no empty
// component, so "..", a leading '.' and a trailing '.' are refused.
func checkVersion(s string) error {
	if s == "" {
		return gatehouse.FieldErrorf("version", "The package version is empty.")
	}
	if len(s) > maxVersionLen {
		return gatehouse.FieldErrorf("version", "The package version is %d characters long; CEP-26 allows at most %d.", len(s), maxVersionLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLowerAlnum(c) && c != '.' && c != '_' && c != '+' && c != '!' {
			return gatehouse.FieldErrorf("version", "The version %s contains %s; versions may hold only lowercase letters, digits, '.', '_', '+' and '!' (never '-').", Quote(s), quoteByte(c))
		}
	}
	if err := matchspec.CheckVersion(s); err != nil {
		return gatehouse.FieldErrorf("version", "The version %s is not a conda version: %s.", Quote(s), err.Error())
	}
	return nil
}

// checkBuild applies CEP-26 to a build string: ASCII letters, digits, '_',
// '.' and '+', at most 64 bytes. conda-build refuses '-' there too, since the
// build is the last dash-separated part of the file name. ".." is refused as
// well: it has no use in a build string and only confuses paths.
func checkBuild(s string) error {
	if s == "" {
		return gatehouse.FieldErrorf("build", "The build string is empty.")
	}
	if len(s) > maxBuildLen {
		return gatehouse.FieldErrorf("build", "The build string is %d characters long; CEP-26 allows at most %d.", len(s), maxBuildLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLowerAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '_' && c != '.' && c != '+' {
			return gatehouse.FieldErrorf("build", "The build string %s contains %s; build strings may hold only letters, digits, '_', '.' and '+'.", Quote(s), quoteByte(c))
		}
	}
	if strings.Contains(s, "..") {
		return gatehouse.FieldErrorf("build", "The build string %s contains \"..\".", Quote(s))
	}
	return nil
}

// invalidf returns an EINVALID error with a message for a person.
func invalidf(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.EINVALID, format, args...)
}

// tooLargef returns an ETOOLARGE error with a message for a person.
func tooLargef(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.ETOOLARGE, format, args...)
}

// Quote quotes s for a message, cut short so a hostile 10 MB name does not
// end up in logs whole.
func Quote(s string) string { return matchspec.Quote(s) }

// CompareVersions orders two conda versions as conda's VersionOrder does
// (see matchspec.CompareVersions).
func CompareVersions(a, b string) int { return matchspec.CompareVersions(a, b) }

func quoteByte(c byte) string {
	if c >= 0x21 && c < 0x7f {
		return "'" + string(c) + "'"
	}
	return strconv.Quote(string([]byte{c}))
}
