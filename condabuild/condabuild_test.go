package condabuild

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/klauspost/compress/zstd"
)

// testTime is a build time in a non-UTC zone: the package must not care.
var testTime = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.FixedZone("X", -7*3600))

func memFile(p string, mode fs.FileMode, data string) File {
	return File{Path: p, Mode: mode, Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(data)), nil
	}}
}

func testMeta() Meta {
	return Meta{
		Name: "gatehouse", Version: "1.2.3", Build: "h1a2b3c4_0", BuildNumber: 0, Subdir: "linux-64",
		Depends: []string{"libc >=2.17", "openssl >=3,<4"}, License: "Apache-2.0",
		Summary: "The Gatehouse CLI", Description: "Server & client <in one binary>.", Home: "https://example.org/gatehouse",
		Timestamp: testTime,
	}
}

func testFiles() []File {
	return []File{
		memFile("share/gatehouse/README.txt", 0, "read me\n"),
		memFile("bin/gatehouse", 0o755, "#!/bin/sh\necho gatehouse\n"),
		memFile("etc/empty", 0o644, ""),
	}
}

func build(t testing.TB, m Meta, files []File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Build(&buf, m, files); err != nil {
		t.Fatalf("Build: %v", err)
	}
	return buf.Bytes()
}

func TestBuildWritesAPackageThatInspectAccepts(t *testing.T) {
	for _, subdir := range []string{"linux-64", "osx-arm64", "win-64", "noarch"} {
		t.Run("in "+subdir, func(t *testing.T) {
			m := testMeta()
			m.Subdir = subdir
			data := build(t, m, testFiles())
			p, err := conda.Inspect(bytes.NewReader(data), int64(len(data)), m.Filename(), conda.DefaultLimits())
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			ix := p.Index
			if err := ix.Validate(testTime); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if ix.Name != m.Name || ix.Version != m.Version || ix.Build != m.Build || ix.BuildNumber != 0 || ix.Subdir != subdir || ix.License != m.License {
				t.Errorf("index = %+v", ix)
			}
			if !slices.Equal(ix.Depends, m.Depends) {
				t.Errorf("depends = %q; want %q", ix.Depends, m.Depends)
			}
			if ix.Timestamp != testTime.UnixMilli() {
				t.Errorf("timestamp = %d; want %d (milliseconds)", ix.Timestamp, testTime.UnixMilli())
			}
			wantNoarch := ""
			if subdir == "noarch" {
				wantNoarch = "generic"
			}
			if ix.Noarch != wantNoarch {
				t.Errorf("noarch = %q; want %q", ix.Noarch, wantNoarch)
			}
			if p.About.Summary != m.Summary || p.About.Description != m.Description || p.About.Home != m.Home || p.About.License != m.License {
				t.Errorf("about = %+v", p.About)
			}
			if p.PostInstall != (conda.PostInstall{}) {
				t.Errorf("post-install flags = %+v; plain files need none", p.PostInstall)
			}
		})
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a := build(t, testMeta(), testFiles())
	files := testFiles()
	slices.Reverse(files) // order of the argument does not matter
	if b := build(t, testMeta(), files); !bytes.Equal(a, b) {
		t.Fatal("two builds of the same input differ")
	}
	m := testMeta()
	m.Timestamp = m.Timestamp.Add(time.Second)
	if c := build(t, m, testFiles()); bytes.Equal(a, c) {
		t.Fatal("a different timestamp gave the same bytes; the time is not recorded")
	}
}

// member is one zip member as the tests see it.
type member struct {
	hdr  zip.FileHeader
	data []byte
}

func readZip(t testing.TB, data []byte) []member {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	var out []member
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc) // checks the CRC
		if err != nil {
			t.Fatalf("reading %s: %v", f.Name, err)
		}
		out = append(out, member{hdr: f.FileHeader, data: b})
	}
	return out
}

// entry is one tar entry with its content.
type entry struct {
	hdr  *tar.Header
	data []byte
}

