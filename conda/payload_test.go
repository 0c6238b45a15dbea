package conda

import (
	"archive/tar"
	"bytes"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/klauspost/compress/zstd"
)

// withPayload builds the demo package with payload after info/, as a
// .tar.bz2 (one tarball, info/ first, as conda-build writes it) and as a
// .conda (payload in pkg-<stem>.tar.zst).
func withPayload(t testing.TB, payload ...tarEntry) map[string][]byte {
	t.Helper()
	return withPayloadTar(t, makeTar(t, payload...))
}

// withPayloadTar is withPayload for a payload tarball given as bytes; the
// .tar.bz2 is info/ followed by those bytes.
func withPayloadTar(t testing.TB, payloadTar []byte) map[string][]byte {
	t.Helper()
	idx := file("info/index.json", demoIndex(t))
	infoTar := makeTar(t, idx)
	ms := condaMembers(t, testStem, idx)
	ms[1].data = zstdCompress(t, payloadTar)
	// A tarball's end is two zero blocks, padded to 10 KiB records: cut
	// the info tarball before its end and append the payload tarball.
	body := append(bytes.Clone(infoTar[:512+roundBlock(len(demoIndex(t)))]), payloadTar...)
	return map[string][]byte{
		testStem + ".tar.bz2": bzip2Compress(t, bytes.NewReader(body)),
		testStem + ".conda":   condaZip(ms...),
	}
}

func roundBlock(n int) int { return (n + 511) / 512 * 512 }

func symlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, Mode: 0o644}}
}

