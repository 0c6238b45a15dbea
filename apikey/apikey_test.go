package apikey

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// counting is a deterministic stand-in for crypto/rand: 0, 1, 2, ...
func counting(start byte) *bytes.Reader {
	var b [randomBytes]byte
	for i := range b {
		b[i] = start + byte(i)
	}
	return bytes.NewReader(b[:])
}

func mustGenerate(t testing.TB) string {
	t.Helper()
	key, err := Generate()
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return key
}

// decodeBody turns a key's body back into the 32 bytes it was made from,
// with math/big, independently of encodeBody.
func decodeBody(t testing.TB, key string) [randomBytes]byte {
	t.Helper()
	n := new(big.Int)
	for i := len(Prefix); i < sumStart; i++ {
		d := strings.IndexByte(Alphabet, key[i])
		if d < 0 {
			t.Fatalf("body char %d is not base62", i)
		}
		n.Mul(n, big.NewInt(62))
		n.Add(n, big.NewInt(int64(d)))
	}
	if n.BitLen() > 8*randomBytes {
		t.Fatalf("body holds %d bits, more than %d", n.BitLen(), 8*randomBytes)
	}
	var out [randomBytes]byte
	n.FillBytes(out[:])
	return out
}

func TestGenerateFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		key := mustGenerate(t)
		if len(key) != Len || Len != 52 {
			t.Fatalf("key is %d bytes, Len is %d; want 52", len(key), Len)
		}
		if !strings.HasPrefix(key, Prefix) {
			t.Fatalf("key does not start with %q", Prefix)
		}
		for i := len(Prefix); i < len(key); i++ {
			if !strings.ContainsRune(Alphabet, rune(key[i])) {
				t.Fatalf("char %d (%q) is outside [0-9A-Za-z]", i, key[i])
			}
		}
		if err := Check(key); err != nil {
			t.Fatalf("Check(generated key) = %v", err)
		}
		if seen[key] {
			t.Fatal("Generate returned the same key twice")
		}
		seen[key] = true
	}
}

func TestGenerateFromRoundTrip(t *testing.T) {
	cases := []struct {
		name   string
		random [randomBytes]byte
	}{
		{name: "all zero bytes pad the body with zeros"},
		{name: "all 0xff bytes give the largest body", random: [randomBytes]byte(bytes.Repeat([]byte{0xff}, randomBytes))},
		{name: "a leading 0x01 still fits", random: [randomBytes]byte(append([]byte{1}, make([]byte, randomBytes-1)...))},
		{name: "counting bytes survive", random: func() (b [randomBytes]byte) {
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, err := GenerateFrom(bytes.NewReader(tc.random[:]))
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(key); err != nil {
				t.Fatalf("Check = %v", err)
			}
			if got := decodeBody(t, key); got != tc.random {
				t.Errorf("body decodes to %x, want %x", got, tc.random)
			}
			sum := crc32.ChecksumIEEE([]byte(key[:sumStart]))
			if got := decodeDigits(t, key[sumStart:]); got != uint64(sum) {
				t.Errorf("checksum digits hold %d, want CRC-32 %d", got, sum)
			}
		})
	}
	t.Run("the zero key is all '0' digits", func(t *testing.T) {
		key, _ := GenerateFrom(bytes.NewReader(make([]byte, randomBytes)))
		if body := key[len(Prefix):sumStart]; body != strings.Repeat("0", bodyLen) {
			t.Errorf("body = %q", body)
		}
	})
	t.Run("all random values fit in the body", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for range 2000 {
			var b [randomBytes]byte
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			key, err := GenerateFrom(bytes.NewReader(b[:]))
			if err != nil {
				t.Fatal(err)
			}
			if decodeBody(t, key) != b || Check(key) != nil {
				t.Fatalf("random bytes %x did not round-trip", b)
			}
		}
	})
}

// badChecksum returns key with its last checksum digit changed to another
// base62 digit.
func badChecksum(key string) string {
	c := byte('0')
	if key[Len-1] == c {
		c = '1'
	}
	return key[:Len-1] + string([]byte{c})
}

func decodeDigits(t testing.TB, s string) uint64 {
	t.Helper()
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*62 + uint64(strings.IndexByte(Alphabet, s[i]))
	}
	return v
}

