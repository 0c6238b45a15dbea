package conda

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"sort"
	"strings"
)

// This file reads the outer zip of a .conda strictly. archive/zip is made to
// open any zip it can: it tolerates data before the archive, loads the whole
// central directory before a caller can count it, and hides the header
// offsets an overlap check needs. A .conda is a small, fixed shape (three
// stored members, written by conda-package-handling or rattler), so this
// reader accepts that shape, zip64 records included, and nothing looser
// (checklist F6).

const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigEnd        = 0x06054b50
	sigEnd64      = 0x06064b50
	sigLocator64  = 0x07064b50
	sigDescriptor = 0x08074b50

	endLen       = 22
	locator64Len = 20
	end64Len     = 56
	centralLen   = 46
	localLen     = 30

	flagEncrypted  = 0x1
	flagDescriptor = 0x8
	flagStrongEnc  = 0x40
	methodStored   = 0

	sat16 = 0xffff
	sat32 = 0xffffffff
)

// zipMember is one member of the outer zip, with offsets checked.
type zipMember struct {
	name     string
	flags    uint16
	method   uint16
	crc      uint32
	csize    uint64
	usize    uint64
	zip64    bool
	localOff uint64
	dataOff  uint64
	end      uint64 // end of the data and of its data descriptor, if any
}

type zipDir struct {
	sr      *io.SectionReader
	members []zipMember
}

// zipLie is the message for a zip whose records contradict each other.
func zipLie(what string) error {
	return invalidf("The .conda zip is malformed: %s (checklist F6).", what)
}

// readZip parses and checks the zip structure: the end records (zip64
// included), the central directory, each local header, and that no two
// members' bytes overlap.
func readZip(sr *io.SectionReader, lim Limits) (*zipDir, error) {
	size := uint64(sr.Size())
	if size < endLen {
		return nil, invalidf("The .conda file is too short to be a zip; it is truncated or not a package (checklist F14).")
	}
	tailLen := min(size, endLen+sat16)
	tail := make([]byte, tailLen)
	if _, err := sr.ReadAt(tail, int64(size-tailLen)); err != nil {
		return nil, err
	}
	// The end record is the last one whose comment runs exactly to the end
	// of the file.
	at := -1
	for i := len(tail) - endLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) == sigEnd && i+endLen+int(binary.LittleEndian.Uint16(tail[i+20:])) == len(tail) {
			at = i
			break
		}
	}
	if at < 0 {
		return nil, invalidf("The .conda file has no zip end record: it is truncated or not a zip (checklist F14).")
	}
	endOff := size - tailLen + uint64(at)
	e := tail[at:]
	disk, cdDisk := binary.LittleEndian.Uint16(e[4:]), binary.LittleEndian.Uint16(e[6:])
	countDisk, count16 := binary.LittleEndian.Uint16(e[8:]), binary.LittleEndian.Uint16(e[10:])
	cdSize32, cdOff32 := binary.LittleEndian.Uint32(e[12:]), binary.LittleEndian.Uint32(e[16:])
	if disk != 0 || cdDisk != 0 || countDisk != count16 {
		return nil, zipLie("it claims to span several disks")
	}
	count, cdSize, cdOff := uint64(count16), uint64(cdSize32), uint64(cdOff32)
	dirEnd := endOff

	// A zip64 locator just before the end record points at the zip64 end
	// record; every 32-bit field that is not saturated must agree with it.
	if endOff >= locator64Len {
		var loc [locator64Len]byte
		if _, err := sr.ReadAt(loc[:], int64(endOff-locator64Len)); err != nil {
			return nil, err
		}
		if binary.LittleEndian.Uint32(loc[:]) == sigLocator64 {
			if binary.LittleEndian.Uint32(loc[4:]) != 0 || binary.LittleEndian.Uint32(loc[16:]) != 1 {
				return nil, zipLie("its zip64 locator claims several disks")
			}
			off := binary.LittleEndian.Uint64(loc[8:])
			locOff := endOff - locator64Len
			if off > locOff || locOff-off < end64Len {
				return nil, zipLie("its zip64 locator points outside the file")
			}
			var r [end64Len]byte
			if _, err := sr.ReadAt(r[:], int64(off)); err != nil {
				return nil, err
			}
			if binary.LittleEndian.Uint32(r[:]) != sigEnd64 || binary.LittleEndian.Uint64(r[4:])+12 != locOff-off {
				return nil, zipLie("its zip64 end record is missing or has the wrong size")
			}
			if binary.LittleEndian.Uint32(r[16:]) != 0 || binary.LittleEndian.Uint32(r[20:]) != 0 || binary.LittleEndian.Uint64(r[24:]) != binary.LittleEndian.Uint64(r[32:]) {
				return nil, zipLie("its zip64 end record claims several disks")
			}
			c64, s64, o64 := binary.LittleEndian.Uint64(r[32:]), binary.LittleEndian.Uint64(r[40:]), binary.LittleEndian.Uint64(r[48:])
			if count16 != sat16 && uint64(count16) != c64 || cdSize32 != sat32 && uint64(cdSize32) != s64 || cdOff32 != sat32 && uint64(cdOff32) != o64 {
				return nil, zipLie("its zip64 end record disagrees with the end record")
			}
			count, cdSize, cdOff, dirEnd = c64, s64, o64, off
		}
	}
	if dirEnd == endOff && (count16 == sat16 || cdSize32 == sat32 || cdOff32 == sat32) {
		return nil, zipLie("its end record needs a zip64 record that is missing")
	}
	if count > uint64(lim.MaxEntries) {
		return nil, tooLargef("The .conda zip claims %d members; the limit is %d and a .conda has three (checklist F6).", count, lim.MaxEntries)
	}
	if cdOff > dirEnd || dirEnd-cdOff != cdSize || cdSize < count*centralLen {
		return nil, zipLie("its central directory is not where its end record says")
	}
	z := &zipDir{sr: sr}
	if err := z.readCentral(cdOff, cdSize, count, lim); err != nil {
		return nil, err
	}
	for i := range z.members {
		if err := z.readLocal(&z.members[i], cdOff); err != nil {
			return nil, err
		}
	}
	// Sorted by offset, each member must end before the next one starts,
	// so no byte is shared: overlapping members are the trick behind
	// zip bombs that expand far beyond their file size.
	ms := append([]zipMember(nil), z.members...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].localOff < ms[j].localOff })
	for i := 1; i < len(ms); i++ {
		if ms[i-1].end > ms[i].localOff {
			return nil, zipLie("members " + Quote(ms[i-1].name) + " and " + Quote(ms[i].name) + " overlap")
		}
	}
	return z, nil
}

