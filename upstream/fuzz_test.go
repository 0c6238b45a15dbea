package upstream

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/conda/repofmt"
)

// An upstream's repodata.json is outside input: any bytes end in records
// that are valid JSON or in an error, never a panic or a hang.
func FuzzReadRepodata(f *testing.F) {
	f.Add([]byte(`{"info":{"subdir":"noarch"},"packages":{},"packages.conda":{"a-1-0.conda":{"name":"a","version":"1","build":"0","sha256":"x"}},"removed":[]}`))
	f.Add([]byte(`{"packages":null,"packages.conda":{"a":1}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"packages":{"x":{"y":[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		_ = readRepodata(bytes.NewReader(data), func(fn string, raw []byte) error {
			n++
			if !json.Valid(raw) {
				t.Fatalf("record %q is not valid JSON: %q", fn, raw)
			}
			_ = quickSHA(raw)
			return nil
		})
		if n > len(data) {
			t.Fatalf("%d records from %d bytes", n, len(data))
		}
	})
}

// Filters come from channel creators and licences and versions from
// upstream records: compiling and applying them never panics, and a
// version filter admits exactly what it compiled to.
func FuzzFilters(f *testing.F) {
	f.Add(">=1.2,<2|==3.*", "MIT OR (Apache-2.0 AND BSD-3-Clause)", "numpy-1.2.3-py312h0_0.conda", "1.2.3")
	f.Add("=1.4", "GPL-2.0-only WITH Classpath-exception-2.0", "a-b-c", "1.4.0")
	f.Add("((", ") OR (", "x.conda", "")
	f.Fuzz(func(t *testing.T, spec, license, filename, version string) {
		pol, err := Compile(gatehouse.Filters{Licenses: []string{"MIT", "Apache-2.0"}, Versions: map[string]string{"numpy": spec}, MinAgeDays: 1})
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("a bad spec %q: %v, want EINVALID", spec, err)
			}
			return
		}
		_ = pol.licenseOK(license)
		_ = pol.CheckFilename("linux-64", filename)
		v := pol.Check("linux-64", &conda.Index{Name: "numpy", Version: version, License: license, Timestamp: 1}, time.Unix(1e9, 0))
		if v.Rule == "" && !pol.licenseOK(license) {
			t.Fatalf("licence %q admitted but not allowed", license)
		}
	})
}

// An upstream's shard index and shards are outside input too: any bytes
// (after zstd) end in records that are valid JSON, whose sha256 reads
// back as hex, or in an error; never a panic or unbounded nesting.
func FuzzDecodeShard(f *testing.F) {
	rec := []byte(`{"build":"h0_0","depends":["zlib >=1"],"md5":"0123456789abcdef0123456789abcdef","name":"a","sha256":"` +
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" + `","size":3,"version":"1"}`)
	shard, err := repofmt.AppendShard(nil, []repofmt.Entry{{Filename: "a-1-h0_0.conda", Record: rec}})
	if err != nil {
		f.Fatal(err)
	}
	index, err := repofmt.AppendShardIndex(nil, repofmt.ShardIndexInfo{Subdir: "noarch", BaseURL: "./", ShardsBaseURL: "./shards/"},
		[]repofmt.ShardRef{{Name: "a", Hash: [32]byte{1}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shard)
	f.Add(index)
	f.Add([]byte{0x81, 0xa8, 'p', 'a', 'c', 'k', 'a', 'g', 'e', 's', 0x81, 0xa1, 'x', 0x91, 0x91, 0x91, 0x91})
	f.Fuzz(func(t *testing.T, data []byte) {
		z := repofmt.Zstd(data)
		if recs, err := decodeShard(z); err == nil {
			for _, r := range recs {
				if !json.Valid(r.raw) {
					t.Fatalf("record %q is not valid JSON: %q", r.filename, r.raw)
				}
			}
		}
		_, _ = decodeShardIndex(z, "https://upstream.test/c/noarch/repodata_shards.msgpack.zst")
	})
}

func TestShardsDecodeAsRepodataRecords(t *testing.T) {
	rec := []byte(`{"build":"h0_0","depends":[],"md5":"0123456789abcdef0123456789abcdef","name":"a","sha256":"` +
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" + `","size":3,"version":"1"}`)
	shard, err := repofmt.AppendShard(nil, []repofmt.Entry{{Filename: "a-1-h0_0.conda", Record: rec}})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := decodeShard(repofmt.Zstd(shard))
	if err != nil || len(recs) != 1 || recs[0].filename != "a-1-h0_0.conda" {
		t.Fatalf("%v %v", recs, err)
	}
	if quickSHA(recs[0].raw) != "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" || !bytes.Contains(recs[0].raw, []byte(`"md5":"0123456789abcdef0123456789abcdef"`)) {
		t.Errorf("digests did not come back as hex: %s", recs[0].raw)
	}
	idx, err := repofmt.AppendShardIndex(nil, repofmt.ShardIndexInfo{Subdir: "noarch", BaseURL: "./", ShardsBaseURL: "../sh/"},
		[]repofmt.ShardRef{{Name: "a", Hash: [32]byte{1}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeShardIndex(repofmt.Zstd(idx), "https://up.test/c/noarch/repodata_shards.msgpack.zst")
	if err != nil || got.shardsBase != "https://up.test/c/sh/" || got.shards["a"] != [32]byte{1} {
		t.Errorf("index %+v %v", got, err)
	}
	deep := bytes.Repeat([]byte{0x91}, 100) // arrays nested 100 deep
	hostile := append([]byte{0x81, 0xae}, "packages.conda"...)
	hostile = append(hostile, 0x81, 0xa1, 'x')
	hostile = append(hostile, deep...)
	if _, err := decodeShard(repofmt.Zstd(hostile)); err == nil {
		t.Error("a record nested 100 deep was read")
	}
}
