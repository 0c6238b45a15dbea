package apikey

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
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

// FuzzCheckAny feeds CheckAny, which also accepts JWT-shaped keys (the
// form anaconda-auth decodes), outside input. It must never panic, must
// only return sentinels, and whatever it accepts must be an ordinary key
// or the fixed header, a base64url claims segment and an ordinary key.
func FuzzCheckAny(f *testing.F) {
	jwt, _ := GenerateJWTFrom(bytes.NewReader(make([]byte, randomBytes)), Claims{Subject: SubjectUUID(1, time.Unix(0, 0)), Expires: time.Unix(2e9, 0)})
	for _, seed := range []string{goldenKey, jwt, jwt + ".", "." + jwt, jwt[:len(jwt)-1], strings.Replace(jwt, ".", "..", 1),
		"a.b.c", "..", jwtHeader + "." + "." + goldenKey, jwtHeader + ".e30." + goldenKey, "Bearer " + jwt} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckAny(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrMalformedJWT) {
				t.Fatalf("CheckAny returned %v, not a sentinel", err)
			}
			return
		}
		if !IsJWT(s) {
			if Check(s) != nil {
				t.Fatalf("CheckAny accepted %q, which Check refuses", s)
			}
			return
		}
		parts := strings.Split(s, ".")
		if len(parts) != 3 || parts[0] != jwtHeader || parts[1] == "" || Check(parts[2]) != nil || len(s) > MaxJWTLen {
			t.Fatalf("CheckAny accepted %q, which is not a JWT-shaped key", s)
		}
		if _, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil && len(parts[1])%4 != 1 {
			t.Fatalf("CheckAny accepted claims that are not base64url: %q", parts[1])
		}
		if HintAny(s) == "" {
			t.Fatalf("no hint for accepted key %q", s)
		}
		_, _ = ParseClaims(s) // must not panic
	})
}
