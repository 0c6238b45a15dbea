package conda

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// Builders for the archives the tests feed Inspect: well-formed ones made
// the way conda tools make them, and hostile ones that break one rule each.

// tarEntry is one entry of a test tarball; a nil body with a regular file
// header means an empty file.
type tarEntry struct {
	hdr  tar.Header
	body []byte
}

func file(name string, body []byte) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func makeTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("tar header %q: %v", Quote(h.Name), err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdCompress(t testing.TB, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

// indexJSON returns a valid index.json for name-version-build in subdir,
// with changes applied: a nil value removes the key.
func indexJSON(t testing.TB, name, version, build, subdir string, changes map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"name": name, "version": version, "build": build, "build_number": 0,
		"subdir": subdir, "depends": []string{"python >=3.9"}, "license": "MIT",
		"timestamp": 1700000000000,
	}
	for k, v := range changes {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Most hostile-package tests use this one package.
const (
	testStem   = "demo-1.0-0"
	testSubdir = "linux-64"
)

func demoIndex(t testing.TB) []byte { return indexJSON(t, "demo", "1.0", "0", testSubdir, nil) }

// tarBz2 returns a .tar.bz2 package holding entries, in order.
func tarBz2(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	return bzip2Compress(t, bytes.NewReader(makeTar(t, entries...)))
}

// zipMem is one member for the zip assembler; the option fields reproduce
// what different writers do (zip64 extras as rattler writes them, data
// descriptors as stream writers do) and what attackers do.
type zipMem struct {
	name       string
	data       []byte
	method     uint16
	flags      uint16
	zip64      bool // zip64 extra fields in both headers, sizes saturated
	descriptor bool // sizes and CRC after the data
	localCRC   *uint32
	centralOff *uint64 // point the central record elsewhere
}

type zipAsm struct {
	buf     bytes.Buffer
	central bytes.Buffer
	count   int
	// Lies for the end records.
	zip64End   bool
	countDelta int
	endComment string
}

// add writes a member's local header and data, then its central record.
func (z *zipAsm) add(m zipMem) uint64 {
	off := z.local(m)
	if m.centralOff != nil {
		off = *m.centralOff
	}
	z.centralRecord(m, off)
	return off
}

func (z *zipAsm) local(m zipMem) uint64 {
	off := uint64(z.buf.Len())
	crc := crc32.ChecksumIEEE(m.data)
	if m.localCRC != nil {
		crc = *m.localCRC
	}
	size32 := uint32(len(m.data))
	var extra []byte
	if m.zip64 {
		size32 = 0xffffffff
		extra = binary.LittleEndian.AppendUint16(extra, 1)
		extra = binary.LittleEndian.AppendUint16(extra, 16)
		extra = binary.LittleEndian.AppendUint64(extra, uint64(len(m.data)))
		extra = binary.LittleEndian.AppendUint64(extra, uint64(len(m.data)))
	}
	flags := m.flags
	lcrc, lsize := crc, size32
	if m.descriptor {
		flags |= 0x8
		lcrc, lsize = 0, 0
	}
	h := binary.LittleEndian.AppendUint32(nil, 0x04034b50)
	h = binary.LittleEndian.AppendUint16(h, 45)
	h = binary.LittleEndian.AppendUint16(h, flags)
	h = binary.LittleEndian.AppendUint16(h, m.method)
	h = binary.LittleEndian.AppendUint32(h, 0) // time, date
	h = binary.LittleEndian.AppendUint32(h, lcrc)
	h = binary.LittleEndian.AppendUint32(h, lsize)
	h = binary.LittleEndian.AppendUint32(h, lsize)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(m.name)))
	h = binary.LittleEndian.AppendUint16(h, uint16(len(extra)))
	z.buf.Write(h)
	z.buf.WriteString(m.name)
	z.buf.Write(extra)
	z.buf.Write(m.data)
	if m.descriptor {
		d := binary.LittleEndian.AppendUint32(nil, 0x08074b50)
		d = binary.LittleEndian.AppendUint32(d, crc)
		if m.zip64 {
			d = binary.LittleEndian.AppendUint64(d, uint64(len(m.data)))
			d = binary.LittleEndian.AppendUint64(d, uint64(len(m.data)))
		} else {
			d = binary.LittleEndian.AppendUint32(d, uint32(len(m.data)))
			d = binary.LittleEndian.AppendUint32(d, uint32(len(m.data)))
		}
		z.buf.Write(d)
	}
	return off
}

func (z *zipAsm) centralRecord(m zipMem, off uint64) {
	size32, off32 := uint32(len(m.data)), uint32(off)
	var extra []byte
	if m.zip64 {
		size32, off32 = 0xffffffff, 0xffffffff
		extra = binary.LittleEndian.AppendUint16(extra, 1)
		extra = binary.LittleEndian.AppendUint16(extra, 24)
		extra = binary.LittleEndian.AppendUint64(extra, uint64(len(m.data)))
		extra = binary.LittleEndian.AppendUint64(extra, uint64(len(m.data)))
		extra = binary.LittleEndian.AppendUint64(extra, off)
	}
	flags := m.flags
	if m.descriptor {
		flags |= 0x8
	}
	h := binary.LittleEndian.AppendUint32(nil, 0x02014b50)
	h = binary.LittleEndian.AppendUint16(h, 0x031e)
	h = binary.LittleEndian.AppendUint16(h, 45)
	h = binary.LittleEndian.AppendUint16(h, flags)
	h = binary.LittleEndian.AppendUint16(h, m.method)
	h = binary.LittleEndian.AppendUint32(h, 0)
	h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE(m.data))
	h = binary.LittleEndian.AppendUint32(h, size32)
	h = binary.LittleEndian.AppendUint32(h, size32)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(m.name)))
	h = binary.LittleEndian.AppendUint16(h, uint16(len(extra)))
	h = binary.LittleEndian.AppendUint16(h, 0) // comment
	h = binary.LittleEndian.AppendUint16(h, 0) // disk
	h = binary.LittleEndian.AppendUint16(h, 0) // internal attributes
	h = binary.LittleEndian.AppendUint32(h, 0o100644<<16)
	h = binary.LittleEndian.AppendUint32(h, off32)
	z.central.Write(h)
	z.central.WriteString(m.name)
	z.central.Write(extra)
	z.count++
}

