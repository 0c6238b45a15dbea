package apikey

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// JWT-shaped keys exist for the official anaconda-auth client, which
// decodes the API key it stores as a JWT (reading "exp", without checking
// a signature) and whose companion anaconda-anon-usage reads "sub" as a
// UUID. Such a key is
//
//	base64url(header) "." base64url(claims) "." gk-<ordinary key>
//
// The header is {"alg":"none","typ":"JWT"}: nothing is signed. The third
// segment, where a JWT keeps its signature, is an ordinary Gatehouse key
// (256 random bits and a checksum, itself valid base64url), so secret
// scanners find it (Pattern) and typos are rejected without a database
// hit. The claims are informative only and never trusted: the server
// stores the SHA-256 of the whole token (Hash), so a token whose claims
// were edited is an unknown key.
//
// conda's /t/<token>/ syntax cannot carry these keys (its token pattern is
// [a-zA-Z0-9-]*, and JWTs hold '.' and '_'); they are for the
// Authorization header and HTTP Basic.

// MaxJWTLen bounds a JWT-shaped key; longer input is refused unread.
const MaxJWTLen = 1024

// jwtHeader is the fixed first segment.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))

// ErrMalformedJWT is CheckJWT's answer for anything not shaped like a
// JWT-shaped key. Like the other errors, it never contains the key.
var ErrMalformedJWT = errors.New("this is not a Gatehouse API key: a key in JWT form has three parts separated by dots, the last one a gk- key; copy the whole key again, or log in again")

// Claims are what a JWT-shaped key tells its holder.
type Claims struct {
	// Subject is a stable UUID of the key's owner (see SubjectUUID).
	Subject string
	// Expires is the key's expiry (claim "exp", whole seconds).
	Expires time.Time
	// IssuedAt is when the key was created (claim "iat").
	IssuedAt time.Time
	// Issuer is the server's URL (claim "iss"), "" to leave it out.
	Issuer string
	// Name is the owner's user name (claim "name"), "" to leave it out.
	Name string
}

// GenerateJWT returns a new JWT-shaped key with the claims c, its secret
// made from crypto/rand.
func GenerateJWT(c Claims) (string, error) {
	key, err := Generate()
	if err != nil {
		return "", err
	}
	return wrapJWT(key, c)
}

// GenerateJWTFrom is GenerateJWT reading the random bytes from r.
func GenerateJWTFrom(r io.Reader, c Claims) (string, error) {
	key, err := GenerateFrom(r)
	if err != nil {
		return "", err
	}
	return wrapJWT(key, c)
}

func wrapJWT(key string, c Claims) (string, error) {
	if c.Subject == "" || c.Expires.IsZero() {
		return "", errors.New("apikey: a JWT-shaped key needs a subject and an expiry")
	}
	claims := map[string]any{"sub": c.Subject, "exp": c.Expires.Unix()}
	if !c.IssuedAt.IsZero() {
		claims["iat"] = c.IssuedAt.Unix()
	}
	if c.Issuer != "" {
		claims["iss"] = c.Issuer
	}
	if c.Name != "" {
		claims["name"] = c.Name
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("apikey: encoding claims: %w", err)
	}
	s := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + key
	if len(s) > MaxJWTLen {
		return "", fmt.Errorf("apikey: the claims make the key longer than %d bytes", MaxJWTLen)
	}
	return s, nil
}

// IsJWT reports whether s is meant as a JWT-shaped key (it has a dot,
// which ordinary keys never have). Use CheckJWT to validate it.
func IsJWT(s string) bool { return strings.IndexByte(s, '.') >= 0 }

// CheckJWT reports whether s has the shape of a JWT-shaped key, without a
// database: at most MaxJWTLen bytes, the fixed header, a claims segment
// of base64url characters, and a last segment that passes Check. It does
// not decode the claims: they are never trusted. It returns
// ErrMalformedJWT, or Check's error for the last segment.
func CheckJWT(s string) error {
	if len(s) > MaxJWTLen || !strings.HasPrefix(s, jwtHeader+".") {
		return ErrMalformedJWT
	}
	rest := s[len(jwtHeader)+1:]
	dot := strings.IndexByte(rest, '.')
	if dot <= 0 {
		return ErrMalformedJWT
	}
	for i := 0; i < dot; i++ {
		if !isBase64URL(rest[i]) {
			return ErrMalformedJWT
		}
	}
	return Check(rest[dot+1:])
}

// CheckAny accepts an ordinary key (Check) or a JWT-shaped one (CheckJWT).
func CheckAny(s string) error {
	if IsJWT(s) {
		return CheckJWT(s)
	}
	return Check(s)
}

// HintAny is Hint for either form: a JWT-shaped key is hinted by the
// ordinary key in its last segment.
func HintAny(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return Hint(s[i+1:])
	}
	return Hint(s)
}

// ParseClaims decodes the claims of a JWT-shaped key, for display and
// tests. The result is what the key says about itself, not a verified
// fact.
func ParseClaims(s string) (Claims, error) {
	if err := CheckJWT(s); err != nil {
		return Claims{}, err
	}
	seg := strings.Split(s, ".")[1]
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return Claims{}, ErrMalformedJWT
	}
	var m struct {
		Sub  string `json:"sub"`
		Exp  int64  `json:"exp"`
		Iat  int64  `json:"iat"`
		Iss  string `json:"iss"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return Claims{}, ErrMalformedJWT
	}
	c := Claims{Subject: m.Sub, Issuer: m.Iss, Name: m.Name}
	if m.Exp != 0 {
		c.Expires = time.Unix(m.Exp, 0).UTC()
	}
	if m.Iat != 0 {
		c.IssuedAt = time.Unix(m.Iat, 0).UTC()
	}
	return c, nil
}

func isBase64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// subjectNamespace is the name-based UUID namespace of Gatehouse users.
var subjectNamespace = [16]byte{0x6b, 0x1f, 0x4e, 0x2a, 0x93, 0x0c, 0x4d, 0x57, 0x8a, 0x61, 0x3e, 0x0b, 0x52, 0xd4, 0x17, 0xc9}

// SubjectUUID returns the "sub" of a user's JWT-shaped keys: a name-based
// UUID (RFC 9562 version 5) of the user's ID and creation time, so it is
// stable for the account and differs for an account that later reuses an
// ID. It reveals nothing a key does not already identify.
func SubjectUUID(userID int64, created time.Time) string {
	h := sha1.New()
	h.Write(subjectNamespace[:])
	h.Write([]byte("user:" + strconv.FormatInt(userID, 10) + ":" + strconv.FormatInt(created.Unix(), 10)))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[b>>4], hexd[b&0xf])
	}
	return string(out)
}
