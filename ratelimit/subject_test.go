package ratelimit

import (
	"net/netip"
	"testing"
)

func mustAddr(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAddrSubject(t *testing.T) {
	tests := []struct {
		name   string
		addr   string // "" is the zero Addr
		prefix int
		want   string
	}{
		{"an IPv4 address is itself", "192.0.2.1", 64, "192.0.2.1"},
		{"an IPv4-mapped IPv6 address is the IPv4 address", "::ffff:192.0.2.1", 64, "192.0.2.1"},
		{"an IPv4-mapped address is the IPv4 address even with prefix 128", "::ffff:192.0.2.1", 128, "192.0.2.1"},
		{"an IPv6 address is its /64", "2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64"},
		{"a prefix of 0 means the default /64", "2001:db8:1:2:3:4:5:6", 0, "2001:db8:1:2::/64"},
		{"a shorter prefix folds more", "2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::/48"},
		{"prefix 128 means the exact address", "2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6"},
		{"a prefix above 128 means the exact address", "2001:db8::6", 200, "2001:db8::6"},
		{"a zone does not make a new subject", "fe80::1:2:3:4%eth0", 128, "fe80::1:2:3:4"},
		{"the zero Addr is one fixed subject", "", 64, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a netip.Addr
			if tt.addr != "" {
				a = mustAddr(t, tt.addr)
			}
			if got := AddrSubject(a, tt.prefix); got != tt.want {
				t.Fatalf("AddrSubject(%v, %d) = %q, want %q", tt.addr, tt.prefix, got, tt.want)
			}
		})
	}
}

// FuzzAddrSubject checks the folding rules on arbitrary addresses: the
// bits past the prefix never change the subject, the bits within it
// always do, and a mapped IPv4 address is its IPv4 address.
func FuzzAddrSubject(f *testing.F) {
	f.Add([]byte(netip.MustParseAddr("2001:db8::1").AsSlice()), 64, uint8(100))
	f.Add([]byte(netip.MustParseAddr("::ffff:192.0.2.1").AsSlice()), 64, uint8(3))
	f.Add([]byte{192, 0, 2, 1}, 128, uint8(0))
	f.Add([]byte{}, 0, uint8(0))
	f.Fuzz(func(t *testing.T, raw []byte, prefix int, flip uint8) {
		a, ok := netip.AddrFromSlice(raw)
		s := AddrSubject(a, prefix)
		if s == "" {
			t.Fatal("empty subject")
		}
		if !ok {
			if s != invalidAddrSubject {
				t.Fatalf("invalid address gave %q", s)
			}
			return
		}
		if a.Is4In6() && AddrSubject(a.Unmap(), prefix) != s {
			t.Fatalf("%v and %v differ", a, a.Unmap())
		}
		a = a.Unmap()
		bits := a.BitLen() // IPv4 is always exact
		if a.Is6() && prefix > 0 && prefix < 128 {
			bits = prefix
		} else if a.Is6() && prefix <= 0 {
			bits = DefaultIPv6PrefixLen
		}
		pos := int(flip) % a.BitLen()
		b := a.As16()
		off := 0
		if a.Is4() {
			off = 96
		}
		b[(off+pos)/8] ^= 0x80 >> ((off + pos) % 8)
		other := netip.AddrFrom16(b)
		if a.Is4() {
			other = other.Unmap()
		} else if other.Is4In6() {
			return // flipped into the IPv4-mapped range: rightly an IPv4 subject
		}
		same := AddrSubject(other, prefix) == s
		if pos >= bits && !same {
			t.Fatalf("flipping bit %d of %v (prefix %d) changed the subject", pos, a, bits)
		}
		if pos < bits && same {
			t.Fatalf("flipping bit %d of %v (prefix %d) kept the subject %q", pos, a, bits, s)
		}
	})
}
