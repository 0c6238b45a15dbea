// Package condabuild writes conda packages in the .conda format (v2), laid
// out the way conda-package-handling (cph) lays them out, so conda, mamba,
// rattler and cph itself install and convert them like any other package.
//
// It exists so the server can publish its own binary as the conda package
// "gatehouse" in the tools channel; it is general enough for any small set
// of files. Like package conda it is pure: no HTTP, no database, no disk.
//
// A .conda is a zip whose members are stored, not deflated:
//
//	metadata.json               {"conda_pkg_format_version": 2}
//	pkg-<stem>.tar.zst          the files to install
//	info-<stem>.tar.zst         info/about.json, info/files, info/index.json, info/paths.json
//
// in that order, as cph's CondaFormat_v2.create and transmute write them
// (info last). Members have the fields Python's zipfile gives them: made by
// Unix, version 2.0, mode 0600, no extra fields, no data descriptors. The
// tarballs are ustar with uid/gid 0 and empty user and group names (cph's
// anonymize_tarinfo), padded to tar's 10240-byte records as Python's tarfile
// pads them. Where cph is not deterministic (member order inside the
// tarballs follows os.walk; metadata.json carries the time of creation),
// Build is: files are sorted by path and every time comes from
// Meta.Timestamp, so the same input gives the same bytes.
//
// Compression: cph uses libzstd level 21. The pure-Go zstd encoder Gatehouse
// uses (klauspost/compress) stops near level 11 and is slow there; its
// SpeedBetterCompression level (about libzstd 7) was within 3% of its best
// on the 49 MB gatehouse binary (22.5 MB against 21.8 MB) at a sixth of the
// time (0.8 s against 5.3 s), so Build uses that, with a 4 MiB window.
// Frames carry no checksum, as cph's do not; the zip CRC covers each member.
package condabuild

import (
	"bytes"
	"cmp"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
)

// Meta is what a package says about itself, in info/index.json and
// info/about.json. Name, Version, Build, Subdir and Depends follow conda's
// rules (CEP-26), checked with conda.ParseIndexJSON.
type Meta struct {
	Name        string
	Version     string
	Build       string // build string, such as "h1a2b3c4_0"
	BuildNumber int
	Subdir      string // "linux-64", "osx-arm64", ... or "noarch" (then index.json says noarch: generic)
	Depends     []string
	License     string
	Summary     string
	Description string
	Home        string
	// Timestamp is the build time: milliseconds since the epoch in
	// index.json, and the modification time of every archive entry.
	// Required, and not before 1980 (zip cannot record earlier times).
	Timestamp time.Time
}

// Stem returns name-version-build, the package file name without extension.
func (m Meta) Stem() string { return m.Name + "-" + m.Version + "-" + m.Build }

// Filename returns the name the package file must have: <stem>.conda.
func (m Meta) Filename() string { return m.Stem() + ".conda" }

// File is one file the package installs.
type File struct {
	// Path is relative to the install prefix, with forward slashes, such
	// as "bin/gatehouse" or "Library/bin/gatehouse.exe".
	Path string
	// Mode holds the permission bits: 0755 for executables, 0644 (or 0,
	// which means 0644) for the rest. Other mode bits are refused.
	Mode fs.FileMode
	// Size is the exact length of the content Open returns.
	Size int64
	// Open returns the content. Build calls it twice (a first pass hashes
	// and measures, the second writes), so it must return the same bytes
	// each time; Build notices if it does not.
	Open func() (io.ReadCloser, error)
}

func (f File) perm() fs.FileMode {
	if f.Mode == 0 {
		return 0o644
	}
	return f.Mode
}

// minTimestamp is the earliest time a zip entry can carry.
var minTimestamp = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// maxFiles bounds one package; conda packages with more files exist, but
// nothing Gatehouse builds comes near.
const maxFiles = 100_000

// Build writes a .conda package holding files, described by m, to w. It
// validates m with conda's rules and every file path before writing
// anything, and returns an EINVALID *gatehouse.Error naming the problem.
// File contents are streamed: memory stays bounded whatever their size.
// The package passes conda.Inspect under its Meta.Filename.
func Build(w io.Writer, m Meta, files []File) error {
	files, err := checkFiles(files)
	if err != nil {
		return err
	}
	if err := checkMeta(m); err != nil {
		return err
	}
	index, err := indexJSON(m)
	if err != nil {
		return err
	}
	// Parsed with the same strict reader the server uses on uploads, so a
	// package Build accepts is one the server accepts.
	if _, err := conda.ParseIndexJSON(index); err != nil {
		return err
	}
	b, err := newBuilder(m, files)
	if err != nil {
		return err
	}
	return b.write(w, index)
}

