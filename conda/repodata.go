package conda

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/klauspost/compress/zstd"
)

// Record returns the canonical repodata record of a package: the keys of
// its index.json that recordKeys allows (from ix.Raw; the rest are dropped,
// checklist F16) plus md5,
// sha256 and size of the file as served and CEP-47 indexed_timestamp (ms,
// set once when the server first indexes the package). The bytes are
// compact JSON with keys sorted at every level, so the same input gives the
// same bytes on every machine; store them once and build repodata by
// concatenation (WriteRepodata). ix must come from ParseIndexJSON or
// Inspect: Record checks Raw again and refuses an Index without it.
func Record(ix *Index, md5, sha256 string, size int64, indexedTimestampMS int64) ([]byte, error) {
	if len(ix.Raw) == 0 {
		return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "Record needs an Index read by ParseIndexJSON or Inspect.")
	}
	if !isLowerHex(md5, 32) {
		return nil, gatehouse.FieldErrorf("md5", "md5 must be 32 lowercase hex digits.")
	}
	if !isLowerHex(sha256, 64) {
		return nil, gatehouse.FieldErrorf("sha256", "sha256 must be 64 lowercase hex digits.")
	}
	if size < 0 || indexedTimestampMS < 0 {
		return nil, gatehouse.FieldErrorf("size", "size and indexed_timestamp must not be negative.")
	}
	// The record is what clients solve with: check Raw, not only the typed
	// fields, which a caller could have changed.
	check := &Index{Raw: ix.Raw}
	if err := check.fillTyped(); err != nil {
		return nil, err
	}
	if err := check.Validate(time.Time{}); err != nil {
		return nil, err
	}
	rec := make(map[string]json.RawMessage, len(ix.Raw)+4)
	for k, v := range ix.Raw {
		if recordKeys[k] {
			rec[k] = v
		}
	}
	rec["md5"] = json.RawMessage(strconv.Quote(md5))
	rec["sha256"] = json.RawMessage(strconv.Quote(sha256))
	rec["size"] = json.RawMessage(strconv.FormatInt(size, 10))
	rec["indexed_timestamp"] = json.RawMessage(strconv.FormatInt(indexedTimestampMS, 10))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil { // map keys come out sorted
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

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
	if !gatehouse.ValidSubdir(subdir) {
		return gatehouse.FieldErrorf("subdir", "The subdir %s is not valid.", quote(subdir))
	}
	sorted := slices.IsSortedFunc(entries, compareEntries)
	if !sorted {
		entries = slices.Clone(entries)
		slices.SortFunc(entries, compareEntries)
	}
	formats := make([]Format, len(entries))
	for i, e := range entries {
		f, ok := entryFormat(e.Filename)
		if !ok {
			return gatehouse.Errorf(gatehouse.EINVALID, "The file name %s is not a conda package file name; re-index the package.", quote(e.Filename))
		}
		if i > 0 && entries[i-1].Filename == e.Filename {
			return gatehouse.Errorf(gatehouse.EINVALID, "The file %s appears twice in subdir %s.", quote(e.Filename), subdir)
		}
		if r := e.Record; len(r) < 2 || r[0] != '{' || r[len(r)-1] != '}' {
			return gatehouse.Errorf(gatehouse.EINTERNAL, "The stored record of %s is not a JSON object; re-index the package.", quote(e.Filename))
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
	writeSection(bw, entries, formats, TarBz2)
	bw.WriteString(`},"packages.conda":{`)
	writeSection(bw, entries, formats, Conda)
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
func entryFormat(fn string) (Format, bool) {
	var f Format
	switch {
	case strings.HasSuffix(fn, ".conda"):
		f = Conda
	case strings.HasSuffix(fn, ".tar.bz2"):
		f = TarBz2
	default:
		return 0, false
	}
	if len(fn) > maxFilenameLen || len(fn) <= len(f.Ext()) {
		return 0, false
	}
	for i := 0; i < len(fn); i++ {
		c := fn[i]
		if !isLowerAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '.' && c != '_' && c != '-' && c != '+' && c != '!' {
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

func writeSection(w stringWriter, entries []Entry, formats []Format, f Format) {
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
// for a file built once per change and downloaded many times.
var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
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
