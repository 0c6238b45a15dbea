package gate_test

import (
	"net/netip"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gate"
)

func TestClientAddr(t *testing.T) {
	// Two proxy tiers: a load balancer at 192.0.2.10 and internal ingress
	// nodes in 172.20.0.0/16, plus an IPv6 proxy.
	p := gate.NewProxies(prefixes(t, "192.0.2.10/32", "172.20.0.0/16", "2001:db8:ff::1/128"))
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string // "" means the zero Addr: unknown client, gated
	}{
		{"a direct client is its socket peer", "203.0.113.5:5000", nil, "203.0.113.5"},
		{"a direct IPv6 client is its socket peer", "[2001:db8::5]:5000", nil, "2001:db8::5"},
		{"a peer given without a port is accepted", "203.0.113.5", nil, "203.0.113.5"},
		{"an IPv4-mapped peer is unmapped", "[::ffff:10.1.2.3]:5000", nil, "10.1.2.3"},
		{"a link-local peer loses its zone", "[fe80::1%eth0]:5000", nil, "fe80::1"},

		// Spoofing: only a trusted peer's header is read.
		{"X-Forwarded-For from an untrusted peer is ignored", "203.0.113.5:5000", []string{"8.8.8.8"}, "203.0.113.5"},
		{"a gated client cannot claim an outside address directly", "10.1.2.3:5000", []string{"198.51.100.1"}, "10.1.2.3"},
		{"a malformed header from an untrusted peer is ignored too", "203.0.113.5:5000", []string{"garbage"}, "203.0.113.5"},

		{"behind a trusted proxy the client is the appended entry", "192.0.2.10:443", []string{"10.1.2.3"}, "10.1.2.3"},
		{"behind a trusted proxy entries the client wrote are ignored", "192.0.2.10:443", []string{"198.51.100.1, 10.1.2.3"}, "10.1.2.3"},
		{"through chained trusted proxies each proxy hop is skipped", "172.20.0.4:443", []string{"198.51.100.1, 10.1.2.3, 192.0.2.10"}, "10.1.2.3"},
		{"a client forging a trusted proxy on the left still ends at its own address", "192.0.2.10:443", []string{"172.20.0.9, 10.1.2.3"}, "10.1.2.3"},
		{"several headers are one list in order", "172.20.0.4:443", []string{"198.51.100.1", "10.1.2.3", "192.0.2.10"}, "10.1.2.3"},
		{"the right end of the last header is read first", "192.0.2.10:443", []string{"10.1.2.3", "198.51.100.7, 203.0.113.9"}, "203.0.113.9"},
		{"entries with ports are accepted", "192.0.2.10:443", []string{"10.1.2.3:5555"}, "10.1.2.3"},
		{"bracketed IPv6 entries are accepted", "192.0.2.10:443", []string{"[2001:db8::7]:5555"}, "2001:db8::7"},
		{"bracketed IPv6 entries without a port are accepted", "192.0.2.10:443", []string{"[2001:db8::7]"}, "2001:db8::7"},
		{"bare IPv6 entries are accepted", "[2001:db8:ff::1]:443", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped entries are unmapped", "192.0.2.10:443", []string{"::ffff:10.1.2.3"}, "10.1.2.3"},
		{"entries with zones lose them", "192.0.2.10:443", []string{"fe80::9%eth1"}, "fe80::9"},
		{"spaces and tabs around entries are ignored", "192.0.2.10:443", []string{" 10.9.9.9 ,\t10.1.2.3 "}, "10.1.2.3"},
		{"a trusted proxy without a header is itself the client", "192.0.2.10:443", nil, "192.0.2.10"},
		{"when every entry is a trusted proxy the leftmost is the client", "192.0.2.10:443", []string{"172.20.0.1, 172.20.0.2"}, "172.20.0.1"},

		// Fail closed: an unknown client is the zero Addr, which the gate holds.
		{"a peer that does not parse gives an unknown client", "not-an-ip:80", nil, ""},
		{"an empty peer gives an unknown client", "", nil, ""},
		{"a malformed entry before the client gives an unknown client", "192.0.2.10:443", []string{"10.1.2.3, garbage"}, ""},
		{"an 'unknown' entry gives an unknown client", "192.0.2.10:443", []string{"unknown"}, ""},
		{"an empty entry gives an unknown client", "192.0.2.10:443", []string{"10.1.2.3,,"}, ""},
		{"an empty header from a trusted proxy gives an unknown client", "192.0.2.10:443", []string{""}, ""},
		{"a lone bracket gives an unknown client", "192.0.2.10:443", []string{"["}, ""},
		{"an obfuscated RFC 7239 identifier gives an unknown client", "192.0.2.10:443", []string{"_hidden"}, ""},
		{"malformed entries left of the client are never read", "192.0.2.10:443", []string{"garbage, 10.1.2.3"}, "10.1.2.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := p.ClientAddr(tc.remote, tc.xff)
			var want netip.Addr
			if tc.want != "" {
				want = netip.MustParseAddr(tc.want)
			}
			if got != want {
				t.Errorf("ClientAddr(%q, %q) = %v, want %v", tc.remote, tc.xff, got, want)
			}
		})
	}

	t.Run("no trusted proxies means the header is never read", func(t *testing.T) {
		var nilProxies *gate.Proxies
		for _, q := range []*gate.Proxies{nilProxies, gate.NewProxies(nil)} {
			if got := q.ClientAddr("192.0.2.10:443", []string{"8.8.8.8"}); got != netip.MustParseAddr("192.0.2.10") {
				t.Errorf("ClientAddr = %v, want the peer", got)
			}
		}
	})
}

