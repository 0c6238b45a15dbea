package conda

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

// checklist F6: the outer zip of a .conda.

const condaName = testStem + ".conda"

func demoMembers(t *testing.T) []zipMem {
	return condaMembers(t, testStem, file("info/index.json", demoIndex(t)))
}

func TestInspectAcceptsTheZipFormsRealToolsWrite(t *testing.T) {
	cases := map[string]func(ms []zipMem) []byte{
		"conda-package-handling's layout, info last": func(ms []zipMem) []byte { return condaZip(ms...) },
		"info first":       func(ms []zipMem) []byte { return condaZip(ms[2], ms[0], ms[1]) },
		"no metadata.json": func(ms []zipMem) []byte { return condaZip(ms[1], ms[2]) },
		"rattler's zip64 extra fields": func(ms []zipMem) []byte {
			for i := range ms {
				ms[i].zip64 = true
			}
			return condaZip(ms...)
		},
		"data descriptors, as a streaming writer makes": func(ms []zipMem) []byte {
			for i := range ms {
				ms[i].descriptor = true
			}
			return condaZip(ms...)
		},
		"zip64 data descriptors": func(ms []zipMem) []byte {
			for i := range ms {
				ms[i].descriptor, ms[i].zip64 = true, true
			}
			return condaZip(ms...)
		},
		"a zip64 end record": func(ms []zipMem) []byte {
			z := zipAsm{zip64End: true}
			for _, m := range ms {
				z.add(m)
			}
			return z.bytes()
		},
		"an archive comment": func(ms []zipMem) []byte {
			z := zipAsm{endComment: "made by a test, PK\x05\x06 inside"}
			for _, m := range ms {
				z.add(m)
			}
			return z.bytes()
		},
	}
	for name, build := range cases {
		t.Run("accepts "+name, func(t *testing.T) {
			p, err := inspectBytes(build(demoMembers(t)), condaName, DefaultLimits())
			if err != nil || p.Index.Stem() != testStem {
				t.Fatalf("Inspect = %+v, %v", p, err)
			}
		})
	}
}