// readCentral reads count central directory records, streaming, so a
// hostile directory costs no more memory than one record.
func (z *zipDir) readCentral(off, size, count uint64, lim Limits) error {
	br := bufio.NewReader(io.NewSectionReader(z.sr, int64(off), int64(size)))
	seen := map[string]bool{}
	var used uint64
	for range count {
		var h [centralLen]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return zipLie("its central directory is cut short")
		}
		if binary.LittleEndian.Uint32(h[:]) != sigCentral {
			return zipLie("its central directory holds something that is not a member record")
		}
		m := zipMember{
			flags:    binary.LittleEndian.Uint16(h[8:]),
			method:   binary.LittleEndian.Uint16(h[10:]),
			crc:      binary.LittleEndian.Uint32(h[16:]),
			csize:    uint64(binary.LittleEndian.Uint32(h[20:])),
			usize:    uint64(binary.LittleEndian.Uint32(h[24:])),
			localOff: uint64(binary.LittleEndian.Uint32(h[42:])),
		}
		nameLen, extraLen, commentLen := int(binary.LittleEndian.Uint16(h[28:])), int(binary.LittleEndian.Uint16(h[30:])), int(binary.LittleEndian.Uint16(h[32:]))
		diskStart := binary.LittleEndian.Uint16(h[34:])
		if nameLen+extraLen+commentLen > lim.MaxHeaderBytes {
			return tooLargef("A .conda member record is %d bytes long; the limit is %d (checklist F6).", nameLen+extraLen+commentLen, lim.MaxHeaderBytes)
		}
		buf := make([]byte, nameLen+extraLen+commentLen)
		if _, err := io.ReadFull(br, buf); err != nil {
			return zipLie("its central directory is cut short")
		}
		used += uint64(centralLen + len(buf))
		m.name = string(buf[:nameLen])
		need := zip64Need{usize: m.usize == sat32, csize: m.csize == sat32, offset: m.localOff == sat32, disk: diskStart == sat16}
		if need.any() {
			v, ok := readZip64Extra(buf[nameLen:nameLen+extraLen], need)
			if !ok {
				return zipLie("the record of " + Quote(m.name) + " needs zip64 sizes it does not carry")
			}
			m.usize, m.csize, m.localOff, m.zip64 = pick(need.usize, v.usize, m.usize), pick(need.csize, v.csize, m.csize), pick(need.offset, v.offset, m.localOff), true
			if need.disk {
				diskStart = uint16(min(v.disk, sat16))
			}
		}
		switch {
		case diskStart != 0:
			return zipLie("member " + Quote(m.name) + " claims to be on another disk")
		case seen[m.name]:
			return invalidf("The .conda zip holds %s twice; conda would read one and could install the other (checklist F6).", Quote(m.name))
		case m.flags&(flagEncrypted|flagStrongEnc) != 0:
			return invalidf("The .conda member %s is encrypted; conda cannot read it.", Quote(m.name))
		case m.method != methodStored:
			return invalidf("The .conda member %s is compressed with zip method %d; conda writes .conda members stored, since their content is already zstd-compressed (checklist F6).", Quote(m.name), m.method)
		case m.csize != m.usize:
			return zipLie("stored member " + Quote(m.name) + " has different compressed and uncompressed sizes")
		}
		seen[m.name] = true
		z.members = append(z.members, m)
	}
	if used != size {
		return zipLie("its central directory size does not match its records")
	}
	return nil
}

