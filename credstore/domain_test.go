package credstore

import (
	"strings"
	"testing"
)

func TestDomainKey(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a bare host is kept", "packages.example.com", "packages.example.com"},
		{"upper case is lowered", "Packages.Example.COM", "packages.example.com"},
		{"a host with a port keeps the port", "localhost:8443", "localhost:8443"},
		{"https with its default port drops the port", "https://example.com:443", "example.com"},
		{"http with its default port drops the port", "http://example.com:80/", "example.com"},
		{"http with another port keeps it and drops the path", "http://host:8080/path", "host:8080"},
		{"https with port 80 keeps it", "https://host:80", "host:80"},
		{"a bare host with 443 drops it", "host:443", "host"},
		{"a bare host with 80 keeps it (https is assumed)", "host:80", "host:80"},
		{"a scheme in upper case is accepted", "HTTPS://Host", "host"},
		{"a path, query and fragment are ignored", "https://h.example/repo/main?x=1#f", "h.example"},
		{"user info is ignored", "https://user:pw@h.example:9000/x", "h.example:9000"},
		{"surrounding space is trimmed", "  h.example \n", "h.example"},
		{"a trailing dot is dropped", "h.example.", "h.example"},
		{"a leading-zero port is normalised", "h:08080", "h:8080"},
		{"an IPv4 literal is kept", "http://10.0.0.1:8080", "10.0.0.1:8080"},
		{"an IPv6 literal is bracketed and compressed", "https://[0:0:0:0:0:0:0:1]:8443/", "[::1]:8443"},
		{"a bare IPv6 literal is bracketed", "::1", "[::1]"},
		{"a bracketed IPv6 on https default port", "[::1]:443", "[::1]"},
		{"an underscore (Compose service names) is accepted", "gatehouse_server:8080", "gatehouse_server:8080"},
		{"an international name becomes punycode", "https://bücher.example", "xn--bcher-kva.example"},
		{"an international name in upper case too", "BÜCHER.example", "xn--bcher-kva.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DomainKey(tt.in)
			if err != nil {
				t.Fatalf("DomainKey(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("DomainKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := DomainKey(got)
			if err != nil || again != got {
				t.Fatalf("DomainKey is not idempotent: %q -> %q, %v", got, again, err)
			}
		})
	}
}

func TestDomainKeyRejects(t *testing.T) {
	tests := []struct {
		name, in, wantInErr string
	}{
		{"empty input", "", "empty"},
		{"only spaces", "   ", "empty"},
		{"another scheme", "ftp://host", "only http:// and https://"},
		{"a port of zero", "host:0", "invalid port"},
		{"a port too large", "host:65536", "invalid port"},
		{"a non-numeric port", "host:http", "invalid port"},
		{"a colon with no port", "host:", "no port"},
		{"a space inside", "my host", "space or control"},
		{"a slash-only path", "https:///path", "no host"},
		{"a signed port", "host:+80", "invalid port"},
		{"two colons without brackets", "a:1:2", "more than one ':'"},
		{"an unclosed IPv6 bracket", "[::1", "closing ']'"},
		{"a percent-encoded host", "ex%41mple.com", "which no host name has"},
		{"two dots in a row", "a..b", "empty label"},
		{"a character no host has", "a!b.example", "which no host name has"},
		{"an IPv6 zone", "[fe80::1%25eth0]", "IPv6"},
		{"a bracketed non-IPv6", "[example.com]", "IPv6"},
		{"a host too long", strings.Repeat("a", 254), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DomainKey(tt.in)
			if err == nil {
				t.Fatalf("DomainKey(%q) = %q, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("DomainKey(%q) error %q does not mention %q", tt.in, err, tt.wantInErr)
			}
		})
	}
}

func FuzzDomainKey(f *testing.F) {
	for _, s := range []string{
		"host", "host:8080", "https://host", "http://host:8080/path", "HTTPS://H:443",
		"[::1]:8443", "::1", "bücher.example", "user@host", "h:", ":80", "//", "http://[::1",
		"http://a b", "a..b", "xn--bcher-kva.example", "[::ffff:1.2.3.4]", "h.example.",
		"http://%41.example", "host:0080",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		key, err := DomainKey(in)
		if err != nil {
			return
		}
		if key == "" || strings.ContainsAny(key, "/?#@ \t\r\n") || key != strings.ToLower(key) {
			t.Fatalf("DomainKey(%q) = %q: not a host[:port] key", in, key)
		}
		again, err := DomainKey(key)
		if err != nil || again != key {
			t.Fatalf("not idempotent: DomainKey(%q) = %q, then %q, %v", in, key, again, err)
		}
	})
}
