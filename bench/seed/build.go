package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// spec describes one synthetic package: its index.json fields and the one
// payload file it installs.
type spec struct {
	Name        string
	Version     string
	Build       string
	BuildNumber int
	Depends     []string
	Constrains  []string
	License     string
	Timestamp   int64 // ms since the epoch
	PayloadPath string
	Payload     []byte
}

// Stem is name-version-build, the file name without its extension.
func (s *spec) Stem() string { return s.Name + "-" + s.Version + "-" + s.Build }

// Filename is the .conda file name the server expects for s.
func (s *spec) Filename() string { return s.Stem() + ".conda" }

// Synthetic names are syllables spelled out from an index, so they are
// distinct by construction and look like real package names.
var (
	syllables = []string{"ar", "bel", "cor", "dan", "el", "fir", "gal", "hex", "io", "jun",
		"kel", "lum", "mor", "nav", "os", "pel", "quin", "ros", "sol", "tar",
		"um", "ver", "wen", "xal", "yor", "zen", "bra", "cli", "dro", "fla",
		"gri", "plo", "tra", "spa", "ste", "qua", "mi", "no", "ka", "tu"}
	prefixes = []string{"", "", "", "py-", "lib", "r-", "", "jupyter-", "", "go-"}
	versions = []string{"0.9.2", "1.0.0", "1.1.4", "1.2.0", "2.0.1", "2.1.0", "2.3.11", "3.0.0"}
	licenses = []string{"MIT", "BSD-3-Clause", "Apache-2.0", "MPL-2.0", "LGPL-2.1-or-later", "ISC"}
	// A fixed base keeps every run's repodata the same size; it is in the
	// past, as the server requires.
	baseTime = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
)

// versionsPerName is how many versions each synthetic name gets, as in a
// real channel where most names have several releases.
const versionsPerName = 5

func nameOf(idx int) string {
	var b strings.Builder
	b.WriteString(prefixes[idx%len(prefixes)])
	n := idx
	for i := 0; i < 3 || n > 0; i++ {
		b.WriteString(syllables[n%len(syllables)])
		n /= len(syllables)
	}
	return b.String()
}

// smallSpec returns the i-th small package: deterministic, so that every
// run serves the same repodata.
func smallSpec(i int) spec {
	r := rand.New(rand.NewPCG(uint64(i), 0x6761746568))
	nameIdx, verIdx := i/versionsPerName, i%versionsPerName
	name := nameOf(nameIdx)
	// Five consecutive entries of the list: distinct, since it has eight.
	version := versions[(nameIdx+verIdx)%len(versions)]
	bn := r.IntN(3)
	h := fnv.New32a()
	fmt.Fprintf(h, "%s %s %d", name, version, bn)
	build := fmt.Sprintf("h%07x_%d", h.Sum32()&0xfffffff, bn)

	var deps []string
	if strings.HasPrefix(name, "py-") || strings.HasPrefix(name, "jupyter-") {
		deps = append(deps, "python >=3.9")
	}
	if strings.HasPrefix(name, "r-") {
		deps = append(deps, "r-base >=4.2")
	}
	// Two to four dependencies on names that exist in the channel.
	picked := map[int]bool{}
	for k := 2 + r.IntN(3); k > 0 && nameIdx > 0; k-- {
		d := r.IntN(nameIdx)
		if picked[d] {
			continue
		}
		picked[d] = true
		dep := nameOf(d)
		switch r.IntN(4) {
		case 0:
			deps = append(deps, dep)
		case 1:
			deps = append(deps, dep+" >="+versions[r.IntN(3)])
		case 2:
			deps = append(deps, dep+" >="+versions[r.IntN(3)]+",<"+versions[3+r.IntN(5)])
		default:
			deps = append(deps, dep+" "+versions[r.IntN(len(versions))]+".*")
		}
	}
	var cons []string
	if r.IntN(5) == 0 && nameIdx > 0 {
		cons = []string{nameOf(r.IntN(nameIdx)) + " <" + versions[4+r.IntN(4)]}
	}
	readme := fmt.Sprintf("# %s %s\n\nA synthetic package made by Gatehouse's load benchmark (bench/seed).\n"+
		"It installs this file only. Build %s, record %d.\n", name, version, build, i)
	return spec{
		Name: name, Version: version, Build: build, BuildNumber: bn,
		Depends: deps, Constrains: cons,
		License:     licenses[r.IntN(len(licenses))],
		Timestamp:   baseTime.Add(time.Duration(i) * 37 * time.Second).UnixMilli(),
		PayloadPath: "share/" + name + "/README.md",
		Payload:     []byte(readme),
	}
}