// readLocal checks a member's local header against its central record and
// works out where its data starts and ends, all before the directory.
func (z *zipDir) readLocal(m *zipMember, cdOff uint64) error {
	if m.localOff > cdOff || cdOff-m.localOff < localLen {
		return zipLie("member " + Quote(m.name) + " starts outside the file")
	}
	var h [localLen]byte
	if _, err := z.sr.ReadAt(h[:], int64(m.localOff)); err != nil {
		return err
	}
	nameLen, extraLen := uint64(binary.LittleEndian.Uint16(h[26:])), uint64(binary.LittleEndian.Uint16(h[28:]))
	if binary.LittleEndian.Uint32(h[:]) != sigLocal || m.localOff+localLen+nameLen+extraLen > cdOff {
		return zipLie("the local header of " + Quote(m.name) + " is missing")
	}
	buf := make([]byte, nameLen+extraLen)
	if _, err := z.sr.ReadAt(buf, int64(m.localOff+localLen)); err != nil {
		return err
	}
	flags, method := binary.LittleEndian.Uint16(h[6:]), binary.LittleEndian.Uint16(h[8:])
	if string(buf[:nameLen]) != m.name || method != m.method || flags&flagDescriptor != m.flags&flagDescriptor {
		return zipLie("the local header of " + Quote(m.name) + " disagrees with the central directory")
	}
	m.dataOff = m.localOff + localLen + nameLen + extraLen
	if cdOff-m.dataOff < m.csize {
		return zipLie("the data of " + Quote(m.name) + " runs past the central directory")
	}
	m.end = m.dataOff + m.csize
	if m.flags&flagDescriptor != 0 {
		return z.readDescriptor(m, cdOff)
	}
	crc := binary.LittleEndian.Uint32(h[14:])
	csize, usize := uint64(binary.LittleEndian.Uint32(h[18:])), uint64(binary.LittleEndian.Uint32(h[22:]))
	if csize == sat32 || usize == sat32 {
		// The local zip64 field carries both sizes, uncompressed first.
		v, ok := readZip64Extra(buf[nameLen:], zip64Need{usize: true, csize: true})
		if !ok {
			return zipLie("the local header of " + Quote(m.name) + " needs zip64 sizes it does not carry")
		}
		csize, usize = v.csize, v.usize
	}
	if crc != m.crc || csize != m.csize || usize != m.usize {
		return zipLie("the sizes or CRC in the local header of " + Quote(m.name) + " disagree with the central directory")
	}
	return nil
}

// readDescriptor checks the data descriptor that follows a member written
// as a stream, and counts it as part of the member.
func (z *zipDir) readDescriptor(m *zipMember, cdOff uint64) error {
	n := uint64(12)
	if m.zip64 {
		n = 20
	}
	var d [24]byte
	avail := min(cdOff-m.end, 24)
	if avail < n {
		return zipLie("the data descriptor of " + Quote(m.name) + " is missing")
	}
	if _, err := z.sr.ReadAt(d[:avail], int64(m.end)); err != nil {
		return err
	}
	b := d[:]
	if binary.LittleEndian.Uint32(b) == sigDescriptor {
		if avail < n+4 {
			return zipLie("the data descriptor of " + Quote(m.name) + " is missing")
		}
		b, n = b[4:], n+4
	}
	crc := binary.LittleEndian.Uint32(b)
	var csize, usize uint64
	if m.zip64 {
		csize, usize = binary.LittleEndian.Uint64(b[4:]), binary.LittleEndian.Uint64(b[12:])
	} else {
		csize, usize = uint64(binary.LittleEndian.Uint32(b[4:])), uint64(binary.LittleEndian.Uint32(b[8:]))
	}
	if crc != m.crc || csize != m.csize || usize != m.usize {
		return zipLie("the data descriptor of " + Quote(m.name) + " disagrees with the central directory")
	}
	m.end += n
	return nil
}

