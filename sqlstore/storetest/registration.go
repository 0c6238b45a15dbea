package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

func mkRegToken(t *testing.T, s gatehouse.Store, orgID int64, name string, at time.Time) *gatehouse.RegistrationToken {
	t.Helper()
	tok := &gatehouse.RegistrationToken{OrgID: orgID, Name: name, Hash: randomHash(), Hint: "gor-abcd…", CreatedAt: at, CreatedBy: "alice"}
	must(t, s.CreateRegistrationToken(t.Context(), tok))
	return tok
}

// orgClient is a client registered with tok, seen at at.
func orgClient(tok *gatehouse.RegistrationToken, org, client, network string, at time.Time) *gatehouse.Client {
	return &gatehouse.Client{OrgID: tok.OrgID, Org: org, TokenID: tok.ID, ClientToken: client, Machine: "m-" + client,
		CondaVersion: "26.7.1", Platform: "Linux/6.1.0", Network: network, IP: "10.1.2.3",
		UserAgent: "conda/26.7.1 aau/0.8.1 c/" + client + " s/" + at.Format("150405"), FirstSeen: at, LastSeen: at, Requests: 1}
}

var registrationTests = []test{
	{"a registration token is stored hashed, found by its hash with its organization, and listed newest first", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		o := mkOrg(t, s, "lab", alice.ID)
		a := mkRegToken(t, s, o.ID, "laptops", t0)
		b := mkRegToken(t, s, o.ID, "servers", t0.Add(time.Minute))
		if a.ID <= 0 || b.ID <= a.ID {
			t.Fatalf("IDs %d, %d", a.ID, b.ID)
		}
		got, err := s.RegistrationTokenByHash(t.Context(), a.Hash)
		must(t, err)
		equal(t, "the token", *got, gatehouse.RegistrationToken{ID: a.ID, OrgID: o.ID, Org: "lab", Name: "laptops", Hint: "gor-abcd…",
			Hash: a.Hash, CreatedAt: stored(t0), CreatedBy: "alice"})
		_, err = s.RegistrationTokenByHash(t.Context(), randomHash())
		wantCode(t, err, gatehouse.ENOTFOUND)
		list, err := s.ListRegistrationTokens(t.Context(), o.ID)
		must(t, err)
		if len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID {
			t.Fatalf("listed %d tokens, want servers then laptops", len(list))
		}
	}},
	{"an organization has one active token per name; a revoked name can be used again", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		o := mkOrg(t, s, "lab", alice.ID)
		o2 := mkOrg(t, s, "other", alice.ID)
		a := mkRegToken(t, s, o.ID, "laptops", t0)
		err := s.CreateRegistrationToken(t.Context(), &gatehouse.RegistrationToken{OrgID: o.ID, Name: "laptops", Hash: randomHash(), CreatedAt: t0})
		wantCode(t, err, gatehouse.EINVALID)
		mkRegToken(t, s, o2.ID, "laptops", t0)
		dup := &gatehouse.RegistrationToken{OrgID: o.ID, Name: "other", Hash: a.Hash, CreatedAt: t0}
		wantCode(t, s.CreateRegistrationToken(t.Context(), dup), gatehouse.ECONFLICT)
		_, err = s.RevokeRegistrationToken(t.Context(), o.ID, a.ID, t0.Add(time.Hour))
		must(t, err)
		mkRegToken(t, s, o.ID, "laptops", t0.Add(2*time.Hour))
	}},
	{"bad tokens are refused: short hash, no name, text that is not UTF-8, no such organization", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		o := mkOrg(t, s, "lab", alice.ID)
		wantCode(t, s.CreateRegistrationToken(t.Context(), &gatehouse.RegistrationToken{OrgID: o.ID, Name: "x", Hash: []byte{1}}), gatehouse.EINVALID)
		wantCode(t, s.CreateRegistrationToken(t.Context(), &gatehouse.RegistrationToken{OrgID: o.ID, Hash: randomHash()}), gatehouse.EINVALID)
		for _, b := range badTexts {
			wantCode(t, s.CreateRegistrationToken(t.Context(), &gatehouse.RegistrationToken{OrgID: o.ID, Name: b, Hash: randomHash()}), gatehouse.EINVALID)
		}
		wantCode(t, s.CreateRegistrationToken(t.Context(), &gatehouse.RegistrationToken{OrgID: o.ID + 100, Name: "x", Hash: randomHash()}), gatehouse.ENOTFOUND)
	}},
	{"revoking keeps the first revocation time, touching only moves forward, and another organization's token is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		o := mkOrg(t, s, "lab", alice.ID)
		o2 := mkOrg(t, s, "other", alice.ID)
		a := mkRegToken(t, s, o.ID, "laptops", t0)
		_, err := s.RevokeRegistrationToken(t.Context(), o2.ID, a.ID, t0)
		wantCode(t, err, gatehouse.ENOTFOUND)
		must(t, s.TouchRegistrationToken(t.Context(), a.ID, t0.Add(2*time.Minute)))
		must(t, s.TouchRegistrationToken(t.Context(), a.ID, t0.Add(time.Minute)))
		r, err := s.RevokeRegistrationToken(t.Context(), o.ID, a.ID, t0.Add(time.Hour))
		must(t, err)
		equal(t, "revoked at", r.RevokedAt, stored(t0.Add(time.Hour)))
		equal(t, "last seen", r.LastSeenAt, stored(t0.Add(2*time.Minute)))
		r, err = s.RevokeRegistrationToken(t.Context(), o.ID, a.ID, t0.Add(2*time.Hour))
		must(t, err)
		equal(t, "revoked at after a second revocation", r.RevokedAt, stored(t0.Add(time.Hour)))
	}},
	{"a client with a client token is one record across sessions and addresses, counted under its token", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		o := mkOrg(t, s, "lab", alice.ID)
		tok := mkRegToken(t, s, o.ID, "laptops", t0)
		first := orgClient(tok, "lab", "client1", "10.0.0.0/8", t0)
		must(t, s.RecordClient(t.Context(), first))
		later := orgClient(tok, "lab", "client1", "192.168.0.0/16", t0.Add(time.Minute))
		later.IP, later.CondaVersion = "192.168.1.1", "26.8.0"
		must(t, s.RecordClient(t.Context(), later))
		// An older report from another replica changes nothing but the count.
		older := orgClient(tok, "lab", "client1", "172.16.0.0/12", t0.Add(-time.Minute))
		must(t, s.RecordClient(t.Context(), older))
		must(t, s.RecordClient(t.Context(), orgClient(tok, "lab", "client2", "10.0.0.0/8", t0)))
		cs, err := s.ListClients(t.Context(), gatehouse.ClientFilter{OrgID: o.ID})
		must(t, err)
		if len(cs) != 2 {
			t.Fatalf("%d clients, want 2", len(cs))
		}
		c := cs[0]
		equal(t, "the first client", *c, gatehouse.Client{ID: first.ID, OrgID: o.ID, Org: "lab", TokenID: tok.ID, ClientToken: "client1",
			Machine: "m-client1", CondaVersion: "26.8.0", Platform: "Linux/6.1.0", Network: "192.168.0.0/16", IP: "192.168.1.1",
			UserAgent: later.UserAgent, FirstSeen: stored(t0), LastSeen: stored(t0.Add(time.Minute)), Requests: 3})
		list, err := s.ListRegistrationTokens(t.Context(), o.ID)
		must(t, err)
		equal(t, "clients of the token", list[0].Clients, 2)
		n, err := s.CountClients(t.Context(), gatehouse.ClientFilter{OrgID: o.ID})
		must(t, err)
		equal(t, "count", n, 2)
	}},
	{"clients filter by organization, user and network", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		o := mkOrg(t, s, "lab", alice.ID)
		tok := mkRegToken(t, s, o.ID, "laptops", t0)
		k := mkKey(t, s, bob.ID, "laptop", t0)
		must(t, s.RecordClient(t.Context(), orgClient(tok, "lab", "c1", "10.0.0.0/8", t0)))
		must(t, s.RecordClient(t.Context(), seen(k, "bob", "10.9.9.9", "pixi/0.40", t0, 1)))
		bobs := seen(k, "bob", "192.0.2.1", "conda/26", t0, 1)
		bobs.Network = "192.0.2.0/24"
		must(t, s.RecordClient(t.Context(), bobs))
		count := func(f gatehouse.ClientFilter) int {
			cs, err := s.ListClients(t.Context(), f)
			must(t, err)
			n, err := s.CountClients(t.Context(), f)
			must(t, err)
			if n != len(cs) {
				t.Errorf("CountClients(%+v) = %d, ListClients gave %d", f, n, len(cs))
			}
			return n
		}
		equal(t, "all", count(gatehouse.ClientFilter{}), 3)
		equal(t, "the organization's", count(gatehouse.ClientFilter{OrgID: o.ID}), 1)
		equal(t, "bob's", count(gatehouse.ClientFilter{Username: "bob"}), 2)
		equal(t, "in 192.0.2.0/24", count(gatehouse.ClientFilter{Network: "192.0.2.0/24"}), 1)
		equal(t, "bob's in 10.0.0.0/8", count(gatehouse.ClientFilter{Username: "bob", Network: "10.0.0.0/8"}), 0)
	}},
	{"pruning keeps the most recently seen clients per organization, per key and overall (checklist I7)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		o := mkOrg(t, s, "lab", alice.ID)
		tok := mkRegToken(t, s, o.ID, "laptops", t0)
		k := mkKey(t, s, alice.ID, "ci", t0)
		for i := range 6 {
			must(t, s.RecordClient(t.Context(), orgClient(tok, "lab", name("c", i), "", t0.Add(time.Duration(i)*time.Minute))))
			must(t, s.RecordClient(t.Context(), seen(k, "alice", name("192.0.2.", i), "conda", t0.Add(time.Duration(i)*time.Minute), 1)))
		}
		n, err := s.PruneClients(t.Context(), o.ID, 0, 4)
		must(t, err)
		equal(t, "deleted from the organization", n, int64(2))
		cs, err := s.ListClients(t.Context(), gatehouse.ClientFilter{OrgID: o.ID})
		must(t, err)
		if len(cs) != 4 || cs[3].ClientToken != "c02" {
			t.Fatalf("the organization kept %d clients, the oldest %q; want 4, the oldest c02", len(cs), cs[len(cs)-1].ClientToken)
		}
		n, err = s.PruneClients(t.Context(), 0, k.ID, 1)
		must(t, err)
		equal(t, "deleted of the key", n, int64(5))
		n, err = s.PruneClients(t.Context(), 0, 0, 3)
		must(t, err)
		equal(t, "deleted overall", n, int64(2))
		all := listClients(t, s, 0)
		if len(all) != 3 || all[0].IP != "192.0.2.05" {
			t.Fatalf("kept %d clients overall, want the 3 newest", len(all))
		}
		n, err = s.PruneClients(t.Context(), 0, 0, 10)
		must(t, err)
		equal(t, "deleted when under the bound", n, int64(0))
		_, err = s.PruneClients(t.Context(), 0, 0, -1)
		wantCode(t, err, gatehouse.EINVALID)
	}},
	{"a key for conda that no client has used yet is listed as pending, until a client uses it", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		bob := mkUser(t, s, "bob")
		ka := mkKey(t, s, alice.ID, "laptop", t0)
		kb := mkKey(t, s, bob.ID, "desktop", t0.Add(time.Minute))
		api := newKey(alice.ID, "api only", t0)
		api.Scopes = gatehouse.ScopeUser
		_, err := s.CreateKey(t.Context(), api)
		must(t, err)
		gone := mkKey(t, s, alice.ID, "gone", t0)
		_, err = s.RevokeKey(t.Context(), alice.ID, gone.ID, t0.Add(time.Minute), gatehouse.RevokedByUser)
		must(t, err)
		now := t0.Add(time.Hour)
		pending, err := s.UnusedKeys(t.Context(), gatehouse.ClientFilter{}, now)
		must(t, err)
		if len(pending) != 2 || pending[0].KeyID != kb.ID || pending[1].KeyID != ka.ID || !pending[0].Pending || pending[0].Username != "bob" {
			t.Fatalf("pending = %+v, want bob's desktop then alice's laptop", pending)
		}
		must(t, s.RecordClient(t.Context(), seen(ka, "alice", "192.0.2.1", "conda", now, 1)))
		pending, err = s.UnusedKeys(t.Context(), gatehouse.ClientFilter{Username: "alice"}, now)
		must(t, err)
		equal(t, "alice's pending keys after a fetch", len(pending), 0)
		pending, err = s.UnusedKeys(t.Context(), gatehouse.ClientFilter{}, t0.Add(365*24*time.Hour))
		must(t, err)
		equal(t, "pending keys once expired", len(pending), 0)
	}},
}
