package gate

import (
	"net/netip"
	"strings"
)

// LoopbackHost reports whether host (a name or an address, without port
// or brackets) stays on this machine: localhost, a name under .localhost
// (RFC 6761), or a loopback address.
func LoopbackHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}
