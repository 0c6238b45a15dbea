package repofmt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/conda"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condaname"
	"github.com/tinylib/msgp/msgp"
)

// Sharded repodata (CEP-16): per subdir an index,
// repodata_shards.msgpack.zst, maps each package name to the sha256 of its
// shard, and each shard, <shards_base_url><sha256 hex>.msgpack.zst, holds
// that name's records as repodata.json would ({packages, packages.conda,
// removed}) in msgpack, with sha256 and md5 as raw bytes. Both are written
// here with map keys sorted, so the same records give the same bytes and so
// the same shard address on every machine.

// maxRecordDepth bounds the nesting of a record being transcoded: records
// are two levels deep; anything deeper is not a record.
const maxRecordDepth = 16

// AppendShard appends the msgpack encoding of one shard to dst: the
// entries (all of one package name, in any order) under "packages"
// (.tar.bz2) and "packages.conda" (.conda), each map sorted by file name,
// and an empty "removed". Records must be JSON objects as Record makes
// them; their sha256 and md5 become bytes (CEP-16).
func AppendShard(dst []byte, entries []Entry) ([]byte, error) {
	if !slices.IsSortedFunc(entries, compareEntries) {
		entries = slices.Clone(entries)
		slices.SortFunc(entries, compareEntries)
	}
	var tars, condas int
	for i, e := range entries {
		f, ok := entryFormat(e.Filename)
		if !ok {
			return dst, gatehouse.Errorf(gatehouse.EINVALID, "The file name %s is not a conda package file name.", conda.Quote(e.Filename))
		}
		if i > 0 && entries[i-1].Filename == e.Filename {
			return dst, gatehouse.Errorf(gatehouse.EINVALID, "The file %s appears twice in one shard.", conda.Quote(e.Filename))
		}
		if f == conda.Conda {
			condas++
		} else {
			tars++
		}
	}
	dst = msgp.AppendMapHeader(dst, 3)
	var err error
	for _, sec := range [...]struct {
		key string
		f   conda.Format
		n   int
	}{{"packages", conda.TarBz2, tars}, {"packages.conda", conda.Conda, condas}} {
		dst = msgp.AppendString(dst, sec.key)
		dst = msgp.AppendMapHeader(dst, uint32(sec.n))
		for _, e := range entries {
			if f, _ := entryFormat(e.Filename); f != sec.f {
				continue
			}
			dst = msgp.AppendString(dst, e.Filename)
			if dst, err = AppendShardRecord(dst, e.Record); err != nil {
				return dst, err
			}
		}
	}
	dst = msgp.AppendString(dst, "removed")
	dst = msgp.AppendArrayHeader(dst, 0)
	return dst, nil
}

// AppendShardRecord appends a JSON record (an object) as msgpack, with
// the top-level "sha256" and "md5" strings as raw bytes when they are hex
// of the right length, and object keys sorted. Numbers that are integers
// become msgpack integers, others float64. Invalid JSON is EINVALID.
func AppendShardRecord(dst []byte, record []byte) ([]byte, error) {
	t := transcoder{in: record}
	t.skipSpace()
	if t.pos >= len(t.in) || t.in[t.pos] != '{' {
		return dst, gatehouse.Errorf(gatehouse.EINVALID, "A repodata record must be a JSON object.")
	}
	out, err := t.value(dst, 0, true)
	if err != nil {
		return dst, err
	}
	t.skipSpace()
	if t.pos != len(t.in) {
		return dst, gatehouse.Errorf(gatehouse.EINVALID, "A repodata record has data after its end.")
	}
	return out, nil
}

// transcoder reads JSON and writes msgpack, one value at a time.
type transcoder struct {
	in  []byte
	pos int
}

func (t *transcoder) bad(what string) error {
	return gatehouse.Errorf(gatehouse.EINVALID, "A repodata record is not valid JSON (%s at byte %d).", what, t.pos)
}

func (t *transcoder) skipSpace() {
	for t.pos < len(t.in) {
		switch t.in[t.pos] {
		case ' ', '\t', '\n', '\r':
			t.pos++
		default:
			return
		}
	}
}