func TestInspectAcceptsRealPayloadShapes(t *testing.T) {
	payload := []tarEntry{
		{hdr: tar.Header{Name: "lib/", Typeflag: tar.TypeDir, Mode: 0o755}},
		file("lib/libz.so.1.3", []byte("ELF")),
		symlink("lib/libz.so.1", "libz.so.1.3"),
		symlink("lib/libz.so", "./libz.so.1"),
		file("lib/pkgconfig/zlib.pc", []byte("prefix=/opt/anaconda1anaconda2anaconda3\n")),
		symlink("share/pkgconfig/zlib.pc", "../../lib/pkgconfig/zlib.pc"),
		symlink("lib64", "lib"),
		file("bin/python3.12", []byte("ELF")),
		symlink("bin/python", "python3.12"),
		hardlink("bin/python3", "bin/python3.12"),
		symlink("lib/up", ".."),
		file("lib/info/notes.txt", []byte("an info directory deeper down is payload")),
		file("information.txt", nil),
		file("Library/bin/z.dll", []byte("MZ")),
	}
	for name, data := range withPayload(t, payload...) {
		t.Run("accepts links inside the package in "+name[len(testStem):], func(t *testing.T) {
			if _, err := inspectBytes(data, name, DefaultLimits()); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, fx := range fixtures(t) {
		t.Run("accepts the payload of "+fx.filename, func(t *testing.T) {
			if _, err := inspectBytes(fx.data, fx.filename, DefaultLimits()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checklist F17: the payload is read and must not reach outside the
// package or the prefix.
func TestInspectRefusesUnsafePayload(t *testing.T) {
	cases := []struct {
		why     string
		payload []tarEntry
		mention string
	}{
		{"an absolute path (F17)", []tarEntry{file("/etc/cron.d/evil", nil)}, "/etc/cron.d/evil"},
		{"a ../ path (F17)", []tarEntry{file("../../.bashrc", nil)}, "../../.bashrc"},
		{"a path that climbs out with .. in the middle (F17)", []tarEntry{file("lib/../../x", nil)}, "lib/../../x"},
		{"a drive-letter path (F17)", []tarEntry{file("C:/Windows/evil.dll", nil)}, "absolute"},
		{"a backslash path (F17)", []tarEntry{file("lib\\..\\..\\x", nil)}, "backslash"},
		{"a symlink to /etc/shadow (F17)", []tarEntry{symlink("etc/shadow", "/etc/shadow")}, `"/etc/shadow"`},
		{"a symlink to ../../etc/passwd (F17)", []tarEntry{symlink("bin/passwd", "../../etc/passwd")}, "outside"},
		{"a symlink to .. at the root (F17)", []tarEntry{symlink("up", "..")}, `"up"`},
		{"a symlink to a Windows drive (F17)", []tarEntry{symlink("x", "C:\\Windows")}, `"x"`},
		{"a symlink with an empty target (F17)", []tarEntry{symlink("x", "")}, "empty"},
		{"a symlink that goes down and back up past the root (F17)", []tarEntry{symlink("d/s2", ".."), symlink("d/s1", "s2/../..")}, `"d/s1"`},
		{"an entry under a symlink (F17)", []tarEntry{symlink("lib64", "lib"), file("lib64/evil.so", nil)}, `"lib64/evil.so"`},
		{"an entry under a symlink in other case (F17)", []tarEntry{symlink("Lib", "lib"), file("lib/x", nil)}, `"lib/x"`},
		{"a file replacing a symlink (F17)", []tarEntry{symlink("bin/x", "y"), file("bin/x", nil)}, `"bin/x"`},
		{"a hard link to a file outside the archive (F17)", []tarEntry{hardlink("bin/passwd", "etc/passwd")}, "hard link"},
		{"a hard link to ../../etc/passwd (F17)", []tarEntry{hardlink("bin/passwd", "../../etc/passwd")}, "../../etc/passwd"},
		{"a hard link to /etc/shadow (F17)", []tarEntry{hardlink("bin/shadow", "/etc/shadow")}, "/etc/shadow"},
		{"a hard link to a symlink (F17)", []tarEntry{symlink("a", "b"), hardlink("c", "a")}, "hard link"},
		{"a hard link to a later file (F17)", []tarEntry{hardlink("c", "d"), file("d", nil)}, "hard link"},
		{"a character device (F17)", []tarEntry{{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar}}}, "device"},
		{"a block device (F17)", []tarEntry{{hdr: tar.Header{Name: "dev/sda", Typeflag: tar.TypeBlock}}}, "device"},
		{"a named pipe (F17)", []tarEntry{{hdr: tar.Header{Name: "run/fifo", Typeflag: tar.TypeFifo}}}, "named pipe"},
	}
	for _, c := range cases {
		for name, data := range withPayload(t, c.payload...) {
			t.Run("refuses "+c.why+" in "+name[len(testStem):], func(t *testing.T) {
				wantCode(t, data, name, DefaultLimits(), gatehouse.EINVALID, c.mention)
			})
		}
	}
	t.Run("refuses a second info/index.json after the payload of a .tar.bz2 (F17)", func(t *testing.T) {
		data := tarBz2(t, file("info/index.json", demoIndex(t)), file("lib/x", nil),
			file("info/index.json", indexJSON(t, "demo", "1.0", "0", testSubdir, map[string]any{"depends": []string{"evil"}})))
		wantCode(t, data, testStem+".tar.bz2", DefaultLimits(), gatehouse.EINVALID, "twice")
	})
	for _, entry := range []tarEntry{
		file("info/index.json", demoIndex(t)),
		file("INFO/paths.json", []byte(`{}`)),
		file("info/recipe/meta.yaml", nil),
		symlink("info", "lib"),
		{hdr: tar.Header{Name: "info/", Typeflag: tar.TypeDir, Mode: 0o755}},
	} {
		t.Run("refuses "+entry.hdr.Name+" in the pkg tarball of a .conda (F17)", func(t *testing.T) {
			wantCode(t, withPayload(t, file("lib/x", nil), entry)[condaName], condaName, DefaultLimits(), gatehouse.EINVALID, Quote(entry.hdr.Name))
		})
	}
	t.Run("refuses a sparse file (F17)", func(t *testing.T) {
		payload := append(paxHeader(t, "GNU.sparse.major", "1"), makeTar(t, file("lib/big", nil))...)
		for name, data := range withPayloadTar(t, payload) {
			if _, err := inspectBytes(data, name, DefaultLimits()); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("%s: Inspect = %v; want EINVALID", name, err)
			}
		}
	})
	t.Run("refuses data after the end of the payload tarball (F17)", func(t *testing.T) {
		payload := append(makeTar(t, file("lib/x", nil)), makeTar(t, file("etc/evil", []byte("hidden")))...)
		for name, data := range withPayloadTar(t, payload) {
			wantCode(t, data, name, DefaultLimits(), gatehouse.EINVALID, "after the end")
		}
	})
	t.Run("refuses a symlink in info/ that leaves the package (F17)", func(t *testing.T) {
		for name, data := range both(t, file("info/index.json", demoIndex(t)), symlink("info/recipe/build.sh", "../../../build.sh")) {
			wantCode(t, data, name, DefaultLimits(), gatehouse.EINVALID, "info/recipe/build.sh")
		}
	})
	t.Run("cuts a hostile entry name short in the message (F17)", func(t *testing.T) {
		long := "/" + strings.Repeat("a", 5000)
		for name, data := range withPayload(t, file(long, nil)) {
			_, err := inspectBytes(data, name, DefaultLimits())
			if msg := gatehouse.ErrorMessage(err); gatehouse.ErrorCode(err) != gatehouse.EINVALID || len(msg) > 400 {
				t.Errorf("%s: Inspect = %v; want a short EINVALID", name, err)
			}
		}
	})
}

// checklist F4, F17: the payload is streamed under its budget.
func TestInspectStopsPayloadBombs(t *testing.T) {
	t.Run("refuses 64 MiB of zeros in a 2 KB zstd pkg member (F4, F17)", func(t *testing.T) {
		ms := condaMembers(t, testStem, file("info/index.json", demoIndex(t)))
		ms[1].data = zstdRLEFrame(128<<20, 512, 0)
		data := condaZip(ms...)
		alloc := measureAlloc(func() {
			wantCode(t, data, condaName, DefaultLimits(), gatehouse.ETOOLARGE, "decompression bomb")
		})
		if alloc > 8<<20 {
			t.Errorf("Inspect allocated %d MiB for a 2 KB bomb", alloc>>20)
		}
	})
	t.Run("refuses 256 MiB of zeros after info/ in a .tar.bz2 (F4, F17)", func(t *testing.T) {
		data := bzip2Compress(t, lazyTar(t, func(tw *tar.Writer) error {
			idx := demoIndex(t)
			if err := tw.WriteHeader(&tar.Header{Name: "info/index.json", Typeflag: tar.TypeReg, Size: int64(len(idx)), Mode: 0o644}); err != nil {
				return err
			}
			if _, err := tw.Write(idx); err != nil {
				return err
			}
			if err := tw.WriteHeader(&tar.Header{Name: "share/zeros", Typeflag: tar.TypeReg, Size: 256 << 20, Mode: 0o644}); err != nil {
				return err
			}
			_, err := io.Copy(tw, &zeroReader{n: 256 << 20})
			return err
		}))
		checkBomb(t, data, testStem+".tar.bz2")
	})
	t.Run("refuses a payload over MaxPayload (F17)", func(t *testing.T) {
		payload := file("share/data", bytes.Repeat([]byte("x"), 3<<20))
		lim := Limits{MaxPayload: 2 << 20, MaxDecompressed: 1 << 20}
		for name, data := range withPayload(t, payload) {
			wantCode(t, data, name, lim, gatehouse.ETOOLARGE, "decompression bomb")
		}
	})
}

// longMatchFile returns a file that repeats 64 KiB of random bytes after
// 2 MiB of zeros, so its zstd encoding has a match 2 MiB back: more than
// the first window Inspect tries for a member that small.
func longMatchFile(name string) tarEntry {
	r := make([]byte, 64<<10)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(r)
	return file(name, append(append(bytes.Clone(r), make([]byte, 2<<20)...), r...))
}

// zstdDeclaring compresses data and rewrites the frame header to declare
// window bytes, which a valid frame may: the window only has to be large
// enough for the matches.
func zstdDeclaring(t testing.TB, data []byte, window uint64) []byte {
	t.Helper()
	z := zstdCompress(t, data)
	var h zstd.Header
	if err := h.Decode(z); err != nil {
		t.Fatal(err)
	}
	return append(patchWindow(h, window), z[h.HeaderSize:]...)
}

// A real member whose matches reach further than the first, small window
// is decoded again with the window it declares (checklist F15).
func TestInspectDecodesLongMatchesWithTheDeclaredWindow(t *testing.T) {
	ms := condaMembers(t, testStem, file("info/index.json", demoIndex(t)))
	ms[1].data = zstdDeclaring(t, makeTar(t, longMatchFile("share/data.bin")), 128<<20)
	if len(ms[1].data) > 100<<10 {
		t.Fatalf("the pkg member is %d bytes; the match was not found", len(ms[1].data))
	}
	data := condaZip(ms...)
	t.Run("accepts it", func(t *testing.T) {
		if _, err := inspectBytes(data, condaName, DefaultLimits()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("refuses it when the window limit is below its matches", func(t *testing.T) {
		wantCode(t, data, condaName, Limits{MaxZstdWindow: 1 << 20}, gatehouse.ETOOLARGE, "window")
	})
	t.Run("accepts long matches in info/ too", func(t *testing.T) {
		info := makeTar(t, file("info/index.json", demoIndex(t)), longMatchFile("info/test/data.bin"))
		ms := condaMembers(t, testStem)
		ms[2].data = zstdDeclaring(t, info, 128<<20)
		if _, err := inspectBytes(condaZip(ms...), condaName, DefaultLimits()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCheckSymlinkTarget(t *testing.T) {
	for _, c := range []struct {
		name, target string
		ok           bool
	}{
		{"a", "b", true},
		{"a/b/c", "../../x", true},
		{"a/b/c", "../../../x", false},
		{"a/b/c", "..", true},
		{"a/b/c", ".//d/./e/", true},
		{"a", "b/..", false},
		{"a/b", "../c/../d", false},
		{"a", "/b", false},
		{"a", "c:b", false},
		{"a", "b\\c", false},
		{"a", "", false},
	} {
		if err := checkSymlinkTarget(c.name, c.target); (err == nil) != c.ok {
			t.Errorf("checkSymlinkTarget(%q, %q) = %v; want ok=%v", c.name, c.target, err, c.ok)
		}
	}
}

func TestNameSetPrefixes(t *testing.T) {
	s := newNameSet([2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()})
	s.add("lib64")
	s.add("a/b")
	for p, want := range map[string]bool{
		"lib64": true, "lib64/x": true, "lib64/x/y": true, "lib": false, "lib6": false, "lib645/x": false,
		"a": false, "a/b": true, "a/b/c": true, "a/bc": false,
	} {
		if got := s.hasPrefixOf(p); got != want {
			t.Errorf("hasPrefixOf(%q) = %v; want %v", p, got, want)
		}
	}
}

// FuzzSymlinks checks the claim behind checkSymlinkTarget and links.check:
// whatever symlinks a package holds, each one that Inspect accepts, followed
// through every other accepted symlink as a file system would, stays inside
// the package. The input is one "name>target" pair per line; the seed
// corpus is in testdata/fuzz/FuzzSymlinks.
func FuzzSymlinks(f *testing.F) {
	for _, s := range []string{
		"d/s2>..\nd/s1>s2/../..",
		"a>.\nb>a/..",
		"lib64>lib\nlib/x>../lib64/y",
		"x/y/z>../../a\na>x/y",
		"up>..",
		"a/b>..\na/c>b/b/..",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := newLinks([2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()})
		accepted := map[string]string{} // lowercased name -> target
		lines := strings.Split(s, "\n")
		if len(lines) > 64 {
			return
		}
		for _, line := range lines {
			name, target, ok := strings.Cut(line, ">")
			if !ok || checkEntryPath(name) != nil || strings.HasSuffix(name, "/") {
				continue
			}
			if l.check(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}) == nil {
				accepted[strings.ToLower(name)] = target
			}
		}
		// resolve follows target from the directory dir (a list of
		// components from the root), through accepted links, and fails
		// the test if it climbs above the root.
		var resolve func(dir []string, target string, hops int) []string
		resolve = func(dir []string, target string, hops int) []string {
			if hops > 40 {
				return nil // a loop: the file system would give up too
			}
			cur := append([]string(nil), dir...)
			for c := range strings.SplitSeq(target, "/") {
				switch c {
				case "", ".":
				case "..":
					if len(cur) == 0 {
						t.Fatalf("accepted links %q let %q climb above the package root", accepted, target)
					}
					cur = cur[:len(cur)-1]
				default:
					cur = append(cur, c)
					if next, ok := accepted[strings.ToLower(strings.Join(cur, "/"))]; ok {
						cur = resolve(cur[:len(cur)-1], next, hops+1)
						if cur == nil {
							return nil
						}
					}
				}
			}
			return cur
		}
		for name, target := range accepted {
			parts := strings.Split(name, "/")
			resolve(parts[:len(parts)-1], target, 0)
		}
	})
}
