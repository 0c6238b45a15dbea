package conda

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/klauspost/compress/zstd"
)

// Hostile archives, made here so they stay out of the repository. Each case
// breaks one rule of the security checklist, section F, and names it.

// both builds the same info/ entries as a .tar.bz2 and as a .conda, so a
// rule is checked in both formats.
func both(t *testing.T, entries ...tarEntry) map[string][]byte {
	return map[string][]byte{
		testStem + ".tar.bz2": tarBz2(t, entries...),
		testStem + ".conda":   condaFile(t, testStem, entries...),
	}
}

// wantCode runs Inspect and checks the error code and that the message
// mentions what it should.
func wantCode(t *testing.T, data []byte, filename string, lim Limits, code, mention string) {
	t.Helper()
	p, err := inspectBytes(data, filename, lim)
	if gatehouse.ErrorCode(err) != code {
		t.Fatalf("Inspect(%s) = %+v, %v; want code %s", filename, p, err, code)
	}
	if msg := gatehouse.ErrorMessage(err); !strings.Contains(msg, mention) {
		t.Fatalf("message %q does not mention %q", msg, mention)
	}
}

func TestInspectAcceptsWellFormedHostileLookalikes(t *testing.T) {
	// The builders themselves must make packages Inspect accepts, or the
	// refusals below prove nothing.
	for name, data := range both(t, file("info/index.json", demoIndex(t)), file("info/files", []byte("lib/libdemo.so\n"))) {
		t.Run(name, func(t *testing.T) {
			p, err := inspectBytes(data, name, DefaultLimits())
			if err != nil || p.Index.Stem() != testStem {
				t.Fatalf("Inspect = %+v, %v", p, err)
			}
		})
	}
	t.Run("a .tar.bz2 with directories and payload before info/ is read to info/", func(t *testing.T) {
		data := tarBz2(t,
			tarEntry{hdr: tar.Header{Name: "lib/", Typeflag: tar.TypeDir, Mode: 0o755}},
			file("lib/libdemo.so", bytes.Repeat([]byte("x"), 100_000)),
			tarEntry{hdr: tar.Header{Name: "lib/libdemo.so.1", Typeflag: tar.TypeSymlink, Linkname: "libdemo.so"}},
			tarEntry{hdr: tar.Header{Name: "info/", Typeflag: tar.TypeDir, Mode: 0o755}},
			file("info/index.json", demoIndex(t)))
		if _, err := inspectBytes(data, testStem+".tar.bz2", DefaultLimits()); err != nil {
			t.Fatal(err)
		}
	})
}

