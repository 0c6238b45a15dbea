package gate

import (
	"net/netip"
	"strings"
)

// Proxies is the set of reverse proxies whose X-Forwarded-For header is
// believed. A nil or empty Proxies trusts nobody, and the client is always
// the socket peer. Safe for concurrent use.
type Proxies struct {
	trusted *Set
}

// NewProxies returns the trusted proxies, given as networks (a single proxy
// is a /32 or /128).
func NewProxies(prefixes []netip.Prefix) *Proxies {
	return &Proxies{trusted: NewSet(prefixes)}
}

// ClientAddr returns the address of the client that made a request, given
// the socket peer (http.Request.RemoteAddr, "ip:port" or a bare ip) and the
// request's X-Forwarded-For header values in the order received
// (http.Header.Values; several headers count as one list joined in order).
// The result is unmapped and has no zone.
//
// The peer is the client unless it is a trusted proxy. Then the header is
// read from the right, each hop having appended the address it saw: trusted
// proxies are skipped and the first untrusted address is the client.
// Anything left of it was written by the client and is never believed, so a
// client cannot choose its address by sending the header itself (through a
// trusted proxy it only adds entries on the left; from an untrusted peer the
// header is ignored). If every entry is a trusted proxy, the leftmost one is
// the client; if a trusted peer sent no header, the peer is the client (a
// proxy's own health check).
//
// It fails closed: when the client cannot be determined — the peer does not
// parse, or an entry read before the client is found is malformed ("",
// "unknown", garbage) — it returns the zero Addr, which a gated Set contains
// (checklist C5). A client cannot trigger this on purpose (its own entries
// lie left of the one its proxy appends); a malformed entry right of the
// client comes from a proxy, and gating everyone makes that misconfiguration
// visible. Falling back to the proxy's address instead would let clients in
// a gated network, behind a proxy outside it, pass the gate.
func (p *Proxies) ClientAddr(remoteAddr string, xForwardedFor []string) netip.Addr {
	peer, ok := parseHost(remoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !p.trusts(peer) {
		return peer
	}
	var last netip.Addr
	for i := len(xForwardedFor) - 1; i >= 0; i-- {
		h := xForwardedFor[i]
		for {
			j := strings.LastIndexByte(h, ',')
			a, ok := parseHost(strings.TrimSpace(h[j+1:]))
			if !ok {
				return netip.Addr{}
			}
			if !p.trusts(a) {
				return a
			}
			last = a
			if j < 0 {
				break
			}
			h = h[:j]
		}
	}
	if last.IsValid() {
		return last
	}
	return peer
}

// trusts reports whether a valid address is a trusted proxy. It must not be
// given the zero Addr, which a Set treats as inside (right for the gate,
// wrong for trust).
func (p *Proxies) trusts(a netip.Addr) bool {
	return p != nil && p.trusted.Contains(a)
}

// parseHost parses one address as found in RemoteAddr or an X-Forwarded-For
// entry: "192.0.2.1", "2001:db8::1", "[2001:db8::1]", with or without a
// ":port", zone allowed and dropped, IPv4-mapped unmapped.
func parseHost(s string) (netip.Addr, bool) {
	var a netip.Addr
	var err error
	switch {
	case s == "":
		return netip.Addr{}, false
	case s[0] == '[':
		if len(s) > 1 && s[len(s)-1] == ']' {
			a, err = netip.ParseAddr(s[1 : len(s)-1])
		} else {
			var ap netip.AddrPort
			ap, err = netip.ParseAddrPort(s)
			a = ap.Addr()
		}
	case strings.Count(s, ":") == 1:
		var ap netip.AddrPort
		ap, err = netip.ParseAddrPort(s)
		a = ap.Addr()
	default:
		a, err = netip.ParseAddr(s)
	}
	if err != nil || !a.IsValid() {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}
