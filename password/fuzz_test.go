package password

import (
	"errors"
	"testing"
)

// FuzzVerify feeds Verify stored hashes that may be corrupt or planted.
// Verify must never panic, must report every unreadable hash as
// ErrMalformed, and must never accept a password for a malformed hash.
func FuzzVerify(f *testing.F) {
	for _, v := range referenceVectors {
		f.Add(v.encoded, v.pw)
	}
	for _, m := range malformedHashes {
		f.Add(m.encoded, "correct horse battery staple")
	}
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$$", "")
	f.Add("$$$$$", "\xff")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		p, _, _, err := decode(encoded)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode error %v is not ErrMalformed", err)
			}
			if ok, verr := Verify(encoded, pw); ok || !errors.Is(verr, ErrMalformed) {
				t.Fatalf("Verify = %v, %v for a hash decode refuses (%v)", ok, verr, err)
			}
			if !NeedsRehash(encoded) {
				t.Fatal("a malformed hash does not need rehashing")
			}
			return
		}
		if err := p.validate(); err != nil {
			t.Fatalf("decode accepted parameters validate refuses: %v", err)
		}
		// Well-formed but costly inputs are legal; hashing them at fuzzing
		// speed would only measure argon2.
		if p.MemoryKiB > 64*1024 || p.Time > 4 {
			return
		}
		if _, err := Verify(encoded, pw); err != nil {
			t.Fatalf("Verify of a well-formed hash failed: %v", err)
		}
	})
}