// goldenKey was computed from the bytes 0x00..0x1f by an independent Python
// implementation (int.from_bytes, base62, zlib.crc32). If this test fails, the
// format changed and every key already issued would fail Check.
const goldenKey = "gk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf0cZWXt"

func TestFormatIsStable(t *testing.T) {
	key, err := GenerateFrom(counting(0))
	if err != nil {
		t.Fatal(err)
	}
	if key != goldenKey {
		t.Errorf("GenerateFrom(0x00..0x1f) = %q, want %q", key, goldenKey)
	}
	if err := Check(goldenKey); err != nil {
		t.Errorf("Check(golden key) = %v", err)
	}
}

func TestGenerateFromShortReader(t *testing.T) {
	cases := []struct {
		name string
		r    func() *bytes.Reader
	}{
		{"an empty reader is an error", func() *bytes.Reader { return bytes.NewReader(nil) }},
		{"31 bytes are not enough", func() *bytes.Reader { return bytes.NewReader(make([]byte, 31)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, err := GenerateFrom(tc.r())
			if err == nil || key != "" {
				t.Fatalf("GenerateFrom = %q, %v; want an error and no key", key, err)
			}
		})
	}
	t.Run("a failing reader's error is kept", func(t *testing.T) {
		boom := errors.New("entropy source broke")
		if _, err := GenerateFrom(iotest.ErrReader(boom)); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want it to wrap %v", err, boom)
		}
	})
	t.Run("a reader returning one byte at a time is enough", func(t *testing.T) {
		key, err := GenerateFrom(iotest.OneByteReader(counting(0)))
		if err != nil || key != goldenKey {
			t.Fatalf("GenerateFrom = %q, %v", key, err)
		}
	})
}

// Checklist B1: everything here is refused by Check alone, before any lookup.
func TestCheckRefusesBadInput(t *testing.T) {
	valid := goldenKey
	flipSum := valid[:Len-1] + string(valid[Len-1]^1) // '1' <-> '0' style swap
	overBody := Prefix + strings.Repeat("z", bodyLen)
	sum := checksum(overBody)
	overBody += string(sum[:])

	cases := []struct {
		name string
		key  string
		want error
	}{
		{"an empty string is malformed", "", ErrMalformed},
		{"the prefix alone is malformed", Prefix, ErrMalformed},
		{"an uppercase prefix is malformed", "GK-" + valid[3:], ErrMalformed},
		{"an underscore prefix is malformed", "gk_" + valid[3:], ErrMalformed},
		{"another product's prefix is malformed", "pk-" + valid[3:], ErrMalformed},
		{"a key one character short is malformed", valid[:Len-1], ErrMalformed},
		{"a key with one extra character is malformed", valid + "0", ErrMalformed},
		{"a key with a trailing newline is malformed", valid + "\n", ErrMalformed},
		{"a key with a leading space is malformed", " " + valid[:Len-1], ErrMalformed},
		{"a dash in the body is malformed", valid[:10] + "-" + valid[11:], ErrMalformed},
		{"an underscore in the body is malformed", valid[:10] + "_" + valid[11:], ErrMalformed},
		{"base64 '+' in the body is malformed", valid[:10] + "+" + valid[11:], ErrMalformed},
		{"base64 '/' in the checksum is malformed", valid[:Len-1] + "/", ErrMalformed},
		{"a NUL byte is malformed", valid[:20] + "\x00" + valid[21:], ErrMalformed},
		{"a non-ASCII letter is malformed", valid[:20] + "é" + valid[22:], ErrMalformed},
		{"a body above 2^256 is malformed even with a good checksum", overBody, ErrMalformed},
		{"a 10 KB header is malformed", valid + strings.Repeat("A", 10<<10), ErrMalformed},
		{"a 10 KB string of key characters is malformed", Prefix + strings.Repeat("a", 10<<10), ErrMalformed},
		{"a wrong checksum character fails the checksum", flipSum, ErrChecksum},
		{"a checksum of zeros fails the checksum", valid[:sumStart] + "000000", ErrChecksum},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.key)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

// Every single-character substitution of a valid key is refused: CRC-32
// detects every error burst of up to 32 bits, so this holds by construction,
// and this test keeps it so.
func TestCheckCatchesEverySingleCharacterTypo(t *testing.T) {
	replacements := Alphabet + "-_+/= .\x00\x7f\xff"
	for _, key := range []string{goldenKey, mustGenerate(t), mustGenerate(t)} {
		for i := range Len {
			for j := 0; j < len(replacements); j++ {
				c := replacements[j]
				if c == key[i] {
					continue
				}
				typo := key[:i] + string([]byte{c}) + key[i+1:]
				err := Check(typo)
				if err == nil {
					t.Fatalf("Check accepted the key with char %d changed to %q", i, c)
				}
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrChecksum) {
					t.Fatalf("Check returned %v, not one of the sentinels", err)
				}
			}
		}
	}
}