// bigSpec returns the large package: its payload is size random bytes, which
// zstd cannot shrink, so the .conda file is a little over size bytes.
func bigSpec(size int, seed uint64) spec {
	payload := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'g', 'h'}).Read(payload)
	return spec{
		Name: "bench-big", Version: "1.0.0", Build: "h0a1b2c3_0",
		Depends:     []string{"python >=3.9"},
		License:     "MIT",
		Timestamp:   baseTime.UnixMilli(),
		PayloadPath: "share/bench-big/blob.bin",
		Payload:     payload,
	}
}

// encoder is shared; EncodeAll is safe for concurrent use.
var encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))

// buildConda returns a v2 .conda file for s: a zip of stored members
// metadata.json, pkg-<stem>.tar.zst and info-<stem>.tar.zst, as
// conda-package-handling writes it.
func buildConda(s *spec) ([]byte, error) {
	sum := sha256.Sum256(s.Payload)
	index := map[string]any{
		"name": s.Name, "version": s.Version, "build": s.Build, "build_number": s.BuildNumber,
		"subdir": "noarch", "noarch": "generic", "depends": nonNil(s.Depends),
		"license": s.License, "timestamp": s.Timestamp,
	}
	if len(s.Constrains) > 0 {
		index["constrains"] = s.Constrains
	}
	paths := map[string]any{
		"paths": []map[string]any{{
			"_path": s.PayloadPath, "path_type": "hardlink",
			"sha256": hex.EncodeToString(sum[:]), "size_in_bytes": len(s.Payload),
		}},
		"paths_version": 1,
	}
	about := map[string]any{
		"summary": "Synthetic package " + s.Name + " for load tests", "license": s.License,
		"home": "https://example.org/" + s.Name,
	}
	mtime := time.UnixMilli(s.Timestamp)
	var info []tarFile
	for _, f := range []struct {
		name string
		v    any
	}{{"info/about.json", about}, {"info/index.json", index}, {"info/paths.json", paths}} {
		b, err := json.MarshalIndent(f.v, "", "  ")
		if err != nil {
			return nil, err
		}
		info = append(info, tarFile{f.name, b})
	}
	info = append(info, tarFile{"info/files", []byte(s.PayloadPath + "\n")})
	infoTar, err := tarball(info, mtime)
	if err != nil {
		return nil, err
	}
	pkgTar, err := tarball([]tarFile{{s.PayloadPath, s.Payload}}, mtime)
	if err != nil {
		return nil, err
	}

	var out bytes.Buffer
	out.Grow(len(s.Payload) + 4096)
	zw := zip.NewWriter(&out)
	stem := s.Stem()
	for _, m := range []struct {
		name string
		data []byte
	}{
		{"metadata.json", []byte(`{"conda_pkg_format_version": 2}`)},
		{"pkg-" + stem + ".tar.zst", encoder.EncodeAll(pkgTar, nil)},
		{"info-" + stem + ".tar.zst", encoder.EncodeAll(infoTar, nil)},
	} {
		// CreateRaw with sizes and CRC known up front writes no data
		// descriptor, like Python's zipfile on a seekable file.
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: m.name, Method: zip.Store, Modified: mtime,
			CRC32:            crc32.ChecksumIEEE(m.data),
			CompressedSize64: uint64(len(m.data)), UncompressedSize64: uint64(len(m.data)),
		})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(m.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

type tarFile struct {
	name string
	data []byte
}

func tarball(files []tarFile, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: mtime,
			Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
