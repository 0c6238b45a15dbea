package gate_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gate"
)

func prefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestSetContains(t *testing.T) {
	s := gate.NewSet(prefixes(t,
		"10.0.0.0/8",
		"192.168.1.0/24",
		"192.168.2.0/24", // adjacent to the one above: merged
		"172.16.5.4/32",
		"2001:db8:1::/48",
		"fd00::/8",
		"2001:db8:1:2::/64", // inside 2001:db8:1::/48: merged away
	))
	tests := []struct {
		name string
		addr string
		want bool
	}{
		{"the first address of a network is inside", "10.0.0.0", true},
		{"the last address of a network is inside", "10.255.255.255", true},
		{"the address just below a network is outside", "9.255.255.255", false},
		{"the address just above a network is outside", "11.0.0.0", false},
		{"an address in merged adjacent networks is inside", "192.168.2.200", true},
		{"the address after merged networks is outside", "192.168.3.0", false},
		{"a single-host network holds its host", "172.16.5.4", true},
		{"a single-host network holds nothing else", "172.16.5.5", false},
		{"an IPv6 address in a gated /48 is inside", "2001:db8:1:ffff::1", true},
		{"an IPv6 address just past a gated /48 is outside", "2001:db8:2::", false},
		{"a unique-local IPv6 address is inside fd00::/8", "fdff:ffff::1", true},
		{"an IPv6 address below every range is outside", "::1", false},
		{"an IPv6 address above every range is outside", "ffff::1", false},
		// checklist C5.
		{"an IPv4-mapped address in a gated IPv4 network is inside", "::ffff:10.1.2.3", true},
		{"an IPv4-mapped address outside the IPv4 networks is outside", "::ffff:8.8.8.8", false},
		{"an IPv6 address with a zone is matched without it", "fd00::1%eth0", true},
		{"an IPv4 address does not match an IPv6 network of the same bits", "253.0.0.1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := netip.MustParseAddr(tc.addr)
			if got := s.Contains(a); got != tc.want {
				t.Errorf("Contains(%s) = %v, want %v", a, got, tc.want)
			}
		})
	}

	t.Run("an invalid address is inside a non-empty set", func(t *testing.T) { // checklist C5: fail closed
		if !s.Contains(netip.Addr{}) {
			t.Error("Contains(zero Addr) = false, want true")
		}
	})
	t.Run("the empty set contains nothing, not even an invalid address", func(t *testing.T) {
		var nilSet *gate.Set
		for _, e := range []*gate.Set{nilSet, {}, gate.NewSet(nil)} {
			if e.Contains(netip.Addr{}) || e.Contains(netip.MustParseAddr("10.0.0.1")) {
				t.Errorf("empty set %v contains something", e)
			}
		}
	})
	t.Run("adjacent and nested networks are merged", func(t *testing.T) {
		if got := s.Len(); got != 5 {
			t.Errorf("Len() = %d, want 5 ranges", got)
		}
	})
	t.Run("an IPv4-mapped network is taken as the IPv4 network", func(t *testing.T) {
		m := gate.NewSet(prefixes(t, "::ffff:10.0.0.0/104"))
		if !m.Contains(netip.MustParseAddr("10.200.0.1")) || m.Contains(netip.MustParseAddr("11.0.0.1")) {
			t.Error("::ffff:10.0.0.0/104 does not act as 10.0.0.0/8")
		}
	})
	t.Run("::/0 covers IPv6 clients and not IPv4 ones", func(t *testing.T) {
		m := gate.NewSet(prefixes(t, "::/0"))
		if !m.Contains(netip.MustParseAddr("2001:db8::1")) || m.Contains(netip.MustParseAddr("::ffff:10.0.0.1")) {
			t.Error("::/0 should match every IPv6 client and no IPv4 client")
		}
	})
	t.Run("the whole address spaces merge without overflow", func(t *testing.T) {
		m := gate.NewSet(prefixes(t, "0.0.0.0/0", "255.255.255.255/32", "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"))
		if m.Len() != 2 {
			t.Errorf("Len() = %d, want 2", m.Len())
		}
		for _, a := range []string{"0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
			if !m.Contains(netip.MustParseAddr(a)) {
				t.Errorf("Contains(%s) = false", a)
			}
		}
	})
	t.Run("host bits and invalid prefixes given to NewSet are masked and skipped", func(t *testing.T) {
		m := gate.NewSet([]netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("10.1.2.3"), 8), {}})
		if !m.Contains(netip.MustParseAddr("10.9.9.9")) || m.Len() != 1 {
			t.Error("10.1.2.3/8 was not taken as 10.0.0.0/8")
		}
	})
}

// TestSetMatchesNaive checks the range search against the obvious loop over
// prefixes, for random rule sets dense enough to overlap and touch.
func TestSetMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var ps []netip.Prefix
		for range 1 + rng.IntN(40) {
			ps = append(ps, randPrefix(rng))
		}
		s := gate.NewSet(ps)
		for range 500 {
			a := randAddr(rng)
			want := false
			for _, p := range ps {
				want = want || p.Contains(a)
			}
			if got := s.Contains(a); got != want {
				t.Fatalf("round %d: Contains(%s) = %v, want %v; prefixes %v", round, a, got, want, ps)
			}
		}
	}
}

// randPrefix draws from small spaces (10.x.x.x, 2001:db8::/112 region) so
// that random prefixes overlap and random addresses hit them.
func randPrefix(rng *rand.Rand) netip.Prefix {
	a := randAddr(rng)
	if a.Is4() {
		return netip.PrefixFrom(a, 8+rng.IntN(25)).Masked()
	}
	return netip.PrefixFrom(a, 100+rng.IntN(29)).Masked()
}

func randAddr(rng *rand.Rand) netip.Addr {
	if rng.IntN(2) == 0 {
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	b := netip.MustParseAddr("2001:db8::").As16()
	b[12], b[13], b[14], b[15] = byte(rng.IntN(2)), byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))
	return netip.AddrFrom16(b)
}

func TestSetContainsDoesNotAllocate(t *testing.T) {
	s := gate.NewSet(manyPrefixes(10_000))
	addrs := []netip.Addr{
		netip.MustParseAddr("10.1.2.3"),
		netip.MustParseAddr("::ffff:10.1.2.3"),
		netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("fe80::1%eth0"),
	}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, a := range addrs {
			s.Contains(a)
		}
	})
	if allocs != 0 {
		t.Errorf("Contains allocates %.1f times per call set, want 0", allocs)
	}
}

// manyPrefixes returns n disjoint networks, half IPv4 /24s and half IPv6 /64s.
func manyPrefixes(n int) []netip.Prefix {
	out := make([]netip.Prefix, 0, n)
	for i := range n {
		if i%2 == 0 {
			out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24))
		} else {
			b := netip.MustParseAddr("2001:db8::").As16()
			b[4], b[5] = byte(i>>8), byte(i)
			out = append(out, netip.PrefixFrom(netip.AddrFrom16(b), 64))
		}
	}
	return out
}

func BenchmarkContains(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		s := gate.NewSet(manyPrefixes(n))
		for _, a := range []string{"10.0.3.9", "192.0.2.1", "2001:db8:0:3::1", "::ffff:10.0.3.9"} {
			addr := netip.MustParseAddr(a)
			b.Run(fmt.Sprintf("rules=%d/addr=%s", n, a), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					s.Contains(addr)
				}
			})
		}
	}
}
