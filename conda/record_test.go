package conda

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

const (
	testMD5    = "0123456789abcdef0123456789abcdef"
	testSHA256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func mustRecord(t testing.TB, doc string) []byte {
	t.Helper()
	ix, err := ParseIndexJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Record(ix, testMD5, testSHA256, 1234, 1767225600000)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRecordIsCanonical(t *testing.T) {
	a := mustRecord(t, `{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64","depends":["b","a"],"x":{"z":1,"y":[{"q":1,"p":2}]},"license":"<MIT & co>"}`)
	b := mustRecord(t, "{\n  \"x\": {\"y\": [{\"p\": 2, \"q\": 1}], \"z\": 1},\n  \"license\": \"<MIT & co>\",\n  \"subdir\": \"linux-64\", \"build_number\": 0,\n  \"depends\": [\"b\", \"a\"], \"build\": \"0\", \"version\": \"1.0\", \"name\": \"demo\"\n}")
	if !bytes.Equal(a, b) {
		t.Fatalf("the same index.json in another key order gave different records:\n%s\n%s", a, b)
	}
	// "x" is not a key a record carries, so it is dropped (checklist F16).
	want := `{"build":"0","build_number":0,"depends":["b","a"],"indexed_timestamp":1767225600000,"license":"<MIT & co>","md5":"` + testMD5 + `","name":"demo","sha256":"` + testSHA256 + `","size":1234,"subdir":"linux-64","version":"1.0"}`
	if string(a) != want {
		t.Fatalf("record:\n%s\nwant:\n%s", a, want)
	}
}

func TestRecordKeepsServerFieldsAndDropsObsoleteOnes(t *testing.T) {
	rec := mustRecord(t, `{"name":"demo","version":"1.0","build":"0","build_number":0,"subdir":"linux-64",
		"md5":"ffffffffffffffffffffffffffffffff","sha256":"evil","size":1,"url":"https://evil.example/x.conda","fn":"x.conda","channel":"evil",
		"indexed_timestamp":1,"legacy_bz2_md5":"x","arch":"x86_64","platform":"linux","has_prefix":true,"mtime":1}`)
	var m map[string]any
	if err := json.Unmarshal(rec, &m); err != nil {
		t.Fatal(err)
	}
	if m["md5"] != testMD5 || m["sha256"] != testSHA256 || m["size"] != 1234.0 || m["indexed_timestamp"] != 1767225600000.0 {
		t.Fatalf("server fields were not the server's: %s", rec)
	}
	for _, k := range []string{"url", "fn", "channel", "legacy_bz2_md5", "arch", "platform", "has_prefix", "mtime"} {
		if _, ok := m[k]; ok {
			t.Errorf("record keeps %q: %s", k, rec)
		}
	}
}

func TestRecordRefuses(t *testing.T) {
	ix, err := ParseIndexJSON(indexJSON(t, "demo", "1.0", "0", "linux-64", nil))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		why  string
		run  func() error
		code string
	}{
		{"an uppercase md5", func() error { _, err := Record(ix, strings.ToUpper(testMD5), testSHA256, 1, 1); return err }, gatehouse.EINVALID},
		{"a short sha256", func() error { _, err := Record(ix, testMD5, testSHA256[:63], 1, 1); return err }, gatehouse.EINVALID},
		{"a negative size", func() error { _, err := Record(ix, testMD5, testSHA256, -1, 1); return err }, gatehouse.EINVALID},
		{"an Index built by hand, without Raw", func() error {
			_, err := Record(&Index{Name: "demo", Version: "1.0", Build: "0", Subdir: "noarch"}, testMD5, testSHA256, 1, 1)
			return err
		}, gatehouse.EINTERNAL},
		{"a Raw changed to an invalid name after parsing (F9)", func() error {
			c := *ix
			c.Raw = maps.Clone(ix.Raw)
			c.Raw["name"] = json.RawMessage(`"../evil"`)
			_, err := Record(&c, testMD5, testSHA256, 1, 1)
			return err
		}, gatehouse.EINVALID},
	}
	for _, c := range cases {
		t.Run("refuses "+c.why, func(t *testing.T) {
			if err := c.run(); gatehouse.ErrorCode(err) != c.code {
				t.Fatalf("Record error = %v; want %s", err, c.code)
			}
		})
	}
}
