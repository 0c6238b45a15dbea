package conda

import (
	"archive/tar"
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// fuzzLimits are small so each input is cheap; the code paths are the same.
var fuzzLimits = Limits{MaxIndexJSON: 64 << 10, MaxDecompressed: 4 << 20, MaxEntries: 1000, MaxHeaderBytes: 8 << 10, MaxZstdWindow: 8 << 20, MaxPayload: 16 << 20}

// FuzzInspect feeds Inspect real packages, hostile ones and their mutations.
// It must never panic, must answer with EINVALID or ETOOLARGE only, and
// what it accepts must be a valid package that Record can index.
func FuzzInspect(f *testing.F) {
	for _, fx := range fixtures(f) {
		f.Add(fx.data, fx.filename)
	}
	idx := file("info/index.json", demoIndex(f))
	ms := condaMembers(f, testStem, idx)
	f.Add(tarBz2(f, idx), testStem+".tar.bz2")
	f.Add(tarBz2(f, file("../x", nil), idx), testStem+".tar.bz2")
	f.Add(tarBz2(f, tarEntry{hdr: tarHeaderSymlink("info/index.json", "/etc/passwd")}), testStem+".tar.bz2")
	f.Add(condaZip(ms...), condaName)
	f.Add(condaZip(ms[2], ms[0], ms[1]), condaName)
	z64 := condaMembers(f, testStem, idx)
	for i := range z64 {
		z64[i].zip64, z64[i].descriptor = true, i == 1
	}
	f.Add(condaZip(z64...), condaName)
	zend := zipAsm{zip64End: true, endComment: "c"}
	for _, m := range ms {
		zend.add(m)
	}
	f.Add(zend.bytes(), condaName)
	f.Add(condaFile(f, testStem, file("info/files", make([]byte, 5<<20)), idx), condaName)
	f.Add(condaFile(f, testStem, idx, file("info/paths.json", []byte(`{"paths":[{"_path":"bin/.x-post-link.sh","file_mode":"text","prefix_placeholder":"/p"}],"paths_version":1}`))), condaName)
	// Payloads (checklist F17): links inside and outside, info/ in the
	// pkg tarball, data after the tarball, a window-forcing member.
	for _, payload := range [][]tarEntry{
		{file("lib/libz.so.1", []byte("ELF")), symlink("lib/libz.so", "libz.so.1"), hardlink("lib/libz2.so", "lib/libz.so.1")},
		{symlink("etc/shadow", "/etc/shadow")},
		{symlink("d/s2", ".."), symlink("d/s1", "s2/../..")},
		{symlink("lib64", "lib"), file("lib64/x", nil)},
		{file("info/index.json", demoIndex(f))},
	} {
		for name, data := range withPayload(f, payload...) {
			f.Add(data, name)
		}
	}
	for name, data := range withPayloadTar(f, append(makeTar(f, file("a", nil)), makeTar(f, file("b", []byte("x")))...)) {
		f.Add(data, name)
	}
	lm := condaMembers(f, testStem, idx)
	lm[1].data = zstdDeclaring(f, makeTar(f, longMatchFile("share/x")), 128<<20)
	f.Add(condaZip(lm...), condaName)
	f.Add([]byte("BZh9"), testStem+".tar.bz2")
	f.Add([]byte("PK\x03\x04"), condaName)

	f.Fuzz(func(t *testing.T, data []byte, filename string) {
		p, err := Inspect(bytes.NewReader(data), int64(len(data)), filename, fuzzLimits)
		if err != nil {
			var ge *gatehouse.Error
			if !errors.As(err, &ge) || (ge.Code != gatehouse.EINVALID && ge.Code != gatehouse.ETOOLARGE) {
				t.Fatalf("Inspect error %T %v; want a *gatehouse.Error with EINVALID or ETOOLARGE", err, err)
			}
			return
		}
		if p.Filename != filename || p.Index.Filename(p.Format) != filename {
			t.Fatalf("accepted %q as %s", filename, p.Index.Filename(p.Format))
		}
		if err := p.Index.Validate(time.Time{}); err != nil {
			t.Fatalf("accepted a package that does not validate: %v", err)
		}
		if _, err := Record(&p.Index, testMD5, testSHA256, int64(len(data)), 1); err != nil {
			t.Fatalf("accepted a package Record refuses: %v", err)
		}
	})
}

func tarHeaderSymlink(name, target string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}
}

// FuzzParseFilename: never panics, and what it accepts splits back into the
// name it was given.
func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{
		"numpy-1.26.4-py312h8753938_0.conda", "_libgcc_mutex-0.1-conda_forge.tar.bz2", "a-1!2.0+x-B.conda",
		"../../etc/passwd-1-0.conda", "a-b-c", ".conda", "x-1-0.tar.bz2.conda", "A-1-0.conda", "a--0.conda",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		stem, format, err := ParseFilename(s)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("error %v; want EINVALID", err)
			}
			return
		}
		if stem+format.Ext() != s || len(s) > MaxFilenameLen || strings.ContainsAny(s, "/\\\x00 ") {
			t.Fatalf("accepted %q as %q + %q", s, stem, format.Ext())
		}
		name, version, build, ok := splitStem(stem)
		if !ok || CheckName(name) != nil || checkVersion(version) != nil || checkBuild(build) != nil {
			t.Fatalf("accepted %q whose parts do not validate", s)
		}
	})
}

// FuzzIndexJSON: the index.json decoder never panics, refuses with
// EINVALID only, and what it accepts gives a canonical record: strict JSON
// that reads back to the same record.
func FuzzIndexJSON(f *testing.F) {
	f.Add([]byte(goodIndex))
	f.Add(indexJSON(f, "demo", "1.0", "0", "noarch", map[string]any{"noarch": "python"}))
	f.Add([]byte(`{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64","name":"x"}`))
	f.Add([]byte(`{"name":"demo","version":"1.0","build":"0","build_number":"0","subdir":"linux-64"}`))
	f.Add([]byte(`{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64","depends":"x","timestamp":1e3}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`))
	f.Add([]byte("{\"a\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ParseIndexJSON(data)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("error %v; want EINVALID", err)
			}
			return
		}
		if err := ix.Validate(time.Time{}); err != nil {
			t.Fatalf("accepted an index that does not validate: %v", err)
		}
		rec, err := Record(ix, testMD5, testSHA256, 1, 2)
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		if err := CheckStrictJSON(rec); err != nil {
			t.Fatalf("record is not strict JSON: %v\n%s", err, rec)
		}
		again, err := ParseIndexJSON(rec)
		if err != nil {
			t.Fatalf("the record does not read back: %v\n%s", err, rec)
		}
		rec2, err := Record(again, testMD5, testSHA256, 1, 2)
		if err != nil || !bytes.Equal(rec, rec2) {
			t.Fatalf("record is not canonical:\n%s\n%s", rec, rec2)
		}
	})
}
