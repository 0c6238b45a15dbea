package condabuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/conda"
)

// These tests hand what Build writes to Debian's conda-package-handling
// (apt-get install conda-package-handling, command cph): the reference
// implementation of the format, the one conda itself uses to extract.

// readFixture reads a real package cph made (conda/testdata/make-fixtures.sh).
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "conda", "testdata", "pkgs", name))
	if err != nil {
		t.Fatalf("reading the cph fixture: %v", err)
	}
	return data
}

// needCph returns the path of cph, skipping the test when it is missing
// outside CI; in CI a missing cph fails, so the check cannot silently stop.
func needCph(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("cph")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("cph not found; CI must install conda-package-handling (apt-get install -y conda-package-handling)")
		}
		t.Skip("cph not found: apt-get install -y conda-package-handling")
	}
	return p
}

func runCph(t *testing.T, cph string, args ...string) {
	t.Helper()
	cmd := exec.Command(cph, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cph %q: %v\n%s", args, err, out)
	}
}

// cphFiles are payload files with the modes that matter: an executable, a
// plain file, an empty file, one deep in directories, a long path.
func cphFiles() (files []File, want map[string][]byte) {
	want = map[string][]byte{
		"bin/gatehouse":              []byte("#!/bin/sh\necho gatehouse \"$@\"\n"),
		"share/gatehouse/README.txt": []byte("read me\n"),
		"etc/gatehouse/empty":        {},
		"lib/a/b/c/d/" + string(bytes.Repeat([]byte("long-name-"), 12)) + ".txt": []byte("a path over 100 bytes needs the ustar prefix field\n"),
		"share/bin.dat": bytes.Repeat([]byte{0, 1, 2, 0xff}, 70_000),
	}
	for p, data := range want {
		mode := fs.FileMode(0o644)
		if p == "bin/gatehouse" {
			mode = 0o755
		}
		files = append(files, memFile(p, mode, string(data)))
	}
	return files, want
}

func writePackage(t *testing.T, dir string, m Meta, files []File) string {
	t.Helper()
	p := filepath.Join(dir, m.Filename())
	if err := os.WriteFile(p, build(t, m, files), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkTree compares what cph extracted with the files Build was given:
// same bytes, same executable bit, nothing missing, nothing extra but info/.
func checkTree(t *testing.T, root string, want map[string][]byte) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if filepath.Dir(rel) == "info" {
			return nil
		}
		seen[rel] = true
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		w, ok := want[rel]
		if !ok {
			t.Errorf("cph extracted %s, which was not in the package", rel)
			return nil
		}
		if !bytes.Equal(data, w) {
			t.Errorf("%s: extracted %d bytes that differ from the %d given", rel, len(data), len(w))
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		exec := fi.Mode().Perm()&0o100 != 0
		if exec != (rel == "bin/gatehouse") {
			t.Errorf("%s: extracted with mode %v", rel, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range want {
		if !seen[p] {
			t.Errorf("cph did not extract %s", p)
		}
	}
}

func TestCphExtractsWhatBuildWrote(t *testing.T) {
	cph := needCph(t)
	dir := t.TempDir()
	files, want := cphFiles()
	m := testMeta()
	pkg := writePackage(t, dir, m, files)
	dest := filepath.Join(dir, "extracted")
	runCph(t, cph, "extract", "--dest", dest, pkg)
	checkTree(t, dest, want)

	t.Run("info/paths.json matches the extracted files", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dest, "info", "paths.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Paths []struct {
				Path   string `json:"_path"`
				SHA256 string `json:"sha256"`
				Size   int    `json:"size_in_bytes"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Paths) != len(want) {
			t.Fatalf("paths.json lists %d files; the package has %d", len(doc.Paths), len(want))
		}
		for _, p := range doc.Paths {
			sum := sha256.Sum256(want[p.Path])
			if p.SHA256 != hex.EncodeToString(sum[:]) || p.Size != len(want[p.Path]) {
				t.Errorf("paths.json: %s has sha256 %s and size %d; the file has %x and %d", p.Path, p.SHA256, p.Size, sum, len(want[p.Path]))
			}
		}
	})
	t.Run("info/index.json reads back as the Meta", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dest, "info", "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		ix, err := conda.ParseIndexJSON(data)
		if err != nil {
			t.Fatal(err)
		}
		if ix.Stem() != m.Stem() || ix.Subdir != m.Subdir || !slices.Equal(ix.Depends, m.Depends) {
			t.Errorf("index.json = %s", data)
		}
	})
}

func TestCphTransmutesWhatBuildWroteToTarBz2(t *testing.T) {
	cph := needCph(t)
	dir := t.TempDir()
	files, want := cphFiles()
	m := testMeta()
	pkg := writePackage(t, dir, m, files)
	out := filepath.Join(dir, "v1")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	runCph(t, cph, "transmute", "--out-folder", out, pkg, ".tar.bz2")
	bz2 := filepath.Join(out, m.Stem()+".tar.bz2")
	f, err := os.Open(bz2)
	if err != nil {
		t.Fatalf("cph wrote no .tar.bz2: %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	v1, err := conda.Inspect(f, fi.Size(), filepath.Base(bz2), conda.DefaultLimits())
	if err != nil {
		t.Fatalf("Inspect of the transmuted .tar.bz2: %v", err)
	}
	data := build(t, m, files)
	v2, err := conda.Inspect(bytes.NewReader(data), int64(len(data)), m.Filename(), conda.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if string(mustJSON(t, v1.Index.Raw)) != string(mustJSON(t, v2.Index.Raw)) || v1.About != v2.About {
		t.Errorf("the .tar.bz2 says %s, the .conda %s", mustJSON(t, v1.Index.Raw), mustJSON(t, v2.Index.Raw))
	}
	dest := filepath.Join(dir, "extracted-v1")
	runCph(t, cph, "extract", "--dest", dest, bz2)
	checkTree(t, dest, want)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