func TestCheckCatchesSwappedNeighbours(t *testing.T) {
	key := mustGenerate(t)
	for i := len(Prefix); i < Len-1; i++ {
		if key[i] == key[i+1] {
			continue
		}
		b := []byte(key)
		b[i], b[i+1] = b[i+1], b[i]
		if Check(string(b)) == nil {
			t.Fatalf("Check accepted the key with chars %d and %d swapped", i, i+1)
		}
	}
}

// Checklist J5: strings that look like keys (they match Pattern) are refused
// by the checksum at a rate above 99.99%. The expected rate is 1 - 2^-32.
func TestCheckRejectsRandomLookAlikes(t *testing.T) {
	// 200k tries can see a 0.01% failure rate 20 times over; the expected
	// count of accepted look-alikes is 200k/2^32, about 0.00005.
	n := 200_000
	if testing.Short() {
		n = 50_000
	}
	r := rand.New(rand.NewPCG(42, 7))
	b := []byte(Prefix + strings.Repeat("0", Len-len(Prefix)))
	accepted := 0
	for range n {
		for i := len(Prefix); i < Len; i++ {
			b[i] = Alphabet[r.IntN(len(Alphabet))]
		}
		s := string(b)
		if !Pattern.MatchString(s) {
			t.Fatalf("look-alike %q does not match Pattern; the test is broken", s)
		}
		if Check(s) == nil {
			accepted++
		}
	}
	if rate := 1 - float64(accepted)/float64(n); rate <= 0.9999 {
		t.Fatalf("checksum rejected %.6f of %d look-alikes, want > 0.9999", rate, n)
	}
	t.Logf("%d of %d random look-alikes passed the checksum", accepted, n)
}

func TestCheckAndHashDoNotAllocate(t *testing.T) {
	key := mustGenerate(t)
	long := key + strings.Repeat("x", 10<<10)
	badSum := badChecksum(key)
	for name, f := range map[string]func(){
		"Check of a valid key":      func() { _ = Check(key) },
		"Check of a bad checksum":   func() { _ = Check(badSum) },
		"Check of a 10 KB header":   func() { _ = Check(long) },
		"Hash of a valid key":       func() { _ = Hash(key) },
		"Equal of two hashes":       func() { a, b := Hash(key), Hash(key); _ = Equal(a[:], b[:]) },
		"Hash of an empty string":   func() { _ = Hash("") },
		"Check of an empty string":  func() { _ = Check("") },
		"Check of the prefix alone": func() { _ = Check(Prefix) },
	} {
		t.Run(name+" allocates nothing", func(t *testing.T) {
			if n := testing.AllocsPerRun(100, f); n != 0 {
				t.Errorf("%v allocations per run, want 0", n)
			}
		})
	}
}

func TestHash(t *testing.T) {
	key := mustGenerate(t)
	long := strings.Repeat("k", 500)
	for _, s := range []string{key, "", goldenKey, long, key[:10]} {
		if got, want := Hash(s), sha256.Sum256([]byte(s)); got != want {
			t.Errorf("Hash(%d-byte string) = %x, want SHA-256 %x", len(s), got, want)
		}
	}
	if Hash(key) == Hash(goldenKey) {
		t.Error("two different keys hash the same")
	}
}