func readTarZst(t testing.TB, data []byte) (entries []entry, tarLen int) {
	t.Helper()
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxWindow(1<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(data, nil)
	if err != nil {
		t.Fatalf("not zstd: %v", err)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("bad tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry{h, b})
	}
	return entries, len(raw)
}

func TestBuildLaysOutTheZipAsCphDoes(t *testing.T) {
	m := testMeta()
	ours := readZip(t, build(t, m, testFiles()))
	cph := readZip(t, readFixture(t, "linux-64/gh-app-0.3.0-h1a2b3c4_1.conda"))
	stem := m.Stem()
	wantNames := []string{"metadata.json", "pkg-" + stem + ".tar.zst", "info-" + stem + ".tar.zst"}
	var names []string
	for _, z := range ours {
		names = append(names, z.hdr.Name)
	}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("members = %q; want %q (cph's order: metadata, pkg, info)", names, wantNames)
	}
	if len(cph) != 3 || cph[0].hdr.Name != "metadata.json" || !strings.HasPrefix(cph[1].hdr.Name, "pkg-") {
		t.Fatalf("the cph fixture is not laid out as expected: %v", cph)
	}
	for i, z := range ours {
		c := cph[i].hdr
		t.Run(z.hdr.Name+" has the header fields cph writes", func(t *testing.T) {
			h := z.hdr
			if h.Method != zip.Store || h.Method != c.Method {
				t.Errorf("method %d; cph %d (stored)", h.Method, c.Method)
			}
			if h.CreatorVersion != c.CreatorVersion || h.ReaderVersion != c.ReaderVersion {
				t.Errorf("versions %#x/%d; cph %#x/%d", h.CreatorVersion, h.ReaderVersion, c.CreatorVersion, c.ReaderVersion)
			}
			if h.Flags != c.Flags || h.Flags&0x8 != 0 {
				t.Errorf("flags %#x; cph %#x (no data descriptor)", h.Flags, c.Flags)
			}
			if h.ExternalAttrs != c.ExternalAttrs {
				t.Errorf("external attributes %#o; cph %#o", h.ExternalAttrs, c.ExternalAttrs)
			}
			if len(h.Extra) != 0 || len(c.Extra) != 0 {
				t.Errorf("extra fields %x; cph %x", h.Extra, c.Extra)
			}
			if i > 0 && !h.Modified.Equal(c.Modified) {
				t.Errorf("dated %v; cph dates its members %v", h.Modified, c.Modified)
			}
		})
	}
	if !bytes.Equal(ours[0].data, cph[0].data) {
		t.Errorf("metadata.json = %s; cph writes %s", ours[0].data, cph[0].data)
	}
	if got := ours[0].hdr.Modified.UTC(); !got.Equal(testTime.UTC().Truncate(2 * time.Second)) {
		t.Errorf("metadata.json is dated %v; want the build time %v", got, testTime.UTC())
	}
}

func TestBuildWritesTarballsAsCphDoes(t *testing.T) {
	m := testMeta()
	files := testFiles()
	zm := readZip(t, build(t, m, files))
	pkg, pkgLen := readTarZst(t, zm[1].data)
	info, infoLen := readTarZst(t, zm[2].data)
	cphZip := readZip(t, readFixture(t, "linux-64/gh-app-0.3.0-h1a2b3c4_1.conda"))
	cphPkg, cphLen := readTarZst(t, cphZip[1].data)
	if pkgLen%tarRecord != 0 || infoLen%tarRecord != 0 || cphLen%tarRecord != 0 {
		t.Errorf("tarball lengths %d, %d (cph %d) are not whole 10240-byte records", pkgLen, infoLen, cphLen)
	}
	check := func(e entry, mode int64) {
		t.Helper()
		h, c := e.hdr, cphPkg[0].hdr
		if h.Typeflag != tar.TypeReg || h.Uid != c.Uid || h.Gid != c.Gid || h.Uname != c.Uname || h.Gname != c.Gname {
			t.Errorf("%s: type %c owner %d:%d %q:%q; cph writes regular files owned by %d:%d %q:%q", h.Name, h.Typeflag, h.Uid, h.Gid, h.Uname, h.Gname, c.Uid, c.Gid, c.Uname, c.Gname)
		}
		if h.Mode != mode {
			t.Errorf("%s: mode %#o; want %#o", h.Name, h.Mode, mode)
		}
		if !h.ModTime.Equal(time.Unix(testTime.Unix(), 0)) {
			t.Errorf("%s: mtime %v; want the build time in whole seconds", h.Name, h.ModTime)
		}
		if h.Format != tar.FormatUSTAR {
			t.Errorf("%s: format %v; want ustar", h.Name, h.Format)
		}
	}
	var pkgNames []string
	for _, e := range pkg {
		pkgNames = append(pkgNames, e.hdr.Name)
		want := int64(0o644)
		if e.hdr.Name == "bin/gatehouse" {
			want = 0o755
		}
		check(e, want)
	}
	if want := []string{"bin/gatehouse", "etc/empty", "share/gatehouse/README.txt"}; !slices.Equal(pkgNames, want) {
		t.Errorf("pkg tarball holds %q; want %q, sorted", pkgNames, want)
	}
	byName := map[string][]byte{}
	var infoNames []string
	for _, e := range info {
		infoNames = append(infoNames, e.hdr.Name)
		byName[e.hdr.Name] = e.data
		check(e, 0o644)
	}
	if want := []string{"info/about.json", "info/files", "info/index.json", "info/paths.json"}; !slices.Equal(infoNames, want) {
		t.Fatalf("info tarball holds %q; want %q", infoNames, want)
	}
	if got, want := string(byName["info/files"]), "bin/gatehouse\netc/empty\nshare/gatehouse/README.txt\n"; got != want {
		t.Errorf("info/files = %q; want %q", got, want)
	}
	var paths struct {
		Paths []struct {
			Path     string `json:"_path"`
			PathType string `json:"path_type"`
			SHA256   string `json:"sha256"`
			Size     int64  `json:"size_in_bytes"`
		} `json:"paths"`
		Version int `json:"paths_version"`
	}
	if err := json.Unmarshal(byName["info/paths.json"], &paths); err != nil {
		t.Fatal(err)
	}
	if paths.Version != 1 || len(paths.Paths) != len(pkg) {
		t.Fatalf("paths.json = %s", byName["info/paths.json"])
	}
	for i, p := range paths.Paths {
		sum := sha256.Sum256(pkg[i].data)
		if p.Path != pkg[i].hdr.Name || p.PathType != "hardlink" || p.SHA256 != hex.EncodeToString(sum[:]) || p.Size != int64(len(pkg[i].data)) {
			t.Errorf("paths.json entry %+v does not describe %s (sha256 %x, %d bytes)", p, pkg[i].hdr.Name, sum, len(pkg[i].data))
		}
	}
	if !strings.Contains(string(byName["info/index.json"]), `"libc >=2.17"`) {
		t.Errorf("index.json escapes dependency specs: %s", byName["info/index.json"])
	}
}

func TestBuildRefusesBadMetadata(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Meta)
		field  string // the field the error names, if any
	}{
		{"an empty name is refused", func(m *Meta) { m.Name = "" }, "name"},
		{"an uppercase name is refused", func(m *Meta) { m.Name = "Gatehouse" }, "name"},
		{"a name with a slash is refused", func(m *Meta) { m.Name = "a/b" }, "name"},
		{"a 1000-character name is refused", func(m *Meta) { m.Name = strings.Repeat("a", 1000) }, "name"},
		{"a version with a dash is refused", func(m *Meta) { m.Version = "1.0-rc1" }, "version"},
		{"an empty version is refused", func(m *Meta) { m.Version = "" }, "version"},
		{"a version with two dots in a row is refused", func(m *Meta) { m.Version = "1..0" }, "version"},
		{"a build string with a slash is refused", func(m *Meta) { m.Build = "h1/0" }, "build"},
		{"a build string with NUL is refused", func(m *Meta) { m.Build = "h1\x000" }, "build"},
		{"an uppercase subdir is refused", func(m *Meta) { m.Subdir = "LINUX-64" }, "subdir"},
		{"a subdir that climbs out is refused", func(m *Meta) { m.Subdir = "../../etc" }, "subdir"},
		{"an empty subdir is refused", func(m *Meta) { m.Subdir = "" }, "subdir"},
		{"a negative build number is refused", func(m *Meta) { m.BuildNumber = -1 }, "build_number"},
		{"an empty dependency is refused", func(m *Meta) { m.Depends = []string{" "} }, "depends"},
		{"a dependency with a line break is refused", func(m *Meta) { m.Depends = []string{"a\nb"} }, "depends"},
		{"a license that is not UTF-8 is refused", func(m *Meta) { m.License = "MIT\xff" }, "license"},
		{"a missing timestamp is refused", func(m *Meta) { m.Timestamp = time.Time{} }, "timestamp"},
		{"a timestamp before 1980 is refused", func(m *Meta) { m.Timestamp = time.Unix(1000, 0) }, "timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMeta()
			tt.mutate(&m)
			var buf bytes.Buffer
			err := Build(&buf, m, testFiles())
			var ge *gatehouse.Error
			if !errors.As(err, &ge) || ge.Code != gatehouse.EINVALID {
				t.Fatalf("Build = %v; want an EINVALID error", err)
			}
			if ge.Field != tt.field {
				t.Errorf("the error names field %q; want %q (%s)", ge.Field, tt.field, ge.Message)
			}
			if buf.Len() != 0 {
				t.Errorf("Build wrote %d bytes before refusing", buf.Len())
			}
		})
	}
}

