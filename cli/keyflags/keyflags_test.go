package keyflags_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/cli/keyflags"
)

func TestParseExpiryAcceptsDaysWeeksAYearOrADate(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("X", -7*3600))
	tests := []struct {
		in   string
		want time.Time
	}{
		{"90d", now.Add(90 * 24 * time.Hour)},
		{"12w", now.Add(84 * 24 * time.Hour)},
		{"1y", now.Add(365*24*time.Hour - time.Minute)},
		{"365d", now.Add(365*24*time.Hour - time.Minute)},
		{"2027-01-31", time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
		{"2026-06-01T12:00:00Z", time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := keyflags.ParseExpiry(now, tt.in)
			if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Fatalf("ParseExpiry(%q) = %v, %v; want %v in UTC", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "0d", "-3d", "366d", "2y", "53w", "3m", "2026-03-01", "2027-12-31", "soon", "d"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			if got, err := keyflags.ParseExpiry(now, bad); err == nil {
				t.Fatalf("ParseExpiry(%q) = %v, want an error", bad, got)
			}
		})
	}
}

func TestParseScopes(t *testing.T) {
	if got, err := keyflags.ParseScopes(" user, channels,user "); err != nil || strings.Join(got, ",") != "user,channels" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", ",", "User", "cloud:read"} {
		if _, err := keyflags.ParseScopes(bad); err == nil {
			t.Errorf("ParseScopes(%q) accepted", bad)
		}
	}
}
