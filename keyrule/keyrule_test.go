package keyrule

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condaname"
)

func TestDelegationKeepsRestrictions(t *testing.T) { // checklist A5
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	parent := &gatehouse.APIKey{Scopes: gatehouse.ScopeChannels, ExpiresAt: now.Add(48 * time.Hour), Channels: []string{"a", "b"}, ChannelAccess: gatehouse.ChannelWrite}
	tests := []struct {
		name string
		want Request
		ok   bool
	}{
		{"a subset of its channels, with less access", Request{Scopes: gatehouse.ScopeChannels, ExpiresAt: now.Add(time.Hour), Channels: []string{"a"}, ChannelAccess: gatehouse.ChannelRead}, true},
		{"no channel list at all", Request{Scopes: gatehouse.ScopeChannels, ExpiresAt: now.Add(time.Hour), ChannelAccess: gatehouse.ChannelRead}, false},
		{"a channel of its own list and one more", Request{Scopes: gatehouse.ScopeChannels, ExpiresAt: now.Add(time.Hour), Channels: []string{"a", "c"}, ChannelAccess: gatehouse.ChannelRead}, false},
		{"no access cap", Request{Scopes: gatehouse.ScopeChannels, ExpiresAt: now.Add(time.Hour), Channels: []string{"a"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckRestrictedDelegation(parent, tt.want); (err == nil) != tt.ok {
				t.Errorf("CheckRestrictedDelegation = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestLifetimePoliciesNameTheStrictest(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	rules := []gatehouse.LifetimeRule{
		{Source: "the server", Max: gatehouse.Days(90)},
		{Source: gatehouse.PolicySource("acme"), Max: gatehouse.Days(30)},
		{Source: gatehouse.PolicySource("beta"), Max: gatehouse.Days(60)},
	}
	r := StrictestLifetime(rules)
	if r.Source != "organization acme" {
		t.Fatalf("strictest = %+v", r)
	}
	if err := CheckLifetime(now, now.Add(gatehouse.Days(30)), r); err != nil {
		t.Errorf("30 days: %v", err)
	}
	err := CheckLifetime(now, now.Add(gatehouse.Days(31)), r)
	if gatehouse.ErrorCode(err) != gatehouse.EINVALID || gatehouse.ErrorMessage(err) != "The key policy of organization acme allows keys of at most 30 days: choose a date no later than 2026-05-31." {
		t.Errorf("31 days: %v", err)
	}
}

func FuzzNormalizeChannels(f *testing.F) {
	for _, s := range []string{"lab", "lab,lab", "a,b,c", "", "Bad", "a b", "x/../y", ",", "conda-forge"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		in := slices.Collect(func(yield func(string) bool) {
			start := 0
			for i := 0; i <= len(list); i++ {
				if i == len(list) || list[i] == ',' {
					if !yield(list[start:i]) {
						return
					}
					start = i + 1
				}
			}
		})
		out, err := NormalizeChannels(in)
		if err != nil {
			return
		}
		if !slices.IsSorted(out) || len(slices.Compact(slices.Clone(out))) != len(out) || len(out) > MaxChannels {
			t.Fatalf("NormalizeChannels(%q) = %q", in, out)
		}
		for _, c := range out {
			if condaname.ValidateChannel(c) != nil {
				t.Fatalf("invalid name %q accepted", c)
			}
		}
	})
}
