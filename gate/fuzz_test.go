package gate_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/gate"
)

// FuzzParsePrefix checks that any accepted network is canonical and
// round-trips, and any refusal is an EINVALID error (checklist C6).
func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "2001:db8::1", "0.0.0.0/0", "::/0",
		"10.0.0.0/33", "abc", "10.0.0.1/8", "", "fe80::1%eth0/64", "::ffff:10.0.0.0/104",
		"::ffff:0:0/80", "010.0.0.0/8", "10.0.0.0/-1", "1.2.3.4/032", " 10.0.0.0/8 ", "[::1]/128",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := gate.ParsePrefix(s)
		if err != nil {
			if code := gatehouse.ErrorCode(err); code != gatehouse.EINVALID {
				t.Fatalf("ParsePrefix(%q): code %q, want %q", s, code, gatehouse.EINVALID)
			}
			if gatehouse.ErrorMessage(err) == "" {
				t.Fatalf("ParsePrefix(%q): empty message", s)
			}
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" || p.Addr().Is4In6() && p.Bits() >= 96 {
			t.Fatalf("ParsePrefix(%q) = %v: not canonical", s, p)
		}
		q, err := gate.ParsePrefix(p.String())
		if err != nil || q != p {
			t.Fatalf("ParsePrefix(%q) = %v, but reparsing gives %v, %v", s, p, q, err)
		}
		set := gate.NewSet([]netip.Prefix{p})
		if !set.Contains(p.Addr()) {
			t.Fatalf("the set of %v does not contain its first address", p)
		}
	})
}

// FuzzClientAddr checks the client is always the peer, an entry of the
// header, or unknown; that an untrusted peer's header is never believed; and
// that the result is never a zoned or IPv4-mapped address. Headers are
// separated by newlines in the fuzz input.
func FuzzClientAddr(f *testing.F) {
	for _, c := range [][2]string{
		{"203.0.113.5:5000", "8.8.8.8"},
		{"192.0.2.10:443", "198.51.100.1, 10.1.2.3"},
		{"172.20.0.4:443", "198.51.100.1, 10.1.2.3, 192.0.2.10\n172.20.0.5"},
		{"192.0.2.10:443", "10.1.2.3, garbage"},
		{"192.0.2.10:443", "[2001:db8::7]:5555, ::ffff:10.1.2.3"},
		{"[fe80::1%eth0]:80", "fe80::9%eth1"},
		{"192.0.2.10:443", ""},
		{"192.0.2.10:443", "unknown,,["},
		{"[::ffff:192.0.2.10]:443", "172.20.0.1"},
		{"not-an-ip", "10.0.0.1"},
	} {
		f.Add(c[0], c[1])
	}
	p := gate.NewProxies(prefixes(f, "192.0.2.10/32", "172.20.0.0/16", "2001:db8:ff::/48"))
	trusted := gate.NewSet(prefixes(f, "192.0.2.10/32", "172.20.0.0/16", "2001:db8:ff::/48"))
	f.Fuzz(func(t *testing.T, remote, header string) {
		var xff []string
		if header != "" {
			xff = strings.Split(header, "\n")
		}
		got := p.ClientAddr(remote, xff)
		if !got.IsValid() {
			return
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("ClientAddr(%q, %q) = %v: zone or mapped form kept", remote, xff, got)
		}
		peer := gate.NewProxies(nil).ClientAddr(remote, nil)
		if !peer.IsValid() {
			t.Fatalf("ClientAddr(%q, %q) = %v for a peer that does not parse", remote, xff, got)
		}
		if !trusted.Contains(peer) {
			if got != peer {
				t.Fatalf("ClientAddr(%q, %q) = %v: believed an untrusted peer's header", remote, xff, got)
			}
			return
		}
		if got == peer {
			return
		}
		// Otherwise the client must be one of the header's entries.
		for _, e := range strings.FieldsFunc(header, func(r rune) bool { return r == ',' || r == '\n' }) {
			if a := gate.NewProxies(nil).ClientAddr(strings.TrimSpace(e), nil); a == got {
				return
			}
		}
		t.Fatalf("ClientAddr(%q, %q) = %v, which is neither the peer nor an entry", remote, xff, got)
	})
}