func TestBuildRefusesBadFiles(t *testing.T) {
	ok := func(p string) File { return memFile(p, 0o644, "x") }
	tests := []struct {
		name  string
		files []File
	}{
		{"a path that climbs out is refused", []File{ok("../evil")}},
		{"a path with .. inside is refused", []File{ok("bin/../../evil")}},
		{"an absolute path is refused", []File{ok("/etc/passwd")}},
		{"a Windows drive path is refused", []File{ok("C:/evil")}},
		{"a backslash is refused", []File{ok("bin\\evil")}},
		{"a trailing slash is refused", []File{ok("bin/")}},
		{"an empty path is refused", []File{ok("")}},
		{"a path in info/ is refused", []File{ok("info/index.json")}},
		{"a path in Info/ is refused", []File{ok("Info/x")}},
		{"a duplicate path is refused", []File{ok("bin/a"), ok("bin/a")}},
		{"paths differing only in case are refused", []File{ok("bin/a"), ok("bin/A")}},
		{"a file that is also a directory is refused", []File{ok("bin"), ok("bin/a")}},
		{"a directory mode is refused", []File{{Path: "bin/a", Mode: fs.ModeDir | 0o755, Open: ok("x").Open}}},
		{"a symlink mode is refused", []File{{Path: "bin/a", Mode: fs.ModeSymlink | 0o777, Open: ok("x").Open}}},
		{"a negative size is refused", []File{{Path: "bin/a", Size: -1, Open: ok("x").Open}}},
		{"a file without Open is refused", []File{{Path: "bin/a"}}},
		{"content shorter than Size is refused", []File{{Path: "bin/a", Size: 5, Open: ok("x").Open}}},
		{"content longer than Size is refused", []File{{Path: "bin/a", Size: 0, Open: ok("x").Open}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Build(io.Discard, testMeta(), tt.files)
			if code := gatehouse.ErrorCode(err); code != gatehouse.EINVALID {
				t.Fatalf("Build = %v; want an EINVALID error", err)
			}
		})
	}
}

