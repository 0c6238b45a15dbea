package storetest

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
)

func mkRule(t *testing.T, s gatehouse.Store, cidr string) *gatehouse.NetworkRule {
	t.Helper()
	r := &gatehouse.NetworkRule{CIDR: cidr, Action: gatehouse.RuleRequireRegistration, Note: "lab " + cidr,
		CreatedAt: t0, CreatedBy: "alice"}
	must(t, s.CreateNetworkRule(t.Context(), r))
	return r
}

func ruleCIDRs(t *testing.T, s gatehouse.Store) []string {
	t.Helper()
	rs, err := s.ListNetworkRules(t.Context())
	must(t, err)
	var out []string
	for _, r := range rs {
		out = append(out, r.CIDR)
	}
	return out
}

// seen returns a client of the key as seen at t with n requests.
func seen(k *gatehouse.APIKey, username, ip, agent string, at time.Time, n int64) *gatehouse.Client {
	return &gatehouse.Client{KeyID: k.ID, KeyName: k.Name, UserID: k.UserID, Username: username,
		IP: ip, UserAgent: agent, FirstSeen: at, LastSeen: at, Requests: n}
}

func listClients(t *testing.T, s gatehouse.Store, limit int) []*gatehouse.Client {
	t.Helper()
	cs, err := s.ListClients(t.Context(), gatehouse.ClientFilter{Limit: limit})
	must(t, err)
	return cs
}

var networkRuleTests = []test{
	{"creating a network rule sets its ID and keeps the CIDR exactly as written", func(t *testing.T, s gatehouse.Store) {
		// The gate package validates and parses; the store keeps the text.
		for _, cidr := range []string{"10.0.0.0/8", "10.1.2.3/8", "2001:DB8::/32", "192.0.2.7"} {
			r := mkRule(t, s, cidr)
			if r.ID <= 0 {
				t.Fatalf("ID = %d after CreateNetworkRule", r.ID)
			}
			equal(t, "CreatedAt as CreateNetworkRule left it", r.CreatedAt, stored(t0))
		}
		rs, err := s.ListNetworkRules(t.Context())
		must(t, err)
		if len(rs) != 4 {
			t.Fatalf("%d rules, want 4", len(rs))
		}
		equal(t, "the second rule", *rs[1], gatehouse.NetworkRule{ID: rs[1].ID, CIDR: "10.1.2.3/8",
			Action: gatehouse.RuleRequireRegistration, Note: "lab 10.1.2.3/8", CreatedAt: stored(t0), CreatedBy: "alice"})
	}},
	{"a rule without an action requires registration", func(t *testing.T, s gatehouse.Store) {
		r := &gatehouse.NetworkRule{CIDR: "10.0.0.0/8", CreatedAt: t0}
		must(t, s.CreateNetworkRule(t.Context(), r))
		equal(t, "action as CreateNetworkRule left it", r.Action, gatehouse.RuleRequireRegistration)
		rs, err := s.ListNetworkRules(t.Context())
		must(t, err)
		equal(t, "stored action", rs[0].Action, gatehouse.RuleRequireRegistration)
	}},
	{"a rule without a CIDR, with an unknown action, or with text that is not UTF-8 is invalid", func(t *testing.T, s gatehouse.Store) {
		bad := []*gatehouse.NetworkRule{
			{CIDR: "", CreatedAt: t0},
			{CIDR: "10.0.0.0/8", Action: "allow", CreatedAt: t0},
			{CIDR: "10.0.0.0/8", Action: "Require-Registration", CreatedAt: t0},
		}
		for _, b := range badTexts {
			bad = append(bad, &gatehouse.NetworkRule{CIDR: b}, &gatehouse.NetworkRule{CIDR: "10.0.0.0/8", Note: b},
				&gatehouse.NetworkRule{CIDR: "10.0.0.0/8", CreatedBy: b})
		}
		for _, r := range bad {
			wantCode(t, s.CreateNetworkRule(t.Context(), r), gatehouse.EINVALID)
		}
		equal(t, "rules", ruleCIDRs(t, s), []string(nil))
	}},
	{"rules list in the order they were created", func(t *testing.T, s gatehouse.Store) {
		for _, cidr := range []string{"192.168.0.0/16", "10.0.0.0/8", "fd00::/8", "172.16.0.0/12"} {
			mkRule(t, s, cidr)
		}
		equal(t, "rules", ruleCIDRs(t, s), []string{"192.168.0.0/16", "10.0.0.0/8", "fd00::/8", "172.16.0.0/12"})
	}},
	{"deleting a rule removes it alone; deleting a missing one is not found", func(t *testing.T, s gatehouse.Store) {
		a := mkRule(t, s, "10.0.0.0/8")
		mkRule(t, s, "172.16.0.0/12")
		must(t, s.DeleteNetworkRule(t.Context(), a.ID))
		equal(t, "rules", ruleCIDRs(t, s), []string{"172.16.0.0/12"})
		wantCode(t, s.DeleteNetworkRule(t.Context(), a.ID), gatehouse.ENOTFOUND)
		wantCode(t, s.DeleteNetworkRule(t.Context(), a.ID+1000), gatehouse.ENOTFOUND)
		// IDs are never reused.
		c := mkRule(t, s, "10.0.0.0/8")
		if c.ID <= a.ID {
			t.Errorf("a new rule got ID %d, not above the deleted %d", c.ID, a.ID)
		}
	}},
}

