package sso

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

func TestUsernamesMadeFromProviderClaimsAreValidNames(t *testing.T) {
	tests := []struct{ preferred, email, want string }{
		{"carol", "carol@acme.example", "carol"},
		{"", "Carol.Smith@acme.example", "carol-smith"},
		{"Jörg Müller", "j@x.example", "j-rg-m-ller"},
		{"", "@acme.example", "user"},
		{"___", "x@y.example", "user"},
		{"a-very-long-preferred-username-that-goes-on-and-on-and-on", "", "a-very-long-preferred-username-that-goe"},
	}
	for _, tt := range tests {
		if got := usernameFrom(tt.preferred, tt.email); got != tt.want {
			t.Errorf("usernameFrom(%q, %q) = %q, want %q", tt.preferred, tt.email, got, tt.want)
		}
	}
}

func TestClaimsReadEmailVerifiedAndGroupsAsProvidersSendThem(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		verified bool
		groups   int
	}{
		{"booleans and a list", `{"email_verified":true,"groups":["a","b","a"]}`, true, 2},
		{"a string true and one group", `{"email_verified":"true","groups":"eng"}`, true, 1},
		{"missing", `{}`, false, 0},
		{"false and junk groups", `{"email_verified":false,"groups":[1,2]}`, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c claims
			if err := json.Unmarshal([]byte(tt.json), &c); err != nil {
				t.Fatal(err)
			}
			if c.verified() != tt.verified || len(c.groups()) != tt.groups {
				t.Errorf("verified %v, groups %q", c.verified(), c.groups())
			}
		})
	}
}

// FuzzSignInClaims: the ID token's claims and the typed address come from
// outside. Whatever they hold, the username made is a valid name, the
// groups are valid group names, and nothing panics.
func FuzzSignInClaims(f *testing.F) {
	f.Add(`{"preferred_username":"carol","email":"carol@acme.example","email_verified":true,"groups":["eng"]}`, "carol@acme.example")
	f.Add(`{"groups":"x","email_verified":"true"}`, "@")
	f.Add(`{"preferred_username":"\u0000@","groups":[null,""]}`, "a@b@c")
	f.Fuzz(func(t *testing.T, raw, email string) {
		var c claims
		if json.Unmarshal([]byte(raw), &c) != nil {
			return
		}
		if n := usernameFrom(c.PreferredUsername, c.Email); gatehouse.ValidateName("username", n) != nil {
			t.Fatalf("usernameFrom made %q", n)
		}
		for _, g := range c.groups() {
			if !validGroup(g) {
				t.Fatalf("group %q kept", g)
			}
		}
		c.verified()
		SplitEmail(email)
	})
}