// Checklist A3, A4: a hint shows the prefix, 4 body characters and the last 4
// characters, and no piece of the key 8 characters or longer.
func TestHint(t *testing.T) {
	key := goldenKey
	want := "gk-003a…ZWXt"
	if got := Hint(key); got != want {
		t.Fatalf("Hint = %q, want %q", got, want)
	}
	for _, key := range []string{goldenKey, mustGenerate(t), mustGenerate(t)} {
		hint := Hint(key)
		for i := 0; i+8 <= len(key); i++ {
			if strings.Contains(hint, key[i:i+8]) {
				t.Fatalf("hint %q contains the 8-character key piece at %d", hint, i)
			}
		}
	}
	for _, bad := range []string{"", Prefix, "gk-short", goldenKey + "x", "xx-" + goldenKey[3:]} {
		if got := Hint(bad); got != "" {
			t.Errorf("Hint(%q) = %q, want \"\" for a string that is not key-shaped", bad, got)
		}
	}
}

func TestEqual(t *testing.T) {
	a, b := Hash(goldenKey), Hash(goldenKey)
	c := Hash(mustGenerate(t))
	cases := []struct {
		name string
		x, y []byte
		want bool
	}{
		{"equal hashes are equal", a[:], b[:], true},
		{"different hashes differ", a[:], c[:], false},
		{"a prefix of a hash differs", a[:], a[:31], false},
		{"two empty slices are equal", nil, []byte{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Equal(tc.x, tc.y); got != tc.want {
				t.Errorf("Equal = %v, want %v", got, tc.want)
			}
		})
	}
}

// Checklist J5: Pattern finds keys where they leak, and not inside longer
// tokens.
func TestPattern(t *testing.T) {
	key := mustGenerate(t)
	matches := []struct{ name, text string }{
		{"a bare key matches", key},
		{"a bearer header matches", "Authorization: Bearer " + key},
		{"a conda /t/ URL matches", "https://gatehouse.example/repo/t/" + key + "/main/linux-64/repodata.json"},
		{"a JSON value matches", `{"api_key": "` + key + `"}`},
		{"an env assignment matches", "ANACONDA_AUTH_API_KEY=" + key + "\n"},
		{"a key at the end of a sentence matches", "the key is " + key + "."},
	}
	for _, tc := range matches {
		t.Run(tc.name, func(t *testing.T) {
			if got := Pattern.FindString(tc.text); got != key {
				t.Errorf("Pattern.FindString = %q, want the key", got)
			}
		})
	}
	nonMatches := []struct{ name, text string }{
		{"a letter before the prefix hides it", "x" + key},
		{"a digit before the prefix hides it", "9" + key},
		{"an underscore before the prefix hides it", "_" + key},
		{"an extra key character after it hides it", key + "a"},
		{"an underscore after it hides it", key + "_"},
		{"one character short is not a key", key[:Len-1]},
		{"an uppercase prefix is not ours", "GK-" + key[3:]},
		{"a dash inside the body is not a key", key[:20] + "-" + key[21:]},
	}
	for _, tc := range nonMatches {
		t.Run(tc.name, func(t *testing.T) {
			if got := Pattern.FindString(tc.text); got != "" {
				t.Errorf("Pattern.FindString = %q, want no match", got)
			}
		})
	}
	t.Run("every key in a log line is found", func(t *testing.T) {
		k2 := mustGenerate(t)
		got := Pattern.FindAllString("a="+key+" b="+k2+" c=gk-short", -1)
		if len(got) != 2 || got[0] != key || got[1] != k2 {
			t.Errorf("FindAllString = %q", got)
		}
	})
	t.Run("generated keys always match", func(t *testing.T) {
		for range 1000 {
			k := mustGenerate(t)
			if !Pattern.MatchString(k) {
				t.Fatalf("Pattern does not match generated key %q", Hint(k))
			}
		}
	})
}

func TestErrorsDoNotEchoTheKey(t *testing.T) {
	for _, key := range []string{goldenKey[:Len-1] + "0", "gk-" + strings.Repeat("a", 49), goldenKey + "/extra"} {
		err := Check(key)
		if err == nil {
			t.Fatalf("Check(%q) = nil", key)
		}
		if strings.Contains(err.Error(), key[3:11]) {
			t.Errorf("error %q contains the key", err)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	key := mustGenerate(b)
	cases := []struct{ name, key string }{
		{"valid", key},
		{"bad checksum", badChecksum(key)},
		{"non-base62", key[:Len-1] + "!"},
		{"10KB header", key + strings.Repeat("A", 10<<10)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Check(tc.key)
			}
		})
	}
}

func BenchmarkHash(b *testing.B) {
	key := mustGenerate(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = Hash(key)
	}
}
