package apikey

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzCheck feeds Check outside input (headers, URL segments). Check must
// never panic, must only return its sentinels, and must accept exactly the
// strings GenerateFrom can produce (checklist B1, J5).
func FuzzCheck(f *testing.F) {
	valid, _ := GenerateFrom(bytes.NewReader(make([]byte, randomBytes)))
	for _, seed := range []string{
		goldenKey,
		valid,
		badChecksum(goldenKey),
		"",
		Prefix,
		"gk",
		"GK-" + goldenKey[3:],
		goldenKey[:Len-1],
		goldenKey + "0",
		goldenKey[:20] + "é" + goldenKey[22:],
		Prefix + strings.Repeat("z", Len-len(Prefix)),
		Prefix + strings.Repeat("\xff", Len-len(Prefix)),
		"Bearer " + goldenKey,
		goldenKey + strings.Repeat("A", 10<<10),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Check(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrChecksum) {
				t.Fatalf("Check returned %v, not a sentinel", err)
			}
			return
		}
		if len(s) != Len || !Pattern.MatchString(s) || Hint(s) == "" {
			t.Fatalf("Check accepted %q, which is not key-shaped", s)
		}
		random := decodeBody(t, s)
		if again, _ := GenerateFrom(bytes.NewReader(random[:])); again != s {
			t.Fatalf("Check accepted %q, but its bytes generate %q", s, again)
		}
	})
}
