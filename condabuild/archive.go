package condabuild

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/klauspost/compress/zstd"
)

const (
	// metadataJSON is byte for byte what cph writes (Python's json.dumps).
	metadataJSON = `{"conda_pkg_format_version": 2}`
	// tarRecord is Python tarfile's RECORDSIZE: archives are padded to it.
	tarRecord = 20 * 512
	// zip "version made by": Unix (3) in the high byte, 2.0 in the low,
	// as Python's zipfile writes on Unix; 2.0 is also what it needs to read.
	zipMadeBy   = 3<<8 | 20
	zipNeeds    = 20
	zipFileMode = 0o600 << 16 // Python zipfile's default for members it writes
)

// builder writes one package. The payload is compressed twice: the first
// pass hashes every file (for paths.json) and measures the compressed
// tarball's size and CRC, which the zip header needs before the data; the
// second writes it. So nothing is held whole in memory and w need not
// seek, and the output has no data descriptors, like cph's.
type builder struct {
	m     Meta
	files []File
	mtime time.Time // Meta.Timestamp in whole seconds
	enc   *zstd.Encoder
	sums  [][32]byte
}

func newBuilder(m Meta, files []File) (*builder, error) {
	// One goroutine makes the output deterministic and the memory small;
	// a 4 MiB window (8 MiB by default) saves 8 MB of buffers for 0.1%
	// more output on the gatehouse binary.
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithWindowSize(4<<20),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false),
		zstd.WithZeroFrames(true),
	)
	if err != nil {
		return nil, err
	}
	return &builder{m: m, files: files, mtime: time.Unix(m.Timestamp.Unix(), 0), enc: enc, sums: make([][32]byte, len(files))}, nil
}

func (b *builder) write(w io.Writer, index []byte) error {
	var pkg crcCounter
	if err := b.writePkg(&pkg, false); err != nil {
		return err
	}
	info, err := b.infoTarball(index)
	if err != nil {
		return err
	}
	stem := b.m.Stem()
	zw := zip.NewWriter(w)
	mw, err := addMember(zw, "metadata.json", b.m.Timestamp, crc32.ChecksumIEEE([]byte(metadataJSON)), int64(len(metadataJSON)))
	if err != nil {
		return err
	}
	if _, err := io.WriteString(mw, metadataJSON); err != nil {
		return err
	}
	// cph's own members carry Python zipfile's default date, 1980-01-01.
	pw, err := addMember(zw, "pkg-"+stem+".tar.zst", minTimestamp, pkg.crc, pkg.n)
	if err != nil {
		return err
	}
	var again crcCounter
	if err := b.writePkg(io.MultiWriter(pw, &again), true); err != nil {
		return err
	}
	if again != pkg {
		// The same input compresses to the same bytes; if it did not,
		// the header written before the data would be wrong.
		return errors.New("condabuild: the payload compressed differently on the second pass; the package would be corrupt")
	}
	iw, err := addMember(zw, "info-"+stem+".tar.zst", minTimestamp, crc32.ChecksumIEEE(info), int64(len(info)))
	if err != nil {
		return err
	}
	if _, err := iw.Write(info); err != nil {
		return err
	}
	return zw.Close()
}

