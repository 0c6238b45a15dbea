package repofmt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/gatehouse-dev/gatehouse/conda"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/tinylib/msgp/msgp"
)

// decodeMsgp reads msgpack back into plain Go values (maps, slices,
// strings, int64, float64, bool, nil, []byte), for the tests.
func decodeMsgp(t testing.TB, b []byte) (any, []byte) {
	t.Helper()
	v, rest, err := readAny(b)
	if err != nil {
		t.Fatalf("decoding msgpack: %v", err)
	}
	return v, rest
}

func readAny(b []byte) (any, []byte, error) {
	switch msgp.NextType(b) {
	case msgp.MapType:
		n, b, err := msgp.ReadMapHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		m := map[string]any{}
		for range n {
			var k string
			if k, b, err = msgp.ReadStringBytes(b); err != nil {
				return nil, b, err
			}
			var v any
			if v, b, err = readAny(b); err != nil {
				return nil, b, err
			}
			m[k] = v
		}
		return m, b, nil
	case msgp.ArrayType:
		n, b, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		l := []any{}
		for range n {
			var v any
			if v, b, err = readAny(b); err != nil {
				return nil, b, err
			}
			l = append(l, v)
		}
		return l, b, nil
	case msgp.StrType:
		s, b, err := msgp.ReadStringBytes(b)
		return s, b, err
	case msgp.BinType:
		s, b, err := msgp.ReadBytesBytes(b, nil)
		return s, b, err
	case msgp.IntType:
		n, b, err := msgp.ReadInt64Bytes(b)
		return n, b, err
	case msgp.UintType:
		n, b, err := msgp.ReadUint64Bytes(b)
		return int64(n), b, err
	case msgp.Float64Type:
		f, b, err := msgp.ReadFloat64Bytes(b)
		return f, b, err
	case msgp.BoolType:
		v, b, err := msgp.ReadBoolBytes(b)
		return v, b, err
	case msgp.NilType:
		b, err := msgp.ReadNilBytes(b)
		return nil, b, err
	}
	return nil, b, errors.New("unexpected msgpack type")
}

// fromJSON is what a JSON record must become: the same values, with
// integers as int64 and the digests as bytes.
func fromJSON(t testing.TB, raw []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var conv func(any) any
	conv = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = conv(e)
			}
		case []any:
			for i, e := range x {
				x[i] = conv(e)
			}
		case json.Number:
			if n, err := x.Int64(); err == nil {
				return n
			}
			f, _ := x.Float64()
			return f
		}
		return v
	}
	v = conv(v)
	if m, ok := v.(map[string]any); ok {
		for _, k := range []string{"sha256", "md5"} {
			if s, ok := m[k].(string); ok && conda.IsLowerHex(s, map[string]int{"sha256": 64, "md5": 32}[k]) {
				m[k], _ = hex.DecodeString(s)
			}
		}
	}
	return v
}

const shardSHA = "a38347390191fd3e60b17204f2f6470a013ec8753e1c2e8c9a892683f59c3e40"

func TestShardRecordKeepsEveryValue(t *testing.T) {
	for _, tc := range []struct{ name, record string }{
		{"a record as Record writes it", `{"build":"py_0","build_number":0,"depends":["python >=3.8","x"],"indexed_timestamp":1700000000000,"license":"MIT","md5":"2456071b5d040cba000f72ced5c72032","name":"rich","noarch":"python","sha256":"` + shardSHA + `","size":153963,"subdir":"noarch","timestamp":1638891318904,"version":"10.15.2"}`},
		{"escapes, unicode, nulls, floats and nested objects", `{"a":"tab\there \u00e9 \"q\"","b":null,"c":1.5e3,"d":-7,"e":{"z":[true,false,[]],"a":{}},"f":18446744073709551615}`},
		{"a digest that is not hex stays a string", `{"sha256":"not-hex","md5":"ABCDEF"}`},
		{"white space between tokens", " { \"a\" : [ 1 , 2 ] , \"b\" : \"x\" } "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendShardRecord(nil, []byte(tc.record))
			if err != nil {
				t.Fatal(err)
			}
			v, rest := decodeMsgp(t, got)
			if len(rest) != 0 {
				t.Fatalf("%d bytes after the record", len(rest))
			}
			want := fromJSON(t, []byte(tc.record))
			// 18446744073709551615 does not fit int64: the decoder above reads it as uint64.
			if m, ok := want.(map[string]any); ok {
				if _, ok := m["f"].(float64); ok {
					m["f"] = int64(-1)
				}
			}
			if !reflect.DeepEqual(v, want) {
				t.Errorf("got %#v\nwant %#v", v, want)
			}
		})
	}
}

