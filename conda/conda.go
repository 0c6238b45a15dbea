// Package conda reads conda packages safely and builds the files a conda
// channel serves: repodata.json (with its zstd variant) and channeldata.json.
//
// It is pure: no HTTP, no database, no disk. It imports only the standard
// library, github.com/klauspost/compress and the root gatehouse package, for
// its error codes; a test keeps it that way.
//
// Everything that comes from outside (an uploaded file, its name, its
// info/index.json) is treated as hostile: Inspect reads only the info/ part of
// a package, never extracts, and stops at the budgets in Limits. Errors are
// *gatehouse.Error with code EINVALID (a sentence naming the problem) or
// ETOOLARGE (a budget was exceeded).
//
// Names follow CEP-26 (package, version and build strings, subdirs, channel
// path parts); file names must be exactly name-version-build plus the
// extension of the format.
package conda

import (
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// Limits bounds the work Inspect does on one package. A zero field takes its
// default; see DefaultLimits.
type Limits struct {
	MaxIndexJSON    int64 // max bytes of info/index.json (and of about.json, run_exports.json); default 1 MiB
	MaxDecompressed int64 // total decompressed bytes read while looking for info/; default 32 MiB (checklist F4)
	MaxEntries      int   // tar or zip entries examined; default 100_000 (checklist F5, F6)
	MaxHeaderBytes  int   // max size of one tar header's names and PAX records; default 64 KiB (checklist F5)
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
	return l
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
	maxFilenameLen = 211
)

// ParseFilename checks that filename is a conda package file name,
// <name>-<version>-<build>.tar.bz2 or .conda, with each part valid under
// CEP-26, and returns the stem (the name without extension) and the format.
// A path, an unknown extension or a malformed part is an EINVALID error that
// says which. The server must still compare the stem with the package's own
// index.json (Inspect does): the name alone proves nothing.
func ParseFilename(filename string) (stem string, f Format, err error) {
	if len(filename) > maxFilenameLen {
		return "", 0, invalidf("The file name is %d characters long; conda allows at most %d.", len(filename), maxFilenameLen)
	}
	if strings.ContainsAny(filename, "/\\") {
		return "", 0, invalidf("The file name %s contains a path separator; upload a bare file name.", quote(filename))
	}
	switch {
	case strings.HasSuffix(filename, ".tar.bz2"):
		stem, f = strings.TrimSuffix(filename, ".tar.bz2"), TarBz2
	case strings.HasSuffix(filename, ".conda"):
		stem, f = strings.TrimSuffix(filename, ".conda"), Conda
	default:
		return "", 0, invalidf("The file name %s does not end in .conda or .tar.bz2; only conda packages can be uploaded.", quote(filename))
	}
	name, version, build, ok := splitStem(stem)
	if !ok {
		return "", 0, invalidf("The file name %s is not of the form <name>-<version>-<build>%s.", quote(filename), f.Ext())
	}
	if err := checkName(name); err != nil {
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

// checkName applies CEP-26 to a distributable package name: lowercase ASCII
// letters, digits and the separators - . _, starting with a letter, a digit
// or a single underscore, never two separators in a row, at most 64 bytes.
// (That is the CEP's regex written out by hand.) It rules out '/', "..",
// NUL, spaces and uppercase, which conda-build also refuses.
func checkName(s string) error {
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
				return gatehouse.FieldErrorf("name", "The package name %s has two separators in a row; CEP-26 forbids that.", quote(s))
			}
			if i == 0 && c != '_' {
				return gatehouse.FieldErrorf("name", "The package name %s must start with a lowercase letter, a digit or '_'.", quote(s))
			}
		default:
			return gatehouse.FieldErrorf("name", "The package name %s contains %s; names may hold only lowercase letters, digits, '-', '.' and '_'.", quote(s), quoteByte(c))
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
			return gatehouse.FieldErrorf("version", "The version %s contains %s; versions may hold only lowercase letters, digits, '.', '_', '+' and '!' (never '-').", quote(s), quoteByte(c))
		}
	}
	if _, err := parseVersion(s); err != nil {
		return gatehouse.FieldErrorf("version", "The version %s is not a conda version: %s.", quote(s), err.Error())
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
			return gatehouse.FieldErrorf("build", "The build string %s contains %s; build strings may hold only letters, digits, '_', '.' and '+'.", quote(s), quoteByte(c))
		}
	}
	if strings.Contains(s, "..") {
		return gatehouse.FieldErrorf("build", "The build string %s contains \"..\".", quote(s))
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

// quote quotes s for a message, cut short so a hostile 10 MB name does not
// end up in logs whole.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}

func quoteByte(c byte) string {
	if c >= 0x21 && c < 0x7f {
		return "'" + string(c) + "'"
	}
	return strconv.Quote(string([]byte{c}))
}
