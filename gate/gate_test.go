package gate_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/gate"
)

func TestParsePrefix(t *testing.T) {
	good := []struct {
		name, in, want string
	}{
		{"an IPv4 network parses", "10.0.0.0/8", "10.0.0.0/8"},
		{"an IPv6 network parses", "2001:db8::/32", "2001:db8::/32"},
		{"a bare IPv4 address is a /32", "192.0.2.7", "192.0.2.7/32"},
		{"a bare IPv6 address is a /128", "2001:db8::1", "2001:db8::1/128"},
		{"the whole IPv4 space parses", "0.0.0.0/0", "0.0.0.0/0"},
		{"the whole IPv6 space parses", "::/0", "::/0"},
		{"surrounding spaces are ignored", "  10.0.0.0/8\t", "10.0.0.0/8"},
		{"an IPv6 network written in upper case parses", "2001:DB8::/32", "2001:db8::/32"},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			p, err := gate.ParsePrefix(tc.in)
			if err != nil {
				t.Fatalf("ParsePrefix(%q): %v", tc.in, err)
			}
			if p.String() != tc.want {
				t.Errorf("ParsePrefix(%q) = %s, want %s", tc.in, p, tc.want)
			}
		})
	}

	// checklist C6: a bad network in configuration is refused with a message
	// that names it and says what to write.
	bad := []struct {
		name, in string
		wantMsg  []string
	}{
		{"a prefix length over 32 is refused", "10.0.0.0/33", []string{`"10.0.0.0/33"`, "prefix length out of range"}},
		{"a prefix length over 128 is refused", "2001:db8::/129", []string{`"2001:db8::/129"`}},
		{"a word is refused", "abc", []string{`"abc"`, "10.0.0.0/8"}},
		{"a word with a length is refused", "abc/8", []string{`"abc/8"`}},
		{"host bits set are refused with the canonical form suggested", "10.0.0.1/8", []string{`"10.0.0.1/8"`, "10.0.0.0/8", "10.0.0.1/32"}},
		{"IPv6 host bits set are refused with the canonical form suggested", "2001:db8::1/32", []string{"2001:db8::/32", "2001:db8::1/128"}},
		{"an empty string is refused", "", []string{"empty"}},
		{"only spaces are refused", "   ", []string{"empty"}},
		{"a zone on a network is refused", "fe80::1%eth0/64", []string{`"fe80::1%eth0/64"`, "zone"}},
		{"a zone on an address is refused", "fe80::1%eth0", []string{"zone"}},
		{"an IPv4-mapped network is refused with its IPv4 form", "::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
		{"an IPv4-mapped address is refused with its IPv4 form", "::ffff:10.1.2.3", []string{"10.1.2.3/32"}},
		{"leading zeros in an octet are refused", "010.0.0.0/8", []string{`"010.0.0.0/8"`}},
		{"a negative length is refused", "10.0.0.0/-1", []string{`"10.0.0.0/-1"`}},
		{"a missing length is refused", "10.0.0.0/", []string{`"10.0.0.0/"`}},
		{"a range with a dash is refused", "10.0.0.0-10.0.0.255", []string{`"10.0.0.0-10.0.0.255"`}},
		{"two networks in one value are refused", "10.0.0.0/8,192.168.0.0/16", []string{`"10.0.0.0/8,192.168.0.0/16"`}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p, err := gate.ParsePrefix(tc.in)
			if err == nil {
				t.Fatalf("ParsePrefix(%q) = %s, want an error", tc.in, p)
			}
			if code := gatehouse.ErrorCode(err); code != gatehouse.EINVALID {
				t.Errorf("code = %q, want %q", code, gatehouse.EINVALID)
			}
			msg := gatehouse.ErrorMessage(err)
			for _, w := range tc.wantMsg {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestPolicyRequiresRegistration(t *testing.T) {
	p := &gate.Policy{
		Gated: gate.NewSet([]netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("2001:db8:1::/48"),
		}),
		ExemptChannels: map[string]bool{"gatehouse-tools": true},
	}
	tests := []struct {
		name    string
		addr    string // "" for the zero Addr
		channel string
		cred    bool
		want    bool
	}{
		// checklist C1: gated network, no key, ordinary channel.
		{"an anonymous client in a gated network must register", "10.1.2.3", "conda-forge", false, true},
		{"an anonymous client in a gated IPv6 network must register", "2001:db8:1::5", "conda-forge", false, true},
		// checklist C1: the tools channel is exempt.
		{"an anonymous client in a gated network may read an exempt channel", "10.1.2.3", "gatehouse-tools", false, false},
		{"a client with a credential in a gated network passes", "10.1.2.3", "conda-forge", true, false},
		// checklist C2: outside the gated networks.
		{"an anonymous client outside the gated networks passes", "192.0.2.1", "conda-forge", false, false},
		{"an anonymous IPv6 client outside the gated networks passes", "2001:db8:2::5", "conda-forge", false, false},
		// checklist C5.
		{"an IPv4-mapped client in a gated network must register", "::ffff:10.1.2.3", "conda-forge", false, true},
		{"a gated client with a zone must register", "2001:db8:1::5%eth0", "conda-forge", false, true},
		{"a client whose address is unknown must register", "", "conda-forge", false, true},
		{"a client whose address is unknown may still read an exempt channel", "", "gatehouse-tools", false, false},
		{"channel names are matched exactly", "10.1.2.3", "Gatehouse-Tools", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a netip.Addr
			if tc.addr != "" {
				a = netip.MustParseAddr(tc.addr)
			}
			if got := p.RequiresRegistration(a, tc.channel, tc.cred); got != tc.want {
				t.Errorf("RequiresRegistration(%q, %q, %v) = %v, want %v", tc.addr, tc.channel, tc.cred, got, tc.want)
			}
		})
	}

	t.Run("a policy with no gated networks gates nobody, unknown addresses included", func(t *testing.T) {
		for _, p := range []*gate.Policy{nil, {}, {Gated: gate.NewSet(nil)}} {
			if p.RequiresRegistration(netip.Addr{}, "conda-forge", false) {
				t.Errorf("%+v gated an unknown address", p)
			}
			if p.RequiresRegistration(netip.MustParseAddr("10.1.2.3"), "conda-forge", false) {
				t.Errorf("%+v gated 10.1.2.3", p)
			}
		}
	})
}

func ExamplePolicy() {
	var prefixes []netip.Prefix
	for _, s := range []string{"10.0.0.0/8", "2001:db8::/32"} {
		p, err := gate.ParsePrefix(s)
		if err != nil {
			panic(err)
		}
		prefixes = append(prefixes, p)
	}
	policy := &gate.Policy{Gated: gate.NewSet(prefixes), ExemptChannels: map[string]bool{"gatehouse-tools": true}}
	proxies := gate.NewProxies([]netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")})

	// A request that came through the trusted proxy at 192.0.2.10.
	client := proxies.ClientAddr("192.0.2.10:41234", []string{"10.9.8.7"})
	fmt.Println(client, policy.RequiresRegistration(client, "conda-forge", false))
	fmt.Println(client, policy.RequiresRegistration(client, "gatehouse-tools", false))
	// Output:
	// 10.9.8.7 true
	// 10.9.8.7 false
}