type zip64Need struct{ usize, csize, offset, disk bool }

func (n zip64Need) any() bool { return n.usize || n.csize || n.offset || n.disk }

type zip64Values struct{ usize, csize, offset, disk uint64 }

// readZip64Extra finds the zip64 extra field (ID 1) and reads the values it
// must hold, in the order the format fixes: sizes, offset, disk.
func readZip64Extra(extra []byte, need zip64Need) (zip64Values, bool) {
	var v zip64Values
	for len(extra) >= 4 {
		id, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		if len(extra) < 4+n {
			return v, false
		}
		field := extra[4 : 4+n]
		extra = extra[4+n:]
		if id != 1 {
			continue
		}
		take := func(want bool, size int, dst *uint64) bool {
			if !want {
				return true
			}
			if len(field) < size {
				return false
			}
			if size == 8 {
				*dst = binary.LittleEndian.Uint64(field)
			} else {
				*dst = uint64(binary.LittleEndian.Uint32(field))
			}
			field = field[size:]
			return true
		}
		ok := take(need.usize, 8, &v.usize) && take(need.csize, 8, &v.csize) && take(need.offset, 8, &v.offset) && take(need.disk, 4, &v.disk)
		return v, ok
	}
	return v, false
}

func pick(use bool, a, b uint64) uint64 {
	if use {
		return a
	}
	return b
}

// condaMembers checks the members are exactly what a .conda holds, the
// info and pkg tarballs named after the file's stem and optionally
// metadata.json with format version 2, and returns the info and pkg members.
func (z *zipDir) condaMembers(stem string) (info, pkg *zipMember, err error) {
	infoName, pkgName := "info-"+stem+".tar.zst", "pkg-"+stem+".tar.zst"
	// A renamed file still carries its real stem in its member names: say
	// so, rather than only that the members are unexpected.
	for _, m := range z.members {
		if other, ok := strings.CutPrefix(m.name, "info-"); ok && m.name != infoName && strings.HasSuffix(other, ".tar.zst") {
			real := strings.TrimSuffix(other, ".tar.zst")
			return nil, nil, invalidf("The file is named %s, but it holds the package %s; name the file %s (checklist F10).", Quote(stem+".conda"), Quote(real), Quote(real+".conda"))
		}
	}
	for i := range z.members {
		m := &z.members[i]
		switch m.name {
		case infoName:
			info = m
		case pkgName:
			pkg = m
		case "metadata.json":
			if err := z.checkMetadata(m); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, invalidf("The .conda zip holds the unexpected member %s; a .conda holds only metadata.json, %s and %s (checklist F6).", Quote(m.name), infoName, pkgName)
		}
	}
	if info == nil {
		return nil, nil, invalidf("The .conda zip has no %s, so it has no metadata; check that the file name matches the package (checklist F6, F10).", Quote(infoName))
	}
	if pkg == nil {
		return nil, nil, invalidf("The .conda zip has no %s, so it has no files to install (checklist F6).", Quote(pkgName))
	}
	return info, pkg, nil
}

func (z *zipDir) checkMetadata(m *zipMember) error {
	if m.csize > 4096 {
		return invalidf("metadata.json in the .conda is %d bytes; it should hold only the format version.", m.csize)
	}
	data := make([]byte, m.csize)
	if _, err := z.sr.ReadAt(data, int64(m.dataOff)); err != nil {
		return err
	}
	if crc32.ChecksumIEEE(data) != m.crc {
		return invalidf("metadata.json fails its CRC check: the .conda file is corrupt (checklist F14).")
	}
	raw, err := decodeStrictObject(data, "metadata.json")
	if err != nil {
		return err
	}
	if !bytes.Equal(raw["conda_pkg_format_version"], []byte("2")) {
		return invalidf("metadata.json gives conda_pkg_format_version %s; Gatehouse reads version 2.", Quote(string(raw["conda_pkg_format_version"])))
	}
	return nil
}
