package cli

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/credstore"
)

// FuzzParseServer: whatever a person types after --at either fails or
// gives an http(s) URL with a host, no user info, whose DomainKey works,
// and which parses back to itself.
func FuzzParseServer(f *testing.F) {
	for _, s := range []string{"packages.example.com", "h:8443", "127.0.0.1:8080", "[::1]:80", "::1", "localhost",
		"http://h/p/", "https://u:p@h", "ftp://x", "", "h:", "[::1", "xn--bcher-kva.example", "bücher.example", "h/../x", "http://h:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseServer(s)
		if err != nil {
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("ParseServer(%q) = %v", s, u)
		}
		if _, err := credstore.DomainKey(u.Scheme + "://" + u.Host); err != nil {
			t.Fatalf("ParseServer(%q) = %v, whose DomainKey fails: %v", s, u, err)
		}
		again, err := ParseServer(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("ParseServer(%q) = %v, which parses to %v, %v", s, u, again, err)
		}
	})
}
