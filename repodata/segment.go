package repodata

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"sync"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda/repofmt"
	"github.com/klauspost/compress/gzip"
)

// A subdir's repodata.json is written as segments, one per package name,
// in name order:
//
//	header  {"info":{"subdir":"S"},"packages":{
//	tar fragments of each name, joined by commas
//	middle  },"packages.conda":{
//	conda fragments of each name, joined by commas
//	footer  },"removed":[],"repodata_version":1}
//
// A fragment is one name's records of one format ("fn":{...},"fn":{...}),
// written with a leading comma unless it is the first of its section. The
// .zst and .gz files hold the same pieces, each compressed on its own:
// concatenated zstd frames are one valid zstd stream, and concatenated
// gzip members one valid gzip stream, so a change rewrites the pieces of
// the names it touched and copies every other piece from the previous
// file as it is (in the kernel, with copy_file_range).

// Encodings of the index files, and their file suffixes.
const (
	encJSON = iota
	encZstd
	encGzip
	numEnc
)

var encSuffix = [numEnc]string{".json", ".json.zst", ".json.gz"}

// Sections of repodata.json.
const (
	secTar = iota
	secConda
	numSec
)

// span is where a piece lies in one file.
type span struct{ Off, N int64 }

// segment is one package name of a subdir: where its fragments lie in
// the current files, in which form, and the address of its shard.
type segment struct {
	Name  string
	Shard [32]byte // sha256 of the shard file
	// Part[section][encoding]; N == 0 when the name has no file of that
	// format.
	Part [numSec][numEnc]span
	// First[section]: the fragment is written without a leading comma.
	First [numSec]bool
}

func (s *segment) has(sec int) bool { return s.Part[sec][encJSON].N > 0 }

// rendered is a segment built from the database: its fragments as JSON
// (without a leading comma) and its shard.
type rendered struct {
	name  string
	frag  [numSec][]byte
	shard []byte // the compressed shard file
	hash  [32]byte
}

// render builds a name's fragments and shard from its entries (file
// names and records), in file name order.
func render(name string, entries []repofmt.Entry) (*rendered, error) {
	r := &rendered{name: name}
	for _, e := range entries {
		sec := secTar
		if len(e.Filename) > 6 && e.Filename[len(e.Filename)-6:] == ".conda" {
			sec = secConda
		}
		if r := e.Record; len(r) < 2 || r[0] != '{' || r[len(r)-1] != '}' {
			return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "The stored record of %s is not a JSON object; re-index the package.", e.Filename)
		}
		b := r.frag[sec]
		if len(b) > 0 {
			b = append(b, ',')
		}
		// File names passed conda's checks at upload: no JSON escaping.
		b = append(b, '"')
		b = append(b, e.Filename...)
		b = append(b, '"', ':')
		r.frag[sec] = append(b, e.Record...)
	}
	shard, err := repofmt.AppendShard(nil, entries)
	if err != nil {
		return nil, err
	}
	r.shard = repofmt.Zstd(shard)
	r.hash = sha256.Sum256(r.shard)
	return r, nil
}

// encode returns a piece of JSON in encoding enc.
func encode(enc int, b []byte) []byte {
	switch enc {
	case encZstd:
		return repofmt.Zstd(b)
	case encGzip:
		return gzipMember(b)
	}
	return b
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestCompression)
	return w
}}

// gzipMember compresses b as one gzip member (no name, no time: the same
// input gives the same bytes).
func gzipMember(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 32)
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&buf)
	w.Write(b)
	w.Close()
	gzipWriters.Put(w)
	return buf.Bytes()
}

// fixed are the pieces around the fragments.
func fixed(subdir string) (header, middle, footer []byte) {
	return []byte(`{"info":{"subdir":"` + subdir + `"},"packages":{`),
		[]byte(`},"packages.conda":{`),
		[]byte(`},"removed":[],"repodata_version":1}`)
}

// contentTag is the ETag of a subdir's content, shared by its three
// files: a hash over the subdir and each name's shard address, which is
// itself the hash of that name's records. Equal records give equal tags on
// every replica and backend, without hashing the whole file.
func contentTag(subdir string, segs []segment) string {
	bp := tagBufs.Get().(*[]byte)
	defer tagBufs.Put(bp)
	b := append((*bp)[:0], subdir...)
	for i := range segs {
		b = append(b, 0)
		b = append(b, segs[i].Name...)
		b = append(b, segs[i].Shard[:]...)
	}
	*bp = b
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// tagBufs hold what contentTag hashes, in one piece: one call to the
// hash instead of three per name.
var tagBufs = sync.Pool{New: func() any { return new([]byte) }}
