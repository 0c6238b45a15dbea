package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/service"
)

func TestQuotasBoundWhatOneOwnerCanMake(t *testing.T) {
	// checklist I4: 2,000 keys for one user in 3.4 s, 10,000 channels in
	// 16 s and no storage quota, before. An ordinary owner is now bound,
	// with a 403 that says what to do; administrators are not.
	type pkg struct {
		filename string
		data     []byte
	}
	var pkgs []pkg
	for i := range 3 {
		filename, data := makeConda(t, fmt.Sprint("pkg", i), "1.0", "0", "noarch", nil)
		pkgs = append(pkgs, pkg{filename, data})
	}
	// Room for the first two packages, not the third.
	room := int64(len(pkgs[0].data) + len(pkgs[1].data) + len(pkgs[2].data)/2)
	f := newFixture(t, func(c *Config) {
		c.Quotas = service.Quotas{KeysPerUser: 3, ChannelsPerOwner: 2, BytesPerOwner: room}
	})
	f.user("bob", false)
	expiry := f.expiry(time.Hour)
	mkKey := func(user, name string) answer {
		return f.do(call{method: "POST", path: "/api/keys", auth: basic(user, testPassword),
			body: map[string]any{"name": name, "scopes": []string{"user", "channels"}, "expires_at": expiry}})
	}
	for i := range 3 {
		if a := mkKey("bob", fmt.Sprint("k", i)); a.status != http.StatusCreated {
			t.Fatalf("key %d: %d %s", i, a.status, a.body)
		}
	}
	a := mkKey("bob", "k3")
	if a.status != http.StatusForbidden || a.json(t)["code"] != "quota_exceeded" || !strings.Contains(a.json(t)["message"].(string), "Revoke") {
		t.Errorf("the fourth key: %d %s, want 403 quota_exceeded saying what to do", a.status, a.body)
	}
	if a := mkKey("bob", "k1"); a.status != http.StatusCreated {
		t.Errorf("replacing a key at the quota: %d %s", a.status, a.body)
	}
	for i := range 5 {
		if a := mkKey("admin", fmt.Sprint("a", i)); a.status != http.StatusCreated {
			t.Errorf("an administrator's key %d: %d", i, a.status)
		}
	}

	key, _ := f.createKey("bob", "k0", []string{"user", "channels"}, time.Hour)
	for i, want := range []int{http.StatusCreated, http.StatusCreated, http.StatusForbidden} {
		a := f.do(call{method: "POST", path: "/api/channels", auth: bearer(key), body: map[string]any{"name": fmt.Sprint("bob-", i)}})
		if a.status != want {
			t.Errorf("bob's channel %d: %d %s, want %d", i, a.status, a.body, want)
		}
	}

	for i, want := range []int{http.StatusCreated, http.StatusCreated, http.StatusForbidden} {
		a := f.upload(bearer(key), "bob-0", pkgs[i].filename, pkgs[i].data, "")
		if a.status != want || (want == http.StatusForbidden && a.json(t)["code"] != "quota_exceeded") {
			t.Errorf("package %d: %d %s, want %d", i, a.status, a.body, want)
		}
	}
	if a := f.upload(bearer(key), "bob-0", pkgs[0].filename, pkgs[0].data, "?replace=true"); a.status != http.StatusCreated {
		t.Errorf("replacing a package at the quota frees its own size: %d %s", a.status, a.body)
	}
}

func TestListingChannelsCostsNoQueryPerChannel(t *testing.T) {
	// checklist I4: with 10,000 channels GET /api/channels took 0.55 s for
	// everyone, one role query per channel. Now the roles come in one.
	f := newFixture(t, func(c *Config) { c.Quotas = service.Quotas{ChannelsPerOwner: -1, KeysPerUser: -1, BytesPerOwner: -1} })
	f.user("bob", false)
	key, _ := f.createKey("bob", "k", []string{"user"}, time.Hour)
	for i := range 60 {
		f.must(call{method: "POST", path: "/api/channels", auth: bearer(key), body: map[string]any{"name": fmt.Sprint("c", i), "visibility": "private"}}, http.StatusCreated)
	}
	before := f.store.roleLookups.Load()
	a := f.do(call{method: "GET", path: "/api/channels", auth: bearer(key)})
	if a.status != http.StatusOK || strings.Count(string(a.body), `"role":"admin"`) != 60 {
		t.Fatalf("listing: %d, %d channels as admin", a.status, strings.Count(string(a.body), `"role":"admin"`))
	}
	if n := f.store.roleLookups.Load() - before; n != 0 {
		t.Errorf("listing 60 channels made %d single-channel role queries, want none", n)
	}
}