// bytes appends the central directory and end records.
func (z *zipAsm) bytes() []byte {
	out := bytes.Clone(z.buf.Bytes())
	cdOff := uint64(len(out))
	out = append(out, z.central.Bytes()...)
	cdSize := uint64(z.central.Len())
	count := uint64(z.count + z.countDelta)
	count16, size32, off32 := uint16(count), uint32(cdSize), uint32(cdOff)
	if z.zip64End {
		end64 := uint64(len(out))
		r := binary.LittleEndian.AppendUint32(nil, 0x06064b50)
		r = binary.LittleEndian.AppendUint64(r, 44)
		r = binary.LittleEndian.AppendUint16(r, 45)
		r = binary.LittleEndian.AppendUint16(r, 45)
		r = binary.LittleEndian.AppendUint32(r, 0)
		r = binary.LittleEndian.AppendUint32(r, 0)
		r = binary.LittleEndian.AppendUint64(r, count)
		r = binary.LittleEndian.AppendUint64(r, count)
		r = binary.LittleEndian.AppendUint64(r, cdSize)
		r = binary.LittleEndian.AppendUint64(r, cdOff)
		r = binary.LittleEndian.AppendUint32(r, 0x07064b50)
		r = binary.LittleEndian.AppendUint32(r, 0)
		r = binary.LittleEndian.AppendUint64(r, end64)
		r = binary.LittleEndian.AppendUint32(r, 1)
		out = append(out, r...)
		count16, size32, off32 = 0xffff, 0xffffffff, 0xffffffff
	}
	e := binary.LittleEndian.AppendUint32(nil, 0x06054b50)
	e = binary.LittleEndian.AppendUint32(e, 0)
	e = binary.LittleEndian.AppendUint16(e, count16)
	e = binary.LittleEndian.AppendUint16(e, count16)
	e = binary.LittleEndian.AppendUint32(e, size32)
	e = binary.LittleEndian.AppendUint32(e, off32)
	e = binary.LittleEndian.AppendUint16(e, uint16(len(z.endComment)))
	e = append(e, z.endComment...)
	return append(out, e...)
}

// condaMembers returns the three members of a .conda for stem whose info
// tarball holds infoEntries, as cph lays them out (info last).
func condaMembers(t testing.TB, stem string, infoEntries ...tarEntry) []zipMem {
	t.Helper()
	return []zipMem{
		{name: "metadata.json", data: []byte(`{"conda_pkg_format_version": 2}`)},
		{name: "pkg-" + stem + ".tar.zst", data: zstdCompress(t, makeTar(t, file("lib/libdemo.so", []byte("ELF...")), file("bin/demo", []byte("#!/bin/sh\n"))))},
		{name: "info-" + stem + ".tar.zst", data: zstdCompress(t, makeTar(t, infoEntries...))},
	}
}

// condaZip assembles members into a .conda.
func condaZip(members ...zipMem) []byte {
	var z zipAsm
	for _, m := range members {
		z.add(m)
	}
	return z.bytes()
}

// condaFile returns a .conda for stem whose info tarball holds infoEntries.
func condaFile(t testing.TB, stem string, infoEntries ...tarEntry) []byte {
	t.Helper()
	return condaZip(condaMembers(t, stem, infoEntries...)...)
}

// inspectBytes runs Inspect on data under filename with lim.
func inspectBytes(data []byte, filename string, lim Limits) (*Package, error) {
	return Inspect(bytes.NewReader(data), int64(len(data)), filename, lim)
}

// fixture is a real package from testdata/pkgs, made by make-fixtures.sh.
type fixture struct {
	path, subdir, filename string
	data                   []byte
}

func fixtures(t testing.TB) []fixture {
	t.Helper()
	paths, err := filepath.Glob("testdata/pkgs/*/*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in testdata/pkgs (run testdata/make-fixtures.sh): %v", err)
	}
	var out []fixture
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fixture{path: p, subdir: filepath.Base(filepath.Dir(p)), filename: filepath.Base(p), data: data})
	}
	return out
}

// zeroReader yields n zero bytes without holding them.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), z.n)]
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}
