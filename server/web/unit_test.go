package web

import (
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// webStart is the tests' "now": a moment late in a UTC day, so that "end
// of the chosen day" and "a year from now" differ.
var webStart = time.Date(2026, 3, 10, 22, 30, 15, 0, time.UTC)

func TestKeyExpiryBounds(t *testing.T) {
	// In a zone far from UTC the dates are still UTC dates.
	tokyo := time.FixedZone("JST", 9*3600)
	now := time.Date(2026, 3, 11, 7, 0, 0, 0, tokyo) // 2026-03-10 22:00 UTC
	first, last := customDateBounds(now, gatehouse.MaxKeyLifetime)
	if first.Format(time.DateOnly) != "2026-03-11" || last.Format(time.DateOnly) != "2027-03-10" {
		t.Errorf("bounds = %v, %v", first, last)
	}
	got, err := keyExpiry(now, "custom", "2026-03-11", gatehouse.MaxKeyLifetime)
	if err != nil || !got.Equal(time.Date(2026, 3, 11, 23, 59, 59, 0, time.UTC)) || got.Location() != time.UTC {
		t.Errorf("keyExpiry = %v, %v", got, err)
	}
	got, err = keyExpiry(now.Add(1500*time.Millisecond), "7", "", gatehouse.MaxKeyLifetime)
	if err != nil || got.Nanosecond() != 0 {
		t.Errorf("presets keep whole seconds: %v, %v", got, err)
	}
}

func FuzzKeyExpiry(f *testing.F) {
	for _, s := range []string{"2026-04-01", "2027-03-10", "0000-01-01", "9999-12-31", "2026-02-30", "", "2026-3-1", "+002026-01-01"} {
		f.Add("custom", s)
	}
	f.Add("7", "")
	f.Add("365", "x")
	f.Fuzz(func(t *testing.T, choice, custom string) {
		got, err := keyExpiry(webStart, choice, custom, gatehouse.MaxKeyLifetime)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("error code %q", gatehouse.ErrorCode(err))
			}
			return
		}
		// Whatever was typed, an accepted expiry passes the domain rule.
		if err := gatehouse.ValidateKeyExpiry(webStart, got); err != nil {
			t.Fatalf("keyExpiry(%q, %q, gatehouse.MaxKeyLifetime) = %v, which the domain refuses: %v", choice, custom, got, err)
		}
	})
}

func TestLoginAtMatchesHowTheCLIReadsIt(t *testing.T) {
	for public, want := range map[string]string{
		"https://packages.example.com":      "packages.example.com",
		"https://packages.example.com:8443": "packages.example.com:8443",
		"http://127.0.0.1:8080":             "127.0.0.1:8080",
		"http://localhost:8080/":            "localhost:8080",
		"http://gatehouse.test":             "http://gatehouse.test",
		"https://example.com/conda":         "https://example.com/conda",
	} {
		t.Run(public+" is reached with --at "+want, func(t *testing.T) {
			u, _ := url.Parse(public)
			s := &Pages{cfg: Config{PublicURL: u}}
			if got := s.loginAt(); got != want {
				t.Errorf("loginAt() = %q", got)
			}
		})
	}
}
