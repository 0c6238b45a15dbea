// Package egress keeps the server's outgoing requests to upstream channels
// away from addresses inside the operator's own networks: loopback,
// private, link-local (where cloud metadata services answer), CGNAT,
// multicast and reserved ranges, unless an administrator allowed them
// (gatehouse server --upstream-allow). The check runs at connection time,
// on the address actually dialled, so a name that resolves to an internal
// address, a DNS answer that changes between check and use (rebinding),
// and a redirect to an internal URL are all refused the same way
// (checklist: SSRF, see the README's upstream section).
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// internal are the ranges refused unless allowed, beyond what netip's
// predicates (loopback, private, link-local, multicast, unspecified) name.
var internal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (and Alibaba's metadata, 100.100.100.200)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fc00::/7"),        // unique local (fd00::/8, and AWS's fd00:ec2::254)
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated, still routed by some)
}

// nat64 is the well-known NAT64 prefix: the IPv4 address it embeds is
// the one that counts.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Internal reports whether a is an address upstream requests must not
// reach without an administrator's permission.
func Internal(a netip.Addr) bool {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range internal {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Guard decides which addresses upstream requests may connect to. The
// zero value refuses every internal address.
type Guard struct {
	allow []netip.Prefix

	mu      sync.Mutex
	proxies map[string]bool // host:port of proxies the environment names
}

// NewGuard returns a guard that also permits the allowed networks.
func NewGuard(allow []netip.Prefix) *Guard {
	return &Guard{allow: allow, proxies: map[string]bool{}}
}

// RefusedError is a connection the guard refused.
type RefusedError struct{ Addr netip.Addr }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("connecting to %s is refused: it is a loopback, private, link-local or reserved address "+
		"(an administrator can allow its network with gatehouse server --upstream-allow)", e.Addr)
}

// Check refuses an internal address that no allowed network holds.
func (g *Guard) Check(a netip.Addr) error {
	a = a.Unmap()
	if !Internal(a) {
		return nil
	}
	for _, p := range g.allow {
		if p.Contains(a) {
			return nil
		}
	}
	return &RefusedError{Addr: a}
}

// control is net.Dialer.Control: it runs after the name was resolved,
// for each address about to be connected, so it sees what is dialled.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("egress: cannot read the address %q being dialled", address)
	}
	g.mu.Lock()
	proxy := g.proxies[address]
	g.mu.Unlock()
	if proxy {
		return nil // the operator's own egress proxy, from the environment
	}
	return g.Check(ap.Addr())
}

// proxy is the transport's Proxy: the environment's proxy settings, with
// the target checked before the request is handed to a proxy (which
// resolves and connects itself), and the proxy's own address permitted.
func (g *Guard) proxy(req *http.Request) (*url.URL, error) {
	p, err := http.ProxyFromEnvironment(req)
	if err != nil || p == nil {
		return p, err
	}
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	if err := g.checkHost(ctx, req.URL.Hostname()); err != nil {
		return nil, err
	}
	host := p.Hostname()
	port := p.Port()
	if port == "" {
		port = map[string]string{"https": "443", "socks5": "1080"}[p.Scheme]
		if port == "" {
			port = "80"
		}
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("egress: resolving the proxy %s: %w", host, err)
	}
	g.mu.Lock()
	for _, a := range addrs {
		g.proxies[net.JoinHostPort(a.Unmap().String(), port)] = true
	}
	g.mu.Unlock()
	return p, nil
}

// checkHost resolves host and checks every address it has.
func (g *Guard) checkHost(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		return g.Check(a)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if err := g.Check(a); err != nil {
			return err
		}
	}
	return nil
}

// Transport returns an HTTP transport whose every connection passes the
// guard, with timeouts on each step; perHost bounds idle connections.
func (g *Guard) Transport(perHost int) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	return &http.Transport{
		Proxy:                 g.proxy,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   perHost,
		IdleConnTimeout:       90 * time.Second,
	}
}

// Refused reports whether err (from an HTTP request) is a refusal of the
// guard's.
func Refused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}
