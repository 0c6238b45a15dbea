package output_test

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/cli/output"
)

func TestUntilSaysHowFarAwayATimeIsRounded(t *testing.T) {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		30 * time.Second:           "in moments",
		-5 * time.Minute:           "5 minutes ago",
		time.Hour:                  "in 1 hour",
		30*24*time.Hour - 1:        "in 30 days",
		-3 * 24 * time.Hour:        "3 days ago",
		46*time.Hour + time.Minute: "in 46 hours",
	} {
		if got := output.Until(now, now.Add(d)); got != want {
			t.Errorf("Until(+%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSizeUsesBinaryUnits(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536 * 1024: "1.5 MiB"} {
		if got := output.Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