func TestBuildNoticesContentThatChangesBetweenPasses(t *testing.T) {
	calls := 0
	f := File{Path: "bin/a", Mode: 0o755, Size: 3, Open: func() (io.ReadCloser, error) {
		calls++
		return io.NopCloser(strings.NewReader([]string{"abc", "abd"}[min(calls-1, 1)])), nil
	}}
	err := Build(io.Discard, testMeta(), []File{f})
	if gatehouse.ErrorCode(err) != gatehouse.EINVALID || !strings.Contains(gatehouse.ErrorMessage(err), "changed") {
		t.Fatalf("Build = %v; want an error saying the file changed", err)
	}
}

func TestBuildPassesOnOpenAndWriteErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	f := File{Path: "bin/a", Size: 1, Open: func() (io.ReadCloser, error) { return nil, boom }}
	if err := Build(io.Discard, testMeta(), []File{f}); !errors.Is(err, boom) {
		t.Errorf("Build with a failing Open = %v; want it wrapped", err)
	}
	if err := Build(failWriter{boom}, testMeta(), testFiles()); !errors.Is(err, boom) {
		t.Errorf("Build to a failing writer = %v; want it wrapped", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

// noiseReader yields n deterministic pseudo-random bytes without holding
// them: a stand-in for a large binary.
type noiseReader struct {
	rng *rand.ChaCha8
	n   int64
}

func (r *noiseReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	r.rng.Read(p)
	r.n -= int64(len(p))
	return len(p), nil
}

func noiseFile(p string, size int64) File {
	return File{Path: p, Mode: 0o755, Size: size, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(&noiseReader{rng: rand.NewChaCha8([32]byte{1}), n: size}), nil
	}}
}

// TestBuildStreamsLargeFiles builds packages around a 4 MB and a 40 MB
// file: what Build allocates must not grow with the file (the encoder's
// fixed buffers aside), so the file was never held whole.
func TestBuildStreamsLargeFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compresses 88 MB")
	}
	alloc := func(size int64) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := Build(sha256.New(), testMeta(), []File{noiseFile("bin/gatehouse", size)}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := alloc(4<<20), alloc(40<<20)
	t.Logf("Build allocated %.1f MB for a 4 MB file, %.1f MB for a 40 MB file", float64(small)/(1<<20), float64(large)/(1<<20))
	if large > small+2<<20 || large > 20<<20 {
		t.Errorf("Build allocated %d MB for a 40 MB file and %d MB for a 4 MB one; it should stream", large>>20, small>>20)
	}
}