var gateTimeTests = []test{
	{"rule and client times written in any zone come back as the same instant in UTC (checklist A12)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		for i, loc := range zones(t) {
			at := time.Date(2026, 3, 29, 1, 59, 59, 999999999, loc).Add(time.Duration(i) * time.Hour)
			r := &gatehouse.NetworkRule{CIDR: name("10.0.0.", i), CreatedAt: at}
			must(t, s.CreateNetworkRule(t.Context(), r))
			rs, err := s.ListNetworkRules(t.Context())
			must(t, err)
			wantUTC(t, "rule CreatedAt in "+loc.String(), rs[i].CreatedAt, at)
			c := seen(k, "alice", r.CIDR, "conda", at.Add(time.Minute), 1)
			c.FirstSeen = at
			must(t, s.RecordClient(t.Context(), c))
			var got *gatehouse.Client
			for _, seen := range listClients(t, s, 0) {
				if seen.ID == c.ID {
					got = seen
				}
			}
			if got == nil {
				t.Fatalf("client %d is not listed", c.ID)
			}
			wantUTC(t, "client FirstSeen in "+loc.String(), got.FirstSeen, at)
			wantUTC(t, "client LastSeen in "+loc.String(), got.LastSeen, at.Add(time.Minute))
		}
		far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		wantCode(t, s.CreateNetworkRule(t.Context(), &gatehouse.NetworkRule{CIDR: "10.0.0.0/8", CreatedAt: far}), gatehouse.EINVALID)
		wantCode(t, s.RecordClient(t.Context(), seen(k, "alice", "192.0.2.1", "conda", far, 1)), gatehouse.EINVALID)
	}},
}

var channelFaultTests = []test{
	{"channel, package and gate calls whose deadline has passed fail as unavailable, never as not found or no access (checklist H1)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		c := mkChannel(t, s, "tools", alice.ID, 0, gatehouse.Private)
		mkPkg(t, s, c.ID, alice.ID, "noarch", "x-1-0.conda")
		ctx := expired(t)
		_, err := s.ChannelByName(ctx, "tools")
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, err = s.ChannelRoleOf(ctx, c.ID, alice.ID)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, err = s.ListPackages(ctx, c.ID, "")
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, err = s.PackageByFilename(ctx, c.ID, "noarch", "x-1-0.conda")
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, err = s.BlobKeyInUse(ctx, "pkg/x")
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, err = s.AddPackage(ctx, newPkg(c.ID, alice.ID, "noarch", "y-1-0.conda"), false)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, err = s.DeletePackage(ctx, c.ID, "noarch", "x-1-0.conda")
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, err = s.ListNetworkRules(ctx)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		wantCode(t, s.RecordClient(ctx, seen(k, "alice", "192.0.2.1", "conda", t0, 1)), gatehouse.EUNAVAILABLE)
		equal(t, "revision after the failed calls", revision(t, s, "tools"), int64(2))
	}},
}

