// Package gate decides whether a request must come from a registered user:
// it parses network rules, matches client addresses against them, finds the
// client behind trusted reverse proxies, and applies the policy. It is pure:
// it imports net/netip and the root package, never transport or storage, so
// the decision is the same whoever asks (see deps_test.go).
package gate

import (
	"net/netip"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// ActionRequireRegistration is the action of a rule whose network must
// register before it can download anonymously.
const ActionRequireRegistration = "require-registration"

// Rule is one configured network and what applies to requests from it.
type Rule struct {
	ID     int64
	Prefix netip.Prefix
	Action string // ActionRequireRegistration
	Note   string // why the rule exists, for the admin page
}

// Policy is the registration gate: a request without a credential, from a
// gated network, to a channel that is not exempt, must register first.
// The zero Policy gates nobody.
type Policy struct {
	// Gated holds the networks that must register. Nil gates nobody.
	Gated *Set
	// ExemptChannels names channels anyone may read without registering,
	// such as the channel that serves the gatehouse tools themselves.
	ExemptChannels map[string]bool
}

// RequiresRegistration reports whether a request from addr to channel must
// be refused until the caller registers. A request that carries a credential
// is never gated here: a bad credential is refused before this step, and a
// good one is a registered user. An invalid addr (the client could not be
// determined) is gated whenever any network is (checklist C5).
func (p *Policy) RequiresRegistration(addr netip.Addr, channel string, hasCredential bool) bool {
	if p == nil || hasCredential || p.ExemptChannels[channel] {
		return false
	}
	return p.Gated.Contains(addr)
}

// ParsePrefix parses a network as written in configuration or the admin
// page: "10.0.0.0/8", "2001:db8::/32", or a bare address meaning that one
// host (/32 or /128). It refuses, with an EINVALID *gatehouse.Error that
// names the input and says what to write instead (checklist C6):
//   - prefixes with host bits set ("10.0.0.1/8"), since the writer probably
//     meant either the host or the network and guessing either is unsafe;
//   - zones ("fe80::1%eth0"), which name an interface, not a network;
//   - IPv4-mapped IPv6 networks ("::ffff:10.0.0.0/104"), which clients are
//     matched against as plain IPv4, so the IPv4 form is the one to write.
//
// Surrounding spaces are ignored.
func ParsePrefix(s string) (netip.Prefix, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, invalidf("The network is empty. Write an address range such as 10.0.0.0/8 or 2001:db8::/32.")
	}
	if strings.Contains(s, "%") {
		return netip.Prefix{}, invalidf("%q has an IPv6 zone (the part after %%). A zone names a network interface, not a network: remove it.", in)
	}

	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		p, err = netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, invalidf("%q is not a network in CIDR form (%s). Write it like 10.0.0.0/8 or 2001:db8::/32.", in, reason(err))
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, invalidf("%q is neither an IP address nor a network in CIDR form. Write it like 10.0.0.0/8, 2001:db8::/32 or 192.0.2.7.", in)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}

	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		v4 := netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
		return netip.Prefix{}, invalidf("%q is an IPv4-mapped IPv6 network; clients are matched as plain IPv4. Write it as %s.", in, v4)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, invalidf("%q has bits set after the first %d. Write the network as %s, or the single address as %s.",
			in, p.Bits(), m, netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
	}
	return p, nil
}

func invalidf(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.EINVALID, format, args...)
}

// reason returns the useful tail of a net/netip parse error, without the
// input it repeats.
func reason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "): "); i >= 0 {
		return msg[i+3:]
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}
