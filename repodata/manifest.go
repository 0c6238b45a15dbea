package repodata

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The manifest records a subdir's current revision on disk, so that a
// restart serves it at once and catches up from its revision. It is
// written on every change, so its form is a flat binary one, encoded
// into a reused buffer (gob took a quarter of a change's time at 100,000
// records):
//
//	"GHM2" rev subdir base size[3] etag built(unix ns) indexSize indexETag
//	nsegs { name shard[32] part[2][3]{off n} first-bits }
//	crc32c of everything before it
//
// Integers are uvarints (zigzag for the time), strings a length and
// bytes.
const manifestMagic = "GHM2"

var (
	errManifest  = errors.New("repodata: the manifest is damaged")
	crcTable     = crc32.MakeTable(crc32.Castagnoli)
	manifestBufs = sync.Pool{New: func() any { return new([]byte) }}
)

// saveManifest records st as the subdir's current revision.
func (b *builder) saveManifest(st *state) error {
	bp := manifestBufs.Get().(*[]byte)
	defer manifestBufs.Put(bp)
	*bp = appendManifest((*bp)[:0], st)
	return writeFile(filepath.Join(b.dir, "manifest"), *bp)
}

// loadManifest reads the subdir's manifest, if its files are all there
// with the sizes it says; anything else means a full build.
func (b *builder) loadManifest() *state {
	data, err := os.ReadFile(filepath.Join(b.dir, "manifest"))
	if err != nil {
		return nil
	}
	st, err := parseManifest(data)
	if err != nil || st.Subdir != b.subdir || filepath.Dir(st.Base) != b.dir {
		return nil
	}
	for enc := range numEnc {
		if fi, err := os.Stat(st.path(enc)); err != nil || fi.Size() != st.Size[enc] {
			return nil
		}
	}
	if fi, err := os.Stat(st.indexPath()); err != nil || fi.Size() != st.IndexSize {
		return nil
	}
	return st
}

func appendManifest(dst []byte, st *state) []byte {
	str := func(s string) {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	dst = append(dst, manifestMagic...)
	dst = binary.AppendUvarint(dst, uint64(st.Rev))
	str(st.Subdir)
	str(st.Base)
	for _, n := range st.Size {
		dst = binary.AppendUvarint(dst, uint64(n))
	}
	str(st.ETag)
	dst = binary.AppendVarint(dst, st.Built.UnixNano())
	dst = binary.AppendUvarint(dst, uint64(st.IndexSize))
	str(st.IndexETag)
	dst = binary.AppendUvarint(dst, uint64(len(st.Segs)))
	for i := range st.Segs {
		sg := &st.Segs[i]
		str(sg.Name)
		dst = append(dst, sg.Shard[:]...)
		for sec := range numSec {
			for enc := range numEnc {
				dst = binary.AppendUvarint(dst, uint64(sg.Part[sec][enc].Off))
				dst = binary.AppendUvarint(dst, uint64(sg.Part[sec][enc].N))
			}
		}
		var first byte
		for sec := range numSec {
			if sg.First[sec] {
				first |= 1 << sec
			}
		}
		dst = append(dst, first)
	}
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst, crcTable))
}

// manifestReader decodes a manifest; the first error sticks.
type manifestReader struct {
	b   []byte
	err error
}

func (r *manifestReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errManifest, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// int64 reads a uvarint that must fit an int64 (offsets, sizes, counts).
func (r *manifestReader) int64() int64 {
	v := r.uvarint()
	if v > 1<<62 {
		r.err, r.b = errManifest, nil
		return 0
	}
	return int64(v)
}

func (r *manifestReader) bytes(n int64) []byte {
	if n < 0 || n > int64(len(r.b)) {
		r.err, r.b = errManifest, nil
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *manifestReader) string() string { return string(r.bytes(r.int64())) }

func parseManifest(data []byte) (*state, error) {
	if len(data) < len(manifestMagic)+4 || string(data[:len(manifestMagic)]) != manifestMagic {
		return nil, errManifest
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(data[len(body):]) {
		return nil, errManifest
	}
	r := &manifestReader{b: body[len(manifestMagic):]}
	st := &state{}
	st.Rev = r.int64()
	st.Subdir = r.string()
	st.Base = r.string()
	for enc := range numEnc {
		st.Size[enc] = r.int64()
	}
	st.ETag = r.string()
	ns, n := binary.Varint(r.b)
	if n <= 0 {
		return nil, errManifest
	}
	r.b = r.b[n:]
	st.Built = time.Unix(0, ns).UTC()
	st.IndexSize = r.int64()
	st.IndexETag = r.string()
	count := r.int64()
	// Each segment takes at least 46 bytes: refuse counts the data
	// cannot hold before allocating for them.
	if r.err != nil || count > int64(len(r.b))/46 {
		return nil, errManifest
	}
	st.Segs = make([]segment, count)
	for i := range st.Segs {
		sg := &st.Segs[i]
		sg.Name = r.string()
		copy(sg.Shard[:], r.bytes(32))
		for sec := range numSec {
			for enc := range numEnc {
				sg.Part[sec][enc] = span{r.int64(), r.int64()}
			}
		}
		first := r.bytes(1)
		if r.err != nil {
			return nil, errManifest
		}
		for sec := range numSec {
			sg.First[sec] = first[0]&(1<<sec) != 0
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errManifest
	}
	return st, nil
}
