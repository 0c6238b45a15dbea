package ratelimit

import "net/netip"

// DefaultIPv6PrefixLen is the IPv6 network that counts as one subject: a
// /64 is what one customer line or host usually gets, and picking a new
// address inside it is free.
const DefaultIPv6PrefixLen = 64

// invalidAddrSubject is the one subject of every request without a valid
// address, spelled as netip.Addr{}.String() was by the old limiter.
const invalidAddrSubject = "invalid IP"

// AddrSubject returns the subject that failures from a count against
// (checklist B8). An IPv4 address, also written as IPv4-mapped IPv6,
// counts as itself. An IPv6 address counts as its /ipv6PrefixLen network,
// so that guesses spread over the addresses of one network share one
// budget; ipv6PrefixLen 128 means the exact address, 0 or less means
// DefaultIPv6PrefixLen, and above 128 means 128. The zoneless and zoned
// forms of an address are one subject. The zero Addr is one fixed subject.
func AddrSubject(a netip.Addr, ipv6PrefixLen int) string {
	if !a.IsValid() {
		return invalidAddrSubject
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String()
	}
	bits := ipv6PrefixLen
	switch {
	case bits <= 0:
		bits = DefaultIPv6PrefixLen
	case bits >= 128:
		return a.String()
	}
	p, _ := a.Prefix(bits) // cannot fail: a is IPv6 and 0 < bits < 128
	return p.String()
}

// AddrKey is AddrSubject as a comparable value, for limiters keyed by
// network: it costs no allocation, which matters on the request path. The
// zero Addr is the zero Prefix.
func AddrKey(a netip.Addr, ipv6PrefixLen int) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	a = a.WithZone("").Unmap()
	bits := a.BitLen()
	if a.Is6() && ipv6PrefixLen < 128 {
		bits = ipv6PrefixLen
		if bits <= 0 {
			bits = DefaultIPv6PrefixLen
		}
	}
	p, _ := a.Prefix(bits) // cannot fail: bits is within the address's length
	return p
}
