package gatehouse

import "testing"

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
