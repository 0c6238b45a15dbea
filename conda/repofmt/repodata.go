package repofmt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"github.com/gatehouse-dev/gatehouse/conda"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condaname"
	"github.com/klauspost/compress/zstd"
)

// Entry is one package file of a subdir: its file name and the record that
// Record made for it.
type Entry struct {
	Filename string
	Record   json.RawMessage
}

// WriteRepodata writes repodata.json (v1) for one subdir:
//
//	{"info":{"subdir":S},"packages":{...},"packages.conda":{...},"removed":[],"repodata_version":1}
//
// .tar.bz2 files go under "packages", .conda files under "packages.conda",
// each map sorted by file name. entries may come in any order: WriteRepodata
// sorts a copy when they are not already sorted, and leaves the caller's
// slice alone. The records are copied as they are (no re-encoding), so
// building repodata for 100k packages is a few memory copies; a record must
// be a JSON object as Record makes it. Every file name is checked, and a
// repeated one is an error, since the same key twice would be invalid for
// clients. File names are checked for their extension and characters
// (ParseFilename's full rules apply at upload). With no entries the maps are empty, and the document is still a
// valid repodata.json (noarch/repodata.json must exist for a channel to be
// one).
func WriteRepodata(w io.Writer, subdir string, entries []Entry) error {
	if !condaname.ValidSubdir(subdir) {
		return gatehouse.FieldErrorf("subdir", "The subdir %s is not valid.", conda.Quote(subdir))
	}
	sorted := slices.IsSortedFunc(entries, compareEntries)
	if !sorted {
		entries = slices.Clone(entries)
		slices.SortFunc(entries, compareEntries)
	}
	formats := make([]conda.Format, len(entries))
	for i, e := range entries {
		f, ok := entryFormat(e.Filename)
		if !ok {
			return gatehouse.Errorf(gatehouse.EINVALID, "The file name %s is not a conda package file name; re-index the package.", conda.Quote(e.Filename))
		}
		if i > 0 && entries[i-1].Filename == e.Filename {
			return gatehouse.Errorf(gatehouse.EINVALID, "The file %s appears twice in subdir %s.", conda.Quote(e.Filename), subdir)
		}
		if r := e.Record; len(r) < 2 || r[0] != '{' || r[len(r)-1] != '}' {
			return gatehouse.Errorf(gatehouse.EINTERNAL, "The stored record of %s is not a JSON object; re-index the package.", conda.Quote(e.Filename))
		}
		formats[i] = f
	}
	// Records are small: write through a buffer unless w is one already.
	var bw stringWriter
	var flush func() error
	switch b := w.(type) {
	case *bytes.Buffer:
		bw = b
	case *bufio.Writer:
		bw = b
	default:
		buf := bufio.NewWriterSize(w, 64<<10)
		bw, flush = buf, buf.Flush
	}
	// subdir passed ValidSubdir and file names entryFormat, so neither
	// needs JSON escaping.
	bw.WriteString(`{"info":{"subdir":"` + subdir + `"},"packages":{`)
	writeSection(bw, entries, formats, conda.TarBz2)
	bw.WriteString(`},"packages.conda":{`)
	writeSection(bw, entries, formats, conda.Conda)
	if _, err := bw.WriteString(`},"removed":[],"repodata_version":1}`); err != nil {
		return err
	}
	if flush != nil {
		return flush()
	}
	return nil
}

// entryFormat is the quick check WriteRepodata makes on every file name
// (ParseFilename already ran at upload): a conda extension, the CEP-26
// length and characters only, so the name needs no JSON escaping.
func entryFormat(fn string) (conda.Format, bool) {
	var f conda.Format
	switch {
	case strings.HasSuffix(fn, ".conda"):
		f = conda.Conda
	case strings.HasSuffix(fn, ".tar.bz2"):
		f = conda.TarBz2
	default:
		return 0, false
	}
	if len(fn) > conda.MaxFilenameLen || len(fn) <= len(f.Ext()) {
		return 0, false
	}
	for i := 0; i < len(fn); i++ {
		c := fn[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') && c != '.' && c != '_' && c != '-' && c != '+' && c != '!' {
			return 0, false
		}
	}
	return f, true
}

// stringWriter is what bufio.Writer and bytes.Buffer have in common.
type stringWriter interface {
	io.Writer
	io.StringWriter
}

func compareEntries(a, b Entry) int { return strings.Compare(a.Filename, b.Filename) }

func writeSection(w stringWriter, entries []Entry, formats []conda.Format, f conda.Format) {
	first := true
	for i, e := range entries {
		if formats[i] != f {
			continue
		}
		if !first {
			w.WriteString(",")
		}
		first = false
		w.WriteString(`"`)
		w.WriteString(e.Filename)
		w.WriteString(`":`)
		w.Write(e.Record)
	}
}

// BuildRepodata returns the bytes WriteRepodata writes.
func BuildRepodata(subdir string, entries []Entry) ([]byte, error) {
	n := 128
	for _, e := range entries {
		n += len(e.Filename) + len(e.Record) + 4
	}
	var buf bytes.Buffer
	buf.Grow(n)
	if err := WriteRepodata(&buf, subdir, entries); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// zstdEncoder is shared: EncodeAll is safe for concurrent use and an
// encoder is costly to set up. Level "better" (about zstd -7) is the balance
// for a file built once per change and downloaded many times. The 1 MiB
// window and lower-memory mode keep each concurrent encoder's history
// small (the default kept 8 MB windows, 16 MB per worker, at 100,000
// records); inputs below 1 MiB (shards, pieces) encode to the same bytes.
var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
	if err != nil {
		panic(err) // constant, valid options
	}
	return enc
})

// Zstd compresses data as one zstd frame with its content size, for
// repodata.json.zst. The same input gives the same bytes.
func Zstd(data []byte) []byte {
	return zstdEncoder().EncodeAll(data, make([]byte, 0, len(data)/8+64))
}
