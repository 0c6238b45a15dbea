package credstore

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// maxHostLen bounds a host name (RFC 1035: 253 characters in text form).
const maxHostLen = 253

// DomainKey turns what a person typed after --at into the key entries are
// stored under: "host" or "host:port", host in lower case, default ports
// (80 for http, 443 for https and for input without a scheme) dropped.
//
// It accepts "host", "host:port", "https://host", "http://host:8080/path",
// IPv6 literals ("[::1]:8443") and international names (stored as
// punycode, the form that goes on the wire). Paths, queries and user info
// are ignored: keys are per host, as anaconda-auth's conda plugin keys
// them by the URL's network location.
func DomainKey(serverURL string) (string, error) {
	s := strings.TrimSpace(serverURL)
	if s == "" {
		return "", errors.New("the server address is empty: give a host name such as packages.example.com")
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("the server address %q is not valid UTF-8", s)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return "", fmt.Errorf("the server address %q contains a space or control character", serverURL)
		}
	}

	scheme := "https"
	rest := s
	if i := strings.Index(s, "://"); i >= 0 {
		scheme = strings.ToLower(s[:i])
		rest = s[i+3:]
		if scheme != "http" && scheme != "https" {
			return "", fmt.Errorf("the server address %q uses %q: only http:// and https:// are supported", serverURL, scheme)
		}
	} else if addr, err := netip.ParseAddr(s); err == nil && addr.Is6() && addr.Zone() == "" {
		// A bare IPv6 literal such as ::1 has colons that are not a port.
		return formatAddr(addr, ""), nil
	}

	// Keep only the authority: cut at the first path, query or fragment.
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	host, port, bracketed, err := splitAuthority(rest)
	if err != nil {
		return "", fmt.Errorf("the server address %q %w", serverURL, err)
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" {
			return "", fmt.Errorf("the server address %q has an invalid port %q (use 1-65535)", serverURL, port)
		}
		port = strconv.Itoa(n)
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			port = ""
		}
	}

	if bracketed {
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", fmt.Errorf("the server address %q has an invalid IPv6 literal (zones such as %%eth0 are not supported)", serverURL)
		}
		return formatAddr(addr, port), nil
	}

	host, err = normalizeHostName(host)
	if err != nil {
		return "", fmt.Errorf("the server address %q: %w", serverURL, err)
	}
	if port != "" {
		return host + ":" + port, nil
	}
	return host, nil
}

// splitAuthority splits "host", "host:port", "[v6]" or "[v6]:port".
func splitAuthority(a string) (host, port string, bracketed bool, err error) {
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", false, errors.New("has an IPv6 literal without its closing ']'")
		}
		host, rest := a[1:end], a[end+1:]
		switch {
		case rest == "":
		case rest == ":":
			return "", "", false, errors.New("ends with ':' but has no port")
		case rest[0] == ':':
			port = rest[1:]
		default:
			return "", "", false, fmt.Errorf("has %q after the IPv6 literal", rest)
		}
		return host, port, true, nil
	}
	host, port, found := strings.Cut(a, ":")
	if host == "" {
		return "", "", false, errors.New("has no host: give a host name such as packages.example.com")
	}
	if found && port == "" {
		return "", "", false, errors.New("ends with ':' but has no port")
	}
	if strings.Contains(port, ":") {
		return "", "", false, errors.New("has more than one ':' (write an IPv6 address in brackets: [::1]:8443)")
	}
	return host, port, false, nil
}

func formatAddr(addr netip.Addr, port string) string {
	s := "[" + addr.String() + "]"
	if port != "" {
		s += ":" + port
	}
	return s
}

// normalizeHostName lower-cases a DNS name or IPv4 literal, converts an
// international name to punycode and rejects characters no host has.
// Underscores are allowed: Docker Compose service names use them.
func normalizeHostName(host string) (string, error) {
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return "", errors.New("the host name is empty")
	}
	ascii := true
	for i := 0; i < len(host); i++ {
		if host[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		converted, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return "", fmt.Errorf("the host name %q is not a valid international domain name", host)
		}
		host = converted
	}
	host = strings.ToLower(host)
	if len(host) > maxHostLen {
		return "", fmt.Errorf("the host name is longer than %d characters", maxHostLen)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" {
			return "", fmt.Errorf("the host name %q has an empty label (two dots in a row)", host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("the host name %q contains %q, which no host name has", host, c)
			}
		}
	}
	return host, nil
}
