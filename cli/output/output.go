// Package output formats what the CLI prints: JSON for scripts (--json),
// aligned tables, dates, lifetimes and sizes for people, and the progress
// bar of an upload on a terminal.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// JSON writes v as indented JSON, for scripts (--json).
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Table writes aligned columns; call Flush when done.
func Table(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return tw
}

// Row writes one table row.
func Row(tw *tabwriter.Writer, cells ...string) {
	for i, c := range cells {
		// A tab or newline in a cell (a note, a user agent) would break
		// the columns.
		cells[i] = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, c)
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// Day formats a time as its UTC date.
func Day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

// DayPtr formats an optional time.
func DayPtr(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return Day(*t)
}

// Until says when t is relative to now: "in 30 days", "3 days ago".
func Until(now, t time.Time) string {
	d := t.Sub(now)
	past := d < 0
	if past {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = "moments"
	case d < time.Hour:
		s = plural(int((d+30*time.Second)/time.Minute), "minute")
	case d < 47*time.Hour:
		s = plural(int((d+30*time.Minute)/time.Hour), "hour")
	default:
		// Rounded: a key made for 30 days reads "in 30 days" a second later.
		s = plural(int((d+12*time.Hour)/(24*time.Hour)), "day")
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// Size formats a byte count for people.
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