// value transcodes the value at pos. top says it is the record itself,
// whose digests become bytes.
func (t *transcoder) value(dst []byte, depth int, top bool) ([]byte, error) {
	if depth > maxRecordDepth {
		return dst, t.bad("nesting too deep")
	}
	t.skipSpace()
	if t.pos >= len(t.in) {
		return dst, t.bad("unexpected end")
	}
	switch c := t.in[t.pos]; {
	case c == '{':
		return t.object(dst, depth, top)
	case c == '[':
		return t.array(dst, depth)
	case c == '"':
		s, err := t.str()
		if err != nil {
			return dst, err
		}
		return msgp.AppendString(dst, s), nil
	case c == 't' && bytes.HasPrefix(t.in[t.pos:], []byte("true")):
		t.pos += 4
		return msgp.AppendBool(dst, true), nil
	case c == 'f' && bytes.HasPrefix(t.in[t.pos:], []byte("false")):
		t.pos += 5
		return msgp.AppendBool(dst, false), nil
	case c == 'n' && bytes.HasPrefix(t.in[t.pos:], []byte("null")):
		t.pos += 4
		return msgp.AppendNil(dst), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return t.number(dst)
	}
	return dst, t.bad("unexpected character")
}

type member struct {
	key string
	val []byte
}

func (t *transcoder) object(dst []byte, depth int, top bool) ([]byte, error) {
	t.pos++ // {
	var members []member
	var scratch []byte
	for {
		t.skipSpace()
		if t.pos < len(t.in) && t.in[t.pos] == '}' && len(members) == 0 {
			t.pos++
			break
		}
		if t.pos >= len(t.in) || t.in[t.pos] != '"' {
			return dst, t.bad("expected a key")
		}
		key, err := t.str()
		if err != nil {
			return dst, err
		}
		t.skipSpace()
		if t.pos >= len(t.in) || t.in[t.pos] != ':' {
			return dst, t.bad("expected a colon")
		}
		t.pos++
		start := len(scratch)
		if top && (key == "sha256" || key == "md5") {
			scratch, err = t.digest(scratch, depth, key)
		} else {
			scratch, err = t.value(scratch, depth+1, false)
		}
		if err != nil {
			return dst, err
		}
		members = append(members, member{key, scratch[start:len(scratch):len(scratch)]})
		if done, err := t.after('}'); err != nil {
			return dst, err
		} else if done {
			break
		}
	}
	slices.SortStableFunc(members, func(a, b member) int { return compareStrings(a.key, b.key) })
	for i := 1; i < len(members); i++ {
		if members[i].key == members[i-1].key {
			return dst, gatehouse.Errorf(gatehouse.EINVALID, "A repodata record has the key %s twice.", conda.Quote(members[i].key))
		}
	}
	dst = msgp.AppendMapHeader(dst, uint32(len(members)))
	for _, m := range members {
		dst = msgp.AppendString(dst, m.key)
		dst = append(dst, m.val...)
	}
	return dst, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// digest writes a sha256 or md5 value: lowercase hex of the right length
// becomes bytes; anything else is kept as it is (a client will refuse it,
// as it would in repodata.json).
func (t *transcoder) digest(dst []byte, depth int, key string) ([]byte, error) {
	save := t.pos
	t.skipSpace()
	if t.pos < len(t.in) && t.in[t.pos] == '"' {
		s, err := t.str()
		if err != nil {
			return dst, err
		}
		want := 64
		if key == "md5" {
			want = 32
		}
		if len(s) == want && conda.IsLowerHex(s, want) {
			b, _ := hex.DecodeString(s)
			return msgp.AppendBytes(dst, b), nil
		}
	}
	t.pos = save
	return t.value(dst, depth+1, false)
}

func (t *transcoder) array(dst []byte, depth int) ([]byte, error) {
	t.pos++ // [
	var scratch []byte
	n := 0
	for {
		t.skipSpace()
		if t.pos < len(t.in) && t.in[t.pos] == ']' && n == 0 {
			t.pos++
			break
		}
		var err error
		if scratch, err = t.value(scratch, depth+1, false); err != nil {
			return dst, err
		}
		n++
		if done, err := t.after(']'); err != nil {
			return dst, err
		} else if done {
			break
		}
	}
	dst = msgp.AppendArrayHeader(dst, uint32(n))
	return append(dst, scratch...), nil
}

// after reads what follows a member or element: a comma (false: another
// comes) or the closing byte (true), past any white space.
func (t *transcoder) after(closing byte) (done bool, err error) {
	t.skipSpace()
	if t.pos >= len(t.in) {
		return false, t.bad("unexpected end")
	}
	switch t.in[t.pos] {
	case ',':
		t.pos++
		return false, nil
	case closing:
		t.pos++
		return true, nil
	}
	return false, t.bad("expected a comma")
}

// str reads a JSON string; escapes are decoded by encoding/json, which
// also replaces invalid UTF-8 the way it does everywhere else.
func (t *transcoder) str() (string, error) {
	start := t.pos
	t.pos++ // "
	escaped := false
	for t.pos < len(t.in) {
		c := t.in[t.pos]
		switch {
		case c == '\\':
			escaped = true
			t.pos += 2
			continue
		case c == '"':
			t.pos++
			raw := t.in[start:t.pos]
			if !escaped {
				inner := raw[1 : len(raw)-1]
				if utf8.Valid(inner) && !hasControl(inner) {
					return string(inner), nil
				}
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", t.bad("bad string")
			}
			return s, nil
		}
		t.pos++
	}
	return "", t.bad("unterminated string")
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func (t *transcoder) number(dst []byte) ([]byte, error) {
	start := t.pos
	float := false
	for t.pos < len(t.in) {
		c := t.in[t.pos]
		if c >= '0' && c <= '9' || c == '-' || c == '+' {
			t.pos++
			continue
		}
		if c == '.' || c == 'e' || c == 'E' {
			float = true
			t.pos++
			continue
		}
		break
	}
	lit := t.in[start:t.pos]
	if !json.Valid(lit) {
		return dst, t.bad("bad number")
	}
	if !float {
		if n, err := strconv.ParseInt(string(lit), 10, 64); err == nil {
			return msgp.AppendInt64(dst, n), nil
		}
		if n, err := strconv.ParseUint(string(lit), 10, 64); err == nil {
			return msgp.AppendUint64(dst, n), nil
		}
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return dst, t.bad("number out of range")
	}
	return msgp.AppendFloat64(dst, f), nil
}

// ShardIndexInfo is the "info" of a shard index. BaseURL and ShardsBaseURL
// are relative to the index's own URL (<channel>/<subdir>/), so a key in
// the channel URL (/t/<key>/) carries over to packages and shards.
type ShardIndexInfo struct {
	Subdir        string
	BaseURL       string
	ShardsBaseURL string
	CreatedAt     time.Time
}

// ShardRef is one entry of a shard index: a package name and the sha256 of
// its shard (of the compressed file clients download).
type ShardRef struct {
	Name string
	Hash [32]byte
}

// AppendShardIndex appends the msgpack of a shard index to dst:
// {"info": {...}, "shards": {name: sha256 bytes}, "version": 1}, keys
// sorted; refs must be sorted by name without repeats.
func AppendShardIndex(dst []byte, info ShardIndexInfo, refs []ShardRef) ([]byte, error) {
	if !condaname.ValidSubdir(info.Subdir) {
		return dst, gatehouse.FieldErrorf("subdir", "The subdir %s is not valid.", conda.Quote(info.Subdir))
	}
	for i := 1; i < len(refs); i++ {
		if refs[i-1].Name >= refs[i].Name {
			return dst, gatehouse.Errorf(gatehouse.EINTERNAL, "Shard index entries must be sorted by name without repeats.")
		}
	}
	dst = msgp.AppendMapHeader(dst, 3)
	dst = msgp.AppendString(dst, "info")
	n := uint32(3)
	if !info.CreatedAt.IsZero() {
		n++
	}
	dst = msgp.AppendMapHeader(dst, n)
	dst = msgp.AppendString(dst, "base_url")
	dst = msgp.AppendString(dst, info.BaseURL)
	if !info.CreatedAt.IsZero() {
		dst = msgp.AppendString(dst, "created_at")
		dst = msgp.AppendString(dst, info.CreatedAt.UTC().Format(time.RFC3339))
	}
	dst = msgp.AppendString(dst, "shards_base_url")
	dst = msgp.AppendString(dst, info.ShardsBaseURL)
	dst = msgp.AppendString(dst, "subdir")
	dst = msgp.AppendString(dst, info.Subdir)
	dst = msgp.AppendString(dst, "shards")
	dst = msgp.AppendMapHeader(dst, uint32(len(refs)))
	for _, r := range refs {
		dst = msgp.AppendString(dst, r.Name)
		dst = msgp.AppendBytes(dst, r.Hash[:])
	}
	dst = msgp.AppendString(dst, "version")
	dst = msgp.AppendInt(dst, 1)
	return dst, nil
}
