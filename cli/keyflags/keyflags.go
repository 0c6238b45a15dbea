// Package keyflags reads the flags of every command that creates a key
// (login, keys create): --scopes and --expires, with the defaults the web
// dialog has and the server's one-year limit. Its errors are sentences for
// the person, printed as they are.
package keyflags

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cli/output"
)

// DefaultScopes and DefaultExpires are the defaults of every key the CLI
// creates: the same as the web dialog's (gatehouse.DefaultKeyScopes,
// gatehouse.DefaultKeyDays).
var (
	DefaultScopes  = gatehouse.DefaultKeyScopes.String()
	DefaultExpires = strconv.Itoa(gatehouse.DefaultKeyDays) + "d"
)

// MaxLifetime mirrors the server's rule: keys live at most one year.
const MaxLifetime = 365 * 24 * time.Hour

// ParseScopes validates a comma-separated list of key scopes.
func ParseScopes(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		switch f {
		case "user", "channels", "admin":
		default:
			return nil, failf("Unknown scope %q: use user, channels or admin (comma-separated).", f)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, failf("Give at least one scope: user, channels or both (--scopes user,channels).")
	}
	return out, nil
}

// ParseExpiry turns --expires into a time: a number of days ("90d"),
// weeks ("12w") or years ("1y"), or a date ("2027-01-31", midnight UTC).
// A lifetime of a full year is trimmed by a minute, so a clock a little
// ahead of the server's does not push it past the server's limit.
func ParseExpiry(now time.Time, s string) (time.Time, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	latest := now.Add(MaxLifetime)
	bad := failf("--expires %q: give a number of days (90d), weeks (12w), 1y, or a date such as %s.", s, output.Day(now.AddDate(0, 3, 0)))
	if s == "" {
		return time.Time{}, bad
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return checkExpiry(now, t, latest)
	}
	if t, err := time.Parse(time.RFC3339, strings.ToUpper(s)); err == nil {
		return checkExpiry(now, t.UTC(), latest)
	}
	unit := s[len(s)-1]
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return time.Time{}, bad
	}
	if n > 366 {
		// Past a year in any unit; also keeps n * unit from overflowing.
		return time.Time{}, failf("--expires %q: keys live at most one year (365 days).", s)
	}
	var d time.Duration
	switch unit {
	case 'd':
		d = time.Duration(n) * 24 * time.Hour
	case 'w':
		d = time.Duration(n) * 7 * 24 * time.Hour
	case 'y':
		d = time.Duration(n) * MaxLifetime
	default:
		return time.Time{}, bad
	}
	if d > MaxLifetime {
		return time.Time{}, failf("--expires %q: keys live at most one year (365 days).", s)
	}
	if d == MaxLifetime {
		d -= time.Minute
	}
	return now.Add(d).UTC().Truncate(time.Second), nil
}

func checkExpiry(now, t, latest time.Time) (time.Time, error) {
	switch {
	case !t.After(now):
		return time.Time{}, failf("--expires %s is in the past; choose a date within the next year.", output.Day(t))
	case t.After(latest):
		return time.Time{}, failf("--expires %s: keys live at most one year; choose a date no later than %s.", output.Day(t), output.Day(latest))
	}
	return t.UTC(), nil
}

// failf returns a failure as the sentence the person reads. It starts
// with a capital and ends with a full stop, unlike Go's error strings,
// because the CLI prints it alone (as package cli's exitf does).
func failf(format string, args ...any) error { return fmt.Errorf(format, args...) }