// checklist F7: paths that could leave the install prefix, and links
// standing in for the metadata.
func TestInspectRefusesUnsafeEntries(t *testing.T) {
	index := file("info/index.json", demoIndex(t))
	cases := []struct {
		why     string
		entries []tarEntry
		mention string
	}{
		{"an entry ../x (F7)", []tarEntry{file("../x", nil), index}, "../x"},
		{"an absolute entry /abs (F7)", []tarEntry{file("/abs", nil), index}, "absolute"},
		{"an entry info/../../x (F7)", []tarEntry{index, file("info/../../x", nil)}, "info/../../x"},
		{"an entry ./info/index.json (F7)", []tarEntry{file("./info/index.json", demoIndex(t))}, "./info/index.json"},
		{"an entry info//index.json (F7)", []tarEntry{file("info//index.json", demoIndex(t))}, "info//index.json"},
		{"an entry with a backslash (F7)", []tarEntry{index, file("info\\..\\..\\x", nil)}, "backslash"},
		{"an entry with a drive letter (F7)", []tarEntry{index, file("C:/Windows/x", nil)}, "absolute"},
		{"info/index.json as a symlink to /etc/passwd (F7)", []tarEntry{{hdr: tar.Header{Name: "info/index.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}}, "symlink"},
		{"info/index.json as a hardlink (F7)", []tarEntry{file("info/real.json", demoIndex(t)), {hdr: tar.Header{Name: "info/index.json", Typeflag: tar.TypeLink, Linkname: "info/real.json"}}}, "hardlink"},
		{"a hardlink to ../../etc/passwd (F7)", []tarEntry{index, {hdr: tar.Header{Name: "info/x", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}}}, "../../etc/passwd"},
		{"info/index.json twice (F7)", []tarEntry{index, file("info/index.json", indexJSON(t, "demo", "1.0", "0", "noarch", nil))}, "twice"},
		{"info/index.json and INFO/index.json (F7)", []tarEntry{index, file("INFO/index.json", demoIndex(t))}, "twice"},
		{"info/Index.json alone", []tarEntry{file("info/Index.json", demoIndex(t))}, "only in case"},
		{"a device file", []tarEntry{index, {hdr: tar.Header{Name: "info/dev", Typeflag: tar.TypeChar}}}, "device"},
		{"a named pipe", []tarEntry{index, {hdr: tar.Header{Name: "info/fifo", Typeflag: tar.TypeFifo}}}, "named pipe"},
	}
	for _, c := range cases {
		for name, data := range both(t, c.entries...) {
			t.Run("refuses "+c.why+" in "+name[len(testStem):], func(t *testing.T) {
				wantCode(t, data, name, DefaultLimits(), gatehouse.EINVALID, c.mention)
			})
		}
	}
	t.Run("refuses an entry outside info/ in the info tarball of a .conda", func(t *testing.T) {
		data := condaFile(t, testStem, file("info/index.json", demoIndex(t)), file("bin/evil", nil))
		wantCode(t, data, testStem+".conda", DefaultLimits(), gatehouse.EINVALID, "outside info/")
	})
}

// checklist F2: index.json missing or too large.
func TestInspectRefusesMissingOrHugeIndex(t *testing.T) {
	for name, data := range both(t, file("info/about.json", []byte(`{}`))) {
		t.Run("refuses a package without info/index.json (F2) in "+name[len(testStem):], func(t *testing.T) {
			wantCode(t, data, name, DefaultLimits(), gatehouse.EINVALID, "no info/index.json")
		})
	}
	t.Run("refuses a .tar.bz2 whose index.json is 100 MB of whitespace, without reading it (F2)", func(t *testing.T) {
		body := &repeatReader{b: ' ', n: 100 << 20}
		data := bzip2Compress(t, lazyTar(t, func(tw *tar.Writer) error {
			if err := tw.WriteHeader(&tar.Header{Name: "info/index.json", Typeflag: tar.TypeReg, Size: body.n, Mode: 0o644}); err != nil {
				return err
			}
			_, err := io.Copy(tw, body)
			return err
		}))
		alloc := measureAlloc(func() {
			wantCode(t, data, testStem+".tar.bz2", DefaultLimits(), gatehouse.ETOOLARGE, "info/index.json is 104857600 bytes")
		})
		if alloc > 16<<20 {
			t.Errorf("Inspect allocated %d MiB; it should refuse from the header alone", alloc>>20)
		}
	})
	t.Run("refuses a .conda whose index.json is 2 MiB of whitespace (F2)", func(t *testing.T) {
		data := condaFile(t, testStem, file("info/index.json", append(demoIndex(t), bytes.Repeat([]byte(" "), 2<<20)...)))
		wantCode(t, data, testStem+".conda", DefaultLimits(), gatehouse.ETOOLARGE, "info/index.json is")
	})
	t.Run("accepts an index.json right at MaxIndexJSON and refuses one byte more", func(t *testing.T) {
		idx := demoIndex(t)
		lim := Limits{MaxIndexJSON: 4096}
		pad := func(n int) []byte { return append(bytes.Clone(idx), bytes.Repeat([]byte("\n"), n-len(idx))...) }
		for name, data := range both(t, file("info/index.json", pad(4096))) {
			if _, err := inspectBytes(data, name, lim); err != nil {
				t.Errorf("%s at the limit: %v", name, err)
			}
		}
		for name, data := range both(t, file("info/index.json", pad(4097))) {
			wantCode(t, data, name, lim, gatehouse.ETOOLARGE, "limit is 4096")
		}
	})
	t.Run("refuses an about.json over MaxIndexJSON", func(t *testing.T) {
		for name, data := range both(t, file("info/about.json", bytes.Repeat([]byte(" "), 5000)), file("info/index.json", demoIndex(t))) {
			wantCode(t, data, name, Limits{MaxIndexJSON: 4096}, gatehouse.ETOOLARGE, "info/about.json is 5000 bytes")
		}
	})
}

// checklist F4: a gigabyte of zeros in info/ stops at the decompressed
// budget, in bounded memory and time.
func TestInspectStopsDecompressionBombs(t *testing.T) {
	bomb := func() io.Reader {
		return lazyTar(t, func(tw *tar.Writer) error {
			if err := tw.WriteHeader(&tar.Header{Name: "info/files", Typeflag: tar.TypeReg, Size: 1 << 30, Mode: 0o644}); err != nil {
				return err
			}
			if _, err := io.Copy(tw, &zeroReader{n: 1 << 30}); err != nil {
				return err
			}
			idx := demoIndex(t)
			if err := tw.WriteHeader(&tar.Header{Name: "info/index.json", Typeflag: tar.TypeReg, Size: int64(len(idx)), Mode: 0o644}); err != nil {
				return err
			}
			_, err := tw.Write(idx)
			return err
		})
	}
	t.Run("refuses 1 GiB of zeros compressed with bzip2 (F4)", func(t *testing.T) {
		data := bzip2Compress(t, bomb())
		if len(data) > 1<<20 {
			t.Fatalf("the bomb is %d bytes; expected under 1 MiB", len(data))
		}
		checkBomb(t, data, testStem+".tar.bz2")
	})
	t.Run("refuses 1 GiB of zeros compressed with zstd (F4)", func(t *testing.T) {
		var zbuf bytes.Buffer
		enc, err := zstd.NewWriter(&zbuf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(enc, bomb()); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		members := condaMembers(t, testStem)
		members[2].data = zbuf.Bytes()
		checkBomb(t, condaZip(members...), testStem+".conda")
	})
	t.Run("refuses a zstd frame that declares 1 GiB of content (F4)", func(t *testing.T) {
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		frame := enc.EncodeAll(make([]byte, 1<<30), nil) // declares its content size
		members := condaMembers(t, testStem)
		members[2].data = frame
		checkBomb(t, condaZip(members...), testStem+".conda")
	})
}

func checkBomb(t *testing.T, data []byte, filename string) {
	t.Helper()
	start := time.Now()
	alloc := measureAlloc(func() {
		wantCode(t, data, filename, DefaultLimits(), gatehouse.ETOOLARGE, "decompression bomb")
	})
	// The budget is 32 MiB; growing buffers may cost about twice that.
	if alloc > 100<<20 {
		t.Errorf("Inspect allocated %d MiB on a bomb; the budget is 32 MiB", alloc>>20)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Inspect took %v on a bomb", d)
	}
}

// checklist F5: entry-count and header bombs.
func TestInspectRefusesEntryAndHeaderBombs(t *testing.T) {
	many := func(n int) []tarEntry {
		var es []tarEntry
		for i := range n {
			es = append(es, file(fmt.Sprintf("info/f%07d", i), nil))
		}
		return append(es, file("info/index.json", demoIndex(t)))
	}
	for name, data := range both(t, many(1001)...) {
		t.Run("refuses more than MaxEntries entries (F5) in "+name[len(testStem):], func(t *testing.T) {
			wantCode(t, data, name, Limits{MaxEntries: 1000}, gatehouse.ETOOLARGE, "more than 1000 archive entries")
		})
	}
	t.Run("refuses a .conda with 1,000,000 tar entries under the default limits (F5)", func(t *testing.T) {
		var zbuf bytes.Buffer
		enc, err := zstd.NewWriter(&zbuf, zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(enc, lazyTar(t, func(tw *tar.Writer) error {
			for i := range 1_000_000 {
				if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("info/f%07d", i), Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
					return err
				}
			}
			return nil
		}))
		if err != nil || enc.Close() != nil {
			t.Fatal(err)
		}
		members := condaMembers(t, testStem)
		members[2].data = zbuf.Bytes()
		// A million empty entries are 512 MB of tar: the decompressed
		// budget or the entry limit stops it, whichever comes first.
		_, err = inspectBytes(condaZip(members...), testStem+".conda", DefaultLimits())
		if gatehouse.ErrorCode(err) != gatehouse.ETOOLARGE {
			t.Fatalf("Inspect = %v; want ETOOLARGE", err)
		}
	})
	long := strings.Repeat("a", 100<<10)
	headerBombs := []struct {
		why   string
		entry tarEntry
	}{
		{"a 100 KB entry name (F5)", file("info/"+long, nil)},
		{"a 100 KB GNU long name (F5)", tarEntry{hdr: tar.Header{Name: "info/" + long, Typeflag: tar.TypeReg, Format: tar.FormatGNU}}},
		{"a 100 KB link name (F5)", tarEntry{hdr: tar.Header{Name: "info/l", Typeflag: tar.TypeSymlink, Linkname: long}}},
		{"a 100 KB PAX record (F5)", tarEntry{hdr: tar.Header{Name: "info/p", Typeflag: tar.TypeReg, PAXRecords: map[string]string{"comment": long}, Format: tar.FormatPAX}}},
		{"a thousand PAX records (F5)", tarEntry{hdr: tar.Header{Name: "info/p", Typeflag: tar.TypeReg, Format: tar.FormatPAX, PAXRecords: func() map[string]string {
			m := map[string]string{}
			for i := range 1000 {
				m[fmt.Sprintf("GATEHOUSE.x%d", i)] = strings.Repeat("v", 100)
			}
			return m
		}()}}},
	}
	for _, c := range headerBombs {
		for name, data := range both(t, c.entry, file("info/index.json", demoIndex(t))) {
			t.Run("refuses "+c.why+" in "+name[len(testStem):], func(t *testing.T) {
				wantCode(t, data, name, DefaultLimits(), gatehouse.ETOOLARGE, "header")
			})
		}
	}
	t.Run("refuses a 10 MB entry name in a PAX header (F5)", func(t *testing.T) {
		// Go's tar writer will not write a name this long, so the PAX
		// header is written by hand.
		tarball := append(paxHeader(t, "path", "info/"+strings.Repeat("n", 10<<20)), makeTar(t, file("info/short", nil), file("info/index.json", demoIndex(t)))...)
		members := condaMembers(t, testStem)
		members[2].data = zstdCompress(t, tarball)
		wantCode(t, condaZip(members...), testStem+".conda", DefaultLimits(), gatehouse.ETOOLARGE, "header")
		data := bzip2Compress(t, bytes.NewReader(tarball))
		wantCode(t, data, testStem+".tar.bz2", DefaultLimits(), gatehouse.ETOOLARGE, "header")
	})
}

// checklist F14: not an archive, or cut short.
func TestInspectRefusesNonArchives(t *testing.T) {
	good := both(t, file("info/index.json", demoIndex(t)))
	cases := []struct {
		why, filename string
		data          []byte
		mention       string
	}{
		{"an empty .tar.bz2 (F14)", testStem + ".tar.bz2", nil, "not a bzip2"},
		{"an empty .conda (F14)", testStem + ".conda", nil, "not a zip"},
		{"text named .tar.bz2 (F14)", testStem + ".tar.bz2", []byte("hello, this is not a package"), "not a bzip2"},
		{"a .conda named .tar.bz2 (F14)", testStem + ".tar.bz2", good[testStem+".conda"], "not a bzip2"},
		{"a .tar.bz2 named .conda (F14)", testStem + ".conda", good[testStem+".tar.bz2"], "not a zip"},
		{"a gzip tarball named .tar.bz2 (F14)", testStem + ".tar.bz2", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"), "not a bzip2"},
		{"bzip2 of something that is not tar (F14)", testStem + ".tar.bz2", bzip2Compress(t, strings.NewReader(strings.Repeat("not a tar header ", 100))), "not a valid .tar.bz2"},
		{"a .tar.bz2 cut in half (F14)", testStem + ".tar.bz2", good[testStem+".tar.bz2"][:len(good[testStem+".tar.bz2"])/2], "truncated"},
		{"a .tar.bz2 missing its last byte (F14)", testStem + ".tar.bz2", good[testStem+".tar.bz2"][:len(good[testStem+".tar.bz2"])-1], "truncated"},
		{"a .conda missing its last byte (F14)", testStem + ".conda", good[testStem+".conda"][:len(good[testStem+".conda"])-1], "truncated"},
		{"a .conda cut in half (F14)", testStem + ".conda", good[testStem+".conda"][:len(good[testStem+".conda"])/2], "truncated"},
		{"a bzip2 header alone (F14)", testStem + ".tar.bz2", []byte("BZh9"), "truncated"},
	}
	for _, c := range cases {
		t.Run("refuses "+c.why, func(t *testing.T) {
			wantCode(t, c.data, c.filename, DefaultLimits(), gatehouse.EINVALID, c.mention)
		})
	}
	t.Run("refuses a .tar.bz2 whose payload is corrupt after info/ (F14)", func(t *testing.T) {
		data := tarBz2(t, file("info/index.json", demoIndex(t)), file("lib/big", bytes.Repeat([]byte("payload "), 50_000)))
		bad := bytes.Clone(data)
		bad = bad[:len(bad)-200] // drop the end of the stream, marker included
		wantCode(t, bad, testStem+".tar.bz2", DefaultLimits(), gatehouse.EINVALID, "truncated")
	})
	t.Run("refuses a .conda whose info member fails its CRC (F14)", func(t *testing.T) {
		members := condaMembers(t, testStem, file("info/index.json", demoIndex(t)))
		data := condaZip(members...)
		at := bytes.LastIndex(data, members[2].data)
		if at < 0 {
			t.Fatal("info member not found in the zip")
		}
		data[at+len(members[2].data)/2] ^= 0x55
		wantCode(t, data, testStem+".conda", DefaultLimits(), gatehouse.EINVALID, "CRC")
	})
}

// checklist F10: the file name must be exactly name-version-build.ext.
func TestInspectRefusesAMisnamedFile(t *testing.T) {
	for name, data := range both(t, file("info/index.json", demoIndex(t))) {
		ext := name[len(testStem):]
		for _, other := range []string{"other-1.0-0", "demo-1.1-0", "demo-1.0-1", "demo-1.0-0_evil"} {
			t.Run("refuses "+ext+" content named "+other+ext+" (F10)", func(t *testing.T) {
				wantCode(t, data, other+ext, DefaultLimits(), gatehouse.EINVALID, "")
			})
		}
		t.Run("refuses "+ext+" with an unusable file name (F10)", func(t *testing.T) {
			wantCode(t, data, "../"+name, DefaultLimits(), gatehouse.EINVALID, "path separator")
		})
	}
	t.Run("refuses a .tar.bz2 named for another package and says the right name (F10)", func(t *testing.T) {
		data := tarBz2(t, file("info/index.json", demoIndex(t)))
		wantCode(t, data, "other-1.0-0.tar.bz2", DefaultLimits(), gatehouse.EINVALID, testStem+".tar.bz2")
	})
	t.Run("refuses a .conda named for another package and says the right name (F10)", func(t *testing.T) {
		wantCode(t, condaFile(t, testStem, file("info/index.json", demoIndex(t))), "other-1.0-0.conda", DefaultLimits(), gatehouse.EINVALID, testStem+".conda")
	})
	t.Run("refuses a .conda whose members and index.json name different packages (F10)", func(t *testing.T) {
		data := condaFile(t, "other-1.0-0", file("info/index.json", demoIndex(t)))
		wantCode(t, data, "other-1.0-0.conda", DefaultLimits(), gatehouse.EINVALID, testStem+".conda")
	})
}

// checklist F8, F9, F11 reach Inspect through index.json.
func TestInspectRefusesBadIndexInsideArchives(t *testing.T) {
	cases := map[string][]byte{
		"duplicate keys (F11)":     []byte(`{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64","name":"demo"}`),
		"invalid JSON (F11)":       []byte(`{"name":"demo",`),
		"a string build number":    []byte(`{"name":"demo","version":"1.0","build":"0","build_number":"0","subdir":"linux-64"}`),
		"depends not a list (F11)": indexJSON(t, "demo", "1.0", "0", testSubdir, map[string]any{"depends": "python"}),
		"subdir ../../etc (F8)":    indexJSON(t, "demo", "1.0", "0", "../../etc", nil),
		"an uppercase name (F9)":   indexJSON(t, "Demo", "1.0", "0", testSubdir, nil),
	}
	for why, idx := range cases {
		for name, data := range both(t, file("info/index.json", idx)) {
			t.Run("refuses "+why+" in "+name[len(testStem):], func(t *testing.T) {
				wantCode(t, data, name, DefaultLimits(), gatehouse.EINVALID, "")
			})
		}
	}
	t.Run("refuses a broken paths.json", func(t *testing.T) {
		for name, data := range both(t, file("info/index.json", demoIndex(t)), file("info/paths.json", []byte(`{"paths": [{"path": "x"}]}`))) {
			wantCode(t, data, name, DefaultLimits(), gatehouse.EINVALID, "paths.json")
		}
	})
	t.Run("refuses a run_exports.json that is not lists of strings", func(t *testing.T) {
		for name, data := range both(t, file("info/index.json", demoIndex(t)), file("info/run_exports.json", []byte(`{"weak": "x"}`))) {
			wantCode(t, data, name, DefaultLimits(), gatehouse.EINVALID, "run_exports.json")
		}
	})
}

// paxHeader returns a PAX extended header block holding one record.
func paxHeader(t testing.TB, key, value string) []byte {
	t.Helper()
	rec := " " + key + "=" + value + "\n"
	n := len(rec)
	for len(fmt.Sprint(n))+len(rec) != n {
		n = len(fmt.Sprint(n)) + len(rec)
	}
	rec = fmt.Sprint(n) + rec
	hdr := make([]byte, 512)
	copy(hdr, "PaxHeaders/x")
	copy(hdr[100:], "0000644\x00")
	copy(hdr[108:], "0000000\x00")
	copy(hdr[116:], "0000000\x00")
	copy(hdr[124:], fmt.Sprintf("%011o\x00", len(rec)))
	copy(hdr[136:], "00000000000\x00")
	hdr[156] = 'x'
	copy(hdr[257:], "ustar\x0000")
	copy(hdr[148:], "        ")
	sum := 0
	for _, b := range hdr {
		sum += int(b)
	}
	copy(hdr[148:], fmt.Sprintf("%06o\x00 ", sum))
	body := append([]byte(rec), make([]byte, (512-len(rec)%512)%512)...)
	return append(hdr, body...)
}

// lazyTar streams the tar that write produces, so tests can build
// gigabyte archives without holding them.
func lazyTar(t testing.TB, write func(*tar.Writer) error) io.Reader {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := write(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	t.Cleanup(func() { pr.Close() })
	return pr
}

// repeatReader yields n copies of one byte.
type repeatReader struct {
	b byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = r.b
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// measureAlloc returns the bytes allocated while f runs.
func measureAlloc(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