var clientTests = []test{
	{"recording a client for the first time stores it as given", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		c := seen(k, "alice", "192.0.2.1", "conda/24.1.2 requests/2.31", t0, 3)
		c.FirstSeen = t0.Add(-time.Hour)
		must(t, s.RecordClient(t.Context(), c))
		if c.ID <= 0 {
			t.Fatalf("ID = %d after RecordClient", c.ID)
		}
		cs := listClients(t, s, 0)
		if len(cs) != 1 {
			t.Fatalf("%d clients, want 1", len(cs))
		}
		equal(t, "the client", *cs[0], gatehouse.Client{ID: c.ID, KeyID: k.ID, KeyName: "ci", UserID: alice.ID, Username: "alice",
			IP: "192.0.2.1", UserAgent: "conda/24.1.2 requests/2.31", FirstSeen: stored(t0.Add(-time.Hour)), LastSeen: stored(t0), Requests: 3})
		equal(t, "the client as RecordClient left it", *c, *cs[0])
	}},
	{"recording the same key, address and agent again keeps FirstSeen, moves LastSeen only forward, adds requests and renames", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		kolkata := zones(t)[2]
		first := seen(k, "alice", "192.0.2.1", "pixi/0.40", t0, 1)
		must(t, s.RecordClient(t.Context(), first))
		later := t0.Add(time.Hour)
		steps := []*gatehouse.Client{
			seen(k, "alice", "192.0.2.1", "pixi/0.40", later, 2),
			// Earlier than later as an instant, though later on its wall clock.
			seen(k, "alice", "192.0.2.1", "pixi/0.40", later.Add(-time.Minute).In(kolkata), 4),
			// A replica that saw the first request earlier still does not move FirstSeen.
			seen(k, "alice-renamed", "192.0.2.1", "pixi/0.40", t0.Add(-time.Hour), 8),
		}
		steps[2].KeyName = "ci-renamed"
		for _, c := range steps {
			must(t, s.RecordClient(t.Context(), c))
			if c.ID != first.ID {
				t.Errorf("the same client recorded again got ID %d, want %d", c.ID, first.ID)
			}
		}
		cs := listClients(t, s, 0)
		if len(cs) != 1 {
			t.Fatalf("%d clients, want 1", len(cs))
		}
		equal(t, "the client", *cs[0], gatehouse.Client{ID: first.ID, KeyID: k.ID, KeyName: "ci-renamed", UserID: alice.ID,
			Username: "alice-renamed", IP: "192.0.2.1", UserAgent: "pixi/0.40", FirstSeen: stored(t0), LastSeen: stored(later), Requests: 15})
	}},
	{"another address, agent or key is another client", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		k2 := mkKey(t, s, alice.ID, "laptop", t0)
		for _, c := range []*gatehouse.Client{
			seen(k, "alice", "192.0.2.1", "conda/24", t0, 1),
			seen(k, "alice", "192.0.2.2", "conda/24", t0, 1),
			seen(k, "alice", "192.0.2.1", "conda/25", t0, 1),
			seen(k2, "alice", "192.0.2.1", "conda/24", t0, 1),
			seen(k, "alice", "192.0.2.1", "Conda/24", t0, 1),
		} {
			must(t, s.RecordClient(t.Context(), c))
		}
		equal(t, "clients", len(listClients(t, s, 0)), 5)
	}},
	{"clients list most recently seen first, at most limit", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		kolkata := zones(t)[2]
		// Written in different zones, so that wall clocks and instants disagree.
		order := []int{3, 0, 4, 1, 2}
		for _, i := range order {
			at := t0.Add(time.Duration(i) * time.Minute)
			if i%2 == 0 {
				at = at.In(kolkata)
			}
			must(t, s.RecordClient(t.Context(), seen(k, "alice", name("192.0.2.", i), "conda", at, 1)))
		}
		var ips []string
		for _, c := range listClients(t, s, 0) {
			ips = append(ips, c.IP)
		}
		equal(t, "clients", ips, []string{"192.0.2.04", "192.0.2.03", "192.0.2.02", "192.0.2.01", "192.0.2.00"})
		cs := listClients(t, s, 2)
		if len(cs) != 2 || cs[0].IP != "192.0.2.04" || cs[1].IP != "192.0.2.03" {
			t.Errorf("ListClients(2) = %d clients, want the two most recent", len(cs))
		}
		_, err := s.ListClients(t.Context(), gatehouse.ClientFilter{Limit: -1})
		wantCode(t, err, gatehouse.EINVALID)
	}},
	{"a negative request count is invalid and records nothing", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		wantCode(t, s.RecordClient(t.Context(), seen(k, "alice", "192.0.2.1", "conda", t0, -1)), gatehouse.EINVALID)
		equal(t, "clients", len(listClients(t, s, 0)), 0)
	}},
	{"a client without times is seen now", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		before := time.Now().Add(-time.Second)
		c := &gatehouse.Client{KeyID: k.ID, UserID: alice.ID, IP: "192.0.2.1", UserAgent: "conda", Requests: 1}
		must(t, s.RecordClient(t.Context(), c))
		got := listClients(t, s, 0)[0]
		if got.LastSeen.Before(before) || got.LastSeen.After(time.Now().Add(time.Second)) || !got.FirstSeen.Equal(got.LastSeen) {
			t.Errorf("FirstSeen %v, LastSeen %v: want both now", got.FirstSeen, got.LastSeen)
		}
	}},
	{"what a client sends is kept cleaned and cut, identically on every backend", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		long := "conda\x00/24 \xff" + strings.Repeat("é", 5000)
		c := seen(k, "alice", "2001:db8::1%eth0\xff", long, t0, 1)
		must(t, s.RecordClient(t.Context(), c))
		got := listClients(t, s, 0)[0]
		equal(t, "the client as RecordClient left it", *c, *got)
		equal(t, "IP", got.IP, "2001:db8::1%eth0\uFFFD")
		if !strings.HasPrefix(got.UserAgent, "conda\uFFFD/24 \uFFFDé") || len(got.UserAgent) > 1024 || !utf8.ValidString(got.UserAgent) {
			t.Errorf("user agent kept as %d bytes starting %q", len(got.UserAgent), got.UserAgent[:min(20, len(got.UserAgent))])
		}
		// The same hostile agent again is the same client.
		must(t, s.RecordClient(t.Context(), seen(k, "alice", "2001:db8::1%eth0\xff", long, t0, 1)))
		cs := listClients(t, s, 0)
		if len(cs) != 1 || cs[0].Requests != 2 {
			t.Errorf("%d clients after recording the same one again, want 1 with 2 requests", len(cs))
		}
	}},
	{"client rows outlive their key's revocation, and never stand in its way", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		must(t, s.RecordClient(t.Context(), seen(k, "alice", "192.0.2.1", "conda", t0, 1)))
		_, err := s.RevokeKey(t.Context(), alice.ID, k.ID, t0.Add(time.Minute), gatehouse.RevokedByUser)
		must(t, err)
		// A request in flight at the revocation may still be recorded.
		must(t, s.RecordClient(t.Context(), seen(k, "alice", "192.0.2.1", "conda", t0.Add(2*time.Minute), 1)))
		cs := listClients(t, s, 0)
		if len(cs) != 1 || cs[0].KeyID != k.ID || cs[0].Requests != 2 {
			t.Fatalf("clients after revocation: %d, want the one of key %d with 2 requests", len(cs), k.ID)
		}
		// Replacing the key by name works with client rows pointing at the old one.
		_, err = s.CreateKey(t.Context(), newKey(alice.ID, "ci", t0.Add(time.Hour)))
		must(t, err)
	}},
	{"the same client recorded at once by many callers counts every request", func(t *testing.T, s gatehouse.Store) {
		const n = 20
		alice := mkUser(t, s, "alice")
		k := mkKey(t, s, alice.ID, "ci", t0)
		for round := range raceRounds {
			ip := name("192.0.2.", round)
			errs := parallel(n, func(i int) error {
				return s.RecordClient(t.Context(), seen(k, "alice", ip, "conda", t0.Add(time.Duration(i)*time.Second), 1))
			})
			for _, err := range errs {
				must(t, err)
			}
		}
		cs := listClients(t, s, 0)
		if len(cs) != raceRounds {
			t.Fatalf("%d clients, want %d", len(cs), raceRounds)
		}
		for _, c := range cs {
			if c.Requests != n || !c.LastSeen.Equal(stored(t0.Add((n-1)*time.Second))) {
				t.Errorf("client %s: %d requests, last seen %v; want %d and %v", c.IP, c.Requests, c.LastSeen, n, stored(t0.Add((n-1)*time.Second)))
			}
		}
	}},
}
