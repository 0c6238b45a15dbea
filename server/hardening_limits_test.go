package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/apikey"
)

func TestGuessesSpreadOverOneIPv6NetworkShareABudget(t *testing.T) {
	// checklist B8: every address of a /64 costs nothing to pick, so the
	// /64 is the subject; another /64 and IPv4 clients are unaffected.
	f := newFixture(t)
	good, _ := f.createKey("admin", "ci", []string{"user"}, time.Hour)
	throttled := -1
	for i := range 200 {
		k, _ := apikey.Generate()
		a := f.do(call{method: "GET", path: "/api/account", auth: bearer(k), remote: fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1)})
		if a.status == http.StatusTooManyRequests {
			throttled = i
			break
		}
	}
	if throttled < 0 || throttled > 30 {
		t.Fatalf("bad keys from 200 addresses of one /64: throttled after %d, want after the budget of 30", throttled)
	}
	for remote, want := range map[string]int{
		"[2001:db8:1:2::ffff]:443": http.StatusTooManyRequests, // same /64, a new address
		"[2001:db8:1:3::1]:443":    http.StatusOK,              // the next /64
		"198.51.100.1:1":           http.StatusOK,
	} {
		if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(good), remote: remote}); a.status != want {
			t.Errorf("a good key from %s: %d, want %d", remote, a.status, want)
		}
	}
}

func TestDeviceLoginsStartedFromOneAddressAreLimited(t *testing.T) {
	// checklist D4: each start is a stored grant; an address cannot make
	// them without limit (300 in a row were accepted before).
	f := newFixture(t)
	start := func(remote string) answer {
		form := url.Values{"client_id": {"gatehouse-cli"}, "scope": {"openid"}}
		return f.do(call{method: "POST", path: "/oauth/device/code", body: form.Encode(), remote: remote,
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}})
	}
	refused := -1
	for i := range 50 {
		if a := start("203.0.113.50:1"); a.status != http.StatusOK {
			if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || !strings.Contains(string(a.body), `"error"`) {
				t.Fatalf("start %d: %d %s, want 429 with Retry-After and an OAuth error", i, a.status, a.body)
			}
			refused = i
			break
		}
	}
	if refused < 0 || refused > 10 {
		t.Fatalf("50 device logins from one address: refused from %d, want from the 11th", refused)
	}
	if a := start("203.0.113.51:1"); a.status != http.StatusOK {
		t.Errorf("another address: %d", a.status)
	}
	f.clock.Advance(time.Minute)
	if a := start("203.0.113.50:1"); a.status != http.StatusOK {
		t.Errorf("a minute later: %d, want one more allowed", a.status)
	}
}