// checkMeta checks what conda.ParseIndexJSON does not see: text that is not
// UTF-8 (encoding/json would silently replace it) and the timestamp.
func checkMeta(m Meta) error {
	for _, f := range []struct{ name, v string }{
		{"name", m.Name}, {"version", m.Version}, {"build", m.Build}, {"subdir", m.Subdir},
		{"license", m.License}, {"summary", m.Summary}, {"description", m.Description}, {"home", m.Home},
	} {
		if !utf8.ValidString(f.v) {
			return gatehouse.FieldErrorf(f.name, "The package %s is not valid UTF-8.", f.name)
		}
	}
	for _, d := range m.Depends {
		if !utf8.ValidString(d) {
			return gatehouse.FieldErrorf("depends", "A dependency of the package is not valid UTF-8.")
		}
	}
	if m.BuildNumber < 0 {
		return gatehouse.FieldErrorf("build_number", "The build number is negative.")
	}
	if m.Timestamp.Before(minTimestamp) {
		return gatehouse.FieldErrorf("timestamp", "The package timestamp is required and may not be before 1980 (it was %s).", m.Timestamp.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkFiles refuses paths that could land outside the install prefix or
// collide with the package's metadata, modes that are not plain
// permissions, and files without content, and returns the files sorted by
// path.
func checkFiles(files []File) ([]File, error) {
	if len(files) > maxFiles {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "A package may hold at most %d files; this one has %d.", maxFiles, len(files))
	}
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return cmp.Compare(a.Path, b.Path) })
	seen := make(map[string]string, len(files))
	for _, f := range files {
		if err := checkPath(f.Path); err != nil {
			return nil, err
		}
		// Paths that differ only in case are one file on macOS and
		// Windows: conda would install one over the other.
		lower := strings.ToLower(f.Path)
		if prev, dup := seen[lower]; dup {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "The package lists %q twice (or as %q, which differs only in case).", f.Path, prev)
		}
		seen[lower] = f.Path
		if f.Mode&^fs.ModePerm != 0 {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "The file %q has mode %v; packages built here hold only regular files, so give permission bits only (0755 or 0644).", f.Path, f.Mode)
		}
		if f.Size < 0 {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "The file %q has a negative size.", f.Path)
		}
		if f.Open == nil {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "The file %q has no Open function to read its content.", f.Path)
		}
	}
	// Parent paths of files may not be files themselves ("bin" and
	// "bin/x"): no archive tool could extract both.
	for _, f := range files {
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			if _, clash := seen[strings.ToLower(dir)]; clash {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "The package holds both the file %q and %q inside it.", dir, f.Path)
			}
		}
	}
	return files, nil
}

// checkPath accepts plain relative paths with forward slashes, outside
// info/, which belongs to the package's metadata (checklist F7 from the
// writing side).
func checkPath(p string) error {
	switch {
	case p == "":
		return gatehouse.Errorf(gatehouse.EINVALID, "A file of the package has an empty path.")
	case len(p) > 1024:
		return gatehouse.Errorf(gatehouse.EINVALID, "The file path %.40q... is %d bytes long; the limit is 1024.", p, len(p))
	case !utf8.ValidString(p) || strings.ContainsAny(p, "\\\x00\n\r"):
		return gatehouse.Errorf(gatehouse.EINVALID, "The file path %q holds a backslash, a line break, NUL or invalid UTF-8; use forward slashes and plain names.", p)
	case p[0] == '/' || len(p) >= 2 && p[1] == ':':
		return gatehouse.Errorf(gatehouse.EINVALID, "The file path %q is absolute; package paths are relative to the install prefix.", p)
	case path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../"):
		return gatehouse.Errorf(gatehouse.EINVALID, "The file path %q has \".\", \"..\" or empty parts, or a trailing slash; give a plain relative path such as bin/tool.", p)
	case strings.EqualFold(p, "info") || strings.HasPrefix(strings.ToLower(p), "info/"):
		return gatehouse.Errorf(gatehouse.EINVALID, "The file path %q is inside info/, which holds the package's metadata; Build writes that itself.", p)
	}
	return nil
}

// BytesFile is a File whose content is data, for small generated files.
func BytesFile(path string, data []byte, mode fs.FileMode) File {
	return File{Path: path, Mode: mode, Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}
