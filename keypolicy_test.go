package gatehouse

import (
	"slices"
	"testing"
	"time"
)

func TestKeysNeverExceedTheirRestrictions(t *testing.T) {
	tests := []struct {
		name    string
		key     APIKey
		channel string
		owner   ChannelRole
		want    ChannelRole
	}{
		{"an unrestricted key has its owner's role", APIKey{}, "lab", ChannelAdmin, ChannelAdmin},
		{"a key limited to a channel keeps the owner's role there", APIKey{Channels: []string{"lab"}}, "lab", ChannelWrite, ChannelWrite},
		{"a key limited to a channel has nothing elsewhere", APIKey{Channels: []string{"lab"}}, "other", ChannelAdmin, NoAccess},
		{"a read-only key reads where its owner administers", APIKey{ChannelAccess: ChannelRead}, "lab", ChannelAdmin, ChannelRead},
		{"a write key never gets more than its owner", APIKey{ChannelAccess: ChannelWrite}, "lab", ChannelRead, ChannelRead},
		{"a key never gets what its owner lacks", APIKey{Channels: []string{"lab"}, ChannelAccess: ChannelWrite}, "lab", NoAccess, NoAccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.key.CapChannelRole(tt.channel, tt.owner); got != tt.want {
				t.Errorf("CapChannelRole = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDelegationKeepsRestrictions(t *testing.T) { // checklist A5
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	parent := &APIKey{Scopes: ScopeChannels, ExpiresAt: now.Add(48 * time.Hour), Channels: []string{"a", "b"}, ChannelAccess: ChannelWrite}
	tests := []struct {
		name string
		want KeyRequestLimits
		ok   bool
	}{
		{"a subset of its channels, with less access", KeyRequestLimits{Scopes: ScopeChannels, ExpiresAt: now.Add(time.Hour), Channels: []string{"a"}, ChannelAccess: ChannelRead}, true},
		{"no channel list at all", KeyRequestLimits{Scopes: ScopeChannels, ExpiresAt: now.Add(time.Hour), ChannelAccess: ChannelRead}, false},
		{"a channel of its own list and one more", KeyRequestLimits{Scopes: ScopeChannels, ExpiresAt: now.Add(time.Hour), Channels: []string{"a", "c"}, ChannelAccess: ChannelRead}, false},
		{"no access cap", KeyRequestLimits{Scopes: ScopeChannels, ExpiresAt: now.Add(time.Hour), Channels: []string{"a"}}, false},
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
	rules := []LifetimeRule{{"the server", Days(90)}, {PolicySource("acme"), Days(30)}, {PolicySource("beta"), Days(60)}}
	r := StrictestLifetime(rules)
	if r.Source != "organization acme" {
		t.Fatalf("strictest = %+v", r)
	}
	if err := CheckLifetime(now, now.Add(Days(30)), r); err != nil {
		t.Errorf("30 days: %v", err)
	}
	err := CheckLifetime(now, now.Add(Days(31)), r)
	if ErrorCode(err) != EINVALID || ErrorMessage(err) != "The key policy of organization acme allows keys of at most 30 days: choose a date no later than 2026-05-31." {
		t.Errorf("31 days: %v", err)
	}
}

func FuzzNormalizeKeyChannels(f *testing.F) {
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
		out, err := NormalizeKeyChannels(in)
		if err != nil {
			return
		}
		if !slices.IsSorted(out) || len(slices.Compact(slices.Clone(out))) != len(out) || len(out) > MaxKeyChannels {
			t.Fatalf("NormalizeKeyChannels(%q) = %q", in, out)
		}
		for _, c := range out {
			if ValidateChannelName(c) != nil {
				t.Fatalf("invalid name %q accepted", c)
			}
		}
	})
}
