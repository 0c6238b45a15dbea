// Package password hashes and verifies passwords with argon2id, in the PHC
// string format of the reference implementation:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. Passwords are hashed as
// the exact bytes given: no trimming, case folding or Unicode normalization,
// so NFC and NFD spellings of a word are different passwords (checklist E8).
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters and sizes of a hash.
type Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory, in KiB
	Threads   uint8  // lanes (parallelism)
	SaltLen   uint32 // salt length, in bytes
	KeyLen    uint32 // hash length, in bytes
}

// DefaultParams are the parameters Hash uses: the checklist E8 floor (and
// OWASP's first argon2id choice), t=2, m=19 MiB, p=1.
var DefaultParams = Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters, for hashing and verifying alike. The floor is
// checklist E8; the ceilings keep a planted hash from making one sign-in
// cost gigabytes or minutes.
const (
	minTime, maxTime       = 2, 20
	minMemoryKiB           = 19 * 1024
	maxMemoryKiB           = 1 << 20 // 1 GiB
	minThreads, maxThreads = 1, 16
	minSaltLen, maxSaltLen = 16, 64
	minKeyLen, maxKeyLen   = 16, 64

	// maxEncodedLen is far above the longest valid string (~220 bytes), so
	// Verify refuses junk before parsing it.
	maxEncodedLen = 512
)

// ErrMalformed is returned (wrapped, with the reason) by Verify for a stored
// hash it cannot check: not argon2id v19 in PHC form, or with parameters
// outside the allowed bounds. It never holds the password.
var ErrMalformed = errors.New("password: malformed password hash")

var b64 = base64.RawStdEncoding.Strict()

// Hash hashes pw with DefaultParams and a random salt.
func Hash(pw string) (string, error) { return DefaultParams.Hash(pw) }

// Hash hashes pw with p and a random salt. It refuses parameters that Verify
// would refuse, so every hash it makes can be checked.
func (p Params) Hash(pw string) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("password: invalid parameters: %w", err)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches the encoded hash, comparing in constant
// time. It returns an error only when encoded is malformed (ErrMalformed);
// a wrong password is (false, nil).
func Verify(encoded, pw string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters weaker than
// DefaultParams (less time, memory, salt or hash length), or cannot be read
// at all. Call it after a successful Verify and store a new Hash of the
// password if it returns true. Threads are not compared: with memory fixed,
// more lanes change how the work is split, not how much an attacker does.
func NeedsRehash(encoded string) bool {
	p, _, _, err := decode(encoded)
	if err != nil {
		return true
	}
	d := DefaultParams
	return p.Time < d.Time || p.MemoryKiB < d.MemoryKiB || p.SaltLen < d.SaltLen || p.KeyLen < d.KeyLen
}

// dummy is the hash VerifyDummy checks against, made once on first use.
var dummy struct {
	once    sync.Once
	encoded string
}

// VerifyDummy does the work of a Verify against a hash made with
// DefaultParams, and throws the result away. Call it when a sign-in names an
// unknown user, so that it takes as long as a wrong password and response
// times do not tell which usernames exist.
func VerifyDummy(pw string) {
	dummy.once.Do(func() {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret) // never fails since Go 1.24
		var err error
		dummy.encoded, err = Hash(string(secret))
		if err != nil {
			// DefaultParams were changed to something invalid; the floor
			// still costs about what a real hash does.
			dummy.encoded, _ = Params{Time: minTime, MemoryKiB: minMemoryKiB, Threads: minThreads, SaltLen: minSaltLen, KeyLen: 32}.Hash(string(secret))
		}
	})
	_, _ = Verify(dummy.encoded, pw)
}

// validate checks p against the bounds; Hash and Verify share it.
func (p Params) validate() error {
	switch {
	case p.Time < minTime || p.Time > maxTime:
		return fmt.Errorf("time t=%d is outside %d..%d", p.Time, minTime, maxTime)
	case p.MemoryKiB < minMemoryKiB || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("memory m=%d KiB is outside %d..%d", p.MemoryKiB, minMemoryKiB, maxMemoryKiB)
	case p.Threads < minThreads || p.Threads > maxThreads:
		return fmt.Errorf("parallelism p=%d is outside %d..%d", p.Threads, minThreads, maxThreads)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt of %d bytes is outside %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("hash of %d bytes is outside %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// decode parses a PHC argon2id string strictly: fields in the reference
// order, canonical decimal numbers, canonical unpadded base64.
func decode(encoded string) (p Params, salt, key []byte, err error) {
	malformed := func(format string, args ...any) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	if len(encoded) > maxEncodedLen {
		return malformed("longer than %d bytes", maxEncodedLen)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return malformed("not of the form $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return malformed("not an argon2id hash")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return malformed("not argon2 version %d", argon2.Version)
	}
	costs := strings.Split(parts[3], ",")
	if len(costs) != 3 {
		return malformed("parameters are not m=…,t=…,p=…")
	}
	var m, t, threads uint64
	for i, f := range []struct {
		name string
		dst  *uint64
		bits int
	}{{"m", &m, 32}, {"t", &t, 32}, {"p", &threads, 8}} {
		v, ok := strings.CutPrefix(costs[i], f.name+"=")
		if !ok {
			return malformed("parameter %d is not %s=…", i+1, f.name)
		}
		if *f.dst, ok = parseUint(v, f.bits); !ok {
			return malformed("parameter %s is not a number in range", f.name)
		}
	}
	p = Params{Time: uint32(t), MemoryKiB: uint32(m), Threads: uint8(threads)}
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return malformed("salt is not unpadded base64")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return malformed("hash is not unpadded base64")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return malformed("%v", err)
	}
	return p, salt, key, nil
}

// parseUint parses a canonical decimal: digits only, no sign, no leading
// zeros, fitting in bits.
func parseUint(s string, bits int) (uint64, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, bits)
	return v, err == nil
}