func TestInspectRefusesHostileZips(t *testing.T) {
	cases := []struct {
		why     string
		build   func(t *testing.T, ms []zipMem) []byte
		code    string
		mention string
	}{
		{"a zip without info-<stem>.tar.zst (F6)", func(t *testing.T, ms []zipMem) []byte { return condaZip(ms[0], ms[1]) }, gatehouse.EINVALID, "info-demo-1.0-0.tar.zst"},
		{"a zip without pkg-<stem>.tar.zst (F6)", func(t *testing.T, ms []zipMem) []byte { return condaZip(ms[0], ms[2]) }, gatehouse.EINVALID, "pkg-demo-1.0-0.tar.zst"},
		{"an info member named for another package (F6, F10)", func(t *testing.T, ms []zipMem) []byte {
			ms[2].name = "info-other-1.0-0.tar.zst"
			return condaZip(ms...)
		}, gatehouse.EINVALID, "holds the package \"other-1.0-0\""},
		{"a second info member that conda's prefix match would also take (F6)", func(t *testing.T, ms []zipMem) []byte {
			extra := ms[2]
			extra.name += ".evil"
			return condaZip(append(ms, extra)...)
		}, gatehouse.EINVALID, "unexpected member"},
		{"the info member twice (F6)", func(t *testing.T, ms []zipMem) []byte { return condaZip(append(ms, ms[2])...) }, gatehouse.EINVALID, "twice"},
		{"a deflate-compressed member (F6)", func(t *testing.T, ms []zipMem) []byte {
			ms[2].method = 8
			return condaZip(ms...)
		}, gatehouse.EINVALID, "method 8"},
		{"an encrypted member", func(t *testing.T, ms []zipMem) []byte {
			ms[2].flags = 1
			return condaZip(ms...)
		}, gatehouse.EINVALID, "encrypted"},
		{"overlapping members, the zip-bomb trick (F6)", func(t *testing.T, ms []zipMem) []byte {
			// pkg's data holds a complete local header and data for info;
			// info's central record points inside pkg.
			var inner zipAsm
			inner.local(ms[2])
			var z zipAsm
			z.add(ms[0])
			pkg := ms[1]
			pkg.data = inner.buf.Bytes()
			pkgOff := z.add(pkg)
			infoOff := pkgOff + 30 + uint64(len(pkg.name))
			info := ms[2]
			z.centralRecord(info, infoOff)
			return z.bytes()
		}, gatehouse.EINVALID, "overlap"},
		{"two central records for one local header (F6)", func(t *testing.T, ms []zipMem) []byte {
			var z zipAsm
			z.add(ms[0])
			off := z.add(ms[2])
			other := ms[2]
			other.name = ms[1].name
			z.centralRecord(other, off)
			return z.bytes()
		}, gatehouse.EINVALID, "disagrees"},
		{"an end record that counts one member too many (F6)", func(t *testing.T, ms []zipMem) []byte {
			z := zipAsm{countDelta: 1}
			for _, m := range ms {
				z.add(m)
			}
			return z.bytes()
		}, gatehouse.EINVALID, "central directory"},
		{"an end record that needs zip64 but has none (zip64 lie, F6)", func(t *testing.T, ms []zipMem) []byte {
			data := condaZip(ms...)
			binary.LittleEndian.PutUint32(data[len(data)-6:], 0xffffffff) // directory offset saturated
			return data
		}, gatehouse.EINVALID, "zip64"},
		{"a zip64 end record whose count disagrees with the end record (zip64 lie, F6)", func(t *testing.T, ms []zipMem) []byte {
			z := zipAsm{zip64End: true}
			for _, m := range ms {
				z.add(m)
			}
			data := z.bytes()
			binary.LittleEndian.PutUint16(data[len(data)-12:], 3)
			binary.LittleEndian.PutUint16(data[len(data)-14:], 3)
			end64 := len(data) - 22 - 20 - 56
			binary.LittleEndian.PutUint64(data[end64+24:], 4)
			binary.LittleEndian.PutUint64(data[end64+32:], 4)
			return data
		}, gatehouse.EINVALID, "disagrees"},
		{"a zip64 locator pointing past the file (zip64 lie, F6)", func(t *testing.T, ms []zipMem) []byte {
			z := zipAsm{zip64End: true}
			for _, m := range ms {
				z.add(m)
			}
			data := z.bytes()
			binary.LittleEndian.PutUint64(data[len(data)-22-20+8:], 1<<40)
			return data
		}, gatehouse.EINVALID, "zip64 locator"},
		{"a zip64 size in the central directory that disagrees with the local header (zip64 lie, F6)", func(t *testing.T, ms []zipMem) []byte {
			for i := range ms {
				ms[i].zip64 = true
			}
			data := condaZip(ms...)
			// The last central record is info's; its zip64 extra holds
			// usize, csize, offset. Make both sizes smaller.
			cd := len(data) - 22 - (46+len(ms[2].name)+28)*1
			extra := cd + 46 + len(ms[2].name) + 4
			binary.LittleEndian.PutUint64(data[extra:], uint64(len(ms[2].data)-1))
			binary.LittleEndian.PutUint64(data[extra+8:], uint64(len(ms[2].data)-1))
			return data
		}, gatehouse.EINVALID, "disagree"},
		{"a saturated size without its zip64 field (zip64 lie, F6)", func(t *testing.T, ms []zipMem) []byte {
			data := condaZip(ms...)
			cd := len(data) - 22 - (46 + len(ms[2].name))
			binary.LittleEndian.PutUint32(data[cd+20:], 0xffffffff)
			return data
		}, gatehouse.EINVALID, "zip64"},
		{"a member whose data runs into the central directory (F6)", func(t *testing.T, ms []zipMem) []byte {
			data := condaZip(ms...)
			cd := len(data) - 22 - (46 + len(ms[2].name))
			binary.LittleEndian.PutUint32(data[cd+20:], uint32(len(ms[2].data)+100))
			binary.LittleEndian.PutUint32(data[cd+24:], uint32(len(ms[2].data)+100))
			return data
		}, gatehouse.EINVALID, "central directory"},
		{"a local header whose CRC disagrees with the central directory (F6)", func(t *testing.T, ms []zipMem) []byte {
			crc := uint32(7)
			ms[2].localCRC = &crc
			return condaZip(ms...)
		}, gatehouse.EINVALID, "disagree"},
		{"a central record pointing at no local header (F6)", func(t *testing.T, ms []zipMem) []byte {
			off := uint64(5)
			ms[2].centralOff = &off
			return condaZip(ms...)
		}, gatehouse.EINVALID, "local header"},
		{"a data descriptor that disagrees with the central directory (F6)", func(t *testing.T, ms []zipMem) []byte {
			ms[2].descriptor = true
			data := condaZip(ms...)
			at := len(data) - 22 - 3*46 - len(ms[0].name) - len(ms[1].name) - len(ms[2].name) - 12
			binary.LittleEndian.PutUint32(data[at:], 99) // CRC in the descriptor
			return data
		}, gatehouse.EINVALID, "data descriptor"},
		{"a multi-disk zip", func(t *testing.T, ms []zipMem) []byte {
			data := condaZip(ms...)
			binary.LittleEndian.PutUint16(data[len(data)-18:], 1)
			return data
		}, gatehouse.EINVALID, "disks"},
		{"metadata.json with format version 3", func(t *testing.T, ms []zipMem) []byte {
			ms[0].data = []byte(`{"conda_pkg_format_version": 3}`)
			return condaZip(ms...)
		}, gatehouse.EINVALID, "version 2"},
		{"metadata.json that is not JSON", func(t *testing.T, ms []zipMem) []byte {
			ms[0].data = []byte(`conda_pkg_format_version=2`)
			return condaZip(ms...)
		}, gatehouse.EINVALID, "metadata.json"},
		{"an info member that is not zstd", func(t *testing.T, ms []zipMem) []byte {
			ms[2].data = makeTar(t, file("info/index.json", demoIndex(t)))
			return condaZip(ms...)
		}, gatehouse.EINVALID, "zstd"},
		{"100k members (F6)", func(t *testing.T, ms []zipMem) []byte {
			z := zipAsm{zip64End: true} // over 65535 members needs zip64
			for _, m := range ms {
				z.add(m)
			}
			for i := range 100_000 {
				z.add(zipMem{name: fmt.Sprintf("f%06d", i)})
			}
			return z.bytes()
		}, gatehouse.ETOOLARGE, "members"},
	}
	for _, c := range cases {
		t.Run("refuses "+c.why, func(t *testing.T) {
			wantCode(t, c.build(t, demoMembers(t)), condaName, DefaultLimits(), c.code, c.mention)
		})
	}
	t.Run("refuses a member record over MaxHeaderBytes (F6)", func(t *testing.T) {
		ms := demoMembers(t)
		ms = append(ms, zipMem{name: string(make([]byte, 2000))})
		wantCode(t, condaZip(ms...), condaName, Limits{MaxHeaderBytes: 1000}, gatehouse.ETOOLARGE, "limit is 1000")
	})
	t.Run("refuses more members than MaxEntries (F6)", func(t *testing.T) {
		wantCode(t, condaZip(demoMembers(t)...), condaName, Limits{MaxEntries: 2}, gatehouse.ETOOLARGE, "limit is 2")
	})
}