// writePkg writes the payload tarball, zstd-compressed, to dst. On the
// first pass it records each file's sha256; on the second (verify) it
// checks the content is still the same.
func (b *builder) writePkg(dst io.Writer, verify bool) error {
	b.enc.Reset(dst)
	rw := &recordWriter{w: b.enc}
	tw := tar.NewWriter(rw)
	for i, f := range b.files {
		if err := tw.WriteHeader(b.header(f.Path, f.Size, f.perm())); err != nil {
			return fmt.Errorf("condabuild: writing the header of %s: %w", f.Path, err)
		}
		sum, err := copyFile(tw, f)
		if err != nil {
			return err
		}
		if verify && sum != b.sums[i] {
			return gatehouse.Errorf(gatehouse.EINVALID, "The file %q changed while the package was being built; build it again.", f.Path)
		}
		b.sums[i] = sum
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := rw.pad(); err != nil {
		return err
	}
	return b.enc.Close()
}

// copyFile copies exactly f.Size bytes of f's content to dst and returns
// their sha256. Content shorter or longer than Size is an error.
func copyFile(dst io.Writer, f File) (sum [32]byte, err error) {
	rc, err := f.Open()
	if err != nil {
		return sum, fmt.Errorf("condabuild: opening %s: %w", f.Path, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, h), io.LimitReader(rc, f.Size))
	if err != nil {
		return sum, fmt.Errorf("condabuild: reading %s: %w", f.Path, err)
	}
	if n < f.Size {
		return sum, gatehouse.Errorf(gatehouse.EINVALID, "The file %q has %d bytes, fewer than the %d its Size gives.", f.Path, n, f.Size)
	}
	var one [1]byte
	if k, _ := io.ReadFull(rc, one[:]); k > 0 {
		return sum, gatehouse.Errorf(gatehouse.EINVALID, "The file %q has more than the %d bytes its Size gives.", f.Path, f.Size)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// infoTarball returns info-<stem>.tar.zst, whole: it is small.
func (b *builder) infoTarball(index []byte) ([]byte, error) {
	paths, err := pathsJSON(b.files, b.sums)
	if err != nil {
		return nil, err
	}
	about, err := aboutJSON(b.m)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	b.enc.Reset(&out)
	rw := &recordWriter{w: b.enc}
	tw := tar.NewWriter(rw)
	for _, e := range []struct {
		name string
		data []byte
	}{
		{"info/about.json", about},
		{"info/files", filesList(b.files)},
		{"info/index.json", index},
		{"info/paths.json", paths},
	} {
		if err := tw.WriteHeader(b.header(e.name, int64(len(e.data)), 0o644)); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := rw.pad(); err != nil {
		return nil, err
	}
	if err := b.enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// header is a regular file entry as cph writes it after anonymize_tarinfo:
// owned by 0:0 with no user or group names. Go picks ustar, as Python's
// tarfile does for an entry whose fields fit; long paths get PAX records.
func (b *builder) header(name string, size int64, perm fs.FileMode) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: int64(perm), ModTime: b.mtime}
}

// addMember starts a stored zip member whose CRC and size are known, so
// the local header carries them and no data descriptor follows.
func addMember(zw *zip.Writer, name string, modified time.Time, crc uint32, size int64) (io.Writer, error) {
	if size >= math.MaxUint32 {
		return nil, gatehouse.Errorf(gatehouse.ETOOLARGE, "The package member %s would be %d bytes; packages over 4 GiB are not supported here.", name, size)
	}
	fh := &zip.FileHeader{
		Name: name, Method: zip.Store, CRC32: crc,
		CompressedSize64: uint64(size), UncompressedSize64: uint64(size),
		CreatorVersion: zipMadeBy, ReaderVersion: zipNeeds, ExternalAttrs: zipFileMode,
	}
	// CreateRaw writes the MS-DOS time fields as they are and ignores
	// Modified; setting Modified through CreateHeader would also add an
	// extended-timestamp extra field, which cph does not write.
	//lint:ignore SA1019 see above
	fh.ModifiedDate, fh.ModifiedTime = dosDateTime(modified)
	return zw.CreateRaw(fh)
}

// dosDateTime encodes t (in UTC) as MS-DOS date and time, clamped to the
// years the format holds (1980 to 2107).
func dosDateTime(t time.Time) (date, clock uint16) {
	t = t.UTC()
	switch {
	case t.Year() < 1980:
		t = minTimestamp
	case t.Year() > 2107:
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)
	}
	date = uint16((t.Year()-1980)<<9 | int(t.Month())<<5 | t.Day())
	clock = uint16(t.Hour()<<11 | t.Minute()<<5 | t.Second()/2)
	return date, clock
}

// crcCounter measures what is written through it.
type crcCounter struct {
	crc uint32
	n   int64
}

func (c *crcCounter) Write(p []byte) (int, error) {
	c.crc = crc32.Update(c.crc, crc32.IEEETable, p)
	c.n += int64(len(p))
	return len(p), nil
}

// recordWriter counts bytes so the tarball can be padded with zeros to a
// whole record, as Python's tarfile does on close.
type recordWriter struct {
	w io.Writer
	n int64
}

func (r *recordWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	r.n += int64(n)
	return n, err
}

func (r *recordWriter) pad() error {
	if rem := r.n % tarRecord; rem != 0 {
		_, err := r.Write(make([]byte, tarRecord-rem))
		return err
	}
	return nil
}
