package gate

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// Set is an immutable set of networks, built once from configuration and
// then asked Contains on every request. It stores the networks as sorted,
// merged address ranges, so a lookup is one binary search with no
// allocation, whatever the number of rules. The zero Set and a nil *Set are
// empty. A Set is safe for concurrent use.
//
// Addresses are compared in their plain form: an IPv4-mapped IPv6 client
// (::ffff:10.1.2.3, as a dual-stack listener reports IPv4 peers) matches
// IPv4 networks, and IPv6 networks match only IPv6 clients, so ::/0 covers
// IPv6 and 0.0.0.0/0 covers IPv4, as in firewall rules.
type Set struct {
	v4 []range4
	v6 []range6
}

type range4 struct{ lo, hi uint32 }

// u128 is an IPv6 address as a number, for ordering and masking.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// next returns a+1 and whether it did not overflow.
func (a u128) next() (u128, bool) {
	lo := a.lo + 1
	hi := a.hi
	if lo == 0 {
		hi++
		if hi == 0 {
			return u128{}, false
		}
	}
	return u128{hi, lo}, true
}

type range6 struct{ lo, hi u128 }

// NewSet returns the set of the given networks. Overlapping and adjacent
// networks are merged. Host bits are ignored, IPv4-mapped IPv6 networks of
// /96 or longer are taken as the IPv4 networks they map, and invalid
// prefixes are skipped: validate configuration with ParsePrefix, which
// refuses all three with a message.
func NewSet(prefixes []netip.Prefix) *Set {
	s := &Set{}
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		a := p.Addr().WithZone("")
		bits := p.Bits()
		if a.Is4In6() && bits >= 96 {
			a, bits = a.Unmap(), bits-96
		}
		p = netip.PrefixFrom(a, bits).Masked()
		if a.Is4() {
			lo := v4num(p.Addr())
			hi := lo | hostMask32(p.Bits())
			s.v4 = append(s.v4, range4{lo, hi})
		} else {
			lo := v6num(p.Addr())
			m := hostMask128(p.Bits())
			s.v6 = append(s.v6, range6{lo, u128{lo.hi | m.hi, lo.lo | m.lo}})
		}
	}
	s.v4 = merge4(s.v4)
	s.v6 = merge6(s.v6)
	return s
}

// Len returns the number of disjoint ranges in the set, after merging.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.v4) + len(s.v6)
}

// Contains reports whether a lies in one of the set's networks. The zone is
// ignored and an IPv4-mapped address is unmapped first. An invalid Addr is
// inside any non-empty set: it stands for a client that could not be
// determined, and the gate fails closed (checklist C5). The empty set
// contains nothing, so a server with no rules gates nobody.
func (s *Set) Contains(a netip.Addr) bool {
	if s == nil || (len(s.v4) == 0 && len(s.v6) == 0) {
		return false
	}
	if !a.IsValid() {
		return true
	}
	a = a.Unmap()
	if a.Is4() {
		x := v4num(a)
		r := s.v4
		// Find the first range that starts after x; its predecessor is
		// the only one that can hold x.
		i, j := 0, len(r)
		for i < j {
			h := int(uint(i+j) >> 1)
			if r[h].lo <= x {
				i = h + 1
			} else {
				j = h
			}
		}
		return i > 0 && x <= r[i-1].hi
	}
	x := v6num(a)
	r := s.v6
	i, j := 0, len(r)
	for i < j {
		h := int(uint(i+j) >> 1)
		if !x.less(r[h].lo) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i > 0 && !r[i-1].hi.less(x)
}

func v4num(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func v6num(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func hostMask32(bits int) uint32 {
	if bits >= 32 {
		return 0
	}
	return ^uint32(0) >> bits
}

func hostMask128(bits int) u128 {
	switch {
	case bits >= 128:
		return u128{}
	case bits >= 64:
		return u128{0, ^uint64(0) >> (bits - 64)}
	default:
		return u128{^uint64(0) >> bits, ^uint64(0)}
	}
}

func merge4(r []range4) []range4 {
	if len(r) == 0 {
		return nil
	}
	slices.SortFunc(r, func(a, b range4) int { return cmp.Compare(a.lo, b.lo) })
	out := r[:1]
	for _, x := range r[1:] {
		last := &out[len(out)-1]
		// Merge overlapping or adjacent ranges; hi+1 cannot overflow
		// unless hi is the last address, which then covers x anyway.
		if last.hi == ^uint32(0) || x.lo <= last.hi+1 {
			last.hi = max(last.hi, x.hi)
			continue
		}
		out = append(out, x)
	}
	return slices.Clip(out)
}

func merge6(r []range6) []range6 {
	if len(r) == 0 {
		return nil
	}
	slices.SortFunc(r, func(a, b range6) int { return a.lo.cmp(b.lo) })
	out := r[:1]
	for _, x := range r[1:] {
		last := &out[len(out)-1]
		n, ok := last.hi.next()
		if !ok || !n.less(x.lo) {
			if last.hi.less(x.hi) {
				last.hi = x.hi
			}
			continue
		}
		out = append(out, x)
	}
	return slices.Clip(out)
}