func TestShardRecordRefuses(t *testing.T) {
	for _, tc := range []struct{ name, record string }{
		{"not an object", `[1]`},
		{"truncated", `{"a":1`},
		{"a trailing comma", `{"a":1,}`},
		{"a duplicate key", `{"a":1,"a":2}`},
		{"data after the end", `{"a":1} x`},
		{"a bad number", `{"a":01}`},
		{"a bad literal", `{"a":tru}`},
		{"nesting past the limit", `{"a":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AppendShardRecord(nil, []byte(tc.record))
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("error %v, want EINVALID", err)
			}
		})
	}
}

func TestShardHoldsBothFormatsSortedWithDigestsAsBytes(t *testing.T) {
	rec := func(fn string) []byte {
		return []byte(`{"build":"0","name":"rich","sha256":"` + shardSHA + `","version":"1","fn_hint":"` + fn + `"}`)
	}
	entries := []Entry{
		{Filename: "rich-2-0.conda", Record: rec("b")},
		{Filename: "rich-1-0.tar.bz2", Record: rec("a")},
		{Filename: "rich-1-0.conda", Record: rec("c")},
	}
	a, err := AppendShard(nil, entries)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := AppendShard(nil, []Entry{entries[2], entries[0], entries[1]})
	if !bytes.Equal(a, b) {
		t.Error("the same entries in another order gave other bytes")
	}
	v, _ := decodeMsgp(t, a)
	m := v.(map[string]any)
	if len(m["packages"].(map[string]any)) != 1 || len(m["packages.conda"].(map[string]any)) != 2 {
		t.Errorf("sections: %#v", m)
	}
	if got := m["packages.conda"].(map[string]any)["rich-2-0.conda"].(map[string]any)["sha256"]; !reflect.DeepEqual(got, mustHex(shardSHA)) {
		t.Errorf("sha256 is %#v, want 32 raw bytes", got)
	}
	if r, ok := m["removed"].([]any); !ok || len(r) != 0 {
		t.Errorf("removed is %#v, want an empty list", m["removed"])
	}
	if _, err := AppendShard(nil, []Entry{entries[0], entries[0]}); err == nil {
		t.Error("a file twice was accepted")
	}
}

func mustHex(s string) []byte { b, _ := hex.DecodeString(s); return b }

func TestShardIndexShape(t *testing.T) {
	refs := []ShardRef{{Name: "numpy", Hash: [32]byte{1}}, {Name: "python", Hash: [32]byte{2}}}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	b, err := AppendShardIndex(nil, ShardIndexInfo{Subdir: "linux-64", BaseURL: "./", ShardsBaseURL: "./shards/", CreatedAt: at}, refs)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := decodeMsgp(t, b)
	want := map[string]any{
		"version": int64(1),
		"info":    map[string]any{"base_url": "./", "shards_base_url": "./shards/", "subdir": "linux-64", "created_at": "2026-05-01T10:00:00Z"},
		"shards":  map[string]any{"numpy": refs[0].Hash[:], "python": refs[1].Hash[:]},
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got %#v\nwant %#v", v, want)
	}
	if _, err := AppendShardIndex(nil, ShardIndexInfo{Subdir: "linux-64"}, []ShardRef{refs[1], refs[0]}); err == nil {
		t.Error("unsorted refs were accepted")
	}
}

// FuzzShardRecord: any input is refused with EINVALID or transcoded to
// msgpack holding the same values JSON decoding sees.
func FuzzShardRecord(f *testing.F) {
	f.Add([]byte(`{"build":"py_0","depends":["a"],"md5":"2456071b5d040cba000f72ced5c72032","sha256":"` + shardSHA + `","size":1}`))
	f.Add([]byte(`{"a":"\u00e9\ud800","b":[1.5,-2,null,{}]}`))
	f.Add([]byte(`{"a":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := AppendShardRecord(nil, data)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("error %v, want EINVALID", err)
			}
			return
		}
		var probe map[string]any
		if json.Unmarshal(data, &probe) != nil {
			t.Fatalf("accepted %q, which encoding/json refuses", data)
		}
		if _, rest, err := readAny(out); err != nil || len(rest) != 0 {
			t.Fatalf("output does not decode as one msgpack value: %v", err)
		}
	})
}

func BenchmarkAppendShardRecord(b *testing.B) {
	rec := []byte(`{"build":"py_0","build_number":0,"depends":["python >=3.8","colorama >=0.4.0,<0.5.0","pygments >=2.6.0,<3.0.0"],"indexed_timestamp":1700000000000,"license":"MIT","md5":"2456071b5d040cba000f72ced5c72032","name":"rich","noarch":"python","sha256":"` + shardSHA + `","size":153963,"subdir":"noarch","timestamp":1638891318904,"version":"10.15.2"}`)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = AppendShardRecord(buf[:0], rec); err != nil {
			b.Fatal(err)
		}
	}
}
