package web

import (
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/keyrule"
)

// webStart is the tests' "now": a moment late in a UTC day, so that "end
// of the chosen day" and "a year from now" differ.
var webStart = time.Date(2026, 3, 10, 22, 30, 15, 0, time.UTC)

func TestKeyExpiryBounds(t *testing.T) {
	// In a zone far from UTC the dates are still UTC dates.
	tokyo := time.FixedZone("JST", 9*3600)
	now := time.Date(2026, 3, 11, 7, 0, 0, 0, tokyo) // 2026-03-10 22:00 UTC
	first, last := CustomDateBounds(now, gatehouse.MaxKeyLifetime)
	if first.Format(time.DateOnly) != "2026-03-11" || last.Format(time.DateOnly) != "2027-03-10" {
		t.Errorf("bounds = %v, %v", first, last)
	}
	got, err := KeyExpiry(now, "custom", "2026-03-11", gatehouse.MaxKeyLifetime)
	if err != nil || !got.Equal(time.Date(2026, 3, 11, 23, 59, 59, 0, time.UTC)) || got.Location() != time.UTC {
		t.Errorf("KeyExpiry = %v, %v", got, err)
	}
	got, err = KeyExpiry(now.Add(1500*time.Millisecond), "7", "", gatehouse.MaxKeyLifetime)
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
		got, err := KeyExpiry(webStart, choice, custom, gatehouse.MaxKeyLifetime)
		if err != nil {
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("error code %q", gatehouse.ErrorCode(err))
			}
			return
		}
		// Whatever was typed, an accepted expiry passes the domain rule.
		if err := keyrule.ValidateExpiry(webStart, got); err != nil {
			t.Fatalf("KeyExpiry(%q, %q, gatehouse.MaxKeyLifetime) = %v, which the domain refuses: %v", choice, custom, got, err)
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
			if got := s.LoginAt(); got != want {
				t.Errorf("LoginAt() = %q", got)
			}
		})
	}
}

func TestLocalRedirectKeepsSignedInBrowsersOnThisSite(t *testing.T) {
	// checklist E12: targets that decode, or that a browser reads, as
	// another site fall back to the API Keys tab.
	for next, want := range map[string]string{
		"/channels/lab":                    "/channels/lab",
		"/oauth/authorize?client_id=x&a=b": "/oauth/authorize?client_id=x&a=b",
		"/device?user_code=BCDF-GHJK":      "/device?user_code=BCDF-GHJK",
		"":                                 "/settings/keys",
		"https://evil.example/":            "/settings/keys",
		"//evil.example/x":                 "/settings/keys",
		"/\\evil.example/x":                "/settings/keys",
		"/%09/evil.example/x":              "/settings/keys",
		"/\t/evil.example/x":               "/settings/keys",
		"/%0a/evil.example":                "/settings/keys",
		"/%2F/evil.example":                "/settings/keys",
		"/%5Cevil.example":                 "/settings/keys",
		"/ /evil.example":                  "/settings/keys",
		"/\u00a0/evil.example":             "/settings/keys",
		"/\u200b/evil.example":             "/settings/keys",
		"javascript:alert(1)":              "/settings/keys",
		"/%zz":                             "/settings/keys",
	} {
		if got := localRedirect(next); got != want {
			t.Errorf("localRedirect(%q) = %q, want %q", next, got, want)
		}
	}
}

func FuzzLocalRedirect(f *testing.F) {
	for _, s := range []string{"/channels/lab", "//x", "/%09/x", "/\\x", "/%2F%2Fx", "https://x", "/a?b=c#d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := localRedirect(next)
		if got == "/settings/keys" {
			return
		}
		// Whatever passes is resolved by a browser against this site and
		// stays on it.
		base, _ := url.Parse("https://gatehouse.test/login")
		u, err := base.Parse(got)
		if err != nil || u.Host != "gatehouse.test" || u.Scheme != "https" {
			t.Fatalf("localRedirect(%q) = %q, which leaves the site (%v)", next, got, u)
		}
	})
}
