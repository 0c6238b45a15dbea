package egress_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/upstream/egress"
)

// Server-side request forgery through upstream channels: these are the
// addresses an upstream URL (or what its name resolves to, or where it
// redirects) must not reach unless an administrator allowed them.
func TestInternalAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		internal bool
	}{
		{"127.0.0.1", true},
		{"127.9.9.9", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"fd00:ec2::254", true},   // AWS metadata over IPv6
		{"100.100.100.200", true}, // Alibaba metadata (CGNAT range)
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"192.168.1.1", true},
		{"fd12:3456::1", true},
		{"fe80::1", true},
		{"0.0.0.0", true},
		{"::", true},
		{"224.0.0.1", true},
		{"255.255.255.255", true},
		{"64:ff9b::a00:1", true}, // NAT64 of 10.0.0.1
		{"64:ff9b::808:808", false},
		{"8.8.8.8", false},
		{"104.17.92.24", false},
		{"2606:4700::6810:5c18", false},
	} {
		if got := egress.Internal(netip.MustParseAddr(tc.addr)); got != tc.internal {
			t.Errorf("Internal(%s) = %v, want %v", tc.addr, got, tc.internal)
		}
	}
}

func TestAllowListPermitsOnlyItsNetworks(t *testing.T) {
	g := egress.NewGuard([]netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")})
	if err := g.Check(netip.MustParseAddr("10.20.3.4")); err != nil {
		t.Errorf("an allowed address was refused: %v", err)
	}
	if err := g.Check(netip.MustParseAddr("10.21.3.4")); err == nil {
		t.Error("an address outside the allowed network was permitted")
	}
	if err := g.Check(netip.MustParseAddr("169.254.169.254")); err == nil {
		t.Error("the metadata address was permitted")
	}
}

func get(t *testing.T, g *egress.Guard, url string) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	c := &http.Client{Transport: g.Transport(2)}
	res, err := c.Do(req)
	if err == nil {
		res.Body.Close()
	}
	return res, err
}

func listen(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// The check runs when connecting: a loopback URL, a name that resolves to
// loopback, the metadata address and a redirect to a loopback address
// the allow-list does not hold are all refused before a byte is sent.
func TestConnectionsToInternalAddressesAreRefused(t *testing.T) {
	hits := 0
	inner := listen(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	outer := listen(t, "127.0.0.1:0", http.RedirectHandler(inner.URL+"/secret", http.StatusFound))

	none := egress.NewGuard(nil)
	for _, url := range []string{outer.URL, "http://localhost:" + portOf(outer), "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/"} {
		if _, err := get(t, none, url); !egress.Refused(err) {
			t.Errorf("GET %s: %v, want a refusal", url, err)
		}
	}

	// 127.0.0.1 allowed, 127.0.0.2 not: the redirect is refused.
	one := egress.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	if _, err := get(t, one, outer.URL); !egress.Refused(err) {
		t.Errorf("a redirect to a loopback address outside the allow-list: %v, want a refusal", err)
	}
	if hits != 0 {
		t.Errorf("the internal server was reached %d times", hits)
	}

	// With its network allowed, the same request goes through.
	all := egress.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	res, err := get(t, all, outer.URL)
	if err != nil || res.StatusCode != http.StatusOK || hits != 1 {
		t.Errorf("with 127.0.0.0/8 allowed: %v %v, %d hits", res, err, hits)
	}
}

func portOf(s *httptest.Server) string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}
