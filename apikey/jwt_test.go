package apikey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func testClaims() Claims {
	return Claims{Subject: SubjectUUID(42, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), IssuedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Issuer: "https://packages.example.com", Name: "alice"}
}

func TestJWTKeyDecodesAsAnacondaAuthReadsIt(t *testing.T) {
	c := testClaims()
	key, err := GenerateJWTFrom(counting(7), c)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(key, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	var header map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(raw, &header); err != nil || header["typ"] != "JWT" {
		t.Fatalf("header %s: typ must be JWT (anaconda-anon-usage checks it)", raw)
	}
	var claims map[string]any
	raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["exp"] != float64(c.Expires.Unix()) || claims["sub"] != c.Subject {
		t.Fatalf("claims %s", raw)
	}
	// The last segment is an ordinary key, and valid base64url, as a
	// signature segment must be.
	if Check(parts[2]) != nil {
		t.Fatalf("last segment %q is not a key", parts[2])
	}
	if _, err := base64.RawURLEncoding.DecodeString(parts[2]); err != nil {
		t.Fatalf("last segment is not base64url: %v", err)
	}
	if err := CheckJWT(key); err != nil {
		t.Fatalf("CheckJWT: %v", err)
	}
	if err := CheckAny(key); err != nil {
		t.Fatalf("CheckAny: %v", err)
	}
	if got, err := ParseClaims(key); err != nil || got != c {
		t.Fatalf("ParseClaims = %+v, %v; want %+v", got, err, c)
	}
	if HintAny(key) != Hint(parts[2]) {
		t.Fatalf("HintAny = %q", HintAny(key))
	}
	if !Pattern.MatchString(key) {
		t.Fatal("secret scanners must find the key inside a JWT-shaped key")
	}
}

func TestJWTKeyEditedClaimsHashDifferently(t *testing.T) {
	key, _ := GenerateJWTFrom(counting(1), testClaims())
	c := testClaims()
	c.Expires = c.Expires.AddDate(10, 0, 0)
	forged, _ := GenerateJWTFrom(counting(1), c)
	if CheckJWT(forged) != nil {
		t.Fatal("a forged token is still well-formed; it must fail on its hash")
	}
	if Hash(forged) == Hash(key) {
		t.Fatal("editing a claim must change the stored hash")
	}
	inner := key[strings.LastIndexByte(key, '.')+1:]
	if Hash(inner) == Hash(key) {
		t.Fatal("the bare inner key must not hash like the JWT-shaped key")
	}
}

func TestCheckJWTRefusesLookAlikes(t *testing.T) {
	key, _ := GenerateJWTFrom(counting(3), testClaims())
	parts := strings.Split(key, ".")
	if CheckJWT(goldenKey) == nil {
		t.Fatal("CheckJWT accepted an ordinary key")
	}
	for name, s := range map[string]string{
		"empty":                 "",
		"two parts":             parts[0] + "." + parts[1],
		"empty claims":          parts[0] + ".." + parts[2],
		"other header":          base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2],
		"padding in claims":     parts[0] + "." + parts[1] + "==." + parts[2],
		"bad checksum":          parts[0] + "." + parts[1] + "." + badChecksum(parts[2]),
		"four parts":            key + "." + goldenKey,
		"too long":              parts[0] + "." + strings.Repeat("A", MaxJWTLen) + "." + parts[2],
		"space in claims":       parts[0] + "." + parts[1][:5] + " " + parts[1][6:] + "." + parts[2],
		"signature not a key":   parts[0] + "." + parts[1] + ".abc",
		"trailing dot":          key + ".",
		"header only with dots": parts[0] + ".",
	} {
		t.Run(name, func(t *testing.T) {
			if err := CheckAny(s); err == nil {
				t.Fatalf("CheckAny accepted %q", s)
			} else if !errors.Is(err, ErrMalformedJWT) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrChecksum) {
				t.Fatalf("CheckAny returned %v, not a sentinel", err)
			}
		})
	}
}

func TestSubjectUUIDIsStableVersion5(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	a := SubjectUUID(7, created)
	if a != SubjectUUID(7, created.UTC()) {
		t.Fatal("the subject must not depend on the time zone")
	}
	if a == SubjectUUID(8, created) || a == SubjectUUID(7, created.Add(time.Second)) {
		t.Fatal("different accounts must get different subjects")
	}
	if len(a) != 36 || a[14] != '5' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Fatalf("%q is not a version 5 UUID", a)
	}
}

func TestGenerateJWTNeedsSubjectAndExpiry(t *testing.T) {
	if _, err := GenerateJWTFrom(bytes.NewReader(make([]byte, 32)), Claims{Subject: "x"}); err == nil {
		t.Fatal("no expiry accepted")
	}
	if _, err := GenerateJWT(Claims{Expires: time.Now()}); err == nil {
		t.Fatal("no subject accepted")
	}
}
