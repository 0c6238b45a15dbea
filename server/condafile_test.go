package server

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// makeConda builds a small valid .conda package in memory, for tests that
// need many distinct packages (the real, cph-made fixtures are in
// conda/testdata/pkgs).
func makeConda(t testing.TB, name, version, build, subdir string, depends []string) (filename string, data []byte) {
	t.Helper()
	stem := name + "-" + version + "-" + build
	if depends == nil {
		depends = []string{}
	}
	index := map[string]any{
		"name": name, "version": version, "build": build, "build_number": 0, "subdir": subdir,
		"depends": depends, "license": "MIT", "timestamp": 1700000000000,
	}
	if subdir == "noarch" {
		index["noarch"] = "generic"
	}
	ij, err := json.Marshal(index)
	if err != nil {
		t.Fatal(err)
	}
	infoTar := tarZst(t, map[string][]byte{"info/index.json": ij, "info/paths.json": []byte(`{"paths":[],"paths_version":1}`)})
	pkgTar := tarZst(t, map[string][]byte{"share/" + name + "/README": []byte("payload of " + stem + "\n")})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range []struct {
		name string
		data []byte
	}{
		{"metadata.json", []byte(`{"conda_pkg_format_version": 2}`)},
		{"pkg-" + stem + ".tar.zst", pkgTar},
		{"info-" + stem + ".tar.zst", infoTar},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return stem + ".conda", buf.Bytes()
}

func tarZst(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(tb.Bytes(), nil)
}