// checklist C1/C5 end to end: a gated client behind a proxy outside the gated
// network is still gated, and cannot escape with a forged or broken header.
func TestClientAddrThroughPolicy(t *testing.T) {
	proxies := gate.NewProxies(prefixes(t, "192.0.2.10/32"))
	policy := &gate.Policy{Gated: gate.NewSet(prefixes(t, "10.0.0.0/8"))}
	for _, xff := range [][]string{
		{"10.1.2.3"},
		{"8.8.8.8, 10.1.2.3"},
		{"10.1.2.3, garbage"},
	} {
		a := proxies.ClientAddr("192.0.2.10:443", xff)
		if !policy.RequiresRegistration(a, "conda-forge", false) {
			t.Errorf("X-Forwarded-For %q: client %v passed the gate", xff, a)
		}
	}
}

func TestClientAddrDoesNotAllocate(t *testing.T) {
	p := gate.NewProxies(prefixes(t, "192.0.2.10/32", "172.20.0.0/16"))
	xff := []string{"198.51.100.1, 10.1.2.3, 192.0.2.10", "172.20.0.5"}
	allocs := testing.AllocsPerRun(1000, func() {
		p.ClientAddr("172.20.0.4:443", xff)
	})
	if allocs != 0 {
		t.Errorf("ClientAddr allocates %.1f times per call, want 0", allocs)
	}
}

func BenchmarkClientAddr(b *testing.B) {
	p := gate.NewProxies(prefixes(b, "192.0.2.10/32", "172.20.0.0/16"))
	cases := []struct {
		name   string
		remote string
		xff    []string
	}{
		{"direct", "203.0.113.5:5000", nil},
		{"one_proxy", "192.0.2.10:443", []string{"198.51.100.1, 10.1.2.3"}},
		{"three_hops", "172.20.0.4:443", []string{"198.51.100.1, 10.1.2.3, 192.0.2.10", "172.20.0.5"}},
		{"ipv6", "192.0.2.10:443", []string{"[2001:db8::7]:5555"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.ClientAddr(c.remote, c.xff)
			}
		})
	}
}
