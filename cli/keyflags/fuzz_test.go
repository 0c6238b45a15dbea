package keyflags_test

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/cli/keyflags"
)

// FuzzParseExpiry: an accepted --expires is in the future and at most a
// year away.
func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"90d", "12w", "1y", "2027-01-31", "2026-06-01T12:00:00Z", "0d", "999999999999d", "-1w", "y", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := keyflags.ParseExpiry(now, s)
		if err != nil {
			return
		}
		if !got.After(now) || got.Sub(now) > keyflags.MaxLifetime {
			t.Fatalf("ParseExpiry(%q) = %v, not within a year of %v", s, got, now)
		}
	})
}
